"""GetMetricData's metric math, the subset Pipework evaluates: numbers, query ids, ``+ - * /``, unary minus,
parentheses, ``SUM``, ``AVG``, ``MIN``, ``MAX``, ``FILL(series, value | REPEAT | LINEAR)`` and ``METRICS()`` /
``METRICS("label substring")``.

A value is a number, a time series (timestamp -> value) or a list of series (METRICS()). As CloudWatch defines
them: arithmetic applies point by point (a number to every point; two series at their common timestamps); SUM,
AVG, MIN and MAX of one series give a number, of several series a series (per timestamp across them).
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Union

Series = dict[float, float]
Value = Union[float, Series, list[Series]]  # noqa: UP007 (a runtime alias)

_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
    r'|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<string>"[^"]*")|(?P<op>[-+*/(),\[\]]))'
)
FUNCTIONS = frozenset({"SUM", "AVG", "MIN", "MAX", "FILL", "METRICS"})
FILL_MODES = frozenset({"REPEAT", "LINEAR"})


class ExpressionError(ValueError):
    """An expression that does not parse or evaluate; the message says why (for the query's Messages)."""


@dataclass(frozen=True, slots=True)
class Number:
    value: float


@dataclass(frozen=True, slots=True)
class Ref:
    name: str


@dataclass(frozen=True, slots=True)
class Text:
    value: str


@dataclass(frozen=True, slots=True)
class Call:
    function: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Binary:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Negate:
    operand: Node


@dataclass(frozen=True, slots=True)
class Array:
    items: tuple[Node, ...]


Node = Union[Number, Ref, Text, Call, Binary, Negate, Array]  # noqa: UP007


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        found = _TOKEN.match(text, position)
        if found is None or found.end() == position:
            raise ExpressionError(f"Unexpected character at position {position + 1} of the expression.")
        kind = found.lastgroup
        assert kind is not None
        tokens.append((kind, found.group(kind)))
        position = found.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.at = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            wanted = f"'{value}'" if value else "more"
            raise ExpressionError(f"Syntax error in the expression: expected {wanted}.")
        self.at += 1
        return token

    def parse(self) -> Node:
        node = self.sum()
        if self.peek() is not None:
            raise ExpressionError(f"Syntax error in the expression: unexpected '{self.peek()[1]}'.")  # type: ignore[index]
        return node

    def sum(self) -> Node:
        node = self.product()
        while (token := self.peek()) is not None and token[1] in "+-" and token[0] == "op":
            self.at += 1
            node = Binary(token[1], node, self.product())
        return node

    def product(self) -> Node:
        node = self.unary()
        while (token := self.peek()) is not None and token[1] in "*/" and token[0] == "op":
            self.at += 1
            node = Binary(token[1], node, self.unary())
        return node

    def unary(self) -> Node:
        token = self.peek()
        if token is not None and token == ("op", "-"):
            self.at += 1
            return Negate(self.unary())
        return self.atom()

    def atom(self) -> Node:
        kind, value = self.take()
        if kind == "number":
            return Number(float(value))
        if kind == "string":
            return Text(value[1:-1])
        if kind == "name":
            if self.peek() == ("op", "("):
                upper = value.upper()
                if upper not in FUNCTIONS:
                    raise ExpressionError(f"Unsupported function {value} in the expression.")
                self.at += 1
                args: list[Node] = []
                if self.peek() != ("op", ")"):
                    args.append(self.sum())
                    while self.peek() == ("op", ","):
                        self.at += 1
                        args.append(self.sum())
                self.take(")")
                return Call(upper, tuple(args))
            if value.upper() in FILL_MODES:
                return Text(value.upper())
            return Ref(value)
        if value == "(":
            node = self.sum()
            self.take(")")
            return node
        if value == "[":
            items = [self.sum()]
            while self.peek() == ("op", ","):
                self.at += 1
                items.append(self.sum())
            self.take("]")
            return Array(tuple(items))
        raise ExpressionError(f"Syntax error in the expression: unexpected '{value}'.")


def parse(text: str) -> Node:
    """The expression's tree, or ExpressionError."""
    try:
        return _Parser(text).parse()
    except RecursionError:
        raise ExpressionError("The expression is nested too deeply.") from None


def references(node: Node) -> set[str]:
    try:
        return _references(node)
    except RecursionError:
        return set()


def _references(node: Node) -> set[str]:
    """The query ids an expression reads (METRICS() reads every metric query)."""
    if isinstance(node, Ref):
        return {node.name}
    if isinstance(node, Call):
        return set().union(*(references(a) for a in node.args)) if node.args else set()
    if isinstance(node, Binary):
        return references(node.left) | references(node.right)
    if isinstance(node, Negate):
        return references(node.operand)
    if isinstance(node, Array):
        return set().union(*(references(a) for a in node.items))
    return set()


def uses_metrics(node: Node) -> bool:
    if isinstance(node, Call):
        return node.function == "METRICS" or any(uses_metrics(a) for a in node.args)
    if isinstance(node, Binary):
        return uses_metrics(node.left) or uses_metrics(node.right)
    if isinstance(node, Negate):
        return uses_metrics(node.operand)
    if isinstance(node, Array):
        return any(uses_metrics(a) for a in node.items)
    return False


@dataclass(frozen=True)
class Scope:
    """What an expression evaluates against: the other queries' results by id, the labelled metric results for
    METRICS(), and the timestamps of the query's period grid (for FILL)."""

    results: Mapping[str, Value]
    metrics: Sequence[tuple[str, Series]]
    grid: Sequence[float]


def evaluate(node: Node, scope: Scope) -> Value:
    try:
        return _evaluate(node, scope)
    except RecursionError:
        raise ExpressionError("The expression is nested too deeply.") from None


def _evaluate(node: Node, scope: Scope) -> Value:
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Ref):
        if node.name not in scope.results:
            raise ExpressionError(f"Unknown metric id '{node.name}' in the expression.")
        return scope.results[node.name]
    if isinstance(node, Text):
        raise ExpressionError(f'"{node.value}" is not a value.')
    if isinstance(node, Negate):
        return _apply(lambda a, b: -a, _evaluate(node.operand, scope), 0.0)
    if isinstance(node, Binary):
        return _apply(_OPERATORS[node.op], _evaluate(node.left, scope), _evaluate(node.right, scope))
    if isinstance(node, Array):
        out: list[Series] = []
        for item in node.items:
            value = _evaluate(item, scope)
            if isinstance(value, list):
                out.extend(value)
            elif isinstance(value, dict):
                out.append(value)
            else:
                raise ExpressionError("An array holds time series, not numbers.")
        return out
    return _call(node, scope)


