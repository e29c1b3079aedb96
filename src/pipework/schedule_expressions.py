"""Schedule expressions: ``at()``, ``rate()`` and AWS's six-field ``cron()``, parsed with AWS's rules and evaluated
to fire times (epoch seconds) in a time zone, with daylight-saving behaviour as EventBridge Scheduler documents it.
Shared by Scheduler (CreateSchedule) and EventBridge rules (PutRule's ScheduleExpression), so it lives below both.

Pure: no I/O, no clock. ``parse_expression`` validates; ``Expression.next_after`` answers "first fire time strictly
after t". A local time skipped by a spring-forward change never fires; a local time repeated by a fall-back change
fires once, at its first occurrence. Why not croniter: see docs/decisions.md (AWS's year field, ``W``, ``L``, ``#``,
``?`` and 1 = Sunday are not croniter's dialect).
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import math
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = dt.UTC
MIN_YEAR, MAX_YEAR = 1970, 2199
MONTHS = {name: i for i, name in enumerate(calendar.month_abbr) if name}
MONTHS = {k.upper(): v for k, v in MONTHS.items()}
DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
RATE_UNITS = {"minute": 60, "hour": 3600, "day": 86400}


class ExpressionError(ValueError):
    """An expression or time zone AWS would reject; ``str()`` is AWS's message."""


def invalid(expression: str) -> ExpressionError:
    return ExpressionError(f"Invalid Schedule Expression {expression}.")


def zone(name: str | None) -> ZoneInfo:
    """The IANA time zone (UTC when None); `ExpressionError` for an unknown name."""
    if name is None:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ExpressionError(f"Invalid Schedule Expression Timezone {name}.") from None


def to_utc(local: dt.datetime, tz: dt.tzinfo) -> float | None:
    """A naive local time as epoch seconds; None when the local time does not exist (spring-forward gap).
    An ambiguous time (fall-back) resolves to its first occurrence (fold=0)."""
    aware = local.replace(tzinfo=tz, fold=0)
    utc = aware.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) != local:
        return None
    return utc.timestamp()


# ─────────────────────────────────────────────────── at() and rate() ───────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class At:
    """``at(yyyy-mm-ddThh:mm:ss)``: one local time in the schedule's zone."""

    local: dt.datetime

    def next_after(self, after: float, tz: dt.tzinfo, *, anchor: float = 0.0) -> float | None:
        when = self.local.replace(tzinfo=tz, fold=0).timestamp()
        return when if when > after else None


@dataclass(frozen=True, slots=True)
class Rate:
    """``rate(n unit)``: every ``seconds`` of elapsed time from the anchor (StartDate, or creation time)."""

    seconds: int

    def next_after(self, after: float, tz: dt.tzinfo, *, anchor: float = 0.0) -> float | None:
        if after < anchor:
            return anchor
        return anchor + (math.floor((after - anchor) / self.seconds) + 1) * self.seconds

    def latest_at_or_before(self, when: float, anchor: float) -> float | None:
        if when < anchor:
            return None
        return anchor + math.floor((when - anchor) / self.seconds) * self.seconds


_AT = re.compile(r"at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)")
_RATE = re.compile(r"rate\((\d+) ([a-z]+)\)")
_CRON = re.compile(r"cron\((.*)\)")


# ───────────────────────────────────────────────────────── cron() ─────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class DaySpec:
    """One of the day fields. ``kind``: ``any`` (``?``), ``set`` (values), ``last`` (dom ``L``), ``last_weekday``
    (dom ``LW``), ``nearest_weekday`` (dom ``nW``), ``last_of`` (dow ``nL``), ``nth`` (dow ``n#k``)."""

    kind: str
    values: frozenset[int] = frozenset()
    n: int = 0
    k: int = 0


