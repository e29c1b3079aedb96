"""AWS's query protocol (SNS, STS, CloudFormation): form-encoded requests (``Action=Publish&TopicArn=...``, lists as
``Name.member.N``, maps as ``Name.entry.N.key`` / ``.value``) decoded into params by the operation's botocore input
shape, and XML responses (``<ActionResponse><ActionResult>...</ActionResult><ResponseMetadata>``) and XML errors
(``<ErrorResponse><Error>...</Error><RequestId>``) written from its output shape. Compiled once per operation.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape

from pipework.services.base import ServiceError

CONTENT_TYPE = b"text/xml"

#: A form's keys split at "." into a tree; a node's own text (``Tags=`` for an empty list) sits under `_TEXT`.
Node = dict[str, Any]
_TEXT = ""

#: Nesting (of the request's keys, and of one recursive shape) the decoder follows before it stops.
MAX_DEPTH = 32


def malformed(message: str) -> ServiceError:
    return ServiceError("MalformedQueryString", message, 400)


def parse_form(*sources: bytes) -> dict[str, str]:
    """The request's parameters from the query string and the form body; the first value of a repeated key wins."""
    params: dict[str, str] = {}
    for source in sources:
        if not source:
            continue
        try:
            pairs = parse_qsl(source.decode("utf-8"), keep_blank_values=True, errors="strict")
        except UnicodeDecodeError:
            raise malformed("The request's parameters are not UTF-8.") from None
        for key, value in pairs:
            params.setdefault(key, value)
    return params


def form_tree(form: Mapping[str, str]) -> Node:
    """``{"A.member.1": "x"}`` -> ``{"A": {"member": {"1": {"": "x"}}}}``."""
    root: Node = {}
    for key, value in form.items():
        node = root
        parts = key.split(".")
        if len(parts) > MAX_DEPTH:
            continue  # deeper than any model nests; ignored like any key the model does not name
        for part in parts:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            node = child
        node[_TEXT] = value
    return root


# (node, path) -> value; `path` is the member path used in messages ("attributes.entry.1.value")
Reader = Callable[[Node, str], Any]


def _indexed(node: Node) -> list[Node]:
    """A list's or map's elements, in the order of their (1-based) indices."""
    numbered = []
    for key, child in node.items():
        if key.isdigit():
            numbered.append((int(key), child))
    numbered.sort(key=lambda pair: pair[0])
    return [child for _, child in numbered]


class _Readers:
    """One reader per shape name, turning a node of the form tree into the value the JSON validator expects."""

    def __init__(self) -> None:
        self._readers: dict[str, Reader] = {}

    def reader(self, shape: Shape) -> Reader:
        known = self._readers.get(shape.name)
        if known is not None:
            return known
        cell: list[Reader] = []
        self._readers[shape.name] = lambda node, path: cell[0](node, path)  # a shape that contains itself
        built = self._build(shape)
        cell.append(built)
        self._readers[shape.name] = built
        return built

    def _build(self, shape: Shape) -> Reader:
        kind = shape.type_name
        if kind == "structure":
            assert isinstance(shape, StructureShape)
            return self._structure(shape)
        if kind == "list":
            assert isinstance(shape, ListShape)
            return self._list(shape)
        if kind == "map":
            assert isinstance(shape, MapShape)
            return self._map(shape)
        return _scalar(shape)

    def _structure(self, shape: StructureShape) -> Reader:
        members: list[tuple[str, str, Reader]] = []
        for name, member in shape.members.items():
            wire = member.serialization.get("name", name)
            if member.type_name == "list" and member.serialization.get("flattened"):
                assert isinstance(member, ListShape)
                wire = member.member.serialization.get("name", wire)
            members.append((name, wire, self.reader(member)))

        def read_structure(node: Node, path: str) -> dict[str, Any]:
            value: dict[str, Any] = {}
            for name, wire, read in members:
                child = node.get(wire)
                if child is not None:
                    value[name] = read(child, f"{path}.{wire}" if path else wire)
            return value

        return read_structure

    def _list(self, shape: ListShape) -> Reader:
        read_member = self.reader(shape.member)
        element = (
            None if shape.serialization.get("flattened") else shape.member.serialization.get("name", "member")
        )

        def read_list(node: Node, path: str) -> list[Any]:
            holder = node if element is None else node.get(element, {})
            return [read_member(child, f"{path}.{i}") for i, child in enumerate(_indexed(holder), 1)]

        return read_list

    def _map(self, shape: MapShape) -> Reader:
        read_key = self.reader(shape.key)
        read_value = self.reader(shape.value)
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        flattened = bool(shape.serialization.get("flattened"))

        def read_map(node: Node, path: str) -> dict[str, Any]:
            holder = node if flattened else node.get("entry", {})
            value: dict[str, Any] = {}
            for i, entry in enumerate(_indexed(holder), 1):
                key_node = entry.get(key_name)
                if key_node is None:
                    raise malformed(f"The map entry {path}.entry.{i} has no {key_name}.")
                key = read_key(key_node, f"{path}.entry.{i}.{key_name}")
                item = entry.get(value_name)
                if item is not None:
                    value[key] = read_value(item, f"{path}.entry.{i}.{value_name}")
            return value

        return read_map


