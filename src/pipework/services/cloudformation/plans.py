"""From a template and parameter values to a plan: the template read (SAM expanded), the parameter values checked
against their declarations, the resources its conditions include, in creation order; and the changes a plan makes
to a stack (what a change set shows).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipework.cfn import TemplateError, creation_order, load_template
from pipework.cfn.graph import unresolved
from pipework.cfn.intrinsics import Evaluator, ResolvedRefs
from pipework.jsontypes import JSON

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"

_LIST_TYPES = ("CommaDelimitedList", "List<")


@dataclass(frozen=True)
class Plan:
    """A template ready to apply: `template` (SAM expanded), `parameters` (string values as stored), `values`
    (what `Ref` gives: lists for list types), the `order` of the included resources."""

    template: JSON
    parameters: dict[str, str]
    values: dict[str, Any]
    order: tuple[str, ...]
    description: str

    @property
    def resources(self) -> Mapping[str, JSON]:
        return self.template["Resources"]  # type: ignore[no-any-return]


def read(text: str, region: str = "us-east-1", account: str = "000000000000") -> JSON:
    """The template, with a SAM template expanded into plain CloudFormation (aws-sam-translator) for a stack in
    `region` and `account`."""
    template = load_template(text)
    transforms = template.get("Transform")
    names = transforms if isinstance(transforms, list) else [transforms] if transforms else []
    if SAM_TRANSFORM in names:
        from .sam import expand

        template = expand(template, region, account)
    elif names:
        raise TemplateError(f"Template format error: unsupported transform {', '.join(map(str, names))}")
    return template


def parameter_values(template: JSON, given: Mapping[str, str], previous: Mapping[str, str]) -> dict[str, str]:
    """The value of every declared parameter: given, else the previous value when asked, else its default;
    CloudFormation's ValidationError messages for unknown, missing or disallowed values."""
    declared: Mapping[str, JSON] = template.get("Parameters") or {}
    unknown = [name for name in given if name not in declared]
    if unknown:
        raise TemplateError(f"Parameters: [{', '.join(unknown)}] do not exist in the template")
    values: dict[str, str] = {}
    missing: list[str] = []
    for name, declaration in declared.items():
        if name in given:
            value = given[name]
            if value is _USE_PREVIOUS:
                if name not in previous:
                    raise TemplateError(f"Parameter {name} has no previous value to use")
                value = previous[name]
        elif "Default" in declaration:
            value = declaration["Default"]
        else:
            missing.append(name)
            continue
        values[name] = _checked(name, declaration, _as_text(value))
    if missing:
        raise TemplateError(f"Parameters: [{', '.join(missing)}] must have values")
    return values


_USE_PREVIOUS: Any = object()


def use_previous() -> Any:
    """The marker for a parameter given with ``UsePreviousValue``."""
    return _USE_PREVIOUS