@dataclass(frozen=True, slots=True)
class Cron:
    """A parsed ``cron(minutes hours day-of-month month day-of-week year)``."""

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    dom: DaySpec
    months: tuple[int, ...]
    dow: DaySpec
    years: tuple[int, ...]

    def days(self, year: int, month: int) -> list[int]:
        """The days of ``month`` this expression fires on."""
        last = calendar.monthrange(year, month)[1]
        if self.dom.kind != "any":
            return _dom_days(self.dom, year, month, last)
        return _dow_days(self.dow, year, month, last)

    def next_after(self, after: float, tz: dt.tzinfo, *, anchor: float = 0.0) -> float | None:
        """The first fire time strictly after ``after``, walking local times in order (so time-zone changes of
        the offset are handled by converting each candidate; candidates are monotonic in UTC)."""
        start = dt.datetime.fromtimestamp(after, tz).replace(tzinfo=None, second=0, microsecond=0)
        for year in self.years:
            if year < start.year:
                continue
            y_bound = year == start.year
            for month in self.months:
                if y_bound and month < start.month:
                    continue
                m_bound = y_bound and month == start.month
                for day in self.days(year, month):
                    if m_bound and day < start.day:
                        continue
                    d_bound = m_bound and day == start.day
                    for hour in self.hours:
                        if d_bound and hour < start.hour:
                            continue
                        h_bound = d_bound and hour == start.hour
                        for minute in self.minutes:
                            if h_bound and minute < start.minute:
                                continue
                            when = to_utc(dt.datetime(year, month, day, hour, minute), tz)
                            if when is not None and when > after:
                                return when
        return None


def _dom_days(spec: DaySpec, year: int, month: int, last: int) -> list[int]:
    if spec.kind == "set":
        return [d for d in sorted(spec.values) if d <= last]
    if spec.kind == "last":
        return [last]
    if spec.kind == "last_weekday":
        day = last
        while calendar.weekday(year, month, day) >= 5:
            day -= 1
        return [day]
    # nearest_weekday: the weekday closest to day n, never crossing into another month.
    n = spec.n
    if n > last:
        return []
    weekday = calendar.weekday(year, month, n)
    if weekday == 5:  # Saturday: Friday before, unless that leaves the month
        return [n - 1] if n > 1 else [n + 2]
    if weekday == 6:  # Sunday: Monday after, unless that leaves the month
        return [n + 1] if n < last else [n - 2]
    return [n]


def _aws_dow(year: int, month: int, day: int) -> int:
    """AWS day-of-week: 1 = Sunday … 7 = Saturday."""
    return (calendar.weekday(year, month, day) + 1) % 7 + 1


def _dow_days(spec: DaySpec, year: int, month: int, last: int) -> list[int]:
    if spec.kind == "set":
        return [d for d in range(1, last + 1) if _aws_dow(year, month, d) in spec.values]
    if spec.kind == "last_of":
        day = last
        while _aws_dow(year, month, day) != spec.n:
            day -= 1
        return [day]
    # nth: the k-th given weekday of the month (none when the month has fewer).
    first = next(d for d in range(1, 8) if _aws_dow(year, month, d) == spec.n)
    day = first + 7 * (spec.k - 1)
    return [day] if day <= last else []


def _number(text: str, names: dict[str, int] | None, low: int, high: int) -> int:
    upper = text.upper()
    if names is not None and upper in names:
        return names[upper]
    if not text.isdigit():
        raise ValueError(text)
    value = int(text)
    if not low <= value <= high:
        raise ValueError(text)
    return value


def _values(field: str, low: int, high: int, names: dict[str, int] | None, *, steps: bool) -> frozenset[int]:
    """A list of ``*``, ``a``, ``a-b`` and (where allowed) ``x/step`` items."""
    out: set[int] = set()
    for item in field.split(","):
        base, slash, step_text = item.partition("/")
        if slash and not steps:
            raise ValueError(item)
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) < 1:
                raise ValueError(item)
            step = int(step_text)
        if base == "*":
            first, final = low, high
        elif "-" in base:
            a, _, b = base.partition("-")
            first, final = _number(a, names, low, high), _number(b, names, low, high)
            if first > final:
                raise ValueError(item)
        else:
            first = _number(base, names, low, high)
            final = high if slash else first
        out.update(range(first, final + 1, step))
    return frozenset(out)


def _parse_dom(field: str) -> DaySpec:
    if field == "?":
        return DaySpec("any")
    if field == "L":
        return DaySpec("last")
    if field == "LW":
        return DaySpec("last_weekday")
    if field.endswith("W"):
        return DaySpec("nearest_weekday", n=_number(field[:-1], None, 1, 31))
    return DaySpec("set", _values(field, 1, 31, None, steps=True))


