"""SNS's error codes, as `ServiceError`s (codes and statuses from botocore's model: the query protocol sends the
shape's ``error.code``, e.g. ``NotFound``)."""

from __future__ import annotations

from pipework.services.base import ServiceError


def invalid_parameter(message: str) -> ServiceError:
    """``InvalidParameter``; `message` is what follows AWS's "Invalid parameter: " prefix."""
    return ServiceError("InvalidParameter", f"Invalid parameter: {message}", 400)


def authorization_error(message: str) -> ServiceError:
    return ServiceError("AuthorizationError", message, 403)


def not_found(message: str) -> ServiceError:
    return ServiceError("NotFound", message, 404)


def resource_not_found(message: str = "Resource does not exist") -> ServiceError:
    return ServiceError("ResourceNotFound", message, 404)


def tag_limit(
    message: str = "Could not complete request: tag quota of per resource exceeded",
) -> ServiceError:
    return ServiceError("TagLimitExceeded", message, 400)


def batch_error(code: str, message: str) -> ServiceError:
    """PublishBatch's request-level errors (``TooManyEntriesInBatchRequest``, ``EmptyBatchRequest``, ...)."""
    return ServiceError(code, message, 400)
