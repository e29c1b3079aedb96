"""The JSONPath subset EventBridge and Pipes accept: `$`, `.name`, `['name']`, `[n]` (negative counts from the
end), and the wildcards `.*` / `[*]`.

A path is compiled once (`compile_path`) and evaluated many times; evaluation never raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

from .errors import TransformError


class _Wildcard:
    """The `*` step."""

    def __repr__(self) -> str:
        return "*"


#: A step is a member name (str), an index (int), or `WILDCARD`.
WILDCARD: Final = _Wildcard()
Step = str | int | _Wildcard

_MISSING: Final = object()
_DOT_NAME = re.compile(r"\.([^.\[\]]+)")
_BRACKET = re.compile(r"""\[\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|(-?\d+)|(\*))\s*\]""")


@dataclass(frozen=True)
class JsonPath:
    """A compiled path. `text` is what the user wrote; `steps` the parsed steps; `definite` is False when a
    wildcard can make it select several values."""

    text: str
    steps: tuple[Step, ...]
    definite: bool

    def find(self, document: Any) -> list[Any]:
        """Every value the path selects (in document order); `[]` when nothing matches."""
        current = [document]
        for step in self.steps:
            following: list[Any] = []
            for value in current:
                if step is WILDCARD:
                    if isinstance(value, dict):
                        following.extend(value.values())
                    elif isinstance(value, list):
                        following.extend(value)
                elif isinstance(step, str):
                    if isinstance(value, dict) and step in value:
                        following.append(value[step])
                elif isinstance(value, list) and isinstance(step, int) and -len(value) <= step < len(value):
                    following.append(value[step])
            if not following:
                return []
            current = following
        return current

    def get(self, document: Any, default: Any = None) -> Any:
        """The selected value: for a definite path the one value (or `default`), for a wildcard path the list
        of values (or `default` when there are none)."""
        if self.definite:
            value = document
            for step in self.steps:
                if isinstance(step, str):
                    if not isinstance(value, dict):
                        return default
                    value = value.get(step, _MISSING)
                    if value is _MISSING:
                        return default
                elif isinstance(value, list) and isinstance(step, int) and -len(value) <= step < len(value):
                    value = value[step]
                else:
                    return default
            return value
        found = self.find(document)
        return found if found else default


@lru_cache(maxsize=4096)
def compile_path(text: str) -> JsonPath:
    """Parse `text` (e.g. ``$.detail.items[0].id``); raises `TransformError` naming what is wrong."""
    if not isinstance(text, str) or not text.startswith("$"):
        raise TransformError(f"JSONPath {text!r} must start with '$'")
    steps: list[Step] = []
    position = 1
    while position < len(text):
        if text.startswith(".*", position):
            steps.append(WILDCARD)
            position += 2
            continue
        dotted = _DOT_NAME.match(text, position)
        if dotted:
            steps.append(dotted.group(1))
            position = dotted.end()
            continue
        bracket = _BRACKET.match(text, position)
        if bracket:
            quoted_single, quoted_double, index, star = bracket.groups()
            if star:
                steps.append(WILDCARD)
            elif index is not None:
                steps.append(int(index))
            else:
                name = quoted_single if quoted_single is not None else quoted_double
                steps.append(re.sub(r"\\(.)", r"\1", name or ""))
            position = bracket.end()
            continue
        raise TransformError(f"JSONPath {text!r} is not valid at position {position}")
    return JsonPath(text, tuple(steps), all(step is not WILDCARD for step in steps))
