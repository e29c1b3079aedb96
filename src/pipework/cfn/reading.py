"""Reading a template: JSON, or YAML with CloudFormation's short-form tags (``!Ref X`` → ``{"Ref": "X"}``,
``!GetAtt A.B`` → ``{"Fn::GetAtt": ["A", "B"]}``, ``!Sub``, ``!If`` …). YAML dates and times stay strings
(``AWSTemplateFormatVersion: 2010-09-09`` is text to CloudFormation), as do its other implicit timestamps.
"""

from __future__ import annotations

from typing import Any

import orjson
import yaml

from .errors import TemplateError

#: Short-form tags and the long form each becomes. ``!Ref`` and ``!Condition`` are not ``Fn::`` functions.
_SHORT_FORMS = {
    "Ref": "Ref",
    "Condition": "Condition",
    **{
        name: f"Fn::{name}"
        for name in (
            "And",
            "Base64",
            "Cidr",
            "Equals",
            "FindInMap",
            "GetAtt",
            "GetAZs",
            "If",
            "ImportValue",
            "Join",
            "Not",
            "Or",
            "Select",
            "Split",
            "Sub",
            "Transform",
            "Length",
            "ToJsonString",
        )
    },
}


class _Loader(yaml.SafeLoader):  # type: ignore[misc]
    """SafeLoader with the short-form tags, and without the timestamp resolver."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _short_form(loader: _Loader, suffix: str, node: yaml.Node) -> Any:
    long_form = _SHORT_FORMS.get(suffix)
    if long_form is None:
        raise TemplateError(f"Template format error: unsupported tag !{suffix}")
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt" and isinstance(value, str):
            logical_id, dot, attribute = value.partition(".")
            if not dot:
                raise TemplateError(f"Template error: !GetAtt {value} must name a resource and an attribute")
            value = [logical_id, attribute]
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {long_form: value}


_Loader.add_multi_constructor("!", _short_form)


def load_template(text: str | bytes) -> dict[str, Any]:
    """The template as a JSON-shaped dict; a `TemplateError` with CloudFormation's wording when it is not one."""
    if isinstance(text, bytes):
        try:
            text = text.decode()
        except UnicodeDecodeError:
            raise TemplateError("Template format error: the template is not UTF-8 text") from None
    stripped = text.lstrip()
    parsed: Any
    if stripped.startswith("{"):
        try:
            parsed = orjson.loads(stripped)
        except orjson.JSONDecodeError as exc:
            raise TemplateError(f"Template format error: JSON not well-formed. ({exc})") from None
    else:
        try:
            parsed = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
        except yaml.YAMLError as exc:
            raise TemplateError(
                f"Template format error: YAML not well-formed. ({_first_line(exc)})"
            ) from None
    if not isinstance(parsed, dict):
        raise TemplateError("Template format error: the template must be a JSON or YAML object")
    resources = parsed.get("Resources")
    if not isinstance(resources, dict) or not resources:
        raise TemplateError("Template format error: At least one Resources member must be defined.")
    for logical_id, resource in resources.items():
        if not isinstance(resource, dict) or not isinstance(resource.get("Type"), str):
            raise TemplateError(
                f"Template format error: [/Resources/{logical_id}] Every Resources object must contain a Type member."
            )
    return parsed


def _first_line(exc: yaml.YAMLError) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
