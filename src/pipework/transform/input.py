"""Rule target input: `Input` (constant JSON), `InputPath` (one JSONPath) and `InputTransformer` (InputPathsMap +
InputTemplate with the reserved `<aws.events.*>` variables), validated as PutTargets does and rendered per event.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

import orjson

from .errors import TransformError
from .jsonpath import JsonPath, compile_path
from .template import MISSING, Position, Template, check_json_shape, parse_template

MAX_PATHS: Final = 100
RULE_ARN: Final = "aws.events.rule-arn"
RULE_NAME: Final = "aws.events.rule-name"
INGESTION_TIME: Final = "aws.events.event.ingestion-time"
EVENT: Final = "aws.events.event"
EVENT_JSON: Final = "aws.events.event.json"
RESERVED: Final = frozenset({RULE_ARN, RULE_NAME, INGESTION_TIME, EVENT, EVENT_JSON})
_WHOLE_EVENT = frozenset({EVENT, EVENT_JSON})  # valid only as a JSON value
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_\-.]+)>")


@dataclass(frozen=True)
class RuleContext:
    """The reserved variables' sources: the rule that matched and when the event was ingested (ISO-8601)."""

    rule_arn: str = ""
    rule_name: str = ""
    ingestion_time: str = ""


@dataclass(frozen=True)
class InputTransformer:
    """A compiled InputTransformer: render it with `render(event, context)`."""

    paths: Mapping[str, JsonPath]
    template: Template

    def render(self, event: Any, context: RuleContext | None = None) -> str:
        context = context or RuleContext()

        def resolve(name: str) -> Any:
            path = self.paths.get(name)
            if path is not None:
                value = path.get(event, MISSING)
                return value
            if name == RULE_ARN:
                return context.rule_arn
            if name == RULE_NAME:
                return context.rule_name
            if name == INGESTION_TIME:
                return context.ingestion_time
            if name == EVENT_JSON:
                return event
            if name == EVENT:
                return event_summary(event)
            return MISSING

        return self.template.render(resolve)


def event_summary(event: Any) -> Any:
    """`<aws.events.event>`: the envelope without `detail`, with AWS's key names."""
    if not isinstance(event, dict):
        return event
    names = {"detail-type": "detailType"}
    return {names.get(key, key): value for key, value in event.items() if key != "detail"}


def compile_input_transformer(
    paths_map: Mapping[str, str] | None, template: str, *, target_id: str = ""
) -> InputTransformer:
    """Validate and compile an InputTransformer; raises `TransformError` with AWS's messages."""
    return _compile(tuple(sorted((paths_map or {}).items())), template, target_id)


@lru_cache(maxsize=1024)
def _compile(paths_items: tuple[tuple[str, str], ...], template: str, target_id: str) -> InputTransformer:
    if len(paths_items) > MAX_PATHS:
        raise TransformError(
            f"InputPathsMap for target {target_id} has {len(paths_items)} entries; at most {MAX_PATHS} are allowed."
        )
    paths: dict[str, JsonPath] = {}
    for key, path in paths_items:
        if key in RESERVED or key.lower().startswith("aws."):
            raise TransformError(f"InputPathsMap for target {target_id} uses the reserved key {key}.")
        try:
            paths[key] = compile_path(path)
        except TransformError as exc:
            raise TransformError(f"Invalid InputPathsMap for target {target_id} : {exc}") from None
    parsed = parse_template(template, _PLACEHOLDER)
    for placeholder in parsed.placeholders:
        name = placeholder.name
        valid = name in paths or name in RESERVED
        if name in _WHOLE_EVENT and placeholder.position is not Position.VALUE:
            valid = False
        if not valid:
            raise TransformError(f"InputTemplate for target {target_id} contains invalid placeholder {name}.")
    try:
        check_json_shape(parsed, target=target_id)
    except TransformError as exc:
        if "object key" in str(exc):
            raise
        raise TransformError(f"Invalid InputTemplate for target {target_id} : {exc}") from None
    return InputTransformer(paths, parsed)


def apply_input_path(event: Any, path: str) -> str:
    """`InputPath`: the JSON text of what `path` selects (`null` when it selects nothing)."""
    value = compile_path(path).get(event)
    return orjson.dumps(value).decode()


def validate_target_input(target: Mapping[str, Any]) -> None:
    """The PutTargets checks of a target's input settings; raises `TransformError` with AWS's messages."""
    target_id = target.get("Id", "")
    given = [key for key in ("Input", "InputPath", "InputTransformer") if target.get(key) is not None]
    if len(given) > 1:
        raise TransformError(
            f"Only one of Input, InputPath, or InputTransformer must be provided for target {target_id}."
        )
    if "Input" in given:
        try:
            orjson.loads(target["Input"])
        except orjson.JSONDecodeError:
            raise TransformError(f"Input for target {target_id} must be valid JSON text.") from None
    elif "InputPath" in given:
        try:
            compile_path(target["InputPath"])
        except TransformError as exc:
            raise TransformError(f"Invalid InputPath for target {target_id} : {exc}") from None
    elif "InputTransformer" in given:
        transformer = target["InputTransformer"]
        compile_input_transformer(
            transformer.get("InputPathsMap"), transformer.get("InputTemplate", ""), target_id=target_id
        )


def render_target_input(
    target: Mapping[str, Any],
    event: Any,
    *,
    rule_arn: str = "",
    rule_name: str = "",
    ingestion_time: str = "",
) -> str:
    """What a rule target receives for `event`: the event as JSON, or its Input / InputPath / InputTransformer.
    Raises `TransformError` when a template renders invalid JSON."""
    if target.get("Input") is not None:
        text: str = target["Input"]
        return text
    if target.get("InputPath") is not None:
        return apply_input_path(event, target["InputPath"])
    transformer = target.get("InputTransformer")
    if transformer is not None:
        compiled = compile_input_transformer(
            transformer.get("InputPathsMap"), transformer["InputTemplate"], target_id=target.get("Id", "")
        )
        return compiled.render(event, RuleContext(rule_arn, rule_name, ingestion_time))
    return orjson.dumps(event).decode()
