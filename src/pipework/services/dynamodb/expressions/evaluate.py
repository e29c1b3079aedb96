"""Evaluating parsed conditions against an item, resolving document paths, and projections. Pure."""

from __future__ import annotations

from typing import Any

from ..values import Item, Value, binary, compare, contains_member, equal, type_of
from .nodes import And, Between, Call, Compare, In, Literal, Not, Or, Path

_SIZED = {"S", "B", "SS", "NS", "BS", "M", "L"}


def resolve(item: Item, path: Path) -> Value | None:
    """The value at `path` in `item`, or None when any step is missing or of the wrong kind."""
    first, *rest = path.elements
    if not isinstance(first, str):
        return None
    current: Value | None = item.get(first)
    for element in rest:
        if current is None:
            return None
        if isinstance(element, int):
            inner = current.get("L")
            current = inner[element] if inner is not None and element < len(inner) else None
        else:
            inner = current.get("M")
            current = inner.get(element) if inner is not None else None
    return current


def operand_value(item: Item, operand: Any) -> Value | None:
    if isinstance(operand, Literal):
        return operand.value
    if isinstance(operand, Path):
        return resolve(item, operand)
    if isinstance(operand, Call) and operand.name == "size":
        value = operand_value(item, operand.args[0])
        if value is None:
            return None
        kind, inner = next(iter(value.items()))
        if kind not in _SIZED:
            return None
        size = len(binary(inner)) if kind == "B" else len(inner)
        return {"N": str(size)}
    raise TypeError(f"not an operand: {operand!r}")


def evaluate(node: Any, item: Item) -> bool:
    """Whether `item` satisfies the condition `node` (an absent item is the empty item)."""
    if isinstance(node, And):
        return all(evaluate(operand, item) for operand in node.operands)
    if isinstance(node, Or):
        return any(evaluate(operand, item) for operand in node.operands)
    if isinstance(node, Not):
        return not evaluate(node.operand, item)
    if isinstance(node, Compare):
        return _compare(node.op, operand_value(item, node.left), operand_value(item, node.right))
    if isinstance(node, Between):
        value = operand_value(item, node.operand)
        low, high = operand_value(item, node.low), operand_value(item, node.high)
        above, below = compare(value, low), compare(value, high)
        return above is not None and below is not None and above >= 0 and below <= 0
    if isinstance(node, In):
        value = operand_value(item, node.operand)
        return any(equal(value, operand_value(item, c)) for c in node.candidates)
    if isinstance(node, Call):
        return _function(node, item)
    raise TypeError(f"not a condition: {node!r}")


def _compare(op: str, left: Value | None, right: Value | None) -> bool:
    if op == "=":
        return equal(left, right)
    if op == "<>":
        # A missing attribute is "not equal" to any value (DynamoDB: attribute <> :v is true when absent).
        return left is None or right is None or not equal(left, right)
    order = compare(left, right)
    if order is None:
        return False
    return {"<": order < 0, "<=": order <= 0, ">": order > 0, ">=": order >= 0}[op]


def _function(call: Call, item: Item) -> bool:
    name, args = call.name, call.args
    if name == "attribute_exists":
        return resolve(item, args[0]) is not None
    if name == "attribute_not_exists":
        return resolve(item, args[0]) is None
    value = operand_value(item, args[0])
    if value is None:
        return False
    if name == "attribute_type":
        wanted = operand_value(item, args[1])
        return wanted is not None and type_of(value) == wanted.get("S")
    other = operand_value(item, args[1])
    if other is None:
        return False
    kind, inner = next(iter(value.items()))
    other_kind, other_inner = next(iter(other.items()))
    if name == "begins_with":
        if kind == "S" and other_kind == "S":
            return bool(inner.startswith(other_inner))
        if kind == "B" and other_kind == "B":
            return binary(inner).startswith(binary(other_inner))
        return False
    if name == "contains":
        if kind == "S":
            return other_kind == "S" and other_inner in inner
        if kind == "B":
            return other_kind == "B" and binary(other_inner) in binary(inner)
        if kind in ("SS", "NS", "BS"):
            return contains_member(inner, kind, other)
        if kind == "L":
            return any(equal(element, other) for element in inner)
        return False
    raise TypeError(f"not a condition function: {name}")


def project(item: Item, paths: list[Path] | None) -> Item:
    """The parts of `item` named by `paths` (all of it when `paths` is None), nested structure kept."""
    if paths is None:
        return item
    out: Item = {}
    for path in paths:
        value = resolve(item, path)
        if value is None:
            continue
        _place(out, item, path.elements, value)
    return {name: _compact(value) for name, value in out.items()}


def _place(out: dict[str, Any], source: Item, elements: tuple[str | int, ...], value: Value) -> None:
    """Copy `value` into `out` at `elements`, creating the containers of `source`'s shape on the way. Lists are built
    as {index: value} dicts and compacted (in index order) at the end, as DynamoDB returns projected list elements."""
    first = elements[0]
    assert isinstance(first, str)
    if len(elements) == 1:
        out[first] = value
        return
    container: Any = out
    key: Any = first
    source_value: Any = source.get(first)
    for element in elements[1:]:
        kind = "L" if isinstance(element, int) else "M"
        if key not in container:
            container[key] = {"__proj__": kind, "items": {}}
        container = container[key]["items"]
        source_value = source_value[kind][element]
        key = element
    container[key] = value


def _compact(node: Any) -> Any:
    if isinstance(node, dict) and "__proj__" in node:
        items = node["items"]
        if node["__proj__"] == "L":
            return {"L": [_compact(items[i]) for i in sorted(items)]}
        return {"M": {k: _compact(v) for k, v in items.items()}}
    return node