def _scalar(shape: Shape) -> Reader:
    """Text converted to the member's type; the JSON validator then checks it as it would a JSON value."""
    kind = shape.type_name

    def text_of(node: Node, path: str) -> str:
        text = node.get(_TEXT)
        if text is None:
            raise malformed(f"The parameter {path} has no value.")
        return str(text)

    if kind in ("integer", "long"):

        def read_integer(node: Node, path: str) -> Any:
            text = text_of(node, path)
            try:
                return int(text)
            except ValueError:
                raise malformed(f"The value '{text}' of {path} is not an integer.") from None

        return read_integer
    if kind in ("double", "float"):

        def read_float(node: Node, path: str) -> Any:
            text = text_of(node, path)
            try:
                return float(text)
            except ValueError:
                raise malformed(f"The value '{text}' of {path} is not a number.") from None

        return read_float
    if kind == "boolean":

        def read_boolean(node: Node, path: str) -> Any:
            text = text_of(node, path)
            if text.lower() not in ("true", "false"):
                raise malformed(f"The value '{text}' of {path} is not a boolean.")
            return text.lower() == "true"

        return read_boolean
    # strings, timestamps (ISO-8601 text the validator parses) and blobs (base64 text the validator decodes)
    return text_of


def _value_text(shape: Shape, value: Any) -> str:
    kind = shape.type_name
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        if isinstance(value, datetime):
            moment = value if value.tzinfo else value.replace(tzinfo=UTC)
            return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return str(value)
    if kind == "blob":
        data = value if isinstance(value, bytes) else str(value).encode()
        return base64.b64encode(data).decode("ascii")
    if kind in ("double", "float"):
        return repr(float(value))
    return str(value)


# (value, out) -> None: append the XML of `value` (without its own element) to `out`
Writer = Callable[[Any, list[str]], None]


