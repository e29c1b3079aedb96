"""Charts of the per-minute metrics: read through CloudWatch's GetMetricData (as any client would), drawn as inline
SVG on the server (no script, nothing loaded from elsewhere). Each chart has a title and a description a screen
reader reads (total, peak and when), and its numbers in a table beside it.

A count missing in a minute is a zero there (nothing happened); a gauge missing in a minute is a gap (nothing
was measured).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import count
from typing import TYPE_CHECKING

from markupsafe import Markup, escape

from pipework.jsontypes import JSON

if TYPE_CHECKING:
    from pipework.api.instance import Instance

#: Minutes a chart covers, one point each.
MINUTES = 60
WIDTH, HEIGHT = 560, 140
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 10, 22

_ids = count(1)


@dataclass(frozen=True)
class Wanted:
    """A metric to chart: its `name`, the `stat` (Sum for counts, Average or Maximum for gauges), and its `unit`
    as people read it."""

    name: str
    stat: str = "Sum"
    unit: str = ""

    @property
    def counted(self) -> bool:
        return self.stat in ("Sum", "SampleCount")


@dataclass(frozen=True)
class Chart:
    """One metric over the last `MINUTES` minutes: `points` (minute start, value or None), oldest first."""

    namespace: str
    name: str
    stat: str
    unit: str
    points: tuple[tuple[float, float | None], ...]
    scope: str = ""

    @property
    def counted(self) -> bool:
        return self.stat in ("Sum", "SampleCount")

    @property
    def rows(self) -> list[tuple[str, str]]:
        """(minute, value) of the minutes that recorded something, for the table of numbers."""
        return [(clock(t), number(v)) for t, v in self.points if v is not None and (v or not self.counted)]

    @property
    def values(self) -> list[float]:
        return [v for _, v in self.points if v is not None]

    @property
    def total(self) -> float:
        return sum(self.values)

    @property
    def peak(self) -> tuple[float, float] | None:
        known = [(v, t) for t, v in self.points if v is not None]
        if not known:
            return None
        value, when = max(known, key=lambda vt: (vt[0], vt[1]))
        return when, value

    @property
    def any(self) -> bool:
        return any(self.values)

    @property
    def summary(self) -> str:
        """The chart in words (its SVG description)."""
        what = {"Sum": "per minute", "SampleCount": "(sample count per minute)"}.get(
            self.stat, f"({self.stat.lower()} per minute)"
        )
        of = f" {self.scope}" if self.scope else ""
        head = f"{self.name}{of} {what}, the last {MINUTES} minutes"
        peak = self.peak
        if peak is None or not self.any:
            return f"{head}: nothing recorded."
        when, value = peak
        if self.counted:
            return f"{head}: {number(self.total)} in all, at most {number(value)} (at {clock(when)} UTC)."
        return f"{head}: at most {number(value)}{self.unit} (at {clock(when)} UTC)."


def number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def clock(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%H:%M")


async def charts(
    pipework: Instance,
    namespace: str,
    dimensions: Sequence[tuple[str, str]],
    wanted: Sequence[Wanted],
    *,
    account: str | None = None,
) -> list[Chart]:
    """The last hour of each `wanted` metric of `namespace` with `dimensions` in `account` (default: the
    server's), in one GetMetricData call."""
    return await summed(pipework, namespace, [dimensions], wanted, account=account)


async def summed(
    pipework: Instance,
    namespace: str,
    every: Sequence[Sequence[tuple[str, str]]],
    wanted: Sequence[Wanted],
    *,
    account: str | None = None,
    scope: str = "",
) -> list[Chart]:
    """The last hour of each `wanted` metric of `namespace`, added up over the metrics of `every` set of
    dimensions (several rules' counts, say: only counts add up), in one GetMetricData call. `scope` says what
    was added up, in the charts' titles."""
    from .reads import call  # reads imports this module for its pages

    if len(every) > 1 and not all(w.counted for w in wanted):
        raise ValueError("only counts add up across metrics")
    end_minute = math.floor(pipework.clock.now() / 60) + 1
    start = (end_minute - MINUTES) * 60.0
    queries = [
        {
            "Id": f"m{n}_{d}",
            "MetricStat": {
                "Metric": {
                    "Namespace": namespace,
                    "MetricName": w.name,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions],
                },
                "Period": 60,
                "Stat": w.stat,
            },
            "ReturnData": True,
        }
        for n, w in enumerate(wanted)
        for d, dimensions in enumerate(every)
    ]
    found = await call(
        pipework,
        "cloudwatch",
        "GetMetricData",
        {
            "MetricDataQueries": queries,
            "StartTime": start,
            "EndTime": end_minute * 60.0,
            "ScanBy": "TimestampAscending",
        },
        account=account,
    )
    by_id: dict[str, JSON] = {r["Id"]: r for r in found.get("MetricDataResults", [])}
    minutes = [start + 60 * m for m in range(MINUTES)]
    out = []
    for n, w in enumerate(wanted):
        values: dict[float, float] = {}
        for d in range(len(every)):
            result = by_id.get(f"m{n}_{d}", {})
            for t, v in zip(result.get("Timestamps", []), result.get("Values", []), strict=False):
                values[_epoch(t)] = values.get(_epoch(t), 0.0) + float(v)
        points = tuple((t, values.get(t, 0.0 if w.counted else None)) for t in minutes)
        out.append(Chart(namespace, w.name, w.stat, w.unit, points, scope))
    return out


