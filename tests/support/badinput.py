"""Bad input for every served AWS API, generated from botocore's service models, and the checks its answers must
pass (never a 5xx, never a hang, an AWS-shaped error body for every 4xx).

`Wire(service_name)` turns a `Case` (an operation plus JSON-able params, or a raw body) into the HTTP request the
service's protocol expects (JSON 1.0/1.1 by ``X-Amz-Target``; restJson1 by method, URI labels, query string and
headers; smithy-rpc-v2-cbor by ``/service/<name>/operation/<op>`` with a CBOR body) and sends it. `model_cases(wire, operation)` enumerates a fixed, bounded set of bad requests for one
operation from its input shape: raw non-JSON and deeply nested bodies, wrong content types, each required member
missing, and for every member (nested ones too) wrong types, out-of-range and over-long values, bogus enums and
unknown members. `params_strategy(shape)` is the Hypothesis counterpart: near-valid params with random defects,
for the longer `make fuzz` runs. Operations join automatically as their service model is served.
"""

from __future__ import annotations

import base64
import collections
import json
import logging
import os
import re
import time
import traceback
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree

import botocore.session
import cbor2
import httpx
from botocore.model import OperationModel, ServiceModel, Shape, StructureShape
from hypothesis import strategies as st

SERVED = (
    "events",
    "pipes",
    "scheduler",
    "sqs",
    "dynamodb",
    "dynamodbstreams",
    "cloudwatch",
    "logs",
    "lambda",
)

#: A request that has not been answered after this many seconds is a hang. Generous: the machine is shared and
#: the server runs in the test process; a real hang (a stuck event loop) never answers.
REQUEST_TIMEOUT = float(os.environ.get("PIPEWORK_FUZZ_TIMEOUT", "15"))

#: How many Hypothesis examples each fuzz test runs: small and derandomized in `make test`, many in `make fuzz`.
EXAMPLES = int(os.environ.get("PIPEWORK_FUZZ_EXAMPLES", "0")) or None

#: Strings at least this long are "over-long" for members the model gives no maximum.
LONG_STRING = 70_000

#: An over-long value for a member sent in the URI, query string or a header (httpx refuses URLs over 64 KiB).
URL_LIMIT = 8_000

#: A body larger than any AWS API accepts (DynamoDB's 16 MB request limit is the largest).
OVERSIZED_BODY = 17 * 1024 * 1024

#: Valid values pinned for members whose other valid values make a request wait on purpose (long polling).
PINNED_VALID: dict[str, Any] = {"WaitTimeSeconds": 0}

UNKNOWN_MEMBER = "PipeworkFuzzUnknownMember"


def service_model(name: str) -> ServiceModel:
    return _models.setdefault(name, botocore.session.get_session().get_service_model(name))


_models: dict[str, ServiceModel] = {}


# ───────────────────────────────────────────────── the wire ─────────────────────────────────────────────────


@dataclass(frozen=True)
class Case:
    """One request: `operation` with `params` (encoded by the protocol), or a raw `body` sent instead.

    `headers` override or add headers (a value of None removes the header); `label` says what is wrong.
    """

    operation: str
    label: str
    params: Any = None
    body: bytes | None = None
    headers: dict[str, str | None] = field(default_factory=dict)

    def describe(self) -> str:
        if self.body is not None:
            shown = self.body[:160]
            more = f" …({len(self.body)} bytes)" if len(self.body) > 160 else ""
            payload = f"body={shown!r}{more}"
        else:
            text = json.dumps(self.params, default=repr)
            payload = "params=" + (text if len(text) <= 300 else text[:300] + f" …({len(text)} chars)")
        extra = f" headers={self.headers}" if self.headers else ""
        return f"{self.operation} [{self.label}] {payload}{extra}"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: httpx.Headers
    body: bytes
    seconds: float


