"""Alarm evaluation, one row per behaviour of CloudWatch's documentation: M of N datapoints, every comparison
operator, and its table of missing-data treatments (DatapointsToAlarm 3, EvaluationPeriods 5; X breaching,
0 not breaching, - missing)."""

from __future__ import annotations

import pytest

from pipework.services.cloudwatch.evaluation import evaluate


def run(pattern: str, treat: str, *, m: int = 3, comparison: str = "GreaterThanThreshold") -> str | None:
    values = [
        (60.0 * i, None if c == "-" else 1.0 if c == "X" else 0.0) for i, c in enumerate(pattern.split())
    ]
    return evaluate(
        values=values,
        threshold=0.5,
        comparison=comparison,
        datapoints_to_alarm=m,
        treat_missing=treat,
        period=60,
        statistic="Sum",
        now=300.0,
    ).state


@pytest.mark.parametrize(
    ("pattern", "missing", "ignore", "breaching", "not_breaching"),
    [
        ("0 - X - X", "OK", "OK", "ALARM", "OK"),
        ("0 - - - -", "OK", "OK", "ALARM", "OK"),
        ("- - - - -", "INSUFFICIENT_DATA", None, "ALARM", "OK"),
        ("0 X X - X", "ALARM", "ALARM", "ALARM", "ALARM"),
        ("- - X - -", "ALARM", None, "ALARM", "OK"),
    ],
)
def test_missing_data_treatments_follow_cloudwatchs_table(
    pattern: str, missing: str, ignore: str | None, breaching: str, not_breaching: str
) -> None:
    assert run(pattern, "missing") == missing
    assert run(pattern, "ignore") == ignore  # None: the alarm keeps its state
    assert run(pattern, "breaching") == breaching
    assert run(pattern, "notBreaching") == not_breaching


@pytest.mark.parametrize(
    ("comparison", "value", "state"),
    [
        ("GreaterThanThreshold", 5.0, "OK"),
        ("GreaterThanThreshold", 5.1, "ALARM"),
        ("GreaterThanOrEqualToThreshold", 5.0, "ALARM"),
        ("LessThanThreshold", 5.0, "OK"),
        ("LessThanThreshold", 4.9, "ALARM"),
        ("LessThanOrEqualToThreshold", 5.0, "ALARM"),
    ],
)
def test_each_comparison_operator_against_the_threshold(comparison: str, value: float, state: str) -> None:
    outcome = evaluate(
        values=[(0.0, value)],
        threshold=5.0,
        comparison=comparison,
        datapoints_to_alarm=1,
        treat_missing="missing",
        period=60,
        statistic="Maximum",
        now=60.0,
    )
    assert outcome.state == state


def test_m_out_of_n_needs_m_breaching_datapoints() -> None:
    assert run("X 0 X 0 0", "missing", m=2) == "ALARM"
    assert run("X 0 0 0 0", "missing", m=2) == "OK"
    assert run("X X X X 0", "notBreaching", m=5) == "OK"
