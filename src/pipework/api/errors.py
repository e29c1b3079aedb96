"""AWS error shapes on the wire: a `ServiceError` becomes the body, headers and status each protocol's clients read.

The query protocol answers an XML ``ErrorResponse`` (`api/query.py`). JSON protocols answer ``{"__type": code, "message": ...}``; restJson1 adds the ``X-Amzn-ErrorType`` header; services
that moved from the query protocol (SQS) also send ``x-amzn-query-error: <query code>;Sender|Receiver``, from which
botocore takes ``Error.Code`` while the exception class comes from ``__type``, exactly as against AWS.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import cbor2
import orjson

from pipework.api.auth.errors import QUERY_CODES as AUTH_QUERY_CODES
from pipework.api.query import render_query_error
from pipework.services.base import ServiceError
from pipework.services.sqs.errors import QUERY_ERROR_CODES as SQS_QUERY_ERROR_CODES

#: JSON code → query code: SQS's own and the authentication errors'.
QUERY_ERROR_CODES = {**AUTH_QUERY_CODES, **SQS_QUERY_ERROR_CODES}

INTERNAL_FAILURE_MESSAGE = "We encountered an internal error. Please try again."

# SQS's query-protocol codes (`services/sqs/errors.py`) and the reverse, so a service may raise either form and
# clients still get the right exception class.
JSON_ERROR_CODES = {query: json for json, query in SQS_QUERY_ERROR_CODES.items()}

Headers = list[tuple[bytes, bytes]]


@dataclass(frozen=True, slots=True)
class ErrorStyle:
    """How one served API writes its errors."""

    content_type: bytes = b"application/x-amz-json-1.0"
    rest: bool = False  # restJson1: the code also goes in the X-Amzn-ErrorType header
    query_compatible: bool = False  # send x-amzn-query-error (SQS)
    type_namespace: str = ""  # "com.amazonaws.sqs#" for SQS's __type
    query: bool = False  # the query protocol: an XML ErrorResponse
    xml_namespace: str | None = None  # the query protocol's xmlns
    # Error shape name -> query code: the query protocol's codes, and (when set) a query-compatible JSON or CBOR
    # service's x-amzn-query-error codes (empty: SQS's table).
    codes: Mapping[str, str] = field(default_factory=dict, compare=False)
    cbor: bool = False  # smithy-rpc-v2-cbor: the body is CBOR, with the smithy-protocol header


JSON_ERRORS = ErrorStyle()
REST_JSON_ERRORS = ErrorStyle(content_type=b"application/json", rest=True)
QUERY_ERRORS = ErrorStyle(content_type=b"text/xml", query=True)  # before the request's API is known
CBOR_ERRORS = ErrorStyle(content_type=b"application/cbor", cbor=True)


def internal_failure() -> ServiceError:
    return ServiceError("InternalFailure", INTERNAL_FAILURE_MESSAGE, 500, sender_fault=False)


def service_unavailable() -> ServiceError:
    """The store cannot be reached for now (a database restart): retryable, as AWS's own 503."""
    return ServiceError(
        "ServiceUnavailable", "The service is unavailable. Please try again.", 503, sender_fault=False
    )


def render_error(style: ErrorStyle, error: ServiceError, request_id: str = "") -> tuple[int, Headers, bytes]:
    """The status, headers and body for `error` in `style` (the query protocol's XML carries `request_id`)."""
    if style.query:
        return render_query_error(
            error, request_id=request_id, namespace=style.xml_namespace, codes=style.codes
        )
    code = error.code
    headers: Headers = [(b"content-type", style.content_type)]
    if style.cbor:
        headers.append((b"smithy-protocol", b"rpc-v2-cbor"))
    if style.query_compatible:
        fault = "Sender" if error.sender_fault else "Receiver"
        if style.codes:
            query_code = style.codes.get(code, code)
        else:
            code = JSON_ERROR_CODES.get(code, code)
            query_code = QUERY_ERROR_CODES.get(code, code)
        headers.append((b"x-amzn-query-error", f"{query_code};{fault}".encode()))
    if style.rest:
        headers.append((b"x-amzn-errortype", code.encode()))
    body: dict[str, object] = {"__type": style.type_namespace + code, "message": error.message}
    for name, value in error.extra.items():
        body.setdefault(name, value)
    if style.cbor:
        return error.status, headers, cbor2.dumps(body)
    return error.status, headers, orjson.dumps(body)
