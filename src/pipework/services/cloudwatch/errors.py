"""CloudWatch's error codes, as `ServiceError`s named by their model shapes (the wire layer adds the query codes
CloudWatch's clients read from ``x-amzn-query-error``: InvalidParameterValue, ResourceNotFound, ...)."""

from __future__ import annotations

from pipework.services.base import ServiceError


def invalid_value(message: str) -> ServiceError:
    return ServiceError("InvalidParameterValueException", message, 400)


def invalid_combination(message: str) -> ServiceError:
    return ServiceError("InvalidParameterCombinationException", message, 400)


def missing(message: str) -> ServiceError:
    return ServiceError("MissingRequiredParameterException", message, 400)


def not_found(message: str) -> ServiceError:
    return ServiceError("ResourceNotFound", message, 404)


def resource_not_found(message: str, kind: str, name: str) -> ServiceError:
    return ServiceError(
        "ResourceNotFoundException", message, 404, extra={"ResourceType": kind, "ResourceId": name}
    )


def validation(message: str) -> ServiceError:
    return ServiceError("ValidationException", message, 400)


def invalid_token(message: str = "The NextToken is invalid.") -> ServiceError:
    return ServiceError("InvalidNextToken", message, 400)
