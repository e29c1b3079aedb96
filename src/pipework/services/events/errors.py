"""EventBridge's error codes, as `ServiceError`s the wire layer turns into AWS error shapes."""

from __future__ import annotations

from pipework.services.base import ServiceError


def not_found(message: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException", message, 400)


def already_exists(message: str) -> ServiceError:
    return ServiceError("ResourceAlreadyExistsException", message, 400)


def validation(message: str) -> ServiceError:
    return ServiceError("ValidationException", message, 400)


def limit_exceeded(
    message: str = "The requested resource exceeds the maximum number allowed.",
) -> ServiceError:
    return ServiceError("LimitExceededException", message, 400)


def illegal_status(message: str) -> ServiceError:
    return ServiceError("IllegalStatusException", message, 400)


def invalid_pattern(message: str) -> ServiceError:
    return ServiceError("InvalidEventPatternException", message, 400)


def policy_length_exceeded() -> ServiceError:
    return ServiceError("PolicyLengthExceededException", "The policy is longer than 10240 characters.", 400)
