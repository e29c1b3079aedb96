"""Compiled patterns: the path trie that guides the walk over an event, leaf collection with array trails,
and the evaluation of subrules (array consistency included). `CompiledPattern` matches one pattern.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeAlias

from .conditions import Leaf
from .errors import InvalidEventError
from .parse import MAX_PATTERN_LENGTH, Subrule, load_json, parse

#: Where a leaf sits inside arrays of objects: (id of the array, index of the element) per array crossed.
Trail: TypeAlias = tuple[tuple[int, int], ...]
Leaves: TypeAlias = dict[str, list[tuple[Leaf, Trail]]]


class PathNode:
    """A node of the trie of field names the rules refer to; ``path`` is set where a rule field ends."""

    __slots__ = ("children", "path", "refs")

    def __init__(self) -> None:
        self.children: dict[str, PathNode] = {}
        self.path: str | None = None
        self.refs = 0  # how many rule fields end here (the node is pruned when nothing uses it)

    def resolve(self, dotted_key: str) -> PathNode | None:
        """Follow an event key that contains dots (``{"a.b": 1}`` is the same as ``{"a": {"b": 1}}``)."""
        node: PathNode | None = self
        for part in dotted_key.split("."):
            assert node is not None
            node = node.children.get(part)
            if node is None:
                return None
        return node


class PathTrie:
    """The set of field paths of some rules, as a trie over the dot-separated names."""

    __slots__ = ("root",)

    def __init__(self, paths: Iterable[str] = ()) -> None:
        self.root = PathNode()
        for path in paths:
            self.add(path)

    def add(self, path: str) -> None:
        node = self.root
        for part in path.split("."):
            child = node.children.get(part)
            if child is None:
                child = node.children[part] = PathNode()
            node = child
        node.path = path
        node.refs += 1

    def remove(self, path: str) -> None:
        trail: list[tuple[PathNode, str]] = []
        node = self.root
        for part in path.split("."):
            trail.append((node, part))
            node = node.children[part]
        node.refs -= 1
        if node.refs == 0:
            node.path = None
        for parent, part in reversed(trail):
            child = parent.children[part]
            if child.refs == 0 and not child.children:
                del parent.children[part]

    def leaves(self, event: dict[str, Any]) -> Leaves:
        """Collect the leaf values of ``event`` at the trie's paths, with their array trails."""
        out: Leaves = {}
        _walk(event, self.root, (), out)
        return out


def _walk(obj: dict[str, Any], node: PathNode, trail: Trail, out: Leaves) -> None:
    children = node.children
    for key, value in obj.items():
        child = children.get(key)
        if child is None:
            if "." not in key:
                continue
            child = node.resolve(key)
            if child is None:
                continue
        path = child.path
        kind = type(value)
        if kind is dict:
            if child.children:
                _walk(value, child, trail, out)
        elif kind is list:
            if path is not None:
                _collect(value, path, trail, out)
            if child.children:
                _walk_list(value, child, trail, out)
        elif path is not None:
            bucket = out.get(path)
            if bucket is None:
                out[path] = [(value, trail)]
            else:
                bucket.append((value, trail))


def _walk_list(items: list[Any], node: PathNode, trail: Trail, out: Leaves) -> None:
    array = id(items)
    for index, item in enumerate(items):
        kind = type(item)
        if kind is dict:
            _walk(item, node, (*trail, (array, index)), out)
        elif kind is list:
            _walk_list(item, node, (*trail, (array, index)), out)


def _collect(value: Any, path: str, trail: Trail, out: Leaves) -> None:
    kind = type(value)
    if kind is dict:
        return  # an object is not a leaf
    if kind is list:
        # Scalars of one array all sit at the same path; only one is ever chosen per field, so they need no trail.
        for item in value:
            item_kind = type(item)
            if item_kind is list:
                _collect(item, path, trail, out)
            elif item_kind is not dict:
                bucket = out.get(path)
                if bucket is None:
                    out[path] = [(item, trail)]
                else:
                    bucket.append((item, trail))
        return
    bucket = out.get(path)
    if bucket is None:
        out[path] = [(value, trail)]
    else:
        bucket.append((value, trail))


def evaluate(subrule: Subrule, leaves: Leaves) -> bool:
    """True if every field of ``subrule`` is satisfied, by leaves that can come from the same array elements."""
    constrained: list[list[Trail]] = []
    for field in subrule:
        found = leaves.get(field.path)
        if not found:
            if field.exists_false:
                continue
            return False
        if not field.positive:
            return False  # only exists:false, and the path has a leaf
        trails: list[Trail] = []
        free = False
        for value, trail in found:
            if field.test(value):
                if not trail:
                    free = True
                    break
                trails.append(trail)
        if free:
            continue
        if not trails:
            return False
        constrained.append(trails)
    if len(constrained) < 2:
        return True
    constrained.sort(key=len)
    return _consistent(constrained, 0, {})


def _consistent(fields: list[list[Trail]], i: int, chosen: dict[int, int]) -> bool:
    """Backtracking search for one trail per field that agrees on the element of every shared array."""
    if i == len(fields):
        return True
    for trail in fields[i]:
        added: list[int] = []
        ok = True
        for array, index in trail:
            current = chosen.get(array)
            if current is None:
                chosen[array] = index
                added.append(array)
            elif current != index:
                ok = False
                break
        if ok and _consistent(fields, i + 1, chosen):
            return True
        for array in added:
            del chosen[array]
    return False


def load_event(event: str | bytes | dict[str, Any]) -> Any:
    """The event as parsed JSON; `InvalidEventError` if it is text that is not JSON."""
    if isinstance(event, dict):
        return event
    try:
        return load_json(event)
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise InvalidEventError(f"Event is not valid JSON: {exc}") from None
    except RecursionError:
        raise InvalidEventError(_TOO_DEEP) from None


_TOO_DEEP = "Event is nested too deeply"


def event_leaves(trie: PathTrie, event: dict[str, Any]) -> Leaves:
    """The leaves of ``event`` at the trie's paths; an event nested deeper than Python's stack is invalid."""
    try:
        return trie.leaves(event)
    except RecursionError:
        raise InvalidEventError(_TOO_DEEP) from None


class CompiledPattern:
    """A validated pattern, ready to match events. Build it with `compile_pattern`."""

    __slots__ = ("subrules", "trie")

    def __init__(self, subrules: list[Subrule]) -> None:
        self.subrules = subrules
        self.trie = PathTrie(field.path for sub in subrules for field in sub)

    def matches(self, event: str | bytes | dict[str, Any]) -> bool:
        """True if ``event`` (a whole event or any JSON object, as text or parsed) matches the pattern."""
        obj = load_event(event)
        if type(obj) is not dict:
            return False
        leaves = event_leaves(self.trie, obj)
        return any(evaluate(sub, leaves) for sub in self.subrules)

    @property
    def paths(self) -> frozenset[str]:
        """The field paths the pattern refers to."""
        return frozenset(field.path for sub in self.subrules for field in sub)


def compile_pattern(
    pattern: str | bytes | dict[str, Any] | CompiledPattern, *, max_length: int | None = MAX_PATTERN_LENGTH
) -> CompiledPattern:
    """Validate and compile an event pattern; raises `InvalidPatternError` with AWS's message.

    ``max_length`` is the size limit of the pattern text (EventBridge's API allows 4096 characters); None lifts it.
    """
    if isinstance(pattern, CompiledPattern):
        return pattern
    return CompiledPattern(parse(pattern, max_length=max_length))