def _parse_dow(field: str) -> DaySpec:
    if field == "?":
        return DaySpec("any")
    if field == "L":
        return DaySpec("set", frozenset({7}))  # Quartz: a lone L in day-of-week is Saturday
    if field.endswith("L"):
        return DaySpec("last_of", n=_number(field[:-1], DAYS, 1, 7))
    if "#" in field:
        day, _, nth = field.partition("#")
        return DaySpec("nth", n=_number(day, DAYS, 1, 7), k=_number(nth, None, 1, 5))
    return DaySpec("set", _values(field, 1, 7, DAYS, steps=False))


def parse_cron(text: str) -> Cron:
    fields = text.split()
    if len(fields) != 6:
        raise ValueError(text)
    minute, hour, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise ValueError("one of day-of-month and day-of-week must be ?")
    return Cron(
        minutes=tuple(sorted(_values(minute, 0, 59, None, steps=True))),
        hours=tuple(sorted(_values(hour, 0, 23, None, steps=True))),
        dom=_parse_dom(dom),
        months=tuple(sorted(_values(month, 1, 12, MONTHS, steps=True))),
        dow=_parse_dow(dow),
        years=tuple(sorted(_values(year, MIN_YEAR, MAX_YEAR, None, steps=True))),
    )


# ─────────────────────────────────────────────────────────── parse ───────────────────────────────────────────────────────────

Expression = At | Rate | Cron


def parse_expression(expression: str) -> Expression:
    """Parse ``at(...)``, ``rate(...)`` or ``cron(...)``; `ExpressionError` with AWS's message otherwise."""
    found = _AT.fullmatch(expression)
    if found:
        try:
            year, month, day, hour, minute, second = (int(g) for g in found.groups())
            return At(dt.datetime(year, month, day, hour, minute, second))
        except ValueError:
            raise invalid(expression) from None
    found = _RATE.fullmatch(expression)
    if found:
        value, unit = int(found.group(1)), found.group(2)
        # AWS: singular unit for 1, plural otherwise.
        singular = unit.removesuffix("s") if value != 1 else unit
        if value < 1 or singular not in RATE_UNITS or (value == 1) == unit.endswith("s"):
            raise invalid(expression)
        return Rate(value * RATE_UNITS[singular])
    found = _CRON.fullmatch(expression)
    if found:
        try:
            return parse_cron(found.group(1))
        except ValueError:
            raise invalid(expression) from None
    raise invalid(expression)


@functools.lru_cache(maxsize=256)  # invocations of one burst share their scheduled time
def format_time(when: float) -> str:
    """``2022-03-22T18:59:43Z`` (the scheduled-time context attribute's format)."""
    return dt.datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class Timing:
    """When a schedule fires: its expression in its zone, bounded by StartDate / EndDate (recurring only)."""

    expression: Expression
    tz: dt.tzinfo
    start: float | None = None
    end: float | None = None
    anchor: float = 0.0  # where rate() counts from: StartDate, else the time the schedule was created/updated

    @classmethod
    def of(
        cls,
        expression: str,
        timezone: str | None = None,
        *,
        start: float | None = None,
        end: float | None = None,
        created: float = 0.0,
    ) -> Timing:
        parsed = parse_expression(expression)
        if isinstance(parsed, At):  # StartDate and EndDate are ignored for one-time schedules
            start = end = None
        return cls(parsed, zone(timezone), start, end, start if start is not None else created)

    @property
    def one_time(self) -> bool:
        return isinstance(self.expression, At)

    def next_after(self, after: float) -> float | None:
        """The first fire time strictly after ``after`` within [StartDate, EndDate)."""
        if self.start is not None and after < self.start:
            after = math.nextafter(self.start, -math.inf)
        when = self.expression.next_after(after, self.tz, anchor=self.anchor)
        if when is None or (self.end is not None and when >= self.end):
            return None
        return when

    def upcoming(self, after: float, count: int) -> list[float]:
        out: list[float] = []
        when: float | None = after
        while len(out) < count:
            assert when is not None
            when = self.next_after(when)
            if when is None:
                break
            out.append(when)
        return out
