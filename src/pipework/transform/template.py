"""Placeholder templates shared by rule InputTransformers (`<name>`) and Pipes inline templates (`<$.path>`).

A template is split once into literal text and placeholders; each placeholder remembers where it stands, because
AWS renders a value differently by position: as a JSON value (`{"a": <v>}`), as a whole JSON string (`"<v>"`),
inside a longer string (`"id <v>"`), or in a template that is not JSON at all (plain text).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import orjson

from .errors import TransformError

MISSING: Final = object()  # what a resolver returns for a path that selects nothing


class Position(enum.Enum):
    VALUE = "value"  # a JSON value: {"a": <v>}
    STRING = "string"  # the whole of a JSON string: {"a": "<v>"}
    IN_STRING = "in-string"  # part of a longer JSON string: {"a": "id <v>"}
    TEXT = "text"  # anywhere in a template that is not JSON


@dataclass(frozen=True)
class Placeholder:
    name: str
    position: Position


@dataclass(frozen=True)
class Template:
    """A parsed template: `parts` alternate literal text (str) and `Placeholder`s; `is_json` tells whether the
    rendered result must be JSON."""

    text: str
    parts: tuple[str | Placeholder, ...]
    is_json: bool

    @property
    def placeholders(self) -> list[Placeholder]:
        return [part for part in self.parts if isinstance(part, Placeholder)]

    def render(self, resolve: Callable[[str], Any]) -> str:
        """Substitute every placeholder with ``resolve(name)`` (`MISSING` when it selects nothing). A JSON
        template that renders invalid JSON raises `TransformError` (AWS then delivers nothing), and so does an
        object or array inside a longer string of a JSON template: AWS writes it without quotes, which is text
        but not JSON, and does not deliver it (a template that is plain text does get that form)."""
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value = resolve(part.name)
            if part.position is Position.IN_STRING and isinstance(value, (dict, list)):
                raise TransformError(
                    f"The input template rendered invalid JSON: <{part.name}> is an object or array inside a "
                    "string."
                )
            out.append(render_value(value, part.position))
        text = "".join(out)
        if self.is_json:
            try:
                orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                raise TransformError(f"The input template rendered invalid JSON: {exc}") from None
        return text


def render_value(value: Any, position: Position) -> str:
    """How AWS writes one value into a template at `position`."""
    if value is MISSING:
        return '""' if position is Position.VALUE else ""
    if position is Position.VALUE:
        return orjson.dumps(value).decode()
    if isinstance(value, str):
        # Escaped so that a value holding a quote or a newline keeps the JSON valid (AWS inserts it raw and then
        # fails to deliver; see docs/decisions.md).
        return value if position is Position.TEXT else orjson.dumps(value).decode()[1:-1]
    if isinstance(value, (dict, list)):
        dumped = orjson.dumps(value).decode()
        # A whole-string object or array stays JSON inside quotes, which is invalid JSON, as on AWS; in plain text
        # AWS writes it without any quotes: {acc_id:0a78,sf_id:baz} (inside a longer string, see `Template.render`).
        return dumped if position is Position.STRING else dumped.replace('"', "")
    return orjson.dumps(value).decode()  # numbers, true/false, null


def parse_template(text: str, placeholder: re.Pattern[str]) -> Template:
    """Split `text` at the matches of `placeholder` (group 1 = the name), noting each one's position."""
    is_json = text.lstrip()[:1] in ("{", "[")
    parts: list[str | Placeholder] = []
    in_string = False
    literal_start = 0
    i = 0
    length = len(text)
    while i < length:
        char = text[i]
        if is_json and char == "\\" and in_string:
            i += 2
            continue
        if is_json and char == '"':
            in_string = not in_string
            i += 1
            continue
        if char == "<":
            found = placeholder.match(text, i)
            if found:
                if literal_start < i:
                    parts.append(text[literal_start:i])
                if not is_json:
                    position = Position.TEXT
                elif not in_string:
                    position = Position.VALUE
                elif text[i - 1] == '"' and text[found.end() : found.end() + 1] == '"':
                    position = Position.STRING
                else:
                    position = Position.IN_STRING
                parts.append(Placeholder(found.group(1), position))
                i = literal_start = found.end()
                continue
        i += 1
    if literal_start < length:
        parts.append(text[literal_start:])
    return Template(text, tuple(parts), is_json)


def check_json_shape(template: Template, *, target: str) -> None:
    """Reject a JSON template that is not JSON whatever its values are (the placeholders replaced by sample
    values), and placeholders used as object keys; `target` names the owner in the message."""
    if not template.is_json:
        return
    sample = template.render(lambda name: "x")
    del sample  # rendering already parsed it; the line above raises on invalid JSON
    for index, part in enumerate(template.parts):
        if isinstance(part, Placeholder) and part.position in (Position.VALUE, Position.STRING):
            following = template.parts[index + 1] if index + 1 < len(template.parts) else ""
            if isinstance(following, str):
                rest = following[1:] if part.position is Position.STRING else following
                if rest.lstrip().startswith(":"):
                    raise TransformError(
                        f"InputTemplate for target {target} uses placeholder <{part.name}> as an object key."
                    )
