"""Which resources a resource needs before it can be created: those its properties name through `Ref`,
`Fn::GetAtt` and `Fn::Sub`, and those in its `DependsOn`. `creation_order` sorts them (CloudFormation's order;
deletion is the reverse) and refuses a cycle with CloudFormation's message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import TemplateError

_SUB_NAME = re.compile(r"\$\{([^!}][^}]*)\}")


def references(node: Any, resources: Iterable[str]) -> set[str]:
    """The logical ids of `resources` that `node` refers to."""
    known = set(resources)
    found: set[str] = set()
    _walk(node, known, found)
    return found


def _walk(node: Any, known: set[str], found: set[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _walk(item, known, found)
        return
    if not isinstance(node, dict):
        return
    if len(node) == 1:
        ((key, args),) = node.items()
        if key == "Ref" and isinstance(args, str):
            if args in known:
                found.add(args)
            return
        if key == "Fn::GetAtt":
            target = (
                args.split(".", 1)[0]
                if isinstance(args, str)
                else args[0]
                if isinstance(args, list) and args
                else None
            )
            if isinstance(target, str) and target in known:
                found.add(target)
            return
        if key == "Fn::Sub":
            text: Any = args
            variables: Any = {}
            if isinstance(args, list):
                text, variables = ([*args, None, None])[:2]
            if isinstance(text, str):
                local = set(variables) if isinstance(variables, dict) else set()
                for name in _SUB_NAME.findall(text):
                    head = name.split(".", 1)[0]
                    if head in known and name not in local:
                        found.add(head)
            _walk(variables, known, found)
            return
    for value in node.values():
        _walk(value, known, found)


def dependencies(resources: Mapping[str, Any], included: Iterable[str]) -> dict[str, set[str]]:
    """For each included resource, the included resources it needs first."""
    chosen = set(included)
    needs: dict[str, set[str]] = {}
    for logical_id in chosen:
        resource = resources[logical_id]
        found = references(resource.get("Properties") or {}, chosen)
        depends_on = resource.get("DependsOn") or []
        for name in [depends_on] if isinstance(depends_on, str) else depends_on:
            if name not in resources:
                raise TemplateError(
                    f"Template format error: Unresolved resource dependencies [{name}] in the Resources block of "
                    "the template"
                )
            if name in chosen:
                found.add(name)
        found.discard(logical_id)  # a resource may name itself in a property (e.g. a policy); not a cycle
        needs[logical_id] = found
    return needs


def creation_order(resources: Mapping[str, Any], included: Iterable[str]) -> list[str]:
    """The included resources in an order that creates each after everything it needs (stable: template order
    among equals)."""
    chosen = [name for name in resources if name in set(included)]
    needs = dependencies(resources, chosen)
    order: list[str] = []
    done: set[str] = set()
    remaining = list(chosen)
    while remaining:
        ready = [name for name in remaining if needs[name] <= done]
        if not ready:
            raise TemplateError(f"Circular dependency between resources: [{', '.join(sorted(remaining))}]")
        for name in ready:
            order.append(name)
            done.add(name)
        remaining = [name for name in remaining if name not in done]
    return order


def unresolved(node: Any, known: set[str]) -> set[str]:
    """Names `node` refers to (`Ref`, `Fn::GetAtt`, `Fn::Sub` variables) that are not in `known` (parameters,
    pseudo parameters and resources): CloudFormation refuses such a template before creating anything."""
    found: set[str] = set()
    _names(node, found)
    return {name for name in found if name not in known and not name.startswith("AWS::")}


def _names(node: Any, found: set[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _names(item, found)
        return
    if not isinstance(node, dict):
        return
    if len(node) == 1:
        ((key, args),) = node.items()
        if key == "Ref" and isinstance(args, str):
            found.add(args)
            return
        if key == "Fn::GetAtt":
            target = (
                args.split(".", 1)[0]
                if isinstance(args, str)
                else args[0]
                if isinstance(args, list) and args
                else None
            )
            if isinstance(target, str):
                found.add(target)
            return
        if key == "Fn::Sub":
            text: Any = args
            variables: Any = {}
            if isinstance(args, list):
                text, variables = ([*args, None, None])[:2]
            local = set(variables) if isinstance(variables, dict) else set()
            if isinstance(text, str):
                found.update(n.split(".", 1)[0] for n in _SUB_NAME.findall(text) if n not in local)
            _names(variables, found)
            return
    for value in node.values():
        _names(value, found)
