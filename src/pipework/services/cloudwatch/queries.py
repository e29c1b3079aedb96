"""Reading metrics the way CloudWatch's read APIs do: datapoints of one metric per period with statistics
(GetMetricStatistics), and GetMetricData's queries — MetricStat series and metric math (`expressions`)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from pipework.engine.metrics import Aggregate, Metric, Recorder, sorted_dimensions
from pipework.engine.metrics.datapoint import PERCENTILE

from . import expressions
from .errors import invalid_combination, invalid_value, missing

STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
#: GetMetricStatistics answers at most this many datapoints.
MAX_DATAPOINTS = 1440
#: GetMetricData answers at most this many datapoints per query (AWS: MaxDatapoints' default, 100,800).
MAX_QUERY_DATAPOINTS = 100_800


def check_period(period: int, name: str = "Period") -> None:
    """CloudWatch's periods: 1, 5, 10, 30 (high resolution) or a multiple of 60 seconds."""
    if period not in (1, 5, 10, 30) and (period <= 0 or period % 60):
        raise invalid_value(
            f"The parameter {name} must be a multiple of 60, or 1, 5, 10 or 30 for high-resolution metrics."
        )


def check_statistic(name: str) -> None:
    if name in STATISTICS:
        return
    found = PERCENTILE.fullmatch(name)
    if found is None or not 0 <= float(found.group(1)) <= 100:
        raise invalid_value(f"The statistic {name} is not supported.")


def epoch(value: Any) -> float:
    return value.timestamp() if isinstance(value, dt.datetime) else float(value)