def _as_text(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _checked(name: str, declaration: JSON, value: str) -> str:
    kind = str(declaration.get("Type", "String"))
    allowed = declaration.get("AllowedValues")
    items = value.split(",") if kind.startswith(_LIST_TYPES) else [value]
    if allowed is not None and any(item not in [str(a) for a in allowed] for item in items):
        raise TemplateError(f"Parameter '{name}' must be one of AllowedValues")
    if kind in ("Number", "List<Number>"):
        for item in items:
            try:
                number = float(item)
            except ValueError:
                raise TemplateError(f"Parameter '{name}' must be a number not {item}") from None
            if "MinValue" in declaration and number < float(declaration["MinValue"]):
                raise TemplateError(
                    f"Parameter '{name}' must be a number not less than {declaration['MinValue']}"
                )
            if "MaxValue" in declaration and number > float(declaration["MaxValue"]):
                raise TemplateError(
                    f"Parameter '{name}' must be a number not greater than {declaration['MaxValue']}"
                )
    if kind == "String":
        if "MinLength" in declaration and len(value) < int(declaration["MinLength"]):
            raise TemplateError(
                f"Parameter '{name}' must contain at least {declaration['MinLength']} characters"
            )
        if "MaxLength" in declaration and len(value) > int(declaration["MaxLength"]):
            raise TemplateError(
                f"Parameter '{name}' must contain at most {declaration['MaxLength']} characters"
            )
        pattern = declaration.get("AllowedPattern")
        if pattern is not None and not re.fullmatch(str(pattern), value):
            raise TemplateError(f"Parameter '{name}' must match pattern {pattern}")
    return value


def ref_values(template: JSON, parameters: Mapping[str, str]) -> dict[str, Any]:
    """What `Ref` gives for each parameter: a list for the list types, else the text."""
    declared: Mapping[str, JSON] = template.get("Parameters") or {}
    return {
        name: value.split(",") if str(declared[name].get("Type", "")).startswith(_LIST_TYPES) else value
        for name, value in parameters.items()
    }


def make_plan(
    text: str,
    given: Mapping[str, str],
    previous: Mapping[str, str],
    pseudo: Mapping[str, Any],
    supported: frozenset[str],
    *,
    skip_unsupported: bool,
) -> Plan:
    """Read and check a template for applying (see `Plan`)."""
    template = read(text, str(pseudo.get("AWS::Region", "us-east-1")), str(pseudo.get("AWS::AccountId", "")))
    parameters = parameter_values(template, given, previous)
    values = ref_values(template, parameters)
    evaluator = Evaluator(template, values, pseudo, ResolvedRefs(_not_yet, _not_yet_att))
    resources: Mapping[str, JSON] = template["Resources"]
    included = [name for name in resources if evaluator.included(name, resources)]
    if skip_unsupported:
        included = [name for name in included if resources[name]["Type"] in supported]
    for name, output in (template.get("Outputs") or {}).items():
        if not isinstance(output, dict) or "Value" not in output:
            raise TemplateError(
                f"Template format error: Every Outputs member must contain a Value object ({name})"
            )
    known = set(values) | set(resources)
    missing = unresolved({name: resources[name] for name in included}, known) | unresolved(
        template.get("Outputs") or {}, known
    )
    if missing:
        raise TemplateError(
            f"Template format error: Unresolved resource dependencies [{', '.join(sorted(missing))}] in the "
            "Resources block of the template"
        )
    order = creation_order(resources, included)
    return Plan(template, parameters, values, tuple(order), str(template.get("Description", "")))


def _not_yet(name: str) -> Any:
    raise TemplateError(f"Template error: {name} is not created yet")


def _not_yet_att(name: str, attribute: str) -> Any:
    raise TemplateError(f"Template error: {name} is not created yet")


def template_summary(text: str) -> JSON:
    """ValidateTemplate's answer: the declared parameters, the description, capabilities a template needs."""
    template = load_template(text)
    declared: Mapping[str, JSON] = template.get("Parameters") or {}
    parameters = []
    for name, declaration in declared.items():
        entry: JSON = {
            "ParameterKey": name,
            "NoEcho": str(declaration.get("NoEcho", "false")).lower() == "true",
        }
        if "Default" in declaration:
            entry["DefaultValue"] = _as_text(declaration["Default"])
        if "Description" in declaration:
            entry["Description"] = str(declaration["Description"])
        parameters.append(entry)
    types = {str(r.get("Type")) for r in template["Resources"].values()}
    capabilities = []
    if any(t.startswith("AWS::IAM::") for t in types):
        named = any(
            r.get("Properties", {}).get("RoleName")
            for r in template["Resources"].values()
            if isinstance(r, dict)
        )
        capabilities.append("CAPABILITY_NAMED_IAM" if named else "CAPABILITY_IAM")
    transforms = template.get("Transform")
    names = transforms if isinstance(transforms, list) else [transforms] if transforms else []
    if SAM_TRANSFORM in names:
        capabilities.append("CAPABILITY_AUTO_EXPAND")
    out: JSON = {"Parameters": parameters, "Capabilities": capabilities}
    if capabilities:
        out["CapabilitiesReason"] = "The following resource(s) require capabilities: " + ", ".join(
            sorted(types)
        )
    if "Description" in template:
        out["Description"] = str(template["Description"])
    if names:
        out["DeclaredTransforms"] = [str(n) for n in names]
    return out