def _call(node: Call, scope: Scope) -> Value:
    name, args = node.function, node.args
    if name == "METRICS":
        if len(args) > 1:
            raise ExpressionError("METRICS takes at most one argument.")
        wanted = ""
        if args:
            if not isinstance(args[0], Text):
                raise ExpressionError("METRICS takes a string.")
            wanted = args[0].value
        return [dict(series) for label, series in scope.metrics if wanted in label]
    if name == "FILL":
        if len(args) != 2:
            raise ExpressionError("FILL takes two arguments: the time series and the value to fill with.")
        target = _evaluate(args[0], scope)
        how: str | float
        if isinstance(args[1], Text):
            if args[1].value not in FILL_MODES:
                raise ExpressionError("FILL's second argument is a number, REPEAT or LINEAR.")
            how = args[1].value
        else:
            filler = _evaluate(args[1], scope)
            if not isinstance(filler, float | int):
                raise ExpressionError("FILL's second argument is a number, REPEAT or LINEAR.")
            how = float(filler)
        if isinstance(target, list):
            return [_fill(series, how, scope.grid) for series in target]
        if isinstance(target, dict):
            return _fill(target, how, scope.grid)
        raise ExpressionError("FILL's first argument is a time series.")
    if len(args) != 1:
        raise ExpressionError(f"{name} takes one argument.")
    value = _evaluate(args[0], scope)
    reduce = _REDUCERS[name]
    if isinstance(value, list):
        out: Series = {}
        for stamp in sorted({t for series in value for t in series}):
            points = [series[stamp] for series in value if stamp in series]
            out[stamp] = reduce(points)
        return out
    if isinstance(value, dict):
        if not value:
            return {}
        return reduce(list(value.values()))
    return value


def _fill(series: Series, how: str | float, grid: Sequence[float]) -> Series:
    out: Series = {}
    known = sorted(series)
    for stamp in grid:
        if stamp in series:
            out[stamp] = series[stamp]
        elif isinstance(how, float):
            out[stamp] = how
        else:
            at = bisect.bisect_left(known, stamp)
            if how == "REPEAT":
                if at > 0:
                    out[stamp] = series[known[at - 1]]
            elif 0 < at < len(known):
                t0, t1 = known[at - 1], known[at]
                out[stamp] = series[t0] + (series[t1] - series[t0]) * (stamp - t0) / (t1 - t0)
    return out


def _divide(a: float, b: float) -> float:
    return a / b if b != 0 else math.nan


_OPERATORS: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": _divide,
}
_REDUCERS: dict[str, Callable[[list[float]], float]] = {
    "SUM": sum,
    "AVG": lambda values: sum(values) / len(values),
    "MIN": min,
    "MAX": max,
}


def _apply(op: Callable[[float, float], float], left: Value, right: Value) -> Value:
    if isinstance(left, list):
        return [_only_series(_apply(op, series, right)) for series in left]
    if isinstance(right, list):
        return [_only_series(_apply(op, left, series)) for series in right]
    if isinstance(left, dict) and isinstance(right, dict):
        return _finite({t: op(v, right[t]) for t, v in left.items() if t in right})
    if isinstance(left, dict):
        return _finite({t: op(v, float(right)) for t, v in left.items()})  # type: ignore[arg-type]
    if isinstance(right, dict):
        return _finite({t: op(float(left), v) for t, v in right.items()})
    return op(float(left), float(right))


def _only_series(value: Value) -> Series:
    assert isinstance(value, dict)
    return value


def _finite(series: Series) -> Series:
    """A point whose value is not a number (a division by zero) is left out, as CloudWatch drops it."""
    return {t: v for t, v in series.items() if math.isfinite(v)}
