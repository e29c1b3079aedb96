"""PutEvents entries: validation with AWS's per-entry error codes, size accounting, and the routed envelope.

An entry that fails validation gets an ``ErrorCode``/``ErrorMessage`` in the response and is not routed; the rest
of the request goes on (HTTP 200). Limits that concern the whole request raise `ServiceError`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson

from pipework.ids import random_uuid
from pipework.patterns.parse import load_json

from .errors import validation

#: The total size of one PutEvents request's entries must stay under this (AWS: 256 KB per request).
MAX_REQUEST_SIZE = 256 * 1024
#: PutEvents processes nested JSON up to this depth.
MAX_DEPTH = 1000
_INT64 = (-(2**63), 2**63 - 1)


@dataclass(frozen=True, slots=True)
class EntryError:
    code: str
    message: str

    def as_result(self) -> dict[str, str]:
        return {"ErrorCode": self.code, "ErrorMessage": self.message}


def entry_size(entry: dict[str, Any]) -> int:
    """AWS's entry size: 14 bytes if Time is set, plus the UTF-8 bytes of Source, DetailType, Detail, Resources."""
    size = 14 if entry.get("Time") is not None else 0
    for key in ("Source", "DetailType", "Detail"):
        value = entry.get(key)
        if value:
            size += len(value.encode())
    for resource in entry.get("Resources") or ():
        size += len(resource.encode())
    return size


def check_request_size(entries: list[dict[str, Any]]) -> None:
    if sum(entry_size(e) for e in entries) > MAX_REQUEST_SIZE:
        raise validation("Total size of the entries in the request is over the limit.")


def _text_ok(text: str) -> bool:
    """False for a string holding a lone surrogate (``"\\ud800"`` in JSON): it has no UTF-8 form."""
    if text.isascii():
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _detail_ok(value: Any, depth: int = 0) -> bool:
    """Within AWS's nesting and number limits, and every string and key encodable as UTF-8."""
    if depth > MAX_DEPTH:
        return False
    if isinstance(value, dict):
        return all(_text_ok(k) and _detail_ok(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return all(_detail_ok(v, depth + 1) for v in value)
    if isinstance(value, str):
        return _text_ok(value)
    if type(value) is int:
        return _INT64[0] <= value <= _INT64[1]
    return True


def parse_detail(detail: str) -> dict[str, Any] | None:
    """The Detail as a JSON object, or None if it is malformed (not JSON, not an object, beyond AWS's limits, or
    holding text with no UTF-8 form, which no target could be sent)."""
    try:
        value = load_json(detail)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict):
        return None
    try:
        return value if _detail_ok(value) else None
    except RecursionError:
        return None


def validate_entry(entry: dict[str, Any]) -> tuple[dict[str, Any] | None, EntryError | None]:
    """The parsed Detail of a valid entry, or the error AWS reports for it."""
    for key in ("Source", "DetailType", "Detail"):
        if not entry.get(key):
            return None, EntryError(
                "InvalidArgument", f"Parameter {key} is not valid. Reason: {key} is a required argument."
            )
    if entry["Source"].startswith("aws."):
        return None, EntryError("NotAuthorizedForSourceException", "Not authorized for the source.")
    detail = parse_detail(entry["Detail"])
    if detail is None:
        return None, EntryError("MalformedDetail", "Detail is malformed.")
    return detail, None


def format_time(value: dt.datetime | float) -> str:
    """RFC 3339 at second precision, UTC (``2026-11-24T10:00:00Z``), as EventBridge writes ``time``."""
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    else:
        moment = dt.datetime.fromtimestamp(value, dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def bus_name(name_or_arn: str | None) -> str:
    """The bus name of an EventBusName that may be a name or an ARN; ``default`` when omitted."""
    if not name_or_arn:
        return "default"
    if name_or_arn.startswith("arn:"):
        return name_or_arn.rsplit("/", 1)[-1]
    return name_or_arn


def build_event(
    entry: dict[str, Any], detail: dict[str, Any], *, now: float, region: str, account: str
) -> dict[str, Any]:
    """The event as targets receive it, with EventBridge's key order."""
    when = entry.get("Time")
    return {
        "version": "0",
        "id": random_uuid(),
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": account,
        "time": format_time(when if when is not None else now),
        "region": region,
        "resources": list(entry.get("Resources") or []),
        "detail": detail,
    }


def dumps(event: dict[str, Any]) -> bytes:
    return orjson.dumps(event)
