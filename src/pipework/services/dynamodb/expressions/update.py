"""Applying an UpdateExpression to an item: every operand is read from the item as it was before the update (so
``SET a = b, b = a`` swaps), then the actions are applied to a copy. Pure."""

from __future__ import annotations

import copy
from typing import Any

from ..errors import ValidationError, invalid_parameter
from ..values import Item, Value, add_numbers, member_key, type_of
from .evaluate import operand_value, resolve
from .nodes import Action, Arithmetic, Call, Literal, Path

INVALID_PATH = "The document path provided in the update expression is invalid for update"
WRONG_TYPE = "An operand in the update expression has an incorrect data type"
MISSING = "The provided expression refers to an attribute that does not exist in the item"


def check_keys_untouched(actions: list[Action], key_names: tuple[str, ...]) -> None:
    for action in actions:
        top = action.path.elements[0]
        if top in key_names:
            raise invalid_parameter(f"Cannot update attribute {top}. This attribute is part of the key")


def apply_update(item: Item, actions: list[Action]) -> Item:
    """The item after `actions` (the input is not modified)."""
    # Evaluate first, against the old item.
    planned: list[tuple[Action, Value | None]] = []
    for action in actions:
        if action.kind == "SET":
            planned.append((action, _set_value(item, action.value)))
        elif action.kind in ("ADD", "DELETE"):
            planned.append((action, action.value.value))
        else:
            planned.append((action, None))
    new = copy.deepcopy(item)
    # List elements removed by index: remove the highest indexes first so earlier ones keep their meaning.
    removals = sorted(
        (a for a, _ in planned if a.kind == "REMOVE"),
        key=lambda a: [(-e if isinstance(e, int) else 0) for e in a.path.elements],
    )
    for action, value in planned:
        if action.kind == "SET":
            assert value is not None
            _assign(new, action.path, value)
        elif action.kind == "ADD":
            assert value is not None
            _add(new, action.path, value)
        elif action.kind == "DELETE":
            assert value is not None
            _delete(new, action.path, value)
    for action in removals:
        _remove(new, action.path)
    return new


def _set_value(item: Item, node: Any) -> Value:
    if isinstance(node, Arithmetic):
        left, right = _set_value(item, node.left), _set_value(item, node.right)
        if type_of(left) != "N" or type_of(right) != "N":
            raise ValidationError(WRONG_TYPE)
        return {"N": add_numbers(left["N"], right["N"], subtract=node.op == "-")}
    if isinstance(node, Call):
        if node.name == "if_not_exists":
            existing = resolve(item, node.args[0])
            return existing if existing is not None else _set_value(item, node.args[1])
        if node.name == "list_append":
            first, second = _set_value(item, node.args[0]), _set_value(item, node.args[1])
            if type_of(first) != "L" or type_of(second) != "L":
                raise ValidationError(WRONG_TYPE)
            return {"L": [*first["L"], *second["L"]]}
    if isinstance(node, Literal | Path):
        value = operand_value(item, node)
        if value is None:
            raise ValidationError(MISSING)
        return value
    raise ValidationError(WRONG_TYPE)


def _index(container: Any, step: Any) -> Any:
    if isinstance(container, list) and isinstance(step, int) and step < len(container):
        return container[step]
    return None


def _assign(item: Item, path: Path, value: Value) -> None:
    container, last = _walk(item, path)
    if isinstance(last, int):
        if last >= len(container):
            container.append(value)
        else:
            container[last] = value
    else:
        container[last] = value


def _walk(item: Item, path: Path) -> tuple[Any, str | int]:
    """Follow `path` but its last element; each step must exist and be the kind (map or list) the next needs."""
    elements = path.elements
    container: Any = item
    for position, step in enumerate(elements[:-1]):
        value = container.get(step) if isinstance(container, dict) else _index(container, step)
        if value is None:
            raise ValidationError(INVALID_PATH)
        wanted = "L" if isinstance(elements[position + 1], int) else "M"
        if type_of(value) != wanted:
            raise ValidationError(INVALID_PATH)
        container = value[wanted]
    return container, elements[-1]


def _get(container: Any, last: str | int) -> Value | None:
    if isinstance(container, dict):
        value: Value | None = container.get(last)
        return value
    found: Value | None = _index(container, last)
    return found


def _remove(item: Item, path: Path) -> None:
    try:
        container, last = _walk(item, path)
    except ValidationError:
        return  # removing something under a missing parent changes nothing
    if isinstance(container, dict):
        container.pop(last, None)
    elif isinstance(last, int) and last < len(container):
        del container[last]


def _add(item: Item, path: Path, value: Value) -> None:
    container, last = _walk(item, path)
    current = _get(container, last)
    kind = type_of(value)
    if current is None:
        _put(container, last, value)
        return
    if type_of(current) != kind:
        raise ValidationError(WRONG_TYPE)
    if kind == "N":
        _put(container, last, {"N": add_numbers(current["N"], value["N"])})
        return
    merged = list(current[kind])
    present = {member_key(kind, m) for m in merged}
    for member in value[kind]:
        identity = member_key(kind, member)
        if identity not in present:
            present.add(identity)
            merged.append(member)
    _put(container, last, {kind: merged})


def _delete(item: Item, path: Path, value: Value) -> None:
    container, last = _walk(item, path)
    current = _get(container, last)
    if current is None:
        return
    kind = type_of(value)
    if type_of(current) != kind:
        raise ValidationError(WRONG_TYPE)
    removed = {member_key(kind, m) for m in value[kind]}
    remaining = [m for m in current[kind] if member_key(kind, m) not in removed]
    if remaining:
        _put(container, last, {kind: remaining})
    elif isinstance(container, dict):
        container.pop(last, None)
    else:
        del container[last]


def _put(container: Any, last: str | int, value: Value) -> None:
    if isinstance(container, dict) or (isinstance(last, int) and last < len(container)):
        container[last] = value
    else:
        container.append(value)


def updated_paths(actions: list[Action]) -> list[Path]:
    return [action.path for action in actions]
