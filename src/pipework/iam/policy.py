"""A policy document (``{"Version": ..., "Statement": [...]}``) parsed once into statements that answer whether
they apply to an action, a resource, a principal and a request context.

Wildcards are IAM's: ``*`` (any run of characters) and ``?`` (one character), case-insensitive for actions and
condition keys, case-sensitive for resources. Conditions support the operators `OPERATORS` lists, each with an
``...IfExists`` form, and the ``ForAnyValue:`` / ``ForAllValues:`` set qualifiers.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

VERSIONS = ("2012-10-17", "2008-10-17")


class PolicyError(ValueError):
    """A policy document that is not valid JSON policy grammar; the message says what is wrong."""


@functools.lru_cache(maxsize=4096)
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """Whether `value` matches an IAM pattern with ``*`` and ``?``."""
    if pattern == "*":
        return True
    if "*" not in pattern and "?" not in pattern:
        return pattern.lower() == value.lower() if ignore_case else pattern == value
    return _wildcard(pattern, ignore_case).fullmatch(value) is not None


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise PolicyError(f"{where} must be a string or a non-empty list of strings.")


def _condition_values(value: Any, where: str) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in values:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, str | int | float):
            out.append(str(item))
        else:
            raise PolicyError(f"{where} values must be strings, numbers or booleans.")
    return tuple(out)


# -------------------------------------------------------------------------------------------- condition operators


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _date(text: str) -> float | None:
    number = _number(text)
    if number is not None:
        return number
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


def _compare(
    read: Callable[[str], float | None], test: Callable[[float, float], bool]
) -> Callable[[str, str], bool]:
    def check(actual: str, expected: str) -> bool:
        a, e = read(actual), read(expected)
        return a is not None and e is not None and test(a, e)

    return check


def _in_network(actual: str, expected: str) -> bool:
    try:
        return ipaddress.ip_address(actual) in ipaddress.ip_network(expected, strict=False)
    except ValueError:
        return False


#: operator → (value test, negated). A negated operator holds when no expected value matches.
OPERATORS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    "StringEquals": (lambda a, e: a == e, False),
    "StringNotEquals": (lambda a, e: a == e, True),
    "StringEqualsIgnoreCase": (lambda a, e: a.lower() == e.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda a, e: a.lower() == e.lower(), True),
    "StringLike": (lambda a, e: wildcard_match(e, a), False),
    "StringNotLike": (lambda a, e: wildcard_match(e, a), True),
    "ArnEquals": (lambda a, e: wildcard_match(e, a), False),
    "ArnLike": (lambda a, e: wildcard_match(e, a), False),
    "ArnNotEquals": (lambda a, e: wildcard_match(e, a), True),
    "ArnNotLike": (lambda a, e: wildcard_match(e, a), True),
    "NumericEquals": (_compare(_number, lambda a, e: a == e), False),
    "NumericNotEquals": (_compare(_number, lambda a, e: a == e), True),
    "NumericLessThan": (_compare(_number, lambda a, e: a < e), False),
    "NumericLessThanEquals": (_compare(_number, lambda a, e: a <= e), False),
    "NumericGreaterThan": (_compare(_number, lambda a, e: a > e), False),
    "NumericGreaterThanEquals": (_compare(_number, lambda a, e: a >= e), False),
    "DateEquals": (_compare(_date, lambda a, e: a == e), False),
    "DateNotEquals": (_compare(_date, lambda a, e: a == e), True),
    "DateLessThan": (_compare(_date, lambda a, e: a < e), False),
    "DateLessThanEquals": (_compare(_date, lambda a, e: a <= e), False),
    "DateGreaterThan": (_compare(_date, lambda a, e: a > e), False),
    "DateGreaterThanEquals": (_compare(_date, lambda a, e: a >= e), False),
    "Bool": (lambda a, e: a.lower() == e.lower(), False),
    "IpAddress": (_in_network, False),
    "NotIpAddress": (_in_network, True),
}


@dataclass(frozen=True, slots=True)
class Condition:
    """One ``Operator: {key: values}`` test; `key` is lower-cased (condition keys are case-insensitive)."""

    operator: str
    key: str
    values: tuple[str, ...]
    if_exists: bool
    qualifier: str  # "", "ForAnyValue" or "ForAllValues"

    def holds(self, context: Mapping[str, Sequence[str]]) -> bool:
        test, negated = OPERATORS[self.operator]
        actual = context.get(self.key)
        if actual is None:
            if self.qualifier == "ForAllValues":
                return True
            return self.if_exists or (negated and not self.qualifier)

        def one(value: str) -> bool:
            matched = any(test(value, expected) for expected in self.values)
            return not matched if negated else matched

        if self.qualifier == "ForAllValues":
            return all(one(value) for value in actual)
        return any(one(value) for value in actual)


@dataclass(frozen=True, slots=True)
class NullCondition:
    """``Null: {key: "true"}``: holds when the key is absent (``"false"``: when present)."""

    key: str
    absent: bool

    def holds(self, context: Mapping[str, Sequence[str]]) -> bool:
        return (self.key not in context) == self.absent


def _parse_conditions(block: Any) -> tuple[Condition | NullCondition, ...]:
    if not isinstance(block, dict):
        raise PolicyError("Condition must be an object of operators.")
    out: list[Condition | NullCondition] = []
    for raw_operator, tests in block.items():
        if not isinstance(tests, dict) or not tests:
            raise PolicyError(f"Condition operator {raw_operator} must map keys to values.")
        qualifier, _, operator = raw_operator.rpartition(":")
        if qualifier not in ("", "ForAnyValue", "ForAllValues"):
            raise PolicyError(f"Unknown condition set qualifier {qualifier}.")
        if_exists = operator.endswith("IfExists") and operator != "IfExists"
        base = operator[: -len("IfExists")] if if_exists else operator
        for key, values in tests.items():
            parsed = _condition_values(values, f"Condition {raw_operator} {key}")
            if base == "Null":
                out.append(NullCondition(key.lower(), parsed[0].lower() == "true"))
            elif base in OPERATORS:
                out.append(Condition(base, key.lower(), parsed, if_exists, qualifier))
            else:
                raise PolicyError(f"Unknown condition operator {raw_operator}.")
    return tuple(out)


# ------------------------------------------------------------------------------------------------------ principals


@dataclass(frozen=True, slots=True)
class Principals:
    """A statement's ``Principal``: ``"*"``, or AWS principals (account ids, ``arn:...:root``, user and role ARNs)
    and service principals."""

    anyone: bool
    aws: tuple[str, ...]
    services: tuple[str, ...]

    def match(self, principal_arn: str, account: str, service: str | None) -> bool:
        if self.anyone:
            return True
        if service is not None:
            return service in self.services
        for entry in self.aws:
            if entry == "*" or entry == account or entry == f"arn:aws:iam::{account}:root":
                return True
            if wildcard_match(entry, principal_arn):
                return True
        return False


def _parse_principals(value: Any) -> Principals:
    if value == "*":
        return Principals(True, (), ())
    if not isinstance(value, dict) or not value:
        raise PolicyError('Principal must be "*" or an object such as {"AWS": ...}.')
    aws: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    for kind, entries in value.items():
        if kind == "AWS":
            aws = _strings(entries, "Principal AWS")
        elif kind == "Service":
            services = _strings(entries, "Principal Service")
        elif kind not in ("Federated", "CanonicalUser"):
            raise PolicyError(f"Unknown principal type {kind}.")
    return Principals("*" in aws and len(aws) == 1, aws, services)


# ------------------------------------------------------------------------------------------------------ statements


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement. `actions`/`resources` are the patterns; `not_actions`/`not_resources` say they are
    exclusions (NotAction / NotResource); `principals` is None in identity policies."""

    sid: str
    allow: bool
    actions: tuple[str, ...]
    not_actions: bool
    resources: tuple[str, ...]
    not_resources: bool
    principals: Principals | None
    not_principals: bool
    conditions: tuple[Condition | NullCondition, ...]

    def covers(self, action: str, resource: str) -> bool:
        matched = any(wildcard_match(p, action, ignore_case=True) for p in self.actions)
        if matched == self.not_actions:
            return False
        if not self.resources:  # resource policies may omit Resource: the resource they are attached to
            return True
        matched = any(wildcard_match(p, resource) for p in self.resources)
        return matched != self.not_resources

    def names(self, principal_arn: str, account: str, service: str | None) -> bool:
        if self.principals is None:
            return True
        return self.principals.match(principal_arn, account, service) != self.not_principals

    def conditions_hold(self, context: Mapping[str, Sequence[str]]) -> bool:
        return all(condition.holds(context) for condition in self.conditions)


