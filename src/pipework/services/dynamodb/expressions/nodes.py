"""The expression tree: document paths, values, functions, conditions and update actions (frozen dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Element = str | int  # a map key or a list index


@dataclass(frozen=True, slots=True)
class Path:
    elements: tuple[Element, ...]

    def render(self) -> str:
        """DynamoDB's rendering in overlap errors: [a, b, [1]]."""
        return "[" + ", ".join(f"[{e}]" if isinstance(e, int) else e for e in self.elements) + "]"


@dataclass(frozen=True, slots=True)
class Literal:
    name: str  # the ":placeholder"
    value: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Call:
    """A function: attribute_exists, attribute_not_exists, attribute_type, begins_with, contains, size (conditions)
    and if_not_exists, list_append (update values)."""

    name: str
    args: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Arithmetic:
    op: str  # "+" or "-"
    left: Any
    right: Any


@dataclass(frozen=True, slots=True)
class Compare:
    op: str  # = <> < <= > >=
    left: Any
    right: Any


@dataclass(frozen=True, slots=True)
class Between:
    operand: Any
    low: Any
    high: Any


@dataclass(frozen=True, slots=True)
class In:
    operand: Any
    candidates: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class And:
    """``a AND b AND c`` as one node: a chain of any length is one level deep (no recursion per operator)."""

    operands: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Not:
    operand: Any


@dataclass(frozen=True, slots=True)
class Action:
    """One update action: SET path = value, REMOVE path, ADD path value, DELETE path value."""

    kind: str  # "SET" | "REMOVE" | "ADD" | "DELETE"
    path: Path
    value: Any = None


Operand = Path | Literal | Call | Arithmetic
Condition = Compare | Between | In | And | Or | Not | Call
