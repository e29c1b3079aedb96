"""Why an event does not match a pattern: the fields of the pattern whose conditions the event fails, each found by
matching the event against the pattern cut down to that one field (an ``$or`` is one field: its branches together).
"""

from __future__ import annotations

from typing import Any

from .compile import compile_pattern, load_event


def _fields(pattern: dict[str, Any], path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The paths of the pattern's fields (an ``$or`` counts as the field at its parent's path)."""
    out: list[tuple[str, ...]] = []
    for key, value in pattern.items():
        if key == "$or" or not isinstance(value, dict):
            out.append((*path, key))
        else:
            out.extend(_fields(value, (*path, key)))
    return out


def _only(pattern: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    """The pattern with only the field at `path`."""
    head, *rest = path
    return {head: _only(pattern[head], tuple(rest)) if rest else pattern[head]}


def mismatched_fields(pattern: str | dict[str, Any], event: str | dict[str, Any]) -> list[str]:
    """The dotted paths of the pattern's fields the event fails (empty when it matches), in the pattern's order;
    a field ending in ``$or`` names an ``$or`` none of whose branches matched. Raises `InvalidPatternError` for a
    bad pattern and `InvalidEventError` for an event that is not JSON."""
    compiled = compile_pattern(pattern)
    obj = load_event(event)
    if compiled.matches(obj):
        return []
    tree: dict[str, Any] = load_event(pattern) if not isinstance(pattern, dict) else pattern
    failing = []
    for path in _fields(tree):
        if not compile_pattern(_only(tree, path), max_length=None).matches(obj):
            failing.append(".".join(path))
    return failing
