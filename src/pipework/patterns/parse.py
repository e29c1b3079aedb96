"""Parsing and validation of event patterns, with AWS's error messages.

A pattern becomes a list of *subrules* (one per combination of its ``$or`` branches); a subrule is a tuple of
`Field`s that must all be satisfied. Every way a pattern can be wrong raises `InvalidPatternError` and nothing else.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Any, TypeAlias

import orjson

from .conditions import (
    AnythingBut,
    Cidr,
    Condition,
    EqualsIgnoreCase,
    ExactLiteral,
    ExactNumber,
    ExactString,
    Field,
    Glob,
    Numeric,
    Prefix,
    Suffix,
    Wildcard,
    as_ip,
    lower,
)
from .errors import InvalidPatternError

Subrule: TypeAlias = tuple[Field, ...]

#: EventBridge's API limit on an EventPattern (botocore: max 4096).
MAX_PATTERN_LENGTH = 4096
#: EventBridge rejects patterns whose ``$or`` branches combine into more subrules than this.
MAX_COMBINATIONS = 1000
#: More wildcard characters than this in one value make a rule "too complex" (event-ruler's evaluator bound,
#: as AWS applies it: ``*:*:*:*:*:event-bus/*`` is rejected).
MAX_WILDCARDS = 5

OPERATORS = frozenset(
    {"prefix", "suffix", "equals-ignore-case", "wildcard", "anything-but", "numeric", "exists", "cidr"}
)
_TOO_COMPLEX = (
    "Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a "
    "wildcard character"
)
_MIXED_ANYTHING_BUT = (
    "Inside anything but list, either all values are number or string, mixed type is not supported"
)
_DIGITS = re.compile(r"[0-9]+")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"Non-standard token '{name}'")


def load_json(text: str | bytes) -> Any:
    """Parse JSON text strictly (no NaN/Infinity); integers beyond 64 bits are accepted, as doubles compare them."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        # orjson refuses integers beyond 64 bits; the standard parser accepts them. Anything else is invalid.
        return json.loads(text, parse_constant=_reject_constant)


def _length(text: str | bytes) -> int:
    """The length in characters (the limit counts characters, not UTF-8 bytes)."""
    if isinstance(text, str):
        return len(text)
    try:
        return len(text.decode())
    except UnicodeDecodeError:
        return len(text)


def _dumped_length(obj: dict[str, Any]) -> int:
    """The length of a pattern given as a dict, as compact JSON text."""
    try:
        return len(orjson.dumps(obj).decode())
    except (TypeError, orjson.JSONEncodeError):
        pass  # integers beyond 64 bits, which the standard encoder writes
    try:
        return len(json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False))
    except (TypeError, ValueError, RecursionError):
        raise InvalidPatternError("Filter is not valid JSON") from None


@dataclass(frozen=True, slots=True)
class _Or:
    alternatives: tuple[tuple[Field | _Or, ...], ...]


_Part: TypeAlias = Field | _Or


def parse(
    pattern: str | bytes | dict[str, Any], *, max_length: int | None = MAX_PATTERN_LENGTH
) -> list[Subrule]:
    """Validate ``pattern`` and return its subrules; raise `InvalidPatternError` with AWS's message."""
    try:
        return _parse(pattern, max_length)
    except InvalidPatternError:
        raise
    except RecursionError:
        raise InvalidPatternError("Pattern is nested too deeply") from None


