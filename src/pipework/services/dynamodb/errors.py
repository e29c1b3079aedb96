"""DynamoDB's error codes and the messages DynamoDB words them with, as `ServiceError`s."""

from __future__ import annotations

from typing import Any

from pipework.services.base import ServiceError


class ValidationError(ServiceError):
    """A ValidationException (also raised by the pure expression and value modules, which know no wire)."""

    def __init__(self, message: str) -> None:
        super().__init__("ValidationException", message, 400)


def validation(message: str) -> ValidationError:
    return ValidationError(message)


def invalid_parameter(message: str) -> ValidationError:
    return ValidationError("One or more parameter values were invalid: " + message)


def table_not_found(name: str | None = None) -> ServiceError:
    """DynamoDB's answer for a missing table: table operations name it, item operations (`name` None) do not."""
    message = (
        "Requested resource not found"
        if name is None
        else f"Requested resource not found: Table: {name} not found"
    )
    return ServiceError("ResourceNotFoundException", message, 400)


def resource_in_use(message: str) -> ServiceError:
    return ServiceError("ResourceInUseException", message, 400)


def conditional_check_failed(item: dict[str, Any] | None = None) -> ServiceError:
    extra = {"Item": item} if item is not None else None
    return ServiceError("ConditionalCheckFailedException", "The conditional request failed", 400, extra=extra)


def transaction_canceled(reasons: list[dict[str, Any]]) -> ServiceError:
    codes = ", ".join(r["Code"] for r in reasons)
    return ServiceError(
        "TransactionCanceledException",
        f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
        400,
        extra={"CancellationReasons": reasons},
    )


def key_schema_mismatch() -> ValidationError:
    return ValidationError("The provided key element does not match the schema")


def item_too_large(update: bool = False) -> ValidationError:
    if update:
        return ValidationError("Item size to update has exceeded the maximum allowed size")
    return ValidationError("Item size has exceeded the maximum allowed size")


def expired_iterator(message: str = "Iterator expired") -> ServiceError:
    return ServiceError("ExpiredIteratorException", message, 400)


def trimmed_data(message: str) -> ServiceError:
    return ServiceError("TrimmedDataAccessException", message, 400)


def stream_not_found(arn: str) -> ServiceError:
    return ServiceError(
        "ResourceNotFoundException", f"Requested resource not found: Stream: {arn} not found", 400
    )
