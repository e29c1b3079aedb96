"""The value tests a pattern is made of: one class per operator, each testing a single leaf value of an event.

A leaf value is what JSON gives: str, int, float, bool or None (never a list or an object). Numbers compare as
IEEE-754 doubles, as event-ruler >= 1.8 does, so 300, 300.0 and 3e2 are equal.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TypeAlias

Leaf: TypeAlias = str | int | float | bool | None
IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network


def as_number(value: Leaf) -> float | None:
    """The value as a double if it is a JSON number (booleans are not numbers), else None."""
    if type(value) is int or type(value) is float:
        try:
            return float(value)
        except OverflowError:  # an integer beyond the double range
            return float("inf") if value > 0 else float("-inf")
    return None


def as_ip(value: str) -> IPAddress | None:
    """The string as an IP address, if it is one."""
    # Cheap pre-check: an address contains a dot or a colon and starts with a hex digit or ':'.
    if not value or ("." not in value and ":" not in value):
        return None
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _lower_char(c: str) -> str:
    folded = c.lower()
    return folded if len(folded) == 1 else c


def lower(value: str) -> str:
    """Case folding for equals-ignore-case: lower-case per character, as event-ruler does (not full folding).

    ``str.lower`` alone would turn one character into two ("İ" -> "i̇") and lower a final sigma by context; the
    ruler maps each Java char on its own, so such characters keep their form here.
    """
    if value.isascii():
        return value.lower()
    return "".join(map(_lower_char, value))


class Glob:
    """A wildcard pattern: literal segments separated by ``*``, matched in linear time without backtracking."""

    __slots__ = ("first", "last", "middle", "min_length", "segments", "text")

    def __init__(self, text: str, segments: list[str]) -> None:
        self.text = text
        self.segments = tuple(segments)
        self.first = segments[0]
        self.last = segments[-1]
        self.middle = tuple(segments[1:-1])
        self.min_length = sum(len(s) for s in segments)

    @property
    def has_star(self) -> bool:
        return len(self.segments) > 1

    def match(self, s: str) -> bool:
        if len(self.segments) == 1:
            return s == self.first
        if len(s) < self.min_length or not s.startswith(self.first) or not s.endswith(self.last):
            return False
        pos = len(self.first)
        end = len(s) - len(self.last)
        for seg in self.middle:
            # Leftmost placement of each middle segment is optimal for '*'-only globs.
            found = s.find(seg, pos, end)
            if found < 0:
                return False
            pos = found + len(seg)
        return True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Glob) and other.segments == self.segments

    def __hash__(self) -> int:
        return hash(self.segments)

    def __repr__(self) -> str:
        return f"Glob({self.text!r})"


class Condition:
    """One match value of a pattern field: ``test`` says whether a single leaf value satisfies it."""

    __slots__ = ()

    def test(self, value: Leaf) -> bool:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class ExactString(Condition):
    value: str
    ip: IPAddress | None = None  # set when the string is an IP address: textual variants of it match too

    def test(self, value: Leaf) -> bool:
        if type(value) is not str:
            return False
        if value == self.value:
            return True
        return self.ip is not None and as_ip(value) == self.ip


@dataclass(frozen=True, slots=True)
class ExactNumber(Condition):
    value: float

    def test(self, value: Leaf) -> bool:
        return as_number(value) == self.value


@dataclass(frozen=True, slots=True)
class ExactLiteral(Condition):
    """``null``, ``true`` or ``false``."""

    value: bool | None

    def test(self, value: Leaf) -> bool:
        return value is self.value


@dataclass(frozen=True, slots=True)
class Prefix(Condition):
    value: str  # lower-cased when ignore_case
    ignore_case: bool = False

    def test(self, value: Leaf) -> bool:
        if type(value) is not str:
            return False
        return (lower(value) if self.ignore_case else value).startswith(self.value)


@dataclass(frozen=True, slots=True)
class Suffix(Condition):
    value: str  # lower-cased when ignore_case
    ignore_case: bool = False

    def test(self, value: Leaf) -> bool:
        if type(value) is not str:
            return False
        return (lower(value) if self.ignore_case else value).endswith(self.value)


@dataclass(frozen=True, slots=True)
class EqualsIgnoreCase(Condition):
    value: str  # lower-cased

    def test(self, value: Leaf) -> bool:
        return type(value) is str and lower(value) == self.value


@dataclass(frozen=True, slots=True)
class Wildcard(Condition):
    glob: Glob

    def test(self, value: Leaf) -> bool:
        return type(value) is str and self.glob.match(value)


@dataclass(frozen=True, slots=True)
class Numeric(Condition):
    """A numeric range; a bound of None is open. ``=`` is a range whose bounds are equal and inclusive."""

    low: float | None
    low_inclusive: bool
    high: float | None
    high_inclusive: bool

    def test(self, value: Leaf) -> bool:
        n = as_number(value)
        if n is None:
            return False
        if self.low is not None and (n < self.low or (n == self.low and not self.low_inclusive)):
            return False
        return not (self.high is not None and (n > self.high or (n == self.high and not self.high_inclusive)))


@dataclass(frozen=True, slots=True)
class Cidr(Condition):
    network: IPNetwork

    def test(self, value: Leaf) -> bool:
        if type(value) is not str:
            return False
        ip = as_ip(value)
        return ip is not None and ip.version == self.network.version and ip in self.network


@dataclass(frozen=True, slots=True)
class AnythingBut(Condition):
    """Matches every leaf value (null included) that none of the exclusions matches.

    ``kind`` says what the exclusions are: ``strings`` and ``numbers`` (exact values), ``prefix``, ``suffix``,
    ``equals-ignore-case`` (lower-cased) or ``wildcard`` (globs). Exclusions only ever exclude strings, except
    ``numbers``, which only exclude numbers.
    """

    kind: str
    strings: frozenset[str] = frozenset()
    numbers: frozenset[float] = frozenset()
    affixes: tuple[str, ...] = ()
    globs: tuple[Glob, ...] = ()

    def test(self, value: Leaf) -> bool:
        kind = self.kind
        if kind == "numbers":
            return as_number(value) not in self.numbers
        if type(value) is not str:
            return True
        if kind == "strings":
            return value not in self.strings
        if kind == "prefix":
            return not value.startswith(self.affixes)
        if kind == "suffix":
            return not value.endswith(self.affixes)
        if kind == "equals-ignore-case":
            return lower(value) not in self.strings
        return not any(g.match(value) for g in self.globs)


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a (sub)rule: the path and its match values, OR'ed.

    ``exists_true`` is satisfied by any leaf at the path; ``exists_false`` by the absence of any leaf there.
    """

    path: str
    conditions: tuple[Condition, ...]
    exists_true: bool = False
    exists_false: bool = False

    def test(self, value: Leaf) -> bool:
        if self.exists_true:
            return True
        return any(c.test(value) for c in self.conditions)

    @property
    def positive(self) -> bool:
        """True if some leaf value can satisfy the field (it is not only ``exists: false``)."""
        return self.exists_true or bool(self.conditions)