def _parse(pattern: Any, max_length: int | None) -> list[Subrule]:
    if isinstance(pattern, (str, bytes, bytearray, memoryview)):
        text = bytes(pattern) if isinstance(pattern, (bytearray, memoryview)) else pattern
        if max_length is not None and _length(text) > max_length:
            raise InvalidPatternError(f"Event pattern is longer than the limit of {max_length} characters")
        try:
            obj = load_json(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidPatternError(f"Filter is not valid JSON: {exc}") from None
    else:
        obj = pattern
        if max_length is not None and isinstance(obj, dict) and _dumped_length(obj) > max_length:
            raise InvalidPatternError(f"Event pattern is longer than the limit of {max_length} characters")
    if not isinstance(obj, dict):
        raise InvalidPatternError("Filter is not an object")
    parts = _parse_object(obj, "")
    if _count(parts) > MAX_COMBINATIONS:
        raise InvalidPatternError(
            f"The $or expression expands to more than {MAX_COMBINATIONS} combinations; simplify the pattern"
        )
    return _expand(parts)


def _is_or(value: Any) -> bool:
    """``$or`` is an or-relationship only in its proper form; otherwise it is a plain field name (as in ruler)."""
    if not isinstance(value, list) or len(value) < 2:
        return False
    for alternative in value:
        if not isinstance(alternative, dict) or not alternative:
            return False
        if any(key in OPERATORS for key in alternative):
            return False
    return True


def _parse_object(obj: dict[str, Any], prefix: str) -> tuple[_Part, ...]:
    if not obj:
        raise InvalidPatternError("Empty objects are not allowed")
    parts: list[_Part] = []
    for key, value in obj.items():
        if not isinstance(key, str):
            raise InvalidPatternError("Filter is not valid JSON: keys must be strings")
        if key == "$or" and _is_or(value):
            parts.append(_Or(tuple(_parse_object(alt, prefix) for alt in value)))
            continue
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            parts.extend(_parse_object(value, path))
        elif isinstance(value, list):
            parts.append(_parse_field(path, value))
        else:
            raise InvalidPatternError(f'"{key}" must be an object or an array')
    return tuple(parts)


def _count(parts: tuple[_Part, ...]) -> int:
    total = 1
    for part in parts:
        if isinstance(part, _Or):
            total *= sum(_count(alt) for alt in part.alternatives)
            if total > MAX_COMBINATIONS:
                return total
    return total


def _expand(parts: tuple[_Part, ...]) -> list[Subrule]:
    combos: list[Subrule] = [()]
    for part in parts:
        if isinstance(part, Field):
            combos = [(*combo, part) for combo in combos]
        else:
            branches = [sub for alt in part.alternatives for sub in _expand(alt)]
            combos = [combo + branch for combo in combos for branch in branches]
    return combos


def _number(value: Any) -> float | None:
    if type(value) is int or type(value) is float:
        try:
            number = float(value)
        except OverflowError:
            return float("inf") if value > 0 else float("-inf")
        return number if number == number else None  # NaN (only from a dict pattern) is not a number
    return None


def _parse_field(path: str, values: list[Any]) -> Field:
    if not values:
        raise InvalidPatternError("Empty arrays are not allowed")
    conditions: list[Condition] = []
    exists_true = exists_false = False
    for value in values:
        if value is None or value is True or value is False:
            conditions.append(ExactLiteral(value))
        elif isinstance(value, str):
            conditions.append(ExactString(value, as_ip(value)))
        elif (number := _number(value)) is not None:
            conditions.append(ExactNumber(number))
        elif isinstance(value, dict):
            condition = _parse_expression(value)
            if condition is True:
                exists_true = True
            elif condition is False:
                exists_false = True
            else:
                conditions.append(condition)
        else:
            raise InvalidPatternError("Match value must be String, number, true, false, or null")
    return Field(path, tuple(dict.fromkeys(conditions)), exists_true, exists_false)


def _parse_expression(expr: dict[str, Any]) -> Condition | bool:
    """One match expression object; ``exists`` returns its boolean."""
    if not expr:
        raise InvalidPatternError("Match expression name not found")
    op, value = next(iter(expr.items()))
    condition = _parse_operator(op, value)
    if len(expr) > 1:
        raise InvalidPatternError("Only one key allowed in match expression")
    return condition


def _parse_operator(op: str, value: Any) -> Condition | bool:
    if op == "prefix" or op == "suffix":
        if isinstance(value, dict):
            text = _ignore_case_inner(op, value)
            return Prefix(text, True) if op == "prefix" else Suffix(text, True)
        if not isinstance(value, str):
            raise InvalidPatternError(f"{op} match pattern must be a string")
        return Prefix(value) if op == "prefix" else Suffix(value)
    if op == "equals-ignore-case":
        if not isinstance(value, str):
            raise InvalidPatternError("equals-ignore-case match pattern must be a string")
        return EqualsIgnoreCase(lower(value))
    if op == "wildcard":
        if not isinstance(value, str):
            raise InvalidPatternError("wildcard match pattern must be a string")
        return Wildcard(parse_wildcard(value))
    if op == "numeric":
        return _parse_numeric(value)
    if op == "exists":
        if not isinstance(value, bool):
            raise InvalidPatternError("exists match pattern must be either true or false.")
        return value
    if op == "cidr":
        if not isinstance(value, str):
            # AWS's (event-ruler's) message for a non-string cidr names prefix; reproduced as is.
            raise InvalidPatternError("prefix match pattern must be a string")
        return Cidr(parse_cidr(value))
    if op == "anything-but":
        return _parse_anything_but(value)
    raise InvalidPatternError(f"Unrecognized match type {op}")


def _ignore_case_inner(op: str, value: dict[str, Any]) -> str:
    """``{"prefix": {"equals-ignore-case": "x"}}`` and the suffix form: the lower-cased text."""
    if not value:
        raise InvalidPatternError(f"{op.capitalize()} expression name not found")
    inner_op, text = next(iter(value.items()))
    if inner_op != "equals-ignore-case":
        raise InvalidPatternError(f"Unsupported {op} pattern: {inner_op}")
    if not isinstance(text, str):
        raise InvalidPatternError("equals-ignore-case match pattern must be a string")
    if len(value) > 1:
        raise InvalidPatternError("Only one key allowed in match expression")
    return lower(text)


def parse_wildcard(text: str) -> Glob:
    """Split a wildcard value into literal segments; ``\\*`` is a literal star and ``\\\\`` a literal backslash."""
    segments: list[str] = []
    current: list[str] = []
    previous_star = False
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            if i + 1 < n and text[i + 1] in "*\\":
                current.append(text[i + 1])
                previous_star = False
                i += 2
                continue
            raise InvalidPatternError(f"Invalid escape character at pos {i}")
        if c == "*":
            if previous_star:
                raise InvalidPatternError(f"Consecutive wildcard characters at pos {i}")
            segments.append("".join(current))
            current = []
            previous_star = True
        else:
            current.append(c)
            previous_star = False
        i += 1
    segments.append("".join(current))
    if len(segments) - 1 > MAX_WILDCARDS:
        raise InvalidPatternError(_TOO_COMPLEX)
    return Glob(text, segments)


def parse_cidr(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    parts = text.split("/")
    if len(parts) != 2:
        raise InvalidPatternError("Malformed CIDR, one '/' required")
    address, bits = parts
    if not _DIGITS.fullmatch(bits):
        raise InvalidPatternError("Malformed CIDR, mask bits must be an integer")
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise InvalidPatternError(f"Nonstandard IP address: {address}") from None
    if int(bits) > ip.max_prefixlen:
        raise InvalidPatternError(f"Malformed CIDR, mask bits must be between 0 and {ip.max_prefixlen}")
    return ipaddress.ip_network(f"{ip}/{int(bits)}", strict=False)


_NUMERIC_OPERATORS = ("<", "<=", "=", ">", ">=")


def _numeric_value(op: str, value: Any) -> float:
    number = _number(value)
    if number is None:
        raise InvalidPatternError(f"Value of {'equals' if op == '=' else op} must be numeric")
    return number


def _parse_numeric(value: Any) -> Numeric:
    if not isinstance(value, list):
        raise InvalidPatternError("Value of numeric must be an array.")
    if not value:
        raise InvalidPatternError("Invalid member in numeric match: ]")
    op = value[0]
    if not isinstance(op, str):
        raise InvalidPatternError(f"Invalid member in numeric match: {_render(op)}")
    if op not in _NUMERIC_OPERATORS:
        raise InvalidPatternError(f"Unrecognized numeric range operator: {op}")
    first = _numeric_value(op, value[1] if len(value) > 1 else None)
    if len(value) == 2:
        if op == "=":
            return Numeric(first, True, first, True)
        if op in ("<", "<="):
            return Numeric(None, False, first, op == "<=")
        return Numeric(first, op == ">=", None, False)
    if op not in (">", ">="):
        raise InvalidPatternError("Too many elements in numeric expression")
    second_op = value[2]
    if not isinstance(second_op, str):
        raise InvalidPatternError(f"Bad value in numeric range: {_render(second_op)}")
    if second_op not in ("<", "<="):
        raise InvalidPatternError(f"Bad numeric range operator: {second_op}")
    second = _numeric_value(second_op, value[3] if len(value) > 3 else None)
    if second <= first:
        raise InvalidPatternError("Bottom must be less than top")
    if len(value) > 4:
        raise InvalidPatternError("Too many terms in numeric range expression")
    return Numeric(first, op == ">=", second, second_op == "<=")


def _render(value: Any) -> str:
    """A JSON value as the message shows it (``true``, ``null``, ``5``)."""
    try:
        return orjson.dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError):
        return str(value)


_AB_SCALAR = "Value of anything-but must be an array or single string/number value."
_AB_LIST = "Inside anything but list, start|null|boolean is not supported."
_AB_IC_LIST = "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."


def _parse_anything_but(value: Any) -> AnythingBut:
    if isinstance(value, str):
        return AnythingBut("strings", strings=frozenset((value,)))
    if (number := _number(value)) is not None:
        return AnythingBut("numbers", numbers=frozenset((number,)))
    if isinstance(value, list):
        strings: list[str] = []
        numbers: list[float] = []
        for item in value:
            if isinstance(item, str):
                strings.append(item)
            elif (n := _number(item)) is not None:
                numbers.append(n)
            else:
                raise InvalidPatternError(_AB_LIST)
        if bool(strings) == bool(numbers):
            raise InvalidPatternError(_MIXED_ANYTHING_BUT)
        if strings:
            return AnythingBut("strings", strings=frozenset(strings))
        return AnythingBut("numbers", numbers=frozenset(numbers))
    if isinstance(value, dict):
        if not value:
            raise InvalidPatternError("Anything-But expression name not found")
        op, inner = next(iter(value.items()))
        result = _parse_anything_but_operator(op, inner)
        if len(value) > 1:
            raise InvalidPatternError("Only one key allowed in match expression")
        return result
    raise InvalidPatternError(_AB_SCALAR)


def _string_list(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def _parse_anything_but_operator(op: str, value: Any) -> AnythingBut:
    if op == "prefix" or op == "suffix":
        if isinstance(value, dict):
            # {"anything-but": {"prefix": {"equals-ignore-case": ...}}} is not supported (AWS-observed message).
            raise InvalidPatternError(_AB_SCALAR)
        texts = _string_list(value)
        if texts is None:
            raise InvalidPatternError("prefix/suffix match pattern must be a string")
        if not texts or any(t == "" for t in texts):
            raise InvalidPatternError("Null prefix/suffix not allowed")
        return AnythingBut(op, affixes=tuple(dict.fromkeys(texts)))
    if op == "equals-ignore-case":
        texts = _string_list(value)
        if not texts:
            raise InvalidPatternError(_AB_IC_LIST)
        return AnythingBut(op, strings=frozenset(lower(t) for t in texts))
    if op == "wildcard":
        texts = _string_list(value)
        if not texts:
            raise InvalidPatternError("wildcard match pattern must be a string")
        return AnythingBut(op, globs=tuple(dict.fromkeys(parse_wildcard(t) for t in texts)))
    raise InvalidPatternError(f"Unsupported anything-but pattern: {op}")