def _epoch(value: object) -> float:
    if isinstance(value, dt.datetime):
        return value.timestamp()
    return float(value)  # type: ignore[arg-type]


def svg(chart: Chart) -> Markup:
    """The chart as an inline SVG image: bars for counts, a line for gauges; its title and description named for
    assistive technology."""
    n = next(_ids)
    of = f" {chart.scope}" if chart.scope else ""
    title_id, desc_id = f"chart-{n}-title", f"chart-{n}-desc"
    values = chart.values
    top = max(values, default=0.0) or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / len(chart.points)

    def y(value: float) -> float:
        return TOP + plot_h - (value / top) * plot_h

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-labelledby="{title_id}" aria-describedby="{desc_id}" data-metric="{escape(chart.name)}" '
        f'data-points="{sum(1 for v in values if v)}">',
        f'<title id="{title_id}">{escape(chart.name)} ({escape(chart.stat)}){escape(of)}</title>',
        f'<desc id="{desc_id}">{escape(chart.summary)}</desc>',
        f'<line class="axis" x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}"/>',
        f'<line class="grid" x1="{LEFT}" y1="{TOP}" x2="{WIDTH - RIGHT}" y2="{TOP}"/>',
        f'<text class="tick" x="{LEFT - 4}" y="{TOP + 4}" text-anchor="end">{escape(number(top))}</text>',
        f'<text class="tick" x="{LEFT - 4}" y="{TOP + plot_h}" text-anchor="end">0</text>',
    ]
    first, last = chart.points[0][0], chart.points[-1][0]
    parts.append(f'<text class="tick" x="{LEFT}" y="{HEIGHT - 6}">{clock(first)}</text>')
    parts.append(
        f'<text class="tick" x="{WIDTH - RIGHT}" y="{HEIGHT - 6}" text-anchor="end">{clock(last)} UTC</text>'
    )
    if chart.counted:
        for i, (when, value) in enumerate(chart.points):
            if not value:
                continue
            x, h = LEFT + i * step, (value / top) * plot_h
            parts.append(
                f'<rect class="bar" x="{x + 0.5:.1f}" y="{TOP + plot_h - h:.1f}" width="{max(step - 1, 1):.1f}" '
                f'height="{h:.1f}"><title>{clock(when)}: {escape(number(value))}</title></rect>'
            )
    else:
        segment: list[str] = []
        segments: list[list[str]] = []
        for i, (_, value) in enumerate(chart.points):
            if value is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            segment.append(f"{LEFT + (i + 0.5) * step:.1f},{y(value):.1f}")
        if segment:
            segments.append(segment)
        for points in segments:
            if len(points) == 1:
                cx, cy = points[0].split(",")
                parts.append(f'<circle class="dot" cx="{cx}" cy="{cy}" r="2.5"/>')
            else:
                parts.append(f'<polyline class="line" points="{" ".join(points)}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))
