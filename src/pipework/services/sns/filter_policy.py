"""SNS filter policies: which published messages a subscription receives.

The syntax is event-ruler's, as EventBridge patterns are, so a policy is parsed by `pipework.patterns` (its messages
are AWS's), then held to SNS's own rules: no ``wildcard``; at most `MAX_KEYS` keys and `MAX_COMBINATIONS` value
combinations; numbers within ±10^9; and in the ``MessageAttributes`` scope, no nesting. Matching differs by scope:

- ``MessageBody``: the message is JSON and the policy matches it as an event pattern does (the pattern engine,
  reused as it is: the semantics are the same).
- ``MessageAttributes``: each key names a message attribute, matched by its type — a ``String`` attribute by the
  string conditions, a ``Number`` by the numeric ones, a ``String.Array`` by any of its elements; ``Binary``
  attributes match nothing but ``exists``. Every condition but ``{"exists": false}`` needs the attribute present.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from pipework.patterns.compile import CompiledPattern
from pipework.patterns.conditions import AnythingBut, ExactNumber, Field, Leaf, Numeric, Wildcard
from pipework.patterns.errors import InvalidPatternError
from pipework.patterns.parse import Subrule, load_json, parse

MAX_KEYS = 5
MAX_COMBINATIONS = 150
MAX_LENGTH = 256 * 1024
MAX_NUMBER = 1e9
SCOPES = ("MessageAttributes", "MessageBody")


class InvalidFilterPolicy(ValueError):
    """A policy SNS rejects; ``str(err)`` is the reason (the API prefixes ``Invalid parameter: FilterPolicy: ``)."""


@dataclass(frozen=True, slots=True)
class FilterPolicy:
    """A validated policy for one scope; `matches` takes the message body and its attributes (the API's
    ``MessageAttributes`` shape: ``{name: {"DataType", "StringValue" | "BinaryValue"}}``)."""

    scope: str
    subrules: tuple[Subrule, ...]
    body_pattern: CompiledPattern | None

    def matches(self, message: str, attributes: dict[str, Any]) -> bool:
        if self.body_pattern is not None:
            try:
                body = load_json(message)
            except (ValueError, UnicodeDecodeError, RecursionError):
                return (
                    False  # a body that is not JSON (or nested past the parser) matches no MessageBody policy
                )
            return type(body) is dict and self.body_pattern.matches(body)
        return any(all(_field_matches(f, attributes) for f in sub) for sub in self.subrules)


def compile_policy(text: str, scope: str = "MessageAttributes") -> FilterPolicy:
    """Validate `text` as a policy of `scope`; `InvalidFilterPolicy` with SNS's reason if it is not one."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_LENGTH:
        raise InvalidFilterPolicy("Filter policy is too long")
    try:
        raw = load_json(text)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise InvalidFilterPolicy("failed to parse JSON.") from None
    if not isinstance(raw, dict):
        raise InvalidFilterPolicy("Filter policy must be a JSON object")
    if scope == "MessageAttributes":
        try:
            _reject_nesting(raw)
        except RecursionError:
            raise InvalidFilterPolicy("Filter policy is nested too deeply") from None
    try:
        subrules = parse(raw, max_length=None)
    except InvalidPatternError as exc:
        raise InvalidFilterPolicy(exc.reason) from None
    _check_sns_rules(subrules)
    if scope == "MessageBody":
        return FilterPolicy(scope, tuple(subrules), CompiledPattern(subrules))
    return FilterPolicy(scope, tuple(subrules), None)


def _reject_nesting(policy: dict[str, Any]) -> None:
    for key, value in policy.items():
        if key == "$or" and isinstance(value, list):
            for alternative in value:
                if isinstance(alternative, dict):
                    _reject_nesting(alternative)
        elif isinstance(value, dict):
            raise InvalidFilterPolicy(
                "Filter policy scope MessageAttributes does not support nested filter policy"
            )


def _check_sns_rules(subrules: list[Subrule]) -> None:
    keys: set[str] = set()
    combinations = 0
    for sub in subrules:
        product = 1
        for field in sub:
            keys.add(field.path)
            product *= max(1, len(field.conditions) + field.exists_true + field.exists_false)
            for condition in field.conditions:
                if isinstance(condition, Wildcard) or (
                    isinstance(condition, AnythingBut) and condition.kind == "wildcard"
                ):
                    raise InvalidFilterPolicy("Unrecognized match type wildcard")
                _check_numbers(condition)
        combinations += product
    if len(keys) > MAX_KEYS:
        raise InvalidFilterPolicy(f"Filter policy can not have more than {MAX_KEYS} keys")
    if combinations > MAX_COMBINATIONS:
        raise InvalidFilterPolicy("Filter policy is too complex")


def _check_numbers(condition: Any) -> None:
    numbers: list[float] = []
    if isinstance(condition, ExactNumber):
        numbers.append(condition.value)
    elif isinstance(condition, Numeric):
        numbers += [n for n in (condition.low, condition.high) if n is not None]
    elif isinstance(condition, AnythingBut):
        numbers += list(condition.numbers)
    for number in numbers:
        if not -MAX_NUMBER <= number <= MAX_NUMBER:
            raise InvalidFilterPolicy("Numeric values must be between -1.0E9 and 1.0E9, inclusive")


def _attribute_values(attribute: dict[str, Any]) -> list[Leaf]:
    """The leaf values an attribute offers to conditions, by its data type (``String.x`` is a String)."""
    data_type = str(attribute.get("DataType", ""))
    base = data_type.split(".", 1)[0]
    if data_type == "String.Array":
        try:
            items = orjson.loads(attribute.get("StringValue", ""))
        except orjson.JSONDecodeError:
            return []
        if not isinstance(items, list):
            return []
        return [item for item in items if not isinstance(item, list | dict)]
    if base == "String":
        return [str(attribute.get("StringValue", ""))]
    if base == "Number":
        try:
            return [float(attribute.get("StringValue", ""))]
        except ValueError:
            return []
    return []  # Binary


def _field_matches(field: Field, attributes: dict[str, Any]) -> bool:
    attribute = attributes.get(field.path)
    if attribute is None:
        return field.exists_false
    if field.exists_true:
        return True
    return any(
        condition.test(value) for value in _attribute_values(attribute) for condition in field.conditions
    )