def _pick(statement: dict[str, Any], name: str) -> tuple[Any, bool]:
    """(value, negated) of `name` or ``Not<name>``; exactly one may be present."""
    plain, negated = statement.get(name), statement.get(f"Not{name}")
    if plain is not None and negated is not None:
        raise PolicyError(f"A statement cannot have both {name} and Not{name}.")
    return (negated, True) if negated is not None else (plain, False)


def _parse_statement(raw: Any, *, resource_policy: bool) -> Statement:
    if not isinstance(raw, dict):
        raise PolicyError("Each Statement must be an object.")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyError('Effect must be "Allow" or "Deny".')
    actions, not_actions = _pick(raw, "Action")
    if actions is None:
        raise PolicyError("A statement needs Action or NotAction.")
    resources, not_resources = _pick(raw, "Resource")
    if resources is None and not resource_policy:
        raise PolicyError("A statement needs Resource or NotResource.")
    principals, not_principals = _pick(raw, "Principal")
    if principals is not None and not resource_policy:
        raise PolicyError("Identity policies cannot name a Principal.")
    if principals is None and resource_policy:
        raise PolicyError("A resource policy statement needs Principal or NotPrincipal.")
    sid = raw.get("Sid", "")
    return Statement(
        sid=sid if isinstance(sid, str) else str(sid),
        allow=effect == "Allow",
        actions=_strings(actions, "Action"),
        not_actions=not_actions,
        resources=_strings(resources, "Resource") if resources is not None else (),
        not_resources=not_resources,
        principals=_parse_principals(principals) if principals is not None else None,
        not_principals=not_principals,
        conditions=_parse_conditions(raw["Condition"]) if "Condition" in raw else (),
    )


@dataclass(frozen=True, slots=True)
class Policy:
    """A parsed policy document: its statements, in order."""

    statements: tuple[Statement, ...]


def parse_policy(document: Any, *, resource_policy: bool = False) -> Policy:
    """Parse a policy document (a dict, or its JSON text); raise `PolicyError` if it is not one.

    `resource_policy`: statements must name a Principal (and may omit Resource), as on a queue or bus.
    """
    if isinstance(document, str):
        try:
            document = orjson.loads(document)
        except (orjson.JSONDecodeError, RecursionError):  # orjson refuses nesting deeper than 1024
            raise PolicyError("The policy is not valid JSON.") from None
    if not isinstance(document, dict):
        raise PolicyError("A policy must be a JSON object.")
    version = document.get("Version", "2008-10-17")
    if version not in VERSIONS:
        raise PolicyError(f"Unknown policy Version {version}.")
    statements = document.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        raise PolicyError("Statement must be an object or a list of objects.")
    return Policy(tuple(_parse_statement(s, resource_policy=resource_policy) for s in statements))
