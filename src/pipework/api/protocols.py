"""AWS's wire protocols for the served APIs: JSON 1.0/1.1 (routed by ``X-Amz-Target``), restJson1 (routed by
method and path against the models' ``requestUri`` templates) and query (routed by ``Action``; `api/query.py`),
decoding requests into validated params and encoding outputs. Everything per operation (validator, URI bindings, output bindings) is compiled on first use and cached.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, unquote

import cbor2
import orjson
from botocore.model import OperationModel, ServiceModel, Shape

from pipework.api.errors import JSON_ERRORS, REST_JSON_ERRORS, ErrorStyle, Headers
from pipework.api.query import CONTENT_TYPE as QUERY_CONTENT_TYPE
from pipework.api.query import QueryBindings, error_codes
from pipework.models import (
    Problem,
    SerializationError,
    compile_operation_input,
    parse_timestamp,
    validation_message,
)
from pipework.services.base import Service, ServiceError

MISSING_PARAMETER = "The request must contain the parameter {}."


def serialization_error(message: str) -> ServiceError:
    return ServiceError("SerializationException", message, 400)


def _encode_default(value: Any) -> Any:
    """JSON protocols send timestamps as epoch seconds and blobs as base64 text."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"cannot serialize {type(value).__name__}")


def dump_json(value: Any) -> bytes:
    return orjson.dumps(value, default=_encode_default, option=orjson.OPT_PASSTHROUGH_DATETIME)


class Operation:
    """One operation of a served API, with its compiled input decoder and (restJson1) HTTP bindings."""

    def __init__(self, api: ServedApi, model: OperationModel) -> None:
        self.api = api
        self.name: str = model.name
        self.model = model
        self._decode = compile_operation_input(model)
        self.rest = _RestBindings(model) if api.rest else None
        self.query = QueryBindings(model) if api.query else None

    def decode(self, params: dict[str, Any]) -> dict[str, Any]:
        """Validate and decode `params` (already gathered from body, URI, query and headers)."""
        try:
            decoded, problems = self._decode(params)
        except SerializationError as exc:
            raise serialization_error(str(exc)) from None
        if problems:
            raise self.api.validation_error(problems)
        return decoded


class ServedApi:
    """A service together with its botocore model: protocol, routing keys, error style and operations."""

    def __init__(self, service: Service, model: ServiceModel) -> None:
        self.service = service
        self.model = model
        metadata = model.metadata
        self.name: str = service.name
        self.rest: bool = model.protocol == "rest-json"
        self.cbor: bool = model.protocol == "smithy-rpc-v2-cbor"
        self.query: bool = model.protocol == "query"
        self.api_version: str | None = metadata.get("apiVersion")
        self.target_prefix: str | None = metadata.get("targetPrefix")
        self.signing_name: str = model.signing_name or metadata.get("endpointPrefix", self.name)
        self.query_compatible: bool = "awsQueryCompatible" in metadata
        if self.rest:
            self.content_type = b"application/json"
            self.error_style = REST_JSON_ERRORS
        elif self.cbor:
            self.content_type = b"application/cbor"
            self.error_style = ErrorStyle(
                content_type=self.content_type,
                cbor=True,
                query_compatible=self.query_compatible,
                type_namespace=f"com.amazonaws.{metadata.get('endpointPrefix', self.name)}#",
                codes=error_codes(model),
            )
            # The same API over JSON 1.0 (X-Amz-Target), which its model also lists.
            self.json_error_style = ErrorStyle(
                query_compatible=self.query_compatible,
                type_namespace=self.error_style.type_namespace,
                codes=self.error_style.codes,
            )
        elif self.query:
            self.content_type = QUERY_CONTENT_TYPE
            self.error_style = ErrorStyle(
                content_type=QUERY_CONTENT_TYPE,
                query=True,
                xml_namespace=metadata.get("xmlNamespace"),
                codes=error_codes(model),
            )
        else:
            self.content_type = f"application/x-amz-json-{metadata.get('jsonVersion', '1.0')}".encode()
            self.error_style = ErrorStyle(
                content_type=self.content_type,
                query_compatible=self.query_compatible,
                type_namespace=f"com.amazonaws.{metadata.get('endpointPrefix', self.name)}#"
                if self.query_compatible
                else "",
            )
        if not self.cbor:
            self.json_error_style = self.error_style
        self._names = frozenset(model.operation_names)
        self._operations: dict[str, Operation] = {}

    def operation(self, name: str) -> Operation | None:
        known = self._operations.get(name)
        if known is None and name in self._names:
            known = self._operations[name] = Operation(self, self.model.operation_model(name))
        return known

    def validation_error(self, problems: list[Problem]) -> ServiceError:
        if self.query_compatible:
            # SQS words validation as its query API did: the first missing parameter, else an invalid value.
            missing = next((p.missing for p in problems if p.missing), None)
            if missing is not None:
                return ServiceError(
                    "MissingRequiredParameterException", MISSING_PARAMETER.format(missing), 400
                )
            return ServiceError("InvalidParameterValueException", validation_message(problems), 400)
        if self.query:
            return ServiceError("ValidationError", validation_message(problems), 400)
        return ServiceError("ValidationException", validation_message(problems), 400)

    def encode_json(self, operation: Operation, result: dict[str, Any]) -> tuple[int, Headers, bytes]:
        """The success response of a JSON-protocol operation."""
        content_type = b"application/x-amz-json-1.0" if self.cbor else self.content_type
        return 200, [(b"content-type", content_type)], dump_json(result)

    def encode_cbor(self, operation: Operation, result: dict[str, Any]) -> tuple[int, Headers, bytes]:
        """The success response of a smithy-rpc-v2-cbor operation (timestamps as CBOR tag 1, epoch seconds)."""
        headers: Headers = [(b"content-type", self.content_type), (b"smithy-protocol", b"rpc-v2-cbor")]
        return 200, headers, encode_cbor(result)


