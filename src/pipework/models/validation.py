"""Decoding and validation of operation input against botocore's shapes, compiled once per shape.

`compile_operation_input(operation)` (or `compile_input(shape)`) turns a botocore input shape into a tree of closures that check types, required members,
enums, lengths, ranges and patterns, decode blobs (base64) and timestamps (epoch seconds or ISO-8601), and collect
every constraint failure with AWS's wording (``Value 'x' at 'name' failed to satisfy constraint: ...``).
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

log = logging.getLogger(__name__)

INT32 = (-(2**31), 2**31 - 1)
#: Levels of one recursive shape (DynamoDB's AttributeValue, allowed 32 levels) decoded before the rest of the
#: value is passed through as sent: deeper input must not reach Python's recursion limit (a 500), and the service
#: that owns the shape rejects it by its own nesting limit.
MAX_RECURSION = 64
INT64 = (-(2**63), 2**63 - 1)


@dataclass(frozen=True, slots=True)
class Problem:
    """One failed constraint. `missing` names the required member (AWS casing) when the failure is its absence."""

    message: str
    missing: str | None = None


class SerializationError(Exception):
    """The request is not shaped like the model at all (a string where a number goes): AWS's SerializationException."""


# (value, path, problems) -> decoded value; `path` is AWS's member path ("entries.1.member.source").
Decoder = Callable[[Any, str, list[Problem]], Any]


#: Services whose enums AWS does not enforce at the edge. SQS (a query-protocol service later given JSON) accepts
#: message system attribute names in ReceiveMessage.AttributeNames although the model's enum lists only queue
#: attributes, and answers unknown attribute names with its own InvalidAttributeName error.
ENUMS_CHECKED_BY_SERVICE = frozenset({"sqs"})

#: Enum shapes whose values AWS's messages list in another order than botocore's model does.
AWS_ENUM_ORDER = {
    "Select": ("SPECIFIC_ATTRIBUTES", "COUNT", "ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES"),  # DynamoDB
}


#: A compiled input shape: a request's params -> (decoded params, the constraints they fail). Raises
#: `SerializationError` when the params are not shaped like the model at all.
InputDecoder = Callable[[dict[str, Any]], tuple[dict[str, Any], list[Problem]]]


def compile_operation_input(operation: OperationModel) -> InputDecoder:
    """Compile an operation's input, checking enums unless its service checks them itself."""
    return compile_input(
        operation.input_shape,
        enforce_enums=operation.service_model.service_name not in ENUMS_CHECKED_BY_SERVICE,
    )


