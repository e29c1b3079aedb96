"""Lambda's error codes, as `ServiceError`s (statuses from botocore's model; Lambda's bodies carry ``Type``)."""

from __future__ import annotations

from pipework.services.base import ServiceError


def _user(code: str, message: str, status: int) -> ServiceError:
    return ServiceError(code, message, status, extra={"Type": "User", "Message": message})


def invalid(message: str) -> ServiceError:
    return _user("InvalidParameterValueException", message, 400)


def not_found(message: str) -> ServiceError:
    return _user("ResourceNotFoundException", message, 404)


def conflict(message: str) -> ServiceError:
    return _user("ResourceConflictException", message, 409)


def precondition(message: str) -> ServiceError:
    return _user("PreconditionFailedException", message, 412)


def bad_content(message: str) -> ServiceError:
    return _user("InvalidRequestContentException", message, 400)


def too_large(message: str) -> ServiceError:
    return _user("RequestTooLargeException", message, 413)


def function_not_found(arn: str) -> ServiceError:
    return not_found(f"Function not found: {arn}")