def stamp(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def metric_of(given: dict[str, Any]) -> Metric:
    return Metric(given["Namespace"], given["MetricName"], sorted_dimensions(given.get("Dimensions")))


async def periods(
    recorder: Recorder,
    account: str,
    region: str,
    metric: Metric,
    start: float,
    end: float,
    period: int,
    unit: str | None = None,
) -> dict[float, Aggregate]:
    """The metric's datapoints merged per period (periods aligned to the epoch), by period start."""
    out: dict[float, Aggregate] = {}
    width = max(period, 60)
    for minute, aggregate in await recorder.read(account, region, metric, start, end):
        if unit is not None and aggregate.unit != unit:
            continue
        at = math.floor(minute * 60 / width) * width
        known = out.get(at)
        if known is None:
            out[at] = aggregate
        else:
            known.merge(aggregate)
    return out


async def get_metric_statistics(recorder: Recorder, account: str, region: str, params: dict[str, Any]) -> Any:
    start, end = epoch(params["StartTime"]), epoch(params["EndTime"])
    period = params["Period"]
    check_period(period)
    if start >= end:
        raise invalid_value("The parameter StartTime must be less than the parameter EndTime.")
    statistics = params.get("Statistics") or []
    extended = params.get("ExtendedStatistics") or []
    if not statistics and not extended:
        raise missing("Must specify either Statistics or ExtendedStatistics.")
    for name in extended:
        check_statistic(name)
    count = math.ceil((end - start) / period)
    if count > MAX_DATAPOINTS:
        raise invalid_combination(
            f"You have requested up to {count:,} datapoints, which exceeds the limit of {MAX_DATAPOINTS:,}. "
            "You may reduce the datapoints requested by increasing Period, or decreasing the time range."
        )
    metric = metric_of(params)
    unit = params.get("Unit")
    datapoints = []
    for at, aggregate in sorted(
        (await periods(recorder, account, region, metric, start, end, period, unit)).items()
    ):
        point: dict[str, Any] = {"Timestamp": stamp(at), "Unit": aggregate.unit}
        for name in statistics:
            point[name] = aggregate.statistic(name)
        if extended:
            point["ExtendedStatistics"] = {name: aggregate.statistic(name) for name in extended}
        datapoints.append(point)
    return {"Label": metric.name, "Datapoints": datapoints}


@dataclass
class _Query:
    id: str
    label: str
    return_data: bool
    period: int
    metric: Metric | None = None
    stat: str = ""
    unit: str | None = None
    expression: expressions.Node | None = None


def parse_queries(queries: list[dict[str, Any]]) -> list[_Query]:
    """GetMetricData's (and a metric-math alarm's) queries, checked as CloudWatch checks them."""
    seen: set[str] = set()
    out: list[_Query] = []
    for query in queries:
        qid = query["Id"]
        if not qid[:1].islower() or not all(c.isalnum() or c == "_" for c in qid):
            raise invalid_value(
                f"The value {qid} for parameter MetricDataQueries.member.Id is invalid: it must start with a "
                "lowercase letter and contain only letters, numbers and underscores."
            )
        if qid in seen:
            raise invalid_value(f"The value {qid} for parameter MetricDataQueries.member.Id is not unique.")
        seen.add(qid)
        stat, expression = query.get("MetricStat"), query.get("Expression")
        if (stat is None) == (expression is None):
            raise invalid_combination(
                "Exactly one of MetricStat and Expression must be specified for each MetricDataQuery."
            )
        if stat is not None:
            check_period(stat["Period"], "MetricStat.Period")
            check_statistic(stat["Stat"])
            out.append(
                _Query(
                    qid,
                    query.get("Label") or stat["Metric"].get("MetricName", qid),
                    query.get("ReturnData", True),
                    stat["Period"],
                    metric=metric_of(stat["Metric"]),
                    stat=stat["Stat"],
                    unit=stat.get("Unit"),
                )
            )
        else:
            try:
                node = expressions.parse(str(expression))
            except expressions.ExpressionError as exc:
                raise invalid_value(f"Error in expression {qid}: {exc}") from None
            out.append(
                _Query(
                    qid,
                    query.get("Label") or qid,
                    query.get("ReturnData", True),
                    query.get("Period") or 0,
                    expression=node,
                )
            )
    known = {q.id for q in out}
    for parsed in out:
        if parsed.expression is not None:
            unknown = expressions.references(parsed.expression) - known
            if unknown:
                raise invalid_value(
                    f"Error in expression {parsed.id}: Unrecognized metric id {sorted(unknown)[0]}."
                )
    if not any(q.return_data for q in out):
        raise invalid_value("At least one MetricDataQuery must have ReturnData set to true.")
    return out


async def run_queries(
    recorder: Recorder,
    account: str,
    region: str,
    queries: list[_Query],
    start: float,
    end: float,
) -> list[tuple[_Query, dict[float, float], list[str]]]:
    """Every query's series (timestamp -> value) over [start, end), in query order, with messages."""
    results: dict[str, expressions.Value] = {}
    labelled: list[tuple[str, dict[float, float]]] = []
    out: dict[str, tuple[_Query, dict[float, float], list[str]]] = {}
    default_period = min((q.period for q in queries if q.metric is not None), default=60)
    for query in queries:
        if query.metric is None:
            continue
        series: dict[float, float] = {}
        for at, aggregate in (
            await periods(recorder, account, region, query.metric, start, end, query.period, query.unit)
        ).items():
            value = aggregate.statistic(query.stat)
            if value is not None and math.isfinite(value):
                series[at] = value
        results[query.id] = series
        labelled.append((query.label, series))
        out[query.id] = (query, series, [])
    pending = [q for q in queries if q.expression is not None]
    while pending:
        ready = [
            q
            for q in pending
            if expressions.references(q.expression) <= set(results)  # type: ignore[arg-type]
        ]
        if not ready:
            for query in pending:
                out[query.id] = (query, {}, ["Circular reference between expressions."])
            break
        for query in ready:
            pending.remove(query)
            period = query.period or default_period
            grid = [t for t in _grid(start, end, period)]
            scope = expressions.Scope(results, labelled, grid)
            assert query.expression is not None
            messages: list[str] = []
            evaluated: expressions.Value
            try:
                evaluated = expressions.evaluate(query.expression, scope)
            except expressions.ExpressionError as exc:
                evaluated, messages = {}, [str(exc)]
            computed: dict[float, float]
            if isinstance(evaluated, list):
                computed = evaluated[0] if len(evaluated) == 1 else {}
                if len(evaluated) > 1:
                    messages = messages or ["The expression gives several time series; Pipework returns one."]
            elif isinstance(evaluated, dict):
                computed = evaluated
            else:
                computed = {t: float(evaluated) for t in grid}
            results[query.id] = computed
            out[query.id] = (query, computed, messages)
    return [out[q.id] for q in queries]


def _grid(start: float, end: float, period: int) -> list[float]:
    first = math.ceil(start / period) * period if period else start
    return [float(t) for t in range(int(first), int(end), max(period, 1))]


async def get_metric_data(recorder: Recorder, account: str, region: str, params: dict[str, Any]) -> Any:
    start, end = epoch(params["StartTime"]), epoch(params["EndTime"])
    if start >= end:
        raise invalid_value("The parameter StartTime must be less than the parameter EndTime.")
    queries = parse_queries(params["MetricDataQueries"])
    shortest = min((q.period for q in queries if q.period), default=60)
    if (end - start) / shortest > MAX_QUERY_DATAPOINTS:
        raise invalid_combination(
            f"The query would return more than {MAX_QUERY_DATAPOINTS:,} datapoints per metric: "
            "narrow the time range or increase the period (Pipework does not page GetMetricData)."
        )
    descending = params.get("ScanBy", "TimestampDescending") == "TimestampDescending"
    results = []
    for query, series, messages in await run_queries(recorder, account, region, queries, start, end):
        if not query.return_data:
            continue
        stamps = sorted(series, reverse=descending)
        result: dict[str, Any] = {
            "Id": query.id,
            "Label": query.label,
            "Timestamps": [stamp(t) for t in stamps],
            "Values": [series[t] for t in stamps],
            "StatusCode": "Complete",
        }
        if messages:
            result["Messages"] = [{"Code": "Error", "Value": m} for m in messages]
        results.append(result)
    return {"MetricDataResults": results, "Messages": []}
