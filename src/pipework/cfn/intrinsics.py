"""The intrinsic functions and conditions of a template, evaluated against what is known so far: parameter
values, pseudo parameters, mappings, conditions, and the resources already created (their physical ids and
attributes, through `ResolvedRefs`).

`Evaluator.resolve(node)` returns the node with every function replaced by its value; `AWS::NoValue` removes the
property (or list element) that holds it.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import TemplateError

_NO_VALUE = object()  # what `Ref: AWS::NoValue` resolves to; removed from the enclosing object or list

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


@dataclass
class ResolvedRefs:
    """What the resources created so far answer: `ref(logical_id)` (its physical id or ARN, as `Ref` gives),
    `get_att(logical_id, attribute)`; each raises `TemplateError` for an unknown resource or attribute.
    `exports` holds the Exports of every stack (`Fn::ImportValue`)."""

    ref: Callable[[str], Any]
    get_att: Callable[[str, str], Any]
    exports: Mapping[str, str] = field(default_factory=dict)


class Evaluator:
    """Evaluates intrinsic functions and conditions of one template.

    Parameters: `template` (read by `load_template`), `parameters` (values given for the template's Parameters,
    already checked), `pseudo` (AWS::Region, AWS::AccountId, AWS::StackName, AWS::StackId, AWS::Partition,
    AWS::URLSuffix), `refs` (the resources created so far).
    """

    def __init__(
        self,
        template: Mapping[str, Any],
        parameters: Mapping[str, Any],
        pseudo: Mapping[str, Any],
        refs: ResolvedRefs,
    ) -> None:
        self.template = template
        self.parameters = dict(parameters)
        self.pseudo = {**pseudo, "AWS::NotificationARNs": list(pseudo.get("AWS::NotificationARNs", []))}
        self.refs = refs
        self.mappings: Mapping[str, Any] = template.get("Mappings") or {}
        self._condition_nodes: Mapping[str, Any] = template.get("Conditions") or {}
        self._conditions: dict[str, bool] = {}
        self._evaluating: set[str] = set()
        self.resources: Mapping[str, Any] = template.get("Resources") or {}

    # ── conditions ──
    def condition(self, name: str) -> bool:
        """The value of the template's condition `name` (evaluated once)."""
        if name in self._conditions:
            return self._conditions[name]
        if name not in self._condition_nodes:
            raise TemplateError(
                f"Template format error: Unresolved dependencies [{name}]. Cannot reference "
                "resources in the Conditions block of the template"
            )
        if name in self._evaluating:
            raise TemplateError(f"Template error: condition {name} refers to itself")
        self._evaluating.add(name)
        try:
            value = self._truth(self._condition_nodes[name])
        finally:
            self._evaluating.discard(name)
        self._conditions[name] = value
        return value

    def _truth(self, node: Any) -> bool:
        if isinstance(node, dict) and len(node) == 1:
            ((key, args),) = node.items()
            if key == "Condition":
                return self.condition(str(args))
            if key in ("Fn::Equals", "Fn::And", "Fn::Or", "Fn::Not"):
                return bool(self._function(key, args))
        value = self.resolve(node)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise TemplateError(f"Template error: a condition must be a boolean, got {value!r}")

    def included(self, logical_id: str, section: Mapping[str, Any]) -> bool:
        """Whether the resource or output `logical_id` of `section` exists under its Condition."""
        entry = section.get(logical_id) or {}
        name = entry.get("Condition") if isinstance(entry, dict) else None
        return True if name is None else self.condition(str(name))

    # ── values ──
    def resolve(self, node: Any) -> Any:
        """`node` with every intrinsic function evaluated (AWS::NoValue removed)."""
        value = self._resolve(node)
        return None if value is _NO_VALUE else value

    def _resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self._resolve(item) for item in node) if v is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, args),) = node.items()
            if key == "Ref" or key.startswith("Fn::"):
                return self._function(key, args)
            if key == "Condition" and isinstance(args, str) and args in self._condition_nodes:
                return self.condition(args)
        out = {}
        for key, value in node.items():
            resolved = self._resolve(value)
            if resolved is not _NO_VALUE:
                out[key] = resolved
        return out

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self.parameters:
            return self.parameters[name]
        if name in self.pseudo:
            return self.pseudo[name]
        if name.startswith("AWS::"):
            raise TemplateError(f"Template format error: Unrecognized parameter type: {name}")
        if name in self.resources:
            return self.refs.ref(name)
        raise TemplateError(
            f"Template format error: Unresolved resource dependencies [{name}] in the Resources "
            "block of the template"
        )

    def _function(self, key: str, args: Any) -> Any:
        handler = _FUNCTIONS.get(key)
        if handler is None:
            raise TemplateError(f"Template format error: Unrecognized function {key}")
        return handler(self, args)

    def _list(self, key: str, args: Any, length: int | None = None) -> list[Any]:
        if not isinstance(args, list) or (length is not None and len(args) != length):
            count = f" of {length} elements" if length else ""
            raise TemplateError(f"Template error: {key} takes a list{count}")
        return args

    def _string(self, key: str, value: Any) -> str:
        value = self.resolve(value)
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return str(value)
        if not isinstance(value, str):
            raise TemplateError(f"Template error: {key} needs a string, got {value!r}")
        return value

    def sub(self, args: Any) -> str:
        if isinstance(args, str):
            text, variables = args, {}
        else:
            text_node, variables_node = self._list("Fn::Sub", args, 2)
            text = self._string("Fn::Sub", text_node)
            resolved = self.resolve(variables_node)
            if not isinstance(resolved, dict):
                raise TemplateError("Template error: the second element of Fn::Sub must be an object")
            variables = resolved

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return self._text(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, _, attribute = name.partition(".")
                return self._text(self.get_att([logical_id, attribute]))
            value = self.ref(name)
            if value is _NO_VALUE:
                raise TemplateError("Template error: AWS::NoValue cannot be used in Fn::Sub")
            return self._text(value)

        return _SUB_VARIABLE.sub(replace, text)

    @staticmethod
    def _text(value: Any) -> str:
        if isinstance(value, list):
            return ",".join(str(v) for v in value)
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def get_att(self, args: Any) -> Any:
        if isinstance(args, str):
            args = args.split(".", 1)
        logical_id, attribute = self._list("Fn::GetAtt", args, 2)
        attribute = self._string("Fn::GetAtt", attribute)
        if logical_id not in self.resources:
            raise TemplateError(
                f"Template error: instance of Fn::GetAtt references undefined resource {logical_id}"
            )
        return self.refs.get_att(str(logical_id), attribute)


def _equals(ev: Evaluator, args: Any) -> bool:
    left, right = (ev.resolve(v) for v in ev._list("Fn::Equals", args, 2))
    return ev._text(left) == ev._text(right) if type(left) is not type(right) else bool(left == right)


def _and(ev: Evaluator, args: Any) -> bool:
    items = ev._list("Fn::And", args)
    if not 2 <= len(items) <= 10:
        raise TemplateError("Template error: Fn::And takes between 2 and 10 conditions")
    return all(ev._truth(item) for item in items)


def _or(ev: Evaluator, args: Any) -> bool:
    items = ev._list("Fn::Or", args)
    if not 2 <= len(items) <= 10:
        raise TemplateError("Template error: Fn::Or takes between 2 and 10 conditions")
    return any(ev._truth(item) for item in items)


def _not(ev: Evaluator, args: Any) -> bool:
    return not ev._truth(ev._list("Fn::Not", args, 1)[0])


def _if(ev: Evaluator, args: Any) -> Any:
    name, when_true, when_false = ev._list("Fn::If", args, 3)
    return ev._resolve(when_true if ev.condition(str(name)) else when_false)


def _join(ev: Evaluator, args: Any) -> str:
    delimiter, values = ev._list("Fn::Join", args, 2)
    items = ev.resolve(values)
    if not isinstance(items, list):
        raise TemplateError("Template error: the second element of Fn::Join must be a list")
    return ev._string("Fn::Join", delimiter).join(ev._text(item) for item in items)


def _select(ev: Evaluator, args: Any) -> Any:
    index_node, values = ev._list("Fn::Select", args, 2)
    index, items = ev.resolve(index_node), ev.resolve(values)
    try:
        position = int(index)
    except (TypeError, ValueError):
        raise TemplateError(f"Template error: Fn::Select index {index!r} is not a number") from None
    if not isinstance(items, list) or not 0 <= position < len(items):
        raise TemplateError(
            "Template error: Fn::Select cannot select nonexistent value at index " + str(index)
        )
    return items[position]


def _split(ev: Evaluator, args: Any) -> list[str]:
    delimiter, source = ev._list("Fn::Split", args, 2)
    return ev._string("Fn::Split", source).split(ev._string("Fn::Split", delimiter))


def _find_in_map(ev: Evaluator, args: Any) -> Any:
    name, top, second = (ev._string("Fn::FindInMap", v) for v in ev._list("Fn::FindInMap", args, 3))
    try:
        return ev.mappings[name][top][second]
    except (KeyError, TypeError):
        raise TemplateError(f"Template error: Unable to get mapping for {name}::{top}::{second}") from None


def _get_azs(ev: Evaluator, args: Any) -> list[str]:
    region = ev._string("Fn::GetAZs", args) or str(ev.pseudo.get("AWS::Region", "us-east-1"))
    return [f"{region}{zone}" for zone in "abc"]


def _import_value(ev: Evaluator, args: Any) -> str:
    name = ev._string("Fn::ImportValue", args)
    if name not in ev.refs.exports:
        raise TemplateError(f"No export named {name} found.")
    return ev.refs.exports[name]


def _base64(ev: Evaluator, args: Any) -> str:
    return base64.b64encode(ev._string("Fn::Base64", args).encode()).decode()


def _cidr(ev: Evaluator, args: Any) -> list[str]:
    block, count, bits = (ev.resolve(v) for v in ev._list("Fn::Cidr", args, 3))
    try:
        network = ipaddress.ip_network(str(block), strict=False)
        prefix = network.max_prefixlen - int(bits)
        subnets = network.subnets(new_prefix=prefix)
        return [str(next(subnets)) for _ in range(int(count))]
    except (ValueError, StopIteration):
        raise TemplateError(
            f"Template error: Fn::Cidr cannot split {block} into {count} blocks of {bits} bits"
        ) from None


def _length(ev: Evaluator, args: Any) -> int:
    value = ev.resolve(args)
    if not isinstance(value, list):
        raise TemplateError("Template error: Fn::Length takes a list")
    return len(value)


def _to_json_string(ev: Evaluator, args: Any) -> str:
    import orjson

    return orjson.dumps(ev.resolve(args)).decode()


def _transform(ev: Evaluator, args: Any) -> Any:
    raise TemplateError("Template error: Fn::Transform (macros) is not supported")


_FUNCTIONS: dict[str, Callable[[Evaluator, Any], Any]] = {
    "Ref": lambda ev, args: ev.ref(ev._string("Ref", args)),
    "Fn::GetAtt": lambda ev, args: ev.get_att(args),
    "Fn::Sub": lambda ev, args: ev.sub(args),
    "Fn::Join": _join,
    "Fn::Select": _select,
    "Fn::Split": _split,
    "Fn::If": _if,
    "Fn::Equals": _equals,
    "Fn::And": _and,
    "Fn::Or": _or,
    "Fn::Not": _not,
    "Fn::FindInMap": _find_in_map,
    "Fn::GetAZs": _get_azs,
    "Fn::ImportValue": _import_value,
    "Fn::Base64": _base64,
    "Fn::Cidr": _cidr,
    "Fn::Length": _length,
    "Fn::ToJsonString": _to_json_string,
    "Fn::Transform": _transform,
}
