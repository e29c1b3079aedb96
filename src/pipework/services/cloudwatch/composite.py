"""A composite alarm's AlarmRule: ``ALARM(name)``, ``OK(name)``, ``INSUFFICIENT_DATA(name)`` (names bare or in
double quotes, or alarm ARNs), ``TRUE``, ``FALSE``, combined with ``AND``, ``OR``, ``NOT`` and parentheses."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Union

_TOKEN = re.compile(r'\s*(?:(?P<paren>[()])|(?P<quoted>"(?:[^"\\]|\\.)*")|(?P<word>[^\s()"]+))')
STATES = ("ALARM", "OK", "INSUFFICIENT_DATA")
MAX_LENGTH = 10240


class RuleError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class StateOf:
    state: str
    alarm: str


@dataclass(frozen=True, slots=True)
class Const:
    value: bool


@dataclass(frozen=True, slots=True)
class Not:
    operand: Rule


@dataclass(frozen=True, slots=True)
class Logic:
    op: str  # AND / OR
    left: Rule
    right: Rule


Rule = Union[StateOf, Const, Not, Logic]  # noqa: UP007


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        found = _TOKEN.match(text, position)
        if found is None or found.end() == position:
            raise RuleError(f"Error in AlarmRule at position {position + 1}.")
        out.append(found.group(found.lastgroup or 0))
        position = found.end()
    return out


def parse(text: str) -> Rule:
    tokens = _tokens(text)
    at = 0

    def peek() -> str | None:
        return tokens[at] if at < len(tokens) else None

    def take() -> str:
        nonlocal at
        if at >= len(tokens):
            raise RuleError("Error in AlarmRule: the expression ends too early.")
        at += 1
        return tokens[at - 1]

    def disjunction() -> Rule:
        node = conjunction()
        while (peek() or "").upper() == "OR":
            take()
            node = Logic("OR", node, conjunction())
        return node

    def conjunction() -> Rule:
        node = negation()
        while (peek() or "").upper() == "AND":
            take()
            node = Logic("AND", node, negation())
        return node

    def negation() -> Rule:
        if (peek() or "").upper() == "NOT":
            take()
            return Not(negation())
        return atom()

    def atom() -> Rule:
        token = take()
        upper = token.upper()
        if token == "(":
            node = disjunction()
            if take() != ")":
                raise RuleError("Error in AlarmRule: a parenthesis is not closed.")
            return node
        if upper in ("TRUE", "FALSE"):
            return Const(upper == "TRUE")
        if upper in STATES:
            if take() != "(":
                raise RuleError(f"Error in AlarmRule: {upper} takes an alarm name in parentheses.")
            name = take()
            if name == ")":
                raise RuleError(f"Error in AlarmRule: {upper} takes an alarm name.")
            if take() != ")":
                raise RuleError("Error in AlarmRule: a parenthesis is not closed.")
            if name.startswith('"'):
                name = name[1:-1].replace('\\"', '"')
            if name.startswith("arn:"):
                name = name.split(":alarm:", 1)[-1]
            return StateOf(upper, name)
        raise RuleError(f"Error in AlarmRule: unexpected '{token}'.")

    try:
        node = disjunction()
    except RecursionError:
        raise RuleError("Error in AlarmRule: the rule is nested too deeply.") from None
    if peek() is not None:
        raise RuleError(f"Error in AlarmRule: unexpected '{peek()}'.")
    return node


def alarms_of(rule: Rule) -> set[str]:
    if isinstance(rule, StateOf):
        return {rule.alarm}
    if isinstance(rule, Not):
        return alarms_of(rule.operand)
    if isinstance(rule, Logic):
        return alarms_of(rule.left) | alarms_of(rule.right)
    return set()


def holds(rule: Rule, state_of: Callable[[str], str | None]) -> bool:
    """Whether the rule is true, given each alarm's state (None: no such alarm, which matches no state)."""
    if isinstance(rule, Const):
        return rule.value
    if isinstance(rule, StateOf):
        return state_of(rule.alarm) == rule.state
    if isinstance(rule, Not):
        return not holds(rule.operand, state_of)
    if rule.op == "AND":
        return holds(rule.left, state_of) and holds(rule.right, state_of)
    return holds(rule.left, state_of) or holds(rule.right, state_of)
