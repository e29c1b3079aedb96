"""Schedule expressions: AWS's cron dialect (?, L, W, #, nL, names, years, 1 = Sunday), rate() and at(), StartDate /
EndDate bounds, time zones with daylight-saving transitions, and AWS's validation of each."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from pipework.engine.scheduler import catch_up
from pipework.schedule_expressions import ExpressionError, Timing, parse_expression

UTC = dt.UTC


def utc(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def local(when: float, tz: str) -> str:
    return dt.datetime.fromtimestamp(when, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z")


def fires(expression: str, after: str, count: int = 3, tz: str = "UTC", **bounds: float) -> list[str]:
    timing = Timing.of(expression, tz, **bounds)
    return [local(t, tz) for t in timing.upcoming(utc(after), count)]


CRON_CASES = [
    # (name, expression, after (UTC), expected local fire times)
    ("every_15_minutes", "cron(0/15 * * * ? *)", "2030-01-01T10:07", ["10:15", "10:30", "10:45"]),
    (
        "last_day_of_month",
        "cron(0 12 L * ? *)",
        "2030-01-31T13:00",
        ["2030-02-28", "2030-03-31", "2030-04-30"],
    ),
    (
        "last_day_in_leap_february",
        "cron(0 0 L 2 ? *)",
        "2027-06-01T00:00",
        ["2028-02-29", "2029-02-28", "2030-02-28"],
    ),
    (
        "feb_29_only_in_leap_years",
        "cron(0 0 29 2 ? *)",
        "2027-01-01T00:00",
        ["2028-02-29", "2032-02-29", "2036-02-29"],
    ),
    (
        "day_31_skips_short_months",
        "cron(0 0 31 * ? *)",
        "2030-01-31T01:00",
        ["2030-03-31", "2030-05-31", "2030-07-31"],
    ),
    # 2030-06-15 is a Saturday -> Friday 14th; 2030-09-15 is a Sunday -> Monday 16th.
    ("nearest_weekday_from_saturday", "cron(0 9 15W 6 ? 2030)", "2030-01-01T00:00", ["2030-06-14"]),
    ("nearest_weekday_from_sunday", "cron(0 9 15W 9 ? 2030)", "2030-01-01T00:00", ["2030-09-16"]),
    # 2030-06-01 is a Saturday: 1W must not cross into May -> Monday 3rd.
    ("nearest_weekday_stays_in_month", "cron(0 9 1W 6 ? 2030)", "2030-01-01T00:00", ["2030-06-03"]),
    # 2030-03-31 is a Sunday -> the last weekday is Friday 29th.
    ("last_weekday_of_month", "cron(0 9 LW 3 ? 2030)", "2030-01-01T00:00", ["2030-03-29"]),
    (
        "second_tuesday",
        "cron(0 10 ? * 3#2 *)",
        "2030-01-01T00:00",
        ["2030-01-08", "2030-02-12", "2030-03-12"],
    ),
    (
        "fifth_friday_only_when_it_exists",
        "cron(0 10 ? * FRI#5 2030)",
        "2030-01-01T00:00",
        ["2030-03-29", "2030-05-31", "2030-08-30", "2030-11-29"],
    ),
    ("last_friday", "cron(0 18 ? * 6L *)", "2030-01-01T00:00", ["2030-01-25", "2030-02-22", "2030-03-29"]),
    ("one_is_sunday", "cron(0 8 ? * 1 *)", "2030-01-01T00:00", ["2030-01-06", "2030-01-13", "2030-01-20"]),
    (
        "weekday_names_range",
        "cron(30 7 ? * MON-FRI *)",
        "2030-01-04T08:00",
        ["2030-01-07", "2030-01-08", "2030-01-09"],
    ),
    (
        "month_names_list",
        "cron(0 0 1 JAN,JUL ? *)",
        "2030-02-01T00:00",
        ["2030-07-01", "2031-01-01", "2031-07-01"],
    ),
    (
        "year_field_bounds_the_schedule",
        "cron(0 0 1 1 ? 2030-2031)",
        "2029-06-01T00:00",
        ["2030-01-01", "2031-01-01"],
    ),
    ("year_step", "cron(0 0 1 1 ? 2030/5)", "2029-06-01T00:00", ["2030-01-01", "2035-01-01", "2040-01-01"]),
]


@pytest.mark.parametrize(
    ("name", "expression", "after", "expected"), CRON_CASES, ids=[c[0] for c in CRON_CASES]
)
def test_cron_fires_at(name: str, expression: str, after: str, expected: list[str]) -> None:
    got = fires(expression, after, count=len(expected) + 1)
    assert len(got) >= len(expected)
    for fired, want in zip(got, expected):
        assert want in fired
    if name.startswith("year_field") or "2030)" in expression:
        assert len(got) == len(expected)  # the year field ends the schedule


DST_CASES = [
    # New York springs forward 2030-03-10 02:00 -> 03:00: 02:30 does not exist that day and does not fire.
    (
        "new_york_skipped_time_does_not_fire",
        "cron(30 2 * * ? *)",
        "America/New_York",
        "2030-03-09T00:00",
        ["2030-03-09 02:30 EST", "2030-03-11 02:30 EDT"],
        None,
    ),
    # New York falls back 2030-11-03 02:00 -> 01:00: 01:30 happens twice and fires once.
    (
        "new_york_repeated_time_fires_once",
        "cron(30 1 * * ? *)",
        "America/New_York",
        "2030-11-02T12:00",
        ["2030-11-03 01:30 EDT", "2030-11-04 01:30 EST"],
        None,
    ),
    (
        "new_york_hourly_over_fall_back",
        "cron(0 * * * ? *)",
        "America/New_York",
        "2030-11-03T04:30",
        ["2030-11-03 01:00 EDT", "2030-11-03 02:00 EST", "2030-11-03 03:00 EST"],
        None,
    ),
    # London springs forward 2030-03-31 01:00 -> 02:00 and falls back 2030-10-27 02:00 -> 01:00.
    (
        "london_skipped_time_does_not_fire",
        "cron(15 1 * * ? *)",
        "Europe/London",
        "2030-03-30T12:00",
        ["2030-03-31 02:00 BST"],
        "2030-04-01 01:15 BST",
    ),
    (
        "london_repeated_time_fires_once",
        "cron(15 1 * * ? *)",
        "Europe/London",
        "2030-10-26T12:00",
        ["2030-10-27 01:15 BST", "2030-10-28 01:15 GMT"],
        None,
    ),
    (
        "london_local_time_keeps_the_wall_clock",
        "cron(0 9 * * ? *)",
        "Europe/London",
        "2030-03-30T12:00",
        ["2030-03-31 09:00 BST"],
        None,
    ),
]


@pytest.mark.parametrize(
    ("name", "expression", "tz", "after", "expected", "next_expected"),
    DST_CASES,
    ids=[c[0] for c in DST_CASES],
)
def test_daylight_saving(
    name: str, expression: str, tz: str, after: str, expected: list[str], next_expected: str | None
) -> None:
    got = fires(expression, after, count=3, tz=tz)
    if next_expected is not None:  # the skipped local time is absent: the next fire is the day after
        assert got[0] == next_expected
        assert not any(e in got for e in expected)
    else:
        assert got[: len(expected)] == expected


def test_london_09_00_is_08_00_utc_in_summer_and_09_00_in_winter() -> None:
    timing = Timing.of("cron(0 9 * * ? *)", "Europe/London")
    assert timing.next_after(utc("2030-07-01T00:00")) == utc("2030-07-01T08:00")
    assert timing.next_after(utc("2030-12-01T00:00")) == utc("2030-12-01T09:00")


def test_rate_counts_from_start_date_and_stops_before_end_date() -> None:
    start, end = utc("2030-01-01T10:00:30"), utc("2030-01-01T10:20:30")
    timing = Timing.of("rate(5 minutes)", start=start, end=end)
    assert timing.upcoming(utc("2030-01-01T00:00"), 10) == [start + 300 * k for k in range(4)]


def test_rate_without_start_date_starts_at_creation() -> None:
    created = utc("2030-01-01T10:00:07")
    timing = Timing.of("rate(1 hour)", created=created)
    assert timing.next_after(created - 0.001) == created
    assert timing.next_after(created) == created + 3600


def test_rate_one_day_is_24_hours_even_across_dst() -> None:
    start = utc("2030-03-09T12:00")
    timing = Timing.of("rate(1 day)", "America/New_York", start=start)
    assert timing.upcoming(start, 2) == [start + 86400, start + 2 * 86400]


def test_cron_respects_start_and_end_dates() -> None:
    timing = Timing.of("cron(0 * * * ? *)", start=utc("2030-01-01T10:30"), end=utc("2030-01-01T13:00"))
    assert timing.upcoming(utc("2029-01-01T00:00"), 5) == [
        utc("2030-01-01T11:00"),
        utc("2030-01-01T12:00"),
    ]


def test_at_is_local_to_the_time_zone_and_ignores_start_and_end() -> None:
    timing = Timing.of(
        "at(2030-07-01T09:00:00)", "Europe/London", start=utc("2031-01-01T00:00"), end=utc("2029-01-01T00:00")
    )
    assert timing.one_time
    assert timing.upcoming(utc("2030-01-01T00:00"), 3) == [utc("2030-07-01T08:00")]


INVALID = [
    "cron(0 0 * * * *)",  # neither day field is ?
    "cron(0 0 ? * ? *)",  # both are
    "cron(0 0 * * ?)",  # five fields
    "cron(60 0 * * ? *)",
    "cron(0 24 * * ? *)",
    "cron(0 0 32 * ? *)",
    "cron(0 0 ? * 8 *)",
    "cron(0 0 ? 13 * *)",
    "cron(0 0 1 * ? 2200)",
    "cron(0 0 ? * 1/2 *)",  # no steps in day-of-week
    "cron(0 0 ? * 3#6 *)",
    "cron(0 0 5-1 * ? *)",
    "rate(0 minutes)",
    "rate(1 minutes)",
    "rate(5 minute)",
    "rate(5 seconds)",
    "rate(-1 hours)",
    "at(2030-02-30T10:00:00)",
    "at(2030-01-01 10:00:00)",
    "every(5 minutes)",
]


@pytest.mark.parametrize("expression", INVALID)
def test_invalid_expressions_are_rejected_with_aws_message(expression: str) -> None:
    with pytest.raises(ExpressionError) as exc:
        parse_expression(expression)
    assert str(exc.value) == f"Invalid Schedule Expression {expression}."


def test_unknown_time_zone_is_rejected() -> None:
    with pytest.raises(ExpressionError, match="Mars/Olympus"):
        Timing.of("rate(1 hour)", "Mars/Olympus")


def test_catch_up_fires_the_latest_occurrence_within_the_age_once_and_counts_the_rest_missed() -> None:
    timing = Timing.of("rate(1 minute)", created=0.0)
    plan = catch_up(timing.next_after, 600.0, 1230.0, 3600)
    assert (plan.fire, plan.missed, plan.next) == (1200.0, 10, 1260.0)


def test_catch_up_counts_an_occurrence_older_than_the_age_as_missed() -> None:
    timing = Timing.of("rate(1 hour)", created=0.0)
    plan = catch_up(timing.next_after, 3600.0, 3600.0 + 1800, 600)
    assert (plan.fire, plan.missed, plan.next) == (None, 1, 7200.0)


def test_catch_up_after_a_very_long_outage_does_not_walk_every_occurrence() -> None:
    timing = Timing.of("rate(1 minute)", created=0.0)
    plan = catch_up(timing.next_after, 60.0, 60.0 * 1_000_000 + 30, 120)
    assert plan.fire == 60.0 * 1_000_000
    assert plan.next == 60.0 * 1_000_001
