"""Metric alarm evaluation as CloudWatch documents it: the EvaluationPeriods whole periods that just ended, the
datapoints that breach the threshold among them, missing datapoints treated by TreatMissingData, and the state the
alarm goes to with its reason (what DescribeAlarms' StateReason / StateReasonData show).

- ALARM when at least DatapointsToAlarm (M) of the EvaluationPeriods (N) datapoints breach;
- when no datapoint is present: ``missing`` → INSUFFICIENT_DATA, ``notBreaching`` → OK, ``breaching`` → ALARM
  (N breaching ≥ M), ``ignore`` → the state stays;
- otherwise missing datapoints count as breaching (``breaching``), as not breaching (``notBreaching``), or are left
  out (``missing``, ``ignore``), and the alarm is ALARM with M breaching, else OK — except that with ``missing``
  and ``ignore``, when fewer than M datapoints are present and every one of them breaches, ``missing`` goes to
  ALARM and ``ignore`` keeps the state (CloudWatch's table for 3 of 5: ``- - X - -`` is ALARM / unchanged).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

COMPARISONS: dict[str, tuple[Callable[[float, float], bool], str]] = {
    "GreaterThanOrEqualToThreshold": (lambda v, t: v >= t, "greater than or equal to"),
    "GreaterThanThreshold": (lambda v, t: v > t, "greater than"),
    "LessThanThreshold": (lambda v, t: v < t, "less than"),
    "LessThanOrEqualToThreshold": (lambda v, t: v <= t, "less than or equal to"),
}
ANOMALY_COMPARISONS = frozenset(
    {
        "LessThanLowerOrGreaterThanUpperThreshold",
        "LessThanLowerThreshold",
        "GreaterThanUpperThreshold",
    }
)
TREATMENTS = ("breaching", "notBreaching", "ignore", "missing")


@dataclass(frozen=True)
class Outcome:
    """Where an evaluation leaves the alarm: its `state` (None: unchanged), the `reason` and `reason_data`."""

    state: str | None
    reason: str
    reason_data: dict[str, Any]


def _when(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%d/%m/%y %H:%M:%S")


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def evaluate(
    *,
    values: Sequence[tuple[float, float | None]],
    threshold: float,
    comparison: str,
    datapoints_to_alarm: int,
    treat_missing: str,
    period: int,
    statistic: str,
    now: float,
) -> Outcome:
    """Evaluate one alarm over `values`: the N periods just ended, oldest first, as (period start, value or None
    when no datapoint)."""
    compare, words = COMPARISONS[comparison]
    n, m = len(values), datapoints_to_alarm
    present = [(t, v) for t, v in values if v is not None and math.isfinite(v)]
    data: dict[str, Any] = {
        "version": "1.0",
        "queryDate": _iso(now),
        "startDate": _iso(values[0][0]) if values else _iso(now),
        "statistic": statistic,
        "period": period,
        "recentDatapoints": [v for _, v in present],
        "threshold": threshold,
        "evaluatedDatapoints": [{"timestamp": _iso(t), "value": v} for t, v in reversed(present)],
    }
    if not present:
        if treat_missing == "notBreaching":
            return Outcome(
                "OK",
                f"Threshold Crossed: no datapoints were received for {n} periods and {n} missing datapoints "
                "were treated as [NonBreaching].",
                data,
            )
        if treat_missing == "breaching":
            state = "ALARM" if n >= m else "OK"
            return Outcome(
                state,
                f"Threshold Crossed: no datapoints were received for {n} periods and {n} missing datapoints "
                "were treated as [Breaching].",
                data,
            )
        if treat_missing == "ignore":
            return Outcome(None, "", data)
        return Outcome(
            "INSUFFICIENT_DATA",
            f"Insufficient Data: {n} datapoints were unknown.",
            data,
        )
    breaching = [(t, v) for t, v in present if compare(v, threshold)]
    count = len(breaching)
    missing = n - len(present)
    if treat_missing == "breaching":
        count += missing
    shown = ", ".join(f"{v} ({_when(t)})" for t, v in reversed(present[-10:]))
    if (
        count < m
        and treat_missing in ("missing", "ignore")
        and len(present) < m
        and len(breaching) == len(present)
    ):
        if treat_missing == "ignore":
            return Outcome(None, "", data)
        return Outcome(
            "ALARM",
            f"Threshold Crossed: {count} out of the last {len(present)} datapoints [{shown}] were {words} the "
            f"threshold ({threshold}) and {missing} datapoints were missing.",
            data,
        )
    if count >= m:
        return Outcome(
            "ALARM",
            f"Threshold Crossed: {count} out of the last {n} datapoints [{shown}] were {words} the threshold "
            f"({threshold}) (minimum {m} datapoints for OK -> ALARM transition).",
            data,
        )
    return Outcome(
        "OK",
        f"Threshold Crossed: {n - count} out of the last {n} datapoints [{shown}] were not {words} the threshold "
        f"({threshold}) (minimum {n - m + 1} datapoint{'s' if n - m + 1 != 1 else ''} for ALARM -> OK "
        "transition).",
        data,
    )


def reason_data_text(data: dict[str, Any]) -> str:
    return orjson.dumps(data).decode()