class _Writers:
    """One writer per shape name, from output data to the XML botocore's query parser reads."""

    def __init__(self) -> None:
        self._writers: dict[str, Writer] = {}

    def writer(self, shape: Shape) -> Writer:
        known = self._writers.get(shape.name)
        if known is not None:
            return known
        cell: list[Writer] = []
        self._writers[shape.name] = lambda value, out: cell[0](value, out)
        built = self._build(shape)
        cell.append(built)
        self._writers[shape.name] = built
        return built

    def _build(self, shape: Shape) -> Writer:
        kind = shape.type_name
        if kind == "structure":
            assert isinstance(shape, StructureShape)
            return self.members(shape)
        if kind == "list":
            assert isinstance(shape, ListShape)
            write_member = self.writer(shape.member)
            tag = shape.member.serialization.get("name", "member")

            def write_list(value: Any, out: list[str]) -> None:
                for item in value:
                    out.append(f"<{tag}>")
                    write_member(item, out)
                    out.append(f"</{tag}>")

            return write_list
        if kind == "map":
            assert isinstance(shape, MapShape)
            return self._map(shape, flattened_tag=None)

        def write_scalar(value: Any, out: list[str]) -> None:
            out.append(escape(_value_text(shape, value)))

        return write_scalar

    def _map(self, shape: MapShape, flattened_tag: str | None) -> Writer:
        write_key = self.writer(shape.key)
        write_value = self.writer(shape.value)
        key_tag = shape.key.serialization.get("name", "key")
        value_tag = shape.value.serialization.get("name", "value")
        entry = flattened_tag or "entry"

        def write_map(value: Any, out: list[str]) -> None:
            for key, item in value.items():
                out.append(f"<{entry}><{key_tag}>")
                write_key(key, out)
                out.append(f"</{key_tag}><{value_tag}>")
                write_value(item, out)
                out.append(f"</{value_tag}></{entry}>")

        return write_map

    def members(self, shape: StructureShape) -> Writer:
        """A structure's members as elements, in the model's order; absent (None) members are left out."""
        parts: list[tuple[str, str, Writer, bool]] = []
        for name, member in shape.members.items():
            tag = member.serialization.get("name", name)
            flattened = bool(member.serialization.get("flattened"))
            if flattened and isinstance(member, ListShape):
                item_tag = member.member.serialization.get("name", tag)
                write_item = self.writer(member.member)

                def write_flat_list(
                    value: Any, out: list[str], t: str = item_tag, w: Writer = write_item
                ) -> None:
                    for item in value:
                        out.append(f"<{t}>")
                        w(item, out)
                        out.append(f"</{t}>")

                parts.append((name, tag, write_flat_list, True))
            elif flattened and isinstance(member, MapShape):
                parts.append((name, tag, self._map(member, flattened_tag=tag), True))
            else:
                parts.append((name, tag, self.writer(member), False))

        def write_structure(value: Any, out: list[str]) -> None:
            for name, tag, write, bare in parts:
                item = value.get(name)
                if item is None:
                    continue
                if bare:
                    write(item, out)
                else:
                    out.append(f"<{tag}>")
                    write(item, out)
                    out.append(f"</{tag}>")

        return write_structure


class QueryBindings:
    """One operation over the query protocol: `gather` reads its params from the form, `encode` writes its result."""

    def __init__(self, model: OperationModel) -> None:
        self.name = model.name
        namespace = model.service_model.metadata.get("xmlNamespace")
        self._open = f'<{self.name}Response xmlns="{namespace}">' if namespace else f"<{self.name}Response>"
        shape = model.input_shape
        self._read: Reader | None = _Readers().reader(shape) if shape is not None else None
        out = model.output_shape
        self._write: Writer | None = None
        self._wrapper: str | None = None
        if out is not None and isinstance(out, StructureShape):
            self._write = _Writers().members(out)
            self._wrapper = model.output_shape.serialization.get("resultWrapper") or f"{self.name}Result"

    def gather(self, form: Node) -> dict[str, Any]:
        """The params of the form tree (`form_tree`), shaped like a JSON request for the validator."""
        if self._read is None:
            return {}
        params: dict[str, Any] = self._read(form, "")
        return params

    def encode(self, result: dict[str, Any], request_id: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        out = ['<?xml version="1.0" encoding="UTF-8"?>', self._open]
        if self._write is not None and self._wrapper is not None:
            out.append(f"<{self._wrapper}>")
            self._write(result, out)
            out.append(f"</{self._wrapper}>")
        out.append(f"<ResponseMetadata><RequestId>{escape(request_id)}</RequestId></ResponseMetadata>")
        out.append(f"</{self.name}Response>")
        return 200, [(b"content-type", CONTENT_TYPE)], "".join(out).encode("utf-8")


def error_codes(model: ServiceModel) -> dict[str, str]:
    """Error shape names to the codes the query protocol sends (``NotFoundException`` -> ``NotFound``), so a
    service may raise either and clients still get the right exception class."""
    codes = {}
    for shape in model.error_shapes:
        code = shape.metadata.get("error", {}).get("code")
        if code and code != shape.name:
            codes[shape.name] = code
    return codes


def render_query_error(
    error: ServiceError, *, request_id: str, namespace: str | None, codes: Mapping[str, str]
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """`error` as the query protocol's ``ErrorResponse``."""
    code = codes.get(error.code, error.code)
    fault = "Sender" if error.sender_fault else "Receiver"
    opening = f'<ErrorResponse xmlns="{namespace}">' if namespace else "<ErrorResponse>"
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>{opening}<Error><Type>{fault}</Type>'
        f"<Code>{escape(code)}</Code><Message>{escape(error.message)}</Message></Error>"
        f"<RequestId>{escape(request_id)}</RequestId></ErrorResponse>"
    )
    return error.status, [(b"content-type", CONTENT_TYPE)], body.encode("utf-8")