def compile_input(shape: StructureShape | None, *, enforce_enums: bool = True) -> InputDecoder:
    """Compile an operation's input shape; the result decodes a request's params and lists its problems.

    A missing input shape accepts any params as an empty structure. With `enforce_enums` False, enum members
    are checked as plain strings (for services that check their enums themselves; see `ENUMS_CHECKED_BY_SERVICE`).
    """
    if shape is None:
        return lambda params: ({}, [])
    decode = _Compiler(enforce_enums=enforce_enums).compile(shape)

    def decode_input(params: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
        problems: list[Problem] = []
        decoded: dict[str, Any] = decode(params, "", problems)
        return decoded, problems

    return decode_input


def validation_message(problems: list[Problem]) -> str:
    """AWS's summary: "1 validation error detected: a" or "N validation errors detected: a; b"."""
    count = len(problems)
    noun = "error" if count == 1 else "errors"
    return f"{count} validation {noun} detected: " + "; ".join(p.message for p in problems)


def render_value(value: Any) -> str:
    """A value as AWS's (Java) messages print it inside quotes: strings bare, lists ``[a, b]``, maps ``{k=v}``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(render_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={render_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bytes):
        return f"java.nio.HeapByteBuffer[pos=0 lim={len(value)} cap={len(value)}]"
    return str(value)


def _check_range(
    value: Any, number: float, path: str, low: float | None, high: float | None, problems: list[Problem]
) -> None:
    """The model's min/max of a number, with AWS's wording."""
    if low is not None and number < low:
        problems.append(_failed(value, path, f"Member must have value greater than or equal to {low}"))
    if high is not None and number > high:
        problems.append(_failed(value, path, f"Member must have value less than or equal to {high}"))


def _failed(value: Any, path: str, constraint: str) -> Problem:
    return Problem(f"Value '{render_value(value)}' at '{path}' failed to satisfy constraint: {constraint}")


def _kind(value: Any) -> str:
    """The JSON token kind AWS names in serialization errors."""
    if isinstance(value, bool):
        return "BOOLEAN_VALUE"
    if isinstance(value, int | float):
        return "NUMBER_VALUE"
    if isinstance(value, str):
        return "STRING_VALUE"
    if isinstance(value, list):
        return "START_ARRAY"
    if isinstance(value, dict):
        return "START_OBJECT"
    return "VALUE_NULL"


def _mismatch(value: Any, target: str, path: str) -> SerializationError:
    where = f" (at '{path}')" if path else ""
    return SerializationError(f"{_kind(value)} can not be converted to {target}{where}")


def _label(member: str) -> str:
    """AWS paths name members with a lower-case first letter ("DetailType" -> "detailType")."""
    return member[:1].lower() + member[1:]


def _join(path: str, label: str) -> str:
    return f"{path}.{label}" if path else label


def _compile_pattern(pattern: str) -> Callable[[str], bool] | None:
    """Java-style patterns; ``\\p{...}`` classes need the `regex` module, and are skipped when it is absent."""
    try:
        compiled = re.compile(pattern)
    except re.error:
        try:
            import regex  # type: ignore[import-not-found,import-untyped,unused-ignore]

            compiled = regex.compile(pattern)
        except Exception:
            log.debug("pattern %r is not supported; not enforced", pattern)
            return None
    # Java's String.matches() anchors at both ends.
    return lambda value: compiled.fullmatch(value) is not None


class _Compiler:
    """Builds one decoder per shape name; recursive shapes (DynamoDB's AttributeValue) resolve through a cell, and
    values nested deeper than `MAX_RECURSION` levels of one are left undecoded (the service bounds its nesting)."""

    def __init__(self, *, enforce_enums: bool = True) -> None:
        self._decoders: dict[str, Decoder] = {}
        self._enforce_enums = enforce_enums

    def compile(self, shape: Shape) -> Decoder:
        known = self._decoders.get(shape.name)
        if known is not None:
            return known
        cell: list[Decoder] = []
        depth = [0]  # decoding is synchronous: one request at a time goes through this counter

        def decode_recursive(value: Any, path: str, problems: list[Problem]) -> Any:
            if depth[0] >= MAX_RECURSION:
                return value
            depth[0] += 1
            try:
                return cell[0](value, path, problems)
            finally:
                depth[0] -= 1

        # Only a shape that contains itself calls this before `cell` is filled.
        self._decoders[shape.name] = decode_recursive
        decoder = self._build(shape)
        cell.append(decoder)
        self._decoders[shape.name] = decoder
        return decoder

    def _build(self, shape: Shape) -> Decoder:
        kind = shape.type_name
        if kind == "structure":
            assert isinstance(shape, StructureShape)
            if shape.is_document_type:
                return lambda value, path, problems: value
            return self._structure(shape)
        if kind == "list":
            assert isinstance(shape, ListShape)
            return self._list(shape)
        if kind == "map":
            assert isinstance(shape, MapShape)
            return self._map(shape)
        if kind == "string":
            return self._string(shape)
        if kind in ("integer", "long"):
            return self._integer(shape, INT32 if kind == "integer" else INT64)
        if kind in ("double", "float"):
            return self._float(shape)
        if kind == "boolean":
            return _boolean
        if kind == "timestamp":
            return _timestamp
        if kind == "blob":
            return self._blob(shape)
        return lambda value, path, problems: value

    def _structure(self, shape: StructureShape) -> Decoder:
        # wire name -> (member name, path label, decoder)
        members: dict[str, tuple[str, str, Decoder]] = {}
        for name, member in shape.members.items():
            if member.serialization.get("location"):
                continue  # bound from the URI, query string or headers by the protocol, not from the body
            members[member.serialization.get("name", name)] = (name, _label(name), self.compile(member))
        # Members bound from elsewhere still count as required; the protocol puts them in params before decoding.
        for name, member in shape.members.items():
            if member.serialization.get("location"):
                members.setdefault(name, (name, _label(name), self.compile(member)))
        required = tuple((name, _label(name)) for name in shape.required_members)
        is_union = bool(shape.metadata.get("union"))

        def decode_structure(value: Any, path: str, problems: list[Problem]) -> dict[str, Any]:
            if type(value) is not dict:
                raise _mismatch(value, "Structure", path)
            decoded: dict[str, Any] = {}
            for key, item in value.items():
                member = members.get(key)
                if member is None or item is None:
                    continue  # AWS's JSON services ignore members they do not model; null means absent
                name, label, decode = member
                decoded[name] = decode(item, _join(path, label), problems)
            for name, label in required:
                if name not in decoded:
                    problems.append(
                        Problem(
                            f"Value null at '{_join(path, label)}' failed to satisfy constraint: "
                            "Member must not be null",
                            missing=name,
                        )
                    )
            if is_union and len(decoded) != 1:
                problems.append(
                    Problem(
                        f"Value at '{path or 'input'}' failed to satisfy constraint: Member must have one member set"
                    )
                )
            return decoded

        return decode_structure

    def _list(self, shape: ListShape) -> Decoder:
        decode_member = self.compile(shape.member)
        low, high = shape.metadata.get("min"), shape.metadata.get("max")

        def decode_list(value: Any, path: str, problems: list[Problem]) -> list[Any]:
            if type(value) is not list:
                raise _mismatch(value, "List", path)
            decoded = [decode_member(item, f"{path}.{i}.member", problems) for i, item in enumerate(value, 1)]
            if low is not None and len(value) < low:
                problems.append(
                    _failed(value, path, f"Member must have length greater than or equal to {low}")
                )
            if high is not None and len(value) > high:
                problems.append(_failed(value, path, f"Member must have length less than or equal to {high}"))
            return decoded

        return decode_list

    def _map(self, shape: MapShape) -> Decoder:
        decode_key = self.compile(shape.key)
        decode_value = self.compile(shape.value)
        low, high = shape.metadata.get("min"), shape.metadata.get("max")

        def decode_map(value: Any, path: str, problems: list[Problem]) -> dict[str, Any]:
            if type(value) is not dict:
                raise _mismatch(value, "Map", path)
            decoded: dict[str, Any] = {}
            for key, item in value.items():
                key_problems: list[Problem] = []
                decode_key(key, path, key_problems)
                for problem in key_problems:
                    constraint = problem.message.partition("failed to satisfy constraint: ")[2]
                    problems.append(
                        Problem(
                            f"Value '{render_value(key)}' at '{path}' failed to satisfy constraint: "
                            f"Map keys must satisfy constraint: [{constraint}]"
                        )
                    )
                if item is None:
                    continue
                decoded[key] = decode_value(item, f"{path}.{key}.member", problems)
            if low is not None and len(value) < low:
                problems.append(
                    _failed(value, path, f"Member must have length greater than or equal to {low}")
                )
            if high is not None and len(value) > high:
                problems.append(_failed(value, path, f"Member must have length less than or equal to {high}"))
            return decoded

        return decode_map

    def _string(self, shape: Shape) -> Decoder:
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        pattern = shape.metadata.get("pattern")
        matches = _compile_pattern(pattern) if pattern else None
        enum = tuple(shape.enum) if shape.enum and self._enforce_enums else ()
        enum_set = frozenset(enum)
        listed = AWS_ENUM_ORDER.get(shape.name, enum)
        enum_text = "[" + ", ".join(listed if set(listed) == enum_set else enum) + "]"
        if not (low is not None or high is not None or matches or enum):

            def decode_plain_string(value: Any, path: str, problems: list[Problem]) -> str:
                if type(value) is not str:
                    raise _mismatch(value, "String", path)
                return value

            return decode_plain_string

        def decode_string(value: Any, path: str, problems: list[Problem]) -> str:
            if type(value) is not str:
                raise _mismatch(value, "String", path)
            if enum and value not in enum_set:
                problems.append(_failed(value, path, f"Member must satisfy enum value set: {enum_text}"))
            if matches is not None and not matches(value):
                problems.append(
                    _failed(value, path, f"Member must satisfy regular expression pattern: {pattern}")
                )
            if low is not None and len(value) < low:
                problems.append(
                    _failed(value, path, f"Member must have length greater than or equal to {low}")
                )
            if high is not None and len(value) > high:
                problems.append(_failed(value, path, f"Member must have length less than or equal to {high}"))
            return value

        return decode_string

    def _integer(self, shape: Shape, bounds: tuple[int, int]) -> Decoder:
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        target = "Integer" if bounds == INT32 else "Long"

        def decode_integer(value: Any, path: str, problems: list[Problem]) -> int:
            number: int
            if type(value) is int:
                number = value
            elif type(value) is float and value.is_integer():
                number = int(value)
            else:
                raise _mismatch(value, target, path)
            if not bounds[0] <= number <= bounds[1]:
                raise _mismatch(value, target, path)
            _check_range(value, number, path, low, high, problems)
            return number

        return decode_integer

    def _float(self, shape: Shape) -> Decoder:
        low, high = shape.metadata.get("min"), shape.metadata.get("max")

        def decode_float(value: Any, path: str, problems: list[Problem]) -> float:
            if type(value) not in (int, float):
                raise _mismatch(value, "Double", path)
            number = float(value)
            _check_range(value, number, path, low, high, problems)
            return number

        return decode_float

    def _blob(self, shape: Shape) -> Decoder:
        low, high = shape.metadata.get("min"), shape.metadata.get("max")

        def decode_blob(value: Any, path: str, problems: list[Problem]) -> bytes:
            if type(value) is bytes:
                data = value
            elif type(value) is str:
                try:
                    data = base64.b64decode(value, validate=True)
                except (binascii.Error, ValueError):
                    raise SerializationError(
                        f"Base64 encoded value at '{path}' is not valid base64 encoding"
                    ) from None
            else:
                raise _mismatch(value, "Blob", path)
            if low is not None and len(data) < low:
                problems.append(
                    _failed(data, path, f"Member must have length greater than or equal to {low}")
                )
            if high is not None and len(data) > high:
                problems.append(_failed(data, path, f"Member must have length less than or equal to {high}"))
            return data

        return decode_blob


def _boolean(value: Any, path: str, problems: list[Problem]) -> bool:
    if type(value) is not bool:
        raise _mismatch(value, "Boolean", path)
    return value


def _timestamp(value: Any, path: str, problems: list[Problem]) -> datetime:
    """Epoch seconds (JSON bodies) or ISO-8601 text (query strings, and what some clients send); always UTC."""
    if isinstance(value, datetime):  # CBOR's tag 1 (smithy-rpc-v2-cbor), decoded by the codec
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if type(value) in (int, float):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise _mismatch(value, "Timestamp", path) from None
    if type(value) is str:
        parsed = parse_timestamp(value)
        if parsed is not None:
            return parsed
    raise _mismatch(value, "Timestamp", path)


def parse_timestamp(text: str) -> datetime | None:
    """Epoch seconds as text or ISO-8601 (``Z`` or an offset; no offset means UTC); None when neither."""
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except (ValueError, OverflowError, OSError):
        pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