class Wire:
    """Requests to one served API over its protocol. `client` is an `httpx.Client` with a base URL."""

    def __init__(
        self, service_name: str, client: httpx.Client, region: str = "us-east-1", protocol: str | None = None
    ) -> None:
        self.model = service_model(service_name)
        self.name = service_name
        self.client = client
        #: The protocol requests are sent in: the model's, or another it lists (CloudWatch: ``json`` too).
        self.protocol = protocol or self.model.protocol
        self.rest = self.protocol == "rest-json"
        self.cbor = self.protocol == "smithy-rpc-v2-cbor"
        credential = f"test/20260101/{region}/{self.model.signing_name}/aws4_request"
        self.auth = f"AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=host, Signature=x"

    def operation(self, name: str) -> OperationModel:
        return self.model.operation_model(name)

    def request(self, case: Case) -> tuple[str, str, dict[str, str], bytes | None]:
        """(method, path with query string, headers, body) for `case`."""
        operation = self.operation(case.operation)
        headers = {"Authorization": self.auth}
        if self.rest:
            method, path, bound_headers, body = self._rest(operation, case)
            headers["Content-Type"] = "application/json"
            headers.update(bound_headers)
        elif self.cbor:
            method, path = (
                "POST",
                f"/service/{self.model.metadata['targetPrefix']}/operation/{operation.name}",
            )
            headers["Content-Type"] = "application/cbor"
            headers["smithy-protocol"] = "rpc-v2-cbor"
            body = case.body if case.body is not None else cbor2.dumps(case.params)
        else:
            method, path = "POST", "/"
            headers["X-Amz-Target"] = f"{self.model.metadata['targetPrefix']}.{operation.name}"
            headers["Content-Type"] = (
                f"application/x-amz-json-{self.model.metadata.get('jsonVersion', '1.0')}"
            )
            body = case.body if case.body is not None else _json_bytes(case.params)
        for name, value in case.headers.items():
            headers.pop(name, None)
            if value is not None:
                headers[name] = value
        return method, path, headers, body

    def _rest(self, operation: OperationModel, case: Case) -> tuple[str, str, dict[str, str], bytes | None]:
        method = operation.http["method"]
        template, _, literal_query = operation.http["requestUri"].partition("?")
        params = dict(case.params) if isinstance(case.params, dict) else {}
        members = operation.input_shape.members if operation.input_shape else {}
        query: list[tuple[str, str]] = []
        headers: dict[str, str] = {}
        for name, member in members.items():
            location = member.serialization.get("location")
            if not location or name not in params:
                continue
            value = params.pop(name)
            wire_name = member.serialization.get("name", name)
            if location == "uri":
                greedy = "{" + wire_name + "+}" in template
                text = quote(_text(value).encode("utf-8", "surrogatepass"), safe="/" if greedy else "")
                template = template.replace("{" + wire_name + "+}", text).replace("{" + wire_name + "}", text)
            elif location == "querystring":
                values = value if isinstance(value, list) else [value]
                query += [(wire_name, _text(v)) for v in values]
            elif location == "header":
                # No HTTP client can send NUL, CR or LF in a header value (h11 refuses): they are left out.
                text = re.sub(r"[\x00\r\n]", "", _text(value))
                headers[wire_name] = text.encode("utf-8", "replace").decode("latin-1")
        path = re.sub(r"\{[^}]+\}", "", template)  # a label left unset: an empty segment
        parts = [literal_query] if literal_query else []
        parts += [
            f"{quote(k, safe='')}={quote(v.encode('utf-8', 'surrogatepass'), safe='')}" for k, v in query
        ]
        if parts:
            path += "?" + "&".join(parts)
        if case.body is not None:
            body: bytes | None = case.body
        elif method in ("GET", "DELETE", "HEAD") and not params:
            body = None
        elif case.params is not None and not isinstance(case.params, dict):
            body = _json_bytes(case.params)
        else:
            body = _json_bytes(params)
        return method, path, headers, body

    def send(self, case: Case) -> Answer:
        method, path, headers, body = self.request(case)
        started = time.monotonic()
        response = self.client.request(method, path, headers=headers, content=body, timeout=REQUEST_TIMEOUT)
        return Answer(response.status_code, response.headers, response.content, time.monotonic() - started)


class OwnRoutes:
    """Requests to Pipework's own routes under ``/_pipework/``: a `Case`'s operation is ``"METHOD /path?query"``,
    its params (if any) the JSON body. Answers are checked with the ``own`` protocol (JSON errors)."""

    name = "pipework"

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def send(self, case: Case) -> Answer:
        method, _, path = case.operation.partition(" ")
        body = (
            case.body if case.body is not None else None if case.params is None else _json_bytes(case.params)
        )
        started = time.monotonic()
        # One connection per request: a server error may close the connection, failing the next request with it.
        headers = {"Connection": "close"}
        response = self.client.request(method, path, content=body, headers=headers, timeout=REQUEST_TIMEOUT)
        return Answer(response.status_code, response.headers, response.content, time.monotonic() - started)


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=True).encode()


