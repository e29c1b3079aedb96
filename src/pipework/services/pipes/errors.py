"""The Pipes API's errors (restJson1 shapes: ValidationException, NotFoundException, ConflictException)."""

from __future__ import annotations

from pipework.services.base import ServiceError


def validation(message: str) -> ServiceError:
    return ServiceError("ValidationException", message, 400)


def not_found(name: str) -> ServiceError:
    return ServiceError("NotFoundException", f"Pipe {name} does not exist.", 404)


def conflict(name: str, message: str) -> ServiceError:
    return ServiceError("ConflictException", message, 409, extra={"resourceId": name, "resourceType": "pipe"})