# ------------------------------------------------------------------------------------------ smithy-rpc-v2-cbor


def _cbor_default(encoder: Any, value: Any) -> None:
    if isinstance(value, memoryview | bytearray):
        encoder.encode(bytes(value))
        return
    raise TypeError(f"cannot serialize {type(value).__name__}")


def encode_cbor(value: Any) -> bytes:
    return bytes(cbor2.dumps(value, datetime_as_timestamp=True, default=_cbor_default))


def decode_cbor_body(body: bytes) -> dict[str, Any]:
    """A smithy-rpc-v2-cbor request body: a map, or empty for no params."""
    if not body:
        return {}
    try:
        params = cbor2.loads(body)
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, RecursionError):
        raise serialization_error("The request body is not valid CBOR.") from None
    if type(params) is not dict:
        raise serialization_error("The request body must be a CBOR map.")
    return params


# ---------------------------------------------------------------------------------------------------------- JSON


def decode_json_body(body: bytes) -> dict[str, Any]:
    """A JSON protocol's request body: an object, or empty for no params."""
    if not body.strip():
        return {}
    try:
        params = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise serialization_error("Start of structure or map found where not expected.") from None
    if type(params) is not dict:
        raise serialization_error("Start of structure or map found where not expected.")
    return params


# ------------------------------------------------------------------------------------------------------ restJson1


_LABEL = re.compile(r"\{([^}]+)\}")


@dataclass(frozen=True, slots=True)
class RestRoute:
    """A ``requestUri`` template compiled to a regex over the raw (still percent-encoded) path."""

    api: ServedApi
    operation: str
    method: str
    path: re.Pattern[str]
    labels: tuple[str, ...]  # the URI labels, in the order of the regex's groups
    required_query: tuple[tuple[str, str | None], ...]  # literal query members of the template ("?tagging")
    literal_length: int  # how much of the template is literal: more literal wins, as AWS routes

    def match(self, raw_path: str, query: dict[str, list[str]]) -> dict[str, str] | None:
        found = self.path.fullmatch(raw_path)
        if found is None:
            return None
        for name, value in self.required_query:
            if name not in query or (value is not None and value not in query[name]):
                return None
        return {name: unquote(value) for name, value in zip(self.labels, found.groups())}