def _text(value: Any) -> str:
    """A value as text in a URI, query string or header (what a sloppy client would send)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


# ───────────────────────────────────────────────── the checks ─────────────────────────────────────────────────


def problem_with(answer: Answer, protocol: str) -> str | None:
    """Why `answer` is not acceptable (a 5xx, or a 4xx without AWS's error shape), or None.

    `protocol` is ``json`` (``{"__type", "message"|"Message"}``), ``rest-json`` (the same body, or the type in
    ``X-Amzn-ErrorType``), ``smithy-rpc-v2-cbor`` (the same map in CBOR), ``query`` (the XML ``ErrorResponse``)
    or ``own`` (Pipework's routes: the JSON shape).
    """
    if answer.status >= 500:
        return f"answered {answer.status}: {answer.body[:300]!r}"
    if answer.status < 400:
        return None
    if protocol == "query":
        try:
            root = ElementTree.fromstring(answer.body)
        except ElementTree.ParseError:
            return f"{answer.status} without an XML error body: {answer.body[:200]!r}"
        if (
            root.tag != "ErrorResponse"
            or root.find("Error/Code") is None
            or root.find("Error/Message") is None
        ):
            return f"{answer.status} with an XML body that is not an ErrorResponse: {answer.body[:200]!r}"
        return None
    try:
        body = cbor2.loads(answer.body) if protocol == "smithy-rpc-v2-cbor" else json.loads(answer.body)
    except (ValueError, cbor2.CBORDecodeError):
        return f"{answer.status} without a {protocol} error body: {answer.body[:200]!r}"
    if not isinstance(body, dict):
        return f"{answer.status} with a JSON error body that is not an object: {answer.body[:200]!r}"
    code = body.get("__type")
    if protocol == "rest-json" and code is None:
        code = answer.headers.get("x-amzn-errortype")
    message = body.get("message", body.get("Message"))
    if not isinstance(code, str) or not code:
        return f"{answer.status} without an error type: {answer.body[:200]!r}"
    if not isinstance(message, str):
        return f"{answer.status} without an error message: {answer.body[:200]!r}"
    return None


# ─────────────────────────────────────────────── valid values ───────────────────────────────────────────────

_STRING_CANDIDATES = (
    "a",
    "fuzz",
    "1",
    "arn:aws:sqs:us-east-1:000000000000:fuzz",
    "arn:aws:iam::000000000000:role/fuzz",
    "arn:aws:events:us-east-1:000000000000:event-bus/fuzz",
    "https://example.com/fuzz",
    "fuzz.fuzz",
    "a=b",
    "{}",
    "000000000000",
    "rate(1 minute)",
    "us-east-1",
    "12345678-1234-1234-1234-123456789012",
)


def _string_fits(shape: Shape, text: str) -> bool:
    low, high = shape.metadata.get("min", 0), shape.metadata.get("max")
    if len(text) < low or (high is not None and len(text) > high):
        return False
    pattern = shape.metadata.get("pattern")
    if pattern:
        try:
            return re.fullmatch(pattern, text) is not None
        except re.error:
            return True
    return True


def minimal_string(shape: Shape) -> str:
    if shape.enum:
        return str(shape.enum[0])
    for candidate in _STRING_CANDIDATES:
        if _string_fits(shape, candidate):
            return candidate
    return "a" * max(shape.metadata.get("min", 1), 1)


def minimal(shape: Shape, member_name: str = "", depth: int = 0) -> Any:
    """A small value that satisfies `shape`'s constraints (as far as the model says): required members only."""
    if member_name in PINNED_VALID:
        return PINNED_VALID[member_name]
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        if shape.is_document_type:
            return {}
        if shape.metadata.get("union") or (shape.name == "AttributeValue"):
            name = next(iter(shape.members))
            return {name: minimal(shape.members[name], name, depth + 1)}
        return {
            name: minimal(shape.members[name], name, depth + 1)
            for name in shape.required_members
            if name in shape.members
        }
    if kind == "list":
        count = shape.metadata.get("min", 0)
        return [minimal(shape.member, depth=depth + 1) for _ in range(min(count, 2))] if depth < 8 else []
    if kind == "map":
        if shape.metadata.get("min", 0) and depth < 8:
            return {minimal_string(shape.key): minimal(shape.value, depth=depth + 1)}
        return {}
    if kind == "string":
        return minimal_string(shape)
    if kind in ("integer", "long"):
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        value = max(low, 1) if low is not None else 1
        return min(value, high) if high is not None else value
    if kind in ("double", "float"):
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        number = max(float(low), 1.0) if low is not None else 1.0
        return min(number, float(high)) if high is not None else number
    if kind == "boolean":
        return False
    if kind == "timestamp":
        return 1_800_000_000
    if kind == "blob":
        return base64.b64encode(b"a" * max(shape.metadata.get("min", 1), 1)).decode()
    return "a"


# ───────────────────────────────────────────────── bad values ─────────────────────────────────────────────────

_ALL_KINDS: dict[str, Any] = {
    "boolean": True,
    "number": 12345,
    "float": 1.5,
    "string": "xxx",
    "list": ["xxx"],
    "object": {"a": [None]},
}
_ACCEPTS = {
    "structure": {"object"},
    "map": {"object"},
    "list": {"list"},
    "string": {"string"},
    "integer": {"number"},
    "long": {"number"},
    "double": {"number", "float"},
    "float": {"number", "float"},
    "boolean": {"boolean"},
    "timestamp": {"number", "float", "string"},
    "blob": {"string"},
}

# Strings that break naive parsers: control characters, lone surrogates (raw, and escaped inside JSON text),
# path tricks, format strings, markup, and JSON text nested past any parser's recursion limit.
NASTY_STRINGS = (
    "",
    " ",
    "\u0000",
    "\ud800",
    '{"a": "\\ud800"}',
    "[" * 5_000,
    '{"a":' * 2_000,
    "../../etc/passwd",
    "%s%s%n",
    "<a>&amp;</a>",
    '"\\',
    "\u202e\ufeff🐍",
)
#: The nasty strings every member gets in the bounded run (`make test`); `make fuzz` tries them all.
SHORT_NASTY_STRINGS = ("", "\u0000", '{"a": "\\ud800"}', "[" * 5_000)


def bad_values(
    shape: Shape, *, thorough: bool = False, long_string: int = LONG_STRING
) -> Iterator[tuple[str, Any]]:
    """(label, value) pairs that `shape` must refuse (or at least survive); `thorough` adds more of each kind.
    `long_string` is the length of an over-long string where the model sets no maximum (or a larger one)."""
    kind = shape.type_name
    accepted = _ACCEPTS.get(kind, set())
    wrong = [(name, value) for name, value in _ALL_KINDS.items() if name not in accepted]
    if not thorough and wrong:
        # One wrong type per member, a different one from member to member (all are decoded by the same code).
        wrong = [wrong[zlib.crc32(shape.name.encode()) % len(wrong)]]
    for name, value in wrong:
        yield f"wrong type {name}", value
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if kind == "string":
        if shape.enum:
            yield "bogus enum", "PIPEWORK_BOGUS"
            if thorough:
                yield "enum in lower case", str(shape.enum[0]).lower()
        if low:
            yield f"shorter than min {low}", "x" * (int(low) - 1)
        yield "over-long", "x" * (int(high) + 1 if high is not None and high < long_string else long_string)
        for text in NASTY_STRINGS if thorough else SHORT_NASTY_STRINGS:
            yield f"nasty string {text[:12]!r}", text
    elif kind in ("integer", "long"):
        if low is not None:
            yield f"below min {low}", int(low) - 1
        if high is not None:
            yield f"above max {high}", int(high) + 1
        yield "negative", -1
        yield "beyond int64", 2**64
        yield "fractional", 1.5
        if thorough:
            yield "numeric string", "5"
            yield "int32 overflow", 2**31
    elif kind in ("double", "float"):
        if low is not None:
            yield f"below min {low}", float(low) - 1
        if high is not None:
            yield f"above max {high}", float(high) + 1
        yield "huge", 1e308
    elif kind in ("list", "map"):
        if low:
            yield f"fewer than min {low}", [] if kind == "list" else {}
        if high is not None and high <= 1000:
            if kind == "list":
                yield f"more than max {high}", [minimal(shape.member)] * (int(high) + 1)
            else:
                value = minimal(shape.value)
                yield f"more than max {high}", {f"k{i}": value for i in range(int(high) + 1)}
        if kind == "list":
            yield "null element", [None]
            yield "list nested 900 deep", _nested_lists(900)
        else:
            yield "bad keys", {"": minimal(shape.value), "\u0000": minimal(shape.value)}
            yield "null value", {"k": None}
    elif kind == "structure":
        yield "unknown member", {UNKNOWN_MEMBER: 1}
        # {"M": {"M": ...}} is an AttributeValue map holding one under the key "M": 900 JSON levels are 450
        # AttributeValues (and still under the JSON decoder's 1,024 levels).
        yield "nested 400 deep", _nested({"S": "a"}, 400, "M")
        yield "nested 900 deep", _nested({"S": "a"}, 900, "M")
    elif kind == "timestamp":
        yield "unparseable date", "yesterday"
        yield "far future", 1e20
        yield "far past", -1e20
    elif kind == "blob":
        yield "not base64", "!!!not base64!!!"
        yield "empty blob", ""
        if high is not None:
            yield f"blob over max {high}", base64.b64encode(b"x" * (int(high) + 1)).decode()


def _nested_lists(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


def _nested(leaf: Any, depth: int, key: str) -> Any:
    value = leaf
    for _ in range(depth):
        value = {key: value}
    return value


# ─────────────────────────────────────── enumerated cases of an operation ───────────────────────────────────────

Path = tuple[str | int, ...]


def member_paths(shape: Shape, max_depth: int = 3) -> Iterator[tuple[Path, Shape, str]]:
    """(path, shape, member name) of every member reachable from `shape`, up to `max_depth` structures deep;
    a list contributes its first element (index 0) and a map its value under key ``"k"``; recursive shapes are
    followed once."""

    def walk(node: Shape, path: Path, depth: int, seen: frozenset[str]) -> Iterator[tuple[Path, Shape, str]]:
        if node.type_name == "structure" and depth < max_depth and node.name not in seen:
            assert isinstance(node, StructureShape)
            for name, member in node.members.items():
                yield (*path, name), member, name
                yield from walk(member, (*path, name), depth + 1, seen | {node.name})
        elif node.type_name == "list" and node.name not in seen:
            yield (*path, 0), node.member, ""
            yield from walk(node.member, (*path, 0), depth, seen | {node.name})
        elif node.type_name == "map" and node.name not in seen:
            yield (*path, "k"), node.value, ""
            yield from walk(node.value, (*path, "k"), depth, seen | {node.name})

    yield from walk(shape, (), 0, frozenset())


def with_value(shape: Shape, base: Any, path: Path, value: Any) -> Any:
    """A copy of `base` (a valid value of `shape`) with `value` at `path`, creating the containers on the way."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if shape.type_name == "structure":
        assert isinstance(shape, StructureShape)
        member = shape.members[str(head)]
        container = dict(base) if isinstance(base, dict) else {}
        if shape.metadata.get("union") or shape.name == "AttributeValue":
            container = {}  # a union holds one member: the one being changed
        current = container.get(str(head), minimal(member, str(head)))
        container[str(head)] = with_value(member, current, rest, value)
        return container
    if shape.type_name == "list":
        items = list(base) if isinstance(base, list) and base else [minimal(shape.member)]
        items[0] = with_value(shape.member, items[0], rest, value)
        return items
    if shape.type_name == "map":
        entries = dict(base) if isinstance(base, dict) else {}
        entries[str(head)] = with_value(
            shape.value, entries.get(str(head), minimal(shape.value)), rest, value
        )
        return entries
    return value


def cbor_body_cases(operation: str) -> Iterator[Case]:
    """Bodies that are not a CBOR map, or nested past any decoder's limit; a wrong protocol header."""
    raw = {
        "empty body": b"",
        "not CBOR": b"\xff\xff\xff",
        "truncated CBOR": b"\xa1\x61",
        "CBOR array": cbor2.dumps([1, 2]),
        "CBOR text": cbor2.dumps("x"),
        "unknown CBOR tag": b"\xd9\xd9\xf7" + cbor2.dumps({}),
        "invalid UTF-8 text": b"\xa1\x61a\x62\xff\xfe",
        "10,000 nested arrays": b"\x81" * 10_000 + b"\x01",
        "indefinite map never closed": b"\xbf\x61a\x01",
    }
    for label, body in raw.items():
        yield Case(operation, label, body=body)
    yield Case(operation, "JSON body", body=b'{"a": 1}')
    yield Case(operation, "no protocol header", params={}, headers={"smithy-protocol": None})
    yield Case(
        operation, "rpc-v2-json protocol header", params={}, headers={"smithy-protocol": "rpc-v2-json"}
    )


def raw_body_cases(operation: str, *, json_protocol: bool, thorough: bool = False) -> Iterator[Case]:
    """Bodies that are not a JSON object at all, or nested past any parser's limit; then wrong content types.
    The bounded run sends every operation an empty body and two of the others (a different two for each
    operation: every operation's body goes through the same decoder)."""
    raw = {
        "empty body": b"",
        "JSON array": b"[]",
        "JSON null": b"null",
        "JSON string": b'"x"',
        "JSON number": b"1e999",
        "not JSON": b"not json",
        "truncated JSON": b'{"a": ',
        "invalid UTF-8": b'{"a": "\xff\xfe"}',
        "NaN": b'{"a": NaN}',
        "lone surrogate": b'{"a": "\\ud800"}',
        "duplicate keys": b'{"a": 1, "a": 2}',
        "10,000 nested arrays": b"[" * 10_000 + b"]" * 10_000,
        "10,000 nested objects": b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
        "1,000 nested arrays": b"[" * 1_000 + b"]" * 1_000,
    }
    chosen = list(raw.items())
    if not thorough:
        start = zlib.crc32(operation.encode()) % (len(chosen) - 1)
        chosen = [chosen[0], *chosen[1:][start : start + 2]]
    for label, body in chosen:
        yield Case(operation, label, body=body)
    if json_protocol:
        yield Case(operation, "text/plain content type", params={}, headers={"Content-Type": "text/plain"})
        yield Case(operation, "no content type", params={}, headers={"Content-Type": None})
        yield Case(
            operation,
            "form content type",
            body=b"a=b&c=d",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        yield Case(operation, "unknown operation", params={}, headers={"X-Amz-Target": "Bogus_20260101.Nope"})
    else:
        yield Case(operation, "XML content type", body=b"<a/>", headers={"Content-Type": "application/xml"})


#: Operations that remove or stop a whole resource: their valid params never name the hinted resources.
DESTRUCTIVE = re.compile(r"(Delete(?!Item|Message)|Purge|Deactivate|Stop|Disable|Remove|Untag|Cancel)[A-Z]")


def model_cases(
    wire: Wire, operation_name: str, *, thorough: bool = False, hints: dict[str, Any] | None = None
) -> Iterator[Case]:
    """The fixed set of bad requests for one operation (see the module docstring). The bounded set looks three
    structures deep; `thorough` looks five deep and tries more values of each kind. `hints` give top-level members
    valid values naming existing resources (``{"TableName": "t", "Key": {...}}``), so that each defect is met by
    the service's own checks rather than stopped at "no such resource"."""
    operation = wire.operation(operation_name)
    shape = operation.input_shape
    if wire.cbor:
        yield from cbor_body_cases(operation_name)
    else:
        yield from raw_body_cases(operation_name, json_protocol=not wire.rest, thorough=thorough)
    if shape is None:
        yield Case(operation_name, "unknown member", params={UNKNOWN_MEMBER: 1})
        return
    base = minimal(shape)
    if hints and not DESTRUCTIVE.match(operation_name):
        base |= {name: value for name, value in hints.items() if name in shape.members}
    yield Case(operation_name, "minimal valid params", params=base)
    yield Case(operation_name, "no params", params={})
    yield Case(operation_name, "unknown member", params={**base, UNKNOWN_MEMBER: {"a": 1}})
    for name in shape.required_members:
        yield Case(operation_name, f"missing {name}", params={k: v for k, v in base.items() if k != name})
    for path, member, _ in member_paths(shape, 5 if thorough else 3):
        where = ".".join(str(p) for p in path)
        # URIs, query strings and headers have their own length limits (URL_LIMIT), the items of a list sent
        # in the query string too (Lambda's ListDurableExecutionsByFunction Statuses); bodies get LONG_STRING.
        top = shape.members.get(str(path[0])) if path else None
        located = top is not None and top.serialization.get("location")
        long_string = URL_LIMIT if located else LONG_STRING
        for label, value in bad_values(member, thorough=thorough, long_string=long_string):
            yield Case(operation_name, f"{where}: {label}", params=with_value(shape, base, path, value))
        if member.type_name != "structure":
            yield Case(operation_name, f"{where}: null", params=with_value(shape, base, path, None))


def oversized_cases(wire: Wire) -> Iterator[Case]:
    """Bodies larger than any AWS request limit, to the service's first operation that reads a string from its
    body: one JSON (the string member holds it all), one not JSON."""
    for name in wire.model.operation_names:
        shape = wire.operation(name).input_shape
        members = shape.members if shape is not None else {}
        member = next(
            (
                n
                for n, m in members.items()
                if not m.serialization.get("location") and m.type_name == "string"
            ),
            None,
        )
        if shape is not None and member is not None:
            params = {**minimal(shape), member: "x" * OVERSIZED_BODY}
            yield Case(name, f"oversized body ({OVERSIZED_BODY} bytes in {member})", params=params)
            yield Case(name, f"oversized body ({OVERSIZED_BODY} bytes, not JSON)", body=b"x" * OVERSIZED_BODY)
            return


# ───────────────────────────────────────────── Hypothesis strategies ─────────────────────────────────────────────


def params_strategy(shape: Shape, defect_rate: int = 8) -> st.SearchStrategy[Any]:
    """Near-valid params for `shape`: each value is valid except, about one time in `defect_rate`, a bad one
    (wrong type, out of range, bogus enum, nasty string); structures sometimes miss a required member or carry an
    unknown one."""
    cache: dict[str, st.SearchStrategy[Any]] = {}

    def build(node: Shape, name: str, depth: int) -> st.SearchStrategy[Any]:
        key = f"{node.name}/{name}/{min(depth, 4)}"
        if key not in cache:
            cache[key] = st.deferred(lambda: _build(node, name, depth))
        return cache[key]

    def _build(node: Shape, name: str, depth: int) -> st.SearchStrategy[Any]:
        bad = [value for _, value in bad_values(node) if not (isinstance(value, str) and len(value) > 1000)]
        good = _valid_strategy(node, name, depth)
        if not bad:
            return good
        return st.one_of(good, good, *([good] * (defect_rate - 3)), st.sampled_from(bad))

    def _valid_strategy(node: Shape, name: str, depth: int) -> st.SearchStrategy[Any]:
        kind = node.type_name
        if name in PINNED_VALID:
            return st.just(PINNED_VALID[name])
        if kind == "structure":
            assert isinstance(node, StructureShape)
            if node.is_document_type or depth > 4:
                return st.just(minimal(node, name))
            members = {n: build(m, n, depth + 1) for n, m in node.members.items()}
            required = [n for n in node.required_members if n in members]
            optional = [n for n in members if n not in required]
            if node.metadata.get("union") or node.name == "AttributeValue":
                return st.one_of([st.fixed_dictionaries({n: s}) for n, s in members.items()])
            strategy = st.fixed_dictionaries(
                {n: members[n] for n in required}, optional={n: members[n] for n in optional}
            )
            return strategy.flatmap(lambda value: _structure_defects(value, required))
        if kind == "list":
            high = min(node.metadata.get("max", 4), 4)
            low = min(node.metadata.get("min", 0), high)
            return st.lists(build(node.member, "", depth + 1), min_size=low, max_size=high)
        if kind == "map":
            return st.dictionaries(_string_strategy(node.key), build(node.value, "", depth + 1), max_size=3)
        if kind == "string":
            return _string_strategy(node)
        if kind in ("integer", "long"):
            low, high = node.metadata.get("min", -(2**31)), node.metadata.get("max", 2**31 - 1)
            return st.integers(int(low), int(high))
        if kind in ("double", "float"):
            return st.floats(
                node.metadata.get("min"), node.metadata.get("max"), allow_nan=False, allow_infinity=False
            )
        if kind == "boolean":
            return st.booleans()
        if kind == "timestamp":
            return st.one_of(st.integers(0, 4_000_000_000), st.just("2026-12-02T10:00:00Z"))
        if kind == "blob":
            return st.binary(max_size=16).map(lambda data: base64.b64encode(data).decode())
        return st.just(minimal(node, name))

    return build(shape, "", 0)


def _structure_defects(value: dict[str, Any], required: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    choices = [st.just(value)] * 6
    if required:
        choices.append(
            st.sampled_from(required).map(lambda name: {k: v for k, v in value.items() if k != name})
        )
    choices.append(st.just({**value, UNKNOWN_MEMBER: [1]}))
    return st.one_of(choices)


def _string_strategy(shape: Shape) -> st.SearchStrategy[str]:
    if shape.enum:
        return st.sampled_from([str(value) for value in shape.enum])
    low = shape.metadata.get("min", 0)
    high = min(shape.metadata.get("max", 64), 64)
    pattern = shape.metadata.get("pattern")
    texts = st.text(min_size=min(low, high), max_size=max(high, min(low, high)))
    candidates = st.sampled_from(
        [c for c in _STRING_CANDIDATES if _string_fits(shape, c)] or [minimal_string(shape)]
    )
    if pattern:
        try:
            re.compile(pattern)
            regex_texts = st.from_regex(pattern, fullmatch=True).filter(
                lambda t: low <= len(t) <= max(high, low)
            )
            return st.one_of(candidates, regex_texts, texts)
        except re.error:
            pass
    return st.one_of(candidates, texts)


# ───────────────────────────────────────────────── running cases ─────────────────────────────────────────────────


class InternalFailures(logging.Handler):
    """Collects the exception behind each 5xx the server logs ("internal failure in ... (request ID)"), so a
    failure report names its cause. One is installed on import (`INTERNAL_FAILURES`)."""

    _REQUEST = re.compile(r"\(request ([0-9a-f-]+)\)")

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.causes: dict[str, str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        found = self._REQUEST.search(record.getMessage())
        if found is None or record.exc_info is None or record.exc_info[1] is None:
            return
        error = record.exc_info[1]
        frames = traceback.extract_tb(error.__traceback__)
        where = next(
            (f for f in reversed(frames) if "/pipework/" in f.filename), frames[-1] if frames else None
        )
        place = f" at {where.filename.rpartition('/src/')[2]}:{where.lineno}" if where else ""
        self.causes[found.group(1)] = f"{type(error).__name__}: {str(error)[:160]}{place}"


INTERNAL_FAILURES = InternalFailures()
logging.getLogger("pipework.api.app").addHandler(INTERNAL_FAILURES)


@dataclass(frozen=True)
class Known:
    """A known 5xx or hang, to be removed once fixed: the `service`, a regex matching the `operation` name, and a
    regex searched in the failure's text (the case's label and params, the answer and the server's exception)."""

    service: str
    operation: str
    failure: str
    reason: str

    def covers(self, service: str, case: Case, failure: str) -> bool:
        return (
            service == self.service
            and re.fullmatch(self.operation, case.operation) is not None
            and re.search(self.failure, failure) is not None
        )


@dataclass
class Findings:
    """Unacceptable answers, split into known ones (listed in `known`) and new ones."""

    known: tuple[Known, ...] = ()
    new: list[str] = field(default_factory=list)
    seen_known: set[Known] = field(default_factory=set)
    sent: int = 0
    slowest: list[tuple[float, str]] = field(default_factory=list)  # the 5 slowest answers (seconds, case)
    statuses: collections.Counter[str] = field(
        default_factory=collections.Counter
    )  # "Operation status" counts

    def check(self, wire: Wire | OwnRoutes, case: Case, protocol: str | None = None) -> Answer | None:
        """Send `case`; record what is wrong with the answer. Returns the answer (None after a hang)."""
        self.sent += 1
        answer: Answer | None = None
        try:
            answer = wire.send(case)
        except httpx.TimeoutException:
            problem: str | None = f"no answer within {REQUEST_TIMEOUT} s (a hang)"
        except httpx.TransportError as error:
            problem = f"no answer: {type(error).__name__}: {error}"
        else:
            self.statuses[f"{case.operation} {answer.status}"] += 1
            self.slowest = sorted([*self.slowest, (answer.seconds, case.describe()[:200])], reverse=True)[:5]
            expected = protocol or ("own" if isinstance(wire, OwnRoutes) else wire.protocol)
            problem = problem_with(answer, expected)
            cause = INTERNAL_FAILURES.causes.pop(answer.headers.get("x-amzn-requestid", ""), None)
            if problem is not None and cause is not None:
                problem += f"\n    cause: {cause}"
        if problem is None:
            return answer
        failure = f"{wire.name} {case.describe()}\n    -> {problem}"
        covering = next((k for k in self.known if k.covers(wire.name, case, failure)), None)
        if covering is not None:
            self.seen_known.add(covering)
        else:
            self.new.append(failure)
        return answer

    def report(self, services: tuple[str, ...], *, strict: bool = True) -> str:
        """What is wrong: new failures, and (with `strict`) known ones of `services` that no longer fail."""
        lines = list(self.new[:60])
        if len(self.new) > 60:
            lines.append(f"... and {len(self.new) - 60} more")
        if strict:
            for known in self.known:
                if known.service in services and known not in self.seen_known:
                    lines.append(f"FIXED? remove from the known 5xx: {known}")
        return "\n".join(lines)
