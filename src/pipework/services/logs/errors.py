"""CloudWatch Logs' error codes, as `ServiceError`s."""

from __future__ import annotations

from pipework.services.base import ServiceError


def invalid(message: str) -> ServiceError:
    return ServiceError("InvalidParameterException", message, 400)


def not_found(message: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException", message, 400)


def exists(message: str) -> ServiceError:
    return ServiceError("ResourceAlreadyExistsException", message, 400)