def compile_route(api: ServedApi, operation: OperationModel) -> RestRoute:
    template = operation.http.get("requestUri", "/")
    path_template, _, query_template = template.partition("?")
    pattern = ""
    position = 0
    labels = []
    for label in _LABEL.finditer(path_template):
        pattern += re.escape(path_template[position : label.start()])
        name = label.group(1)
        # A greedy label ({Key+}) spans "/"; any other label is one path segment.
        pattern += "(.+)" if name.endswith("+") else "([^/]+)"
        labels.append(name.removesuffix("+"))
        position = label.end()
    pattern += re.escape(path_template[position:])
    required_query = []
    for part in query_template.split("&"):
        if part:
            name, sep, value = part.partition("=")
            required_query.append((name, value if sep else None))
    return RestRoute(
        api=api,
        operation=operation.name,
        method=operation.http.get("method", "POST").upper(),
        path=re.compile(pattern),
        labels=tuple(labels),
        required_query=tuple(required_query),
        literal_length=len(_LABEL.sub("", template)),
    )


class RestRouter:
    """Finds the restJson1 operation for a method and raw path; the SigV4 service name settles shared paths."""

    def __init__(self, apis: Iterable[ServedApi]) -> None:
        self._routes: dict[str, list[RestRoute]] = {}
        for api in apis:
            if not api.rest:
                continue
            for name in api.model.operation_names:
                route = compile_route(api, api.model.operation_model(name))
                self._routes.setdefault(route.method, []).append(route)
        for routes in self._routes.values():
            routes.sort(key=lambda r: (-r.literal_length, -len(r.required_query)))

    def route(
        self, method: str, raw_path: str, query: dict[str, list[str]], signing_service: str | None
    ) -> tuple[RestRoute, dict[str, str]] | None:
        fallback: tuple[RestRoute, dict[str, str]] | None = None
        for route in self._routes.get(method, ()):
            labels = route.match(raw_path, query)
            if labels is None:
                continue
            if signing_service is None or route.api.signing_name == signing_service:
                return route, labels
            if fallback is None:
                fallback = route, labels
        return fallback

    def allows(self, raw_path: str, query: dict[str, list[str]]) -> bool:
        """Whether some operation serves this path with another method."""
        return any(r.match(raw_path, query) is not None for rs in self._routes.values() for r in rs)


Coerce = Callable[[str], Any]


