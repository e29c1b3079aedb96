"""Pipes transformation: inline templates (`<$.path>` and the `<aws.pipes.*>` variables), the implicit JSON
parsing of a record's data field (`body`, `data`, Kafka `key`/`value`), and target/enrichment parameters given
as a whole-value JSONPath (`"$.detail.state"`).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

import orjson

from .errors import TransformError
from .jsonpath import compile_path
from .template import MISSING, Position, Template, check_json_shape, parse_template

PIPE_ARN: Final = "aws.pipes.pipe-arn"
PIPE_NAME: Final = "aws.pipes.pipe-name"
SOURCE_ARN: Final = "aws.pipes.source-arn"
ENRICHMENT_ARN: Final = "aws.pipes.enrichment-arn"
TARGET_ARN: Final = "aws.pipes.target-arn"
INGESTION_TIME: Final = "aws.pipes.event.ingestion-time"
EVENT: Final = "aws.pipes.event"
EVENT_JSON: Final = "aws.pipes.event.json"
RESERVED: Final = frozenset(
    {PIPE_ARN, PIPE_NAME, SOURCE_ARN, ENRICHMENT_ARN, TARGET_ARN, INGESTION_TIME, EVENT, EVENT_JSON}
)
_PLACEHOLDER = re.compile(r"<(\$(?:[^<>\"]*)|aws\.pipes\.[a-z.\-]+)>")
#: Data fields decoded to JSON when they hold JSON; the base64 ones are decoded from base64 first.
_TEXT_FIELDS: Final = ("body",)
_BASE64_FIELDS: Final = ("data", "key", "value")


@dataclass(frozen=True)
class PipeContext:
    """The `<aws.pipes.*>` variables of one transformation."""

    pipe_arn: str = ""
    pipe_name: str = ""
    source_arn: str = ""
    enrichment_arn: str = ""
    target_arn: str = ""
    ingestion_time: str = ""

    def value(self, name: str) -> Any:
        return {
            PIPE_ARN: self.pipe_arn,
            PIPE_NAME: self.pipe_name,
            SOURCE_ARN: self.source_arn,
            ENRICHMENT_ARN: self.enrichment_arn,
            TARGET_ARN: self.target_arn,
            INGESTION_TIME: self.ingestion_time,
        }.get(name, MISSING)


@dataclass(frozen=True)
class PipeTemplate:
    """A compiled Pipes InputTemplate: `render(record, context)` gives the text the next stage receives."""

    template: Template

    def render(self, record: Any, context: PipeContext | None = None) -> str:
        context = context or PipeContext()
        parsed = parse_record_data(record)

        def resolve(name: str) -> Any:
            if name.startswith("$"):
                return compile_path(name).get(parsed, MISSING)
            if name == EVENT:
                return record
            if name == EVENT_JSON:
                return parsed
            return context.value(name)

        return self.template.render(resolve)


@lru_cache(maxsize=1024)
def compile_pipe_template(text: str) -> PipeTemplate:
    """Validate and compile a Pipes InputTemplate; raises `TransformError`."""
    template = parse_template(text, _PLACEHOLDER)
    for placeholder in template.placeholders:
        name = placeholder.name
        if name.startswith("$"):
            try:
                compile_path(name)
            except TransformError as exc:
                raise TransformError(f"InputTemplate contains an invalid JSONPath <{name}>: {exc}") from None
        elif name not in RESERVED or (name == EVENT_JSON and placeholder.position is not Position.VALUE):
            raise TransformError(f"InputTemplate contains invalid placeholder <{name}>.")
    try:
        check_json_shape(template, target="of the pipe")
    except TransformError as exc:
        raise TransformError(f"InputTemplate is not valid: {exc}") from None
    return PipeTemplate(template)


def render_pipe_template(text: str, record: Any, context: PipeContext | None = None) -> str:
    """Render the Pipes InputTemplate `text` for one `record`."""
    return compile_pipe_template(text).render(record, context)


def parse_record_data(record: Any) -> Any:
    """`record` with its data field decoded to JSON where it holds JSON (SQS `body` as text; Kinesis/MQ `data`
    and Kafka `key`/`value` from base64), as Pipes filters and templates see it. The input is not modified."""
    if not isinstance(record, dict):
        return record
    decoded: dict[str, Any] | None = None
    for field in (*_TEXT_FIELDS, *_BASE64_FIELDS):
        raw = record.get(field)
        if not isinstance(raw, str):
            continue
        text = raw if field in _TEXT_FIELDS else _from_base64(raw)
        if text is None:
            continue
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            continue
        if decoded is None:
            decoded = dict(record)
        decoded[field] = value
    return record if decoded is None else decoded


def _from_base64(raw: str) -> str | None:
    try:
        return base64.b64decode(raw, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def resolve_parameters(parameters: Any, event: Any) -> Any:
    """Target or enrichment parameters with every string that is a whole JSONPath (``"$.detail.id"``) replaced
    by the value it selects in `event` (left unchanged when it selects nothing); other values as given."""
    if isinstance(parameters, dict):
        return {key: resolve_parameters(value, event) for key, value in parameters.items()}
    if isinstance(parameters, list):
        return [resolve_parameters(value, event) for value in parameters]
    if isinstance(parameters, str) and parameters.startswith("$.") and not parameters.endswith("."):
        try:
            path = compile_path(parameters)
        except TransformError:
            return parameters
        value = path.get(parse_record_data(event), MISSING)
        return parameters if value is MISSING else value
    return parameters


def is_dynamic_parameter(value: Any) -> bool:
    """Whether `value` is a whole-value JSONPath Pipes resolves per event."""
    if not (isinstance(value, str) and value.startswith("$.")):
        return False
    try:
        compile_path(value)
    except TransformError:
        return False
    return True


def render_pipe_input(template: str | None, record: Any, context: PipeContext | None = None) -> Any:
    """What a stage receives for `record`: the record itself when no template is set, else the rendered text
    (parsed back to JSON when the template is JSON)."""
    if template is None:
        return record
    text = render_pipe_template(template, record, context)
    if compile_pipe_template(template).template.is_json:
        return orjson.loads(text)
    return text
