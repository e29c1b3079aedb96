"""CloudWatch Logs filter patterns, the part Pipework matches: terms (``ERROR``, ``"exact phrase"``; all must
appear, case-sensitively), alternatives (``?ERROR ?WARN``: any), exclusions (``-DEBUG``), and JSON selectors
(``{ $.level = "error" && $.latency > 100 }``: ``= != < <= > >=``, ``&&``, ``||``, parentheses, ``*`` wildcards
in strings, ``IS NULL``, ``NOT EXISTS``, ``IS TRUE`` / ``IS FALSE``). Space-delimited patterns (``[a, b]``) are
rejected as not supported.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from typing import Any

import orjson

Matcher = Callable[[str], bool]


class PatternError(ValueError):
    """The pattern does not parse; the message is CloudWatch's ("Invalid filter pattern")."""


_SELECTOR_TOKEN = re.compile(
    r"\s*(?:(?P<path>\$(?:\.[A-Za-z0-9_@-]+|\[\d+\])*)|(?P<op>&&|\|\||!=|<=|>=|=|<|>|\(|\))"
    r'|(?P<string>"(?:[^"\\]|\\.)*")|(?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)'
    r"|(?P<word>[A-Za-z_*][A-Za-z0-9_*.-]*))"
)


def compile_pattern(pattern: str) -> Matcher:
    """A predicate over log messages for `pattern` (empty: every message)."""
    text = pattern.strip()
    if not text:
        return lambda message: True
    if len(pattern) > 1024:
        raise PatternError("Invalid filter pattern")
    if text.startswith("{"):
        if not text.endswith("}"):
            raise PatternError("Invalid filter pattern")
        try:
            return _json_matcher(text[1:-1])
        except RecursionError:  # parentheses nested past the parser's depth
            raise PatternError("Invalid filter pattern") from None
    if text.startswith("["):
        raise PatternError("Invalid filter pattern: Pipework does not match space-delimited patterns.")
    return _term_matcher(text)


def _term_matcher(text: str) -> Matcher:
    required: list[str] = []
    optional: list[str] = []
    excluded: list[str] = []
    for found in re.finditer(r'([?-]?)("(?:[^"\\]|\\.)*"|\S+)', text):
        sign, term = found.group(1), found.group(2)
        if term.startswith('"'):
            if len(term) < 2 or not term.endswith('"'):
                raise PatternError("Invalid filter pattern")
            term = term[1:-1].replace('\\"', '"')
        elif '"' in term:
            raise PatternError("Invalid filter pattern")
        {"": required, "?": optional, "-": excluded}[sign].append(term)

    def matches(message: str) -> bool:
        if any(term in message for term in excluded):
            return False
        if not all(term in message for term in required):
            return False
        return not optional or any(term in message for term in optional)

    return matches


def _json_matcher(body: str) -> Matcher:
    tokens: list[tuple[str, str]] = []
    position = 0
    body = body.rstrip()
    while position < len(body):
        found = _SELECTOR_TOKEN.match(body, position)
        if found is None or found.end() == position:
            raise PatternError("Invalid filter pattern")
        kind = found.lastgroup or ""
        tokens.append((kind, found.group(kind)))
        position = found.end()
    at = 0

    def peek() -> tuple[str, str] | None:
        return tokens[at] if at < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal at
        if at >= len(tokens):
            raise PatternError("Invalid filter pattern")
        at += 1
        return tokens[at - 1]

    def disjunction() -> Callable[[Any], bool]:
        left = conjunction()
        while peek() == ("op", "||"):
            take()
            right = conjunction()
            left = (lambda a, b: lambda doc: a(doc) or b(doc))(left, right)
        return left

    def conjunction() -> Callable[[Any], bool]:
        left = condition()
        while peek() == ("op", "&&"):
            take()
            right = condition()
            left = (lambda a, b: lambda doc: a(doc) and b(doc))(left, right)
        return left

    def condition() -> Callable[[Any], bool]:
        kind, value = take()
        if (kind, value) == ("op", "("):
            inner = disjunction()
            if take() != ("op", ")"):
                raise PatternError("Invalid filter pattern")
            return inner
        if kind != "path":
            raise PatternError("Invalid filter pattern")
        path = _path(value)
        kind, op = take()
        if kind == "word" and op.upper() in ("IS", "NOT"):
            return _is(path, op.upper(), take)
        if kind != "op" or op not in ("=", "!=", "<", "<=", ">", ">="):
            raise PatternError("Invalid filter pattern")
        kind, operand = take()
        if kind == "number":
            number = float(operand)
            return _numeric(path, op, number)
        if kind == "string":
            return _textual(path, op, orjson.loads(operand))
        if kind == "word":
            return _textual(path, op, operand)
        raise PatternError("Invalid filter pattern")

    predicate = disjunction()
    if peek() is not None:
        raise PatternError("Invalid filter pattern")

    def matches(message: str) -> bool:
        try:
            document = orjson.loads(message)
        except orjson.JSONDecodeError:
            return False
        return bool(predicate(document))

    return matches


_MISSING = object()


def _path(text: str) -> list[str | int]:
    parts: list[str | int] = []
    for found in re.finditer(r"\.([A-Za-z0-9_@-]+)|\[(\d+)\]", text):
        parts.append(found.group(1) if found.group(1) is not None else int(found.group(2)))
    return parts


def _lookup(document: Any, path: list[str | int]) -> Any:
    for part in path:
        if isinstance(part, int):
            if not isinstance(document, list) or part >= len(document):
                return _MISSING
            document = document[part]
        else:
            if not isinstance(document, dict) or part not in document:
                return _MISSING
            document = document[part]
    return document


def _numeric(path: list[str | int], op: str, number: float) -> Callable[[Any], bool]:
    compare: dict[str, Callable[[float, float], bool]] = {
        "=": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }
    check = compare[op]

    def test(document: Any) -> bool:
        value = _lookup(document, path)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return check(float(value), number)

    return test


def _textual(path: list[str | int], op: str, wanted: str) -> Callable[[Any], bool]:
    if op not in ("=", "!="):
        raise PatternError("Invalid filter pattern")

    def test(document: Any) -> bool:
        value = _lookup(document, path)
        if value is _MISSING or isinstance(value, dict | list) or value is None:
            return False
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        equal = fnmatch.fnmatchcase(text, wanted) if "*" in wanted else text == wanted
        return equal if op == "=" else not equal

    return test


def _is(path: list[str | int], word: str, take: Callable[[], tuple[str, str]]) -> Callable[[Any], bool]:
    if word == "NOT":
        if take()[1].upper() != "EXISTS":
            raise PatternError("Invalid filter pattern")
        return lambda document: _lookup(document, path) is _MISSING
    what = take()[1].upper()
    if what == "NULL":
        return lambda document: _lookup(document, path) is None
    if what in ("TRUE", "FALSE"):
        expected = what == "TRUE"
        return lambda document: _lookup(document, path) is expected
    raise PatternError("Invalid filter pattern")