class _RestBindings:
    """Where each input member comes from (URI label, query string, header) and where outputs go."""

    def __init__(self, model: OperationModel) -> None:
        self.success_status: int = int(model.http.get("responseCode", 200))
        self.labels: dict[str, tuple[str, Coerce]] = {}
        self.query: dict[str, tuple[str, Coerce, bool]] = {}
        self.query_map: str | None = None
        self.headers: dict[str, tuple[str, Coerce]] = {}
        self.header_prefix: dict[str, str] = {}
        # (member, its type) of a member that is the whole body: blobs stay bytes, strings become text.
        self.payload: tuple[str, str] | None = None
        shape = model.input_shape
        if shape is not None:
            payload = shape.serialization.get("payload")
            for name, member in shape.members.items():
                location = member.serialization.get("location")
                wire = member.serialization.get("name", name)
                if location == "uri":
                    self.labels[wire] = (name, _coercer(member, "uri"))
                elif location == "querystring":
                    if member.type_name == "map":
                        self.query_map = name
                    else:
                        is_list = member.type_name == "list"
                        self.query[wire] = (name, _coercer(member, "querystring"), is_list)
                elif location == "header":
                    self.headers[wire.lower()] = (name, _coercer(member, "header"))
                elif location == "headers":
                    self.header_prefix[name] = wire.lower()
                elif name == payload:
                    self.payload = (name, member.type_name)
        # Output bindings: members sent as headers or as the status code instead of in the body.
        self.output_headers: dict[str, tuple[bytes, Callable[[Any], str]]] = {}
        self.output_status: str | None = None
        self.output_payload: str | None = None
        out = model.output_shape
        if out is not None:
            self.output_payload = out.serialization.get("payload")
            for name, member in out.members.items():
                location = member.serialization.get("location")
                if location == "header":
                    wire = member.serialization.get("name", name)
                    self.output_headers[name] = (wire.lower().encode("latin-1"), _header_text(member))
                elif location == "statusCode":
                    self.output_status = name

    def gather(
        self, labels: dict[str, str], query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> dict[str, Any]:
        """Collect the raw params from every location, converting text to the members' types."""
        if self.payload is not None:
            name, kind = self.payload
            params: dict[str, Any] = {}
            if body:
                if kind == "blob":
                    params[name] = body
                elif kind == "string":
                    params[name] = body.decode("utf-8", "replace")
                else:
                    params[name] = decode_json_body(body)
        else:
            params = decode_json_body(body)
        for wire, text in labels.items():
            binding = self.labels.get(wire)
            if binding is not None:
                params[binding[0]] = binding[1](text)
        for wire, (name, coerce, is_list) in self.query.items():
            values = query.get(wire)
            if values:
                params[name] = [coerce(v) for v in values] if is_list else coerce(values[0])
        if self.query_map is not None:
            bound = set(self.query)
            params[self.query_map] = {k: v[0] for k, v in query.items() if k not in bound}
        for wire, (name, coerce) in self.headers.items():
            value = headers.get(wire)
            if value is not None:
                params[name] = coerce(value)
        for name, prefix in self.header_prefix.items():
            found = {k[len(prefix) :]: v for k, v in headers.items() if k.startswith(prefix)}
            if found:
                params[name] = found
        return params

    def encode(self, content_type: bytes, result: dict[str, Any]) -> tuple[int, Headers, bytes]:
        status = self.success_status
        headers: Headers = [(b"content-type", content_type)]
        if self.output_headers or self.output_status:
            result = dict(result)
            for name, (wire, text) in self.output_headers.items():
                value = result.pop(name, None)
                if value is not None:
                    headers.append((wire, text(value).encode("latin-1")))
            if self.output_status:
                code = result.pop(self.output_status, None)
                if code is not None:
                    status = int(code)
        if status in (204, 304):  # no body may follow these statuses (a client reads it as the next response)
            return status, headers, b""
        if self.output_payload is not None:
            payload = result.get(self.output_payload)
            if isinstance(payload, bytes):
                return status, headers, payload
            return status, headers, dump_json(payload) if payload is not None else b""
        return status, headers, dump_json(result)


def _coercer(member: Shape, location: str) -> Coerce:
    """Text from a URI label, query string or header, converted to the member's type (or a SerializationException)."""
    kind = member.type_name
    if kind == "list":
        inner = _coercer(member.member, location)
        if location == "header":
            return lambda text: [inner(part.strip()) for part in text.split(",")]
        return inner
    if kind in ("integer", "long"):
        return _number(int, "Integer" if kind == "integer" else "Long")
    if kind in ("double", "float"):
        return _number(float, "Double")
    if kind == "boolean":
        return _boolean_text
    if kind == "timestamp":
        return _timestamp_text
    if kind == "string" and member.serialization.get("jsonvalue"):
        return lambda text: orjson.loads(base64.b64decode(text)) if location == "header" else text
    return _identity


def _identity(text: str) -> str:
    return text


def _number(kind: Callable[[str], Any], target: str) -> Coerce:
    def coerce(text: str) -> Any:
        try:
            return kind(text)
        except ValueError:
            raise serialization_error(f"STRING_VALUE can not be converted to {target}") from None

    return coerce


def _boolean_text(text: str) -> bool:
    if text in ("true", "false"):
        return text == "true"
    raise serialization_error("STRING_VALUE can not be converted to Boolean")


def _timestamp_text(text: str) -> Any:
    parsed = parse_timestamp(text)
    if parsed is None:
        try:
            parsed = parsedate_to_datetime(text)  # HTTP-date, the default for headers
        except (TypeError, ValueError):
            raise serialization_error("STRING_VALUE can not be converted to Timestamp") from None
    return parsed


def _header_text(member: Shape) -> Callable[[Any], str]:
    kind = member.type_name
    if kind == "timestamp":
        return lambda value: (
            format_datetime(value, usegmt=True) if isinstance(value, datetime) else str(value)
        )
    if kind == "boolean":
        return lambda value: "true" if value else "false"
    if kind == "list":
        return lambda value: ",".join(str(v) for v in value)
    if kind == "string" and member.serialization.get("jsonvalue"):
        return lambda value: base64.b64encode(orjson.dumps(value)).decode("ascii")
    return str


def parse_query(query_string: bytes) -> dict[str, list[str]]:
    if not query_string:
        return {}
    return parse_qs(query_string.decode("latin-1"), keep_blank_values=True)


def error_style_for(api: ServedApi | None, rest: bool) -> ErrorStyle:
    if api is not None:
        return api.error_style
    return REST_JSON_ERRORS if rest else JSON_ERRORS
