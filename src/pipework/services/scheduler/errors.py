"""EventBridge Scheduler's error codes, as `ServiceError`s (statuses from botocore's model)."""

from __future__ import annotations

from pipework.services.base import ServiceError


def validation(message: str) -> ServiceError:
    return ServiceError("ValidationException", message, 400)


def not_found(message: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException", message, 404)


def conflict(message: str) -> ServiceError:
    return ServiceError("ConflictException", message, 409)
