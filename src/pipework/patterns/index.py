"""Value indexes: all the conditions on one path, looked up by a leaf value in (near) constant time.

Hash maps for exact and ignore-case values, length-bucketed maps for prefixes and suffixes, a table of
elementary intervals for numeric ranges, anchored buckets for wildcards; the rest (anything-but) is tested one
by one.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any

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
    IPAddress,
    Leaf,
    Numeric,
    Prefix,
    Suffix,
    Wildcard,
    as_ip,
    as_number,
    lower,
)

# How selective a condition usually is; fields of a subrule are ordered by it, so the machine branches on the
# most selective field first.
_SELECTIVITY: dict[type[Condition], int] = {
    ExactString: 0,
    ExactNumber: 0,
    ExactLiteral: 1,
    EqualsIgnoreCase: 1,
    Cidr: 2,
    Numeric: 3,
    Prefix: 3,
    Suffix: 3,
    Wildcard: 4,
    AnythingBut: 9,
}


def selectivity(field: Field) -> int:
    """Lower is more selective."""
    if field.exists_true:
        return 8
    return max(_SELECTIVITY[type(c)] for c in field.conditions)


def _bucket_add(table: dict[Any, list[int]], key: Any, sub: int) -> None:
    bucket = table.get(key)
    if bucket is None:
        table[key] = [sub]
    else:
        bucket.append(sub)


def _bucket_remove(table: dict[Any, list[int]], key: Any, sub: int) -> None:
    bucket = table[key]
    bucket.remove(sub)
    if not bucket:
        del table[key]


class _Affixes:
    """Prefixes (or suffixes) bucketed by length, so a value is looked up once per distinct length."""

    __slots__ = ("by_length", "lengths", "suffix")

    def __init__(self, suffix: bool) -> None:
        self.suffix = suffix
        self.by_length: dict[int, dict[str, list[int]]] = {}
        self.lengths: tuple[int, ...] = ()

    def add(self, text: str, sub: int) -> None:
        _bucket_add(self.by_length.setdefault(len(text), {}), text, sub)
        self.lengths = tuple(sorted(self.by_length))

    def remove(self, text: str, sub: int) -> None:
        table = self.by_length[len(text)]
        _bucket_remove(table, text, sub)
        if not table:
            del self.by_length[len(text)]
            self.lengths = tuple(sorted(self.by_length))

    def lookup(self, value: str, out: set[int]) -> None:
        size = len(value)
        by_length = self.by_length
        for length in self.lengths:
            if length > size:
                break
            key = value[size - length :] if self.suffix else value[:length]
            found = by_length[length].get(key)
            if found:
                out.update(found)


class _Ranges:
    """Numeric ranges as a table of elementary intervals: a value is one binary search away from its subrules."""

    __slots__ = ("points", "ranges", "table")

    def __init__(self) -> None:
        self.ranges: list[tuple[Numeric, int]] = []
        self.points: list[float] = []
        self.table: list[tuple[int, ...]] | None = None

    def add(self, condition: Numeric, sub: int) -> None:
        self.ranges.append((condition, sub))
        self.table = None

    def remove(self, condition: Numeric, sub: int) -> None:
        self.ranges.remove((condition, sub))
        self.table = None

    def _build(self) -> list[tuple[int, ...]]:
        points = sorted({b for c, _ in self.ranges for b in (c.low, c.high) if b is not None})
        position = {p: i for i, p in enumerate(points)}
        # Items alternate: gap 0, point 0, gap 1, point 1, ..., point n-1, gap n.
        size = 2 * len(points) + 1
        starts: list[list[int]] = [[] for _ in range(size + 1)]
        ends: list[list[int]] = [[] for _ in range(size + 1)]
        for c, sub in self.ranges:
            first = 0 if c.low is None else 2 * position[c.low] + (1 if c.low_inclusive else 2)
            last = size - 1 if c.high is None else 2 * position[c.high] + (1 if c.high_inclusive else 0)
            if first <= last:
                starts[first].append(sub)
                ends[last + 1].append(sub)
        active: dict[int, int] = {}
        table: list[tuple[int, ...]] = []
        for item in range(size):
            for sub in ends[item]:
                active[sub] -= 1
                if not active[sub]:
                    del active[sub]
            for sub in starts[item]:
                active[sub] = active.get(sub, 0) + 1
            table.append(tuple(active))
        self.points = points
        self.table = table
        return table

    def lookup(self, number: float, out: set[int]) -> None:
        table = self.table if self.table is not None else self._build()
        points = self.points
        i = bisect_left(points, number)
        item = 2 * i + 1 if i < len(points) and points[i] == number else 2 * i
        found = table[item]
        if found:
            out.update(found)


class ValueIndex:
    """The conditions of the fields leaving one machine state on one path, indexed by value.

    Each field added carries a target (an int: the state its match leads to); ``lookup`` adds the targets of
    every field a leaf value satisfies.
    """

    __slots__ = (
        "cidrs",
        "exists",
        "globs",
        "ic_prefixes",
        "ic_strings",
        "ic_suffixes",
        "ips",
        "literals",
        "lowered",
        "numbers",
        "others",
        "prefixes",
        "ranges",
        "size",
        "strings",
        "suffixes",
        "wild_loose",
        "wild_prefix",
        "wild_suffix",
    )

    def __init__(self) -> None:
        self.strings: dict[str, list[int]] = {}
        self.numbers: dict[float, list[int]] = {}
        self.literals: dict[bool | None, list[int]] = {}
        self.ips: dict[IPAddress, list[int]] = {}
        self.prefixes = _Affixes(suffix=False)
        self.suffixes = _Affixes(suffix=True)
        self.ic_prefixes = _Affixes(suffix=False)
        self.ic_suffixes = _Affixes(suffix=True)
        self.ic_strings: dict[str, list[int]] = {}
        self.wild_prefix = _Affixes(suffix=False)
        self.wild_suffix = _Affixes(suffix=True)
        self.wild_loose: list[int] = []
        self.ranges = _Ranges()
        self.cidrs: list[tuple[Cidr, int]] = []
        self.exists: list[int] = []
        self.others: list[tuple[Condition, int]] = []
        self.lowered = 0  # how many conditions need the lower-cased value
        self.globs: dict[int, list[Glob]] = {}  # wildcard globs per target, checked for anchored candidates
        self.size = 0

    # -- building ------------------------------------------------------------------------------------------
    def add(self, field: Field, sub: int) -> None:
        self.size += 1
        if field.exists_true:
            self.exists.append(sub)
            return
        for c in field.conditions:
            self._change(c, sub, adding=True)

    def remove(self, field: Field, sub: int) -> None:
        self.size -= 1
        if field.exists_true:
            self.exists.remove(sub)
            return
        for c in field.conditions:
            self._change(c, sub, adding=False)

    def _change(self, c: Condition, sub: int, adding: bool) -> None:
        bucket = _bucket_add if adding else _bucket_remove
        if isinstance(c, ExactString):
            bucket(self.strings, c.value, sub)
            if c.ip is not None:
                bucket(self.ips, c.ip, sub)
        elif isinstance(c, ExactNumber):
            bucket(self.numbers, c.value, sub)
        elif isinstance(c, ExactLiteral):
            bucket(self.literals, c.value, sub)
        elif isinstance(c, EqualsIgnoreCase):
            bucket(self.ic_strings, c.value, sub)
            self.lowered += 1 if adding else -1
        elif isinstance(c, Prefix | Suffix):
            affixes = self._affixes(c)
            (affixes.add if adding else affixes.remove)(c.value, sub)
            if c.ignore_case:
                self.lowered += 1 if adding else -1
        elif isinstance(c, Wildcard):
            self._change_wildcard(c.glob, sub, adding)
        elif isinstance(c, Numeric):
            (self.ranges.add if adding else self.ranges.remove)(c, sub)
        elif isinstance(c, Cidr):
            (self.cidrs.append if adding else self.cidrs.remove)((c, sub))
        else:
            (self.others.append if adding else self.others.remove)((c, sub))

    def _affixes(self, c: Prefix | Suffix) -> _Affixes:
        if isinstance(c, Prefix):
            return self.ic_prefixes if c.ignore_case else self.prefixes
        return self.ic_suffixes if c.ignore_case else self.suffixes

    def _change_wildcard(self, glob: Glob, sub: int, adding: bool) -> None:
        if not glob.has_star:
            (_bucket_add if adding else _bucket_remove)(self.strings, glob.first, sub)
            return
        # Anchor on the longer literal end; the glob itself is checked only for the candidates found.
        entries = self.globs.setdefault(sub, [])
        if adding:
            entries.append(glob)
        else:
            entries.remove(glob)
            if not entries:
                del self.globs[sub]
        if glob.first and len(glob.first) >= len(glob.last):
            (self.wild_prefix.add if adding else self.wild_prefix.remove)(glob.first, sub)
        elif glob.last:
            (self.wild_suffix.add if adding else self.wild_suffix.remove)(glob.last, sub)
        else:
            (self.wild_loose.append if adding else self.wild_loose.remove)(sub)

    # -- matching ------------------------------------------------------------------------------------------
    def lookup(self, value: Leaf, out: set[int]) -> None:
        kind = type(value)
        if kind is str:
            assert isinstance(value, str)
            found = self.strings.get(value)
            if found:
                out.update(found)
            if self.prefixes.lengths:
                self.prefixes.lookup(value, out)
            if self.suffixes.lengths:
                self.suffixes.lookup(value, out)
            if self.lowered:
                folded = lower(value)
                found = self.ic_strings.get(folded)
                if found:
                    out.update(found)
                if self.ic_prefixes.lengths:
                    self.ic_prefixes.lookup(folded, out)
                if self.ic_suffixes.lengths:
                    self.ic_suffixes.lookup(folded, out)
            if self.wild_prefix.lengths or self.wild_suffix.lengths or self.wild_loose:
                self._lookup_wildcards(value, out)
            if self.ips or self.cidrs:
                ip = as_ip(value)
                if ip is not None:
                    found = self.ips.get(ip)
                    if found:
                        out.update(found)
                    for cidr, sub in self.cidrs:
                        if ip.version == cidr.network.version and ip in cidr.network:
                            out.add(sub)
        elif kind is int or kind is float:
            try:
                number = float(value)  # type: ignore[arg-type]
            except OverflowError:  # an integer beyond the double range
                number = as_number(value)  # type: ignore[assignment]
            found = self.numbers.get(number)
            if found:
                out.update(found)
            if self.ranges.ranges:
                self.ranges.lookup(number, out)
        else:
            found = self.literals.get(value)  # type: ignore[arg-type]
            if found:
                out.update(found)
        if self.exists:
            out.update(self.exists)
        for condition, sub in self.others:
            if condition.test(value):
                out.add(sub)

    def _lookup_wildcards(self, value: str, out: set[int]) -> None:
        candidates: set[int] = set(self.wild_loose)
        if self.wild_prefix.lengths:
            self.wild_prefix.lookup(value, candidates)
        if self.wild_suffix.lengths:
            self.wild_suffix.lookup(value, candidates)
        for sub in candidates:
            if sub not in out and any(g.match(value) for g in self.globs[sub]):
                out.add(sub)
