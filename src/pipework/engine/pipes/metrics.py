"""Per-pipe metrics with AWS's names (namespace AWS/EventBridge/Pipes, dimension PipeName): recorded durably per
minute through the instance's `Recorder` (CloudWatch, Prometheus), and summed in memory since the process
started for ``GET /_pipework/pipes/{name}/metrics``.

Counts are sums; durations (milliseconds) keep count, sum, min and max.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from pipework.engine.metrics import Recorder

NAMESPACE = "AWS/EventBridge/Pipes"
UNITS = {"EventSize": "Bytes"}

#: Counters AWS publishes for a pipe, plus Pipework's own (FilteredOut, DeadLettered, Redriven, Retries).
COUNTERS = (
    "Invocations",
    "EventCount",
    "EventSize",
    "ExecutionFailed",
    "ExecutionPartiallyFailed",
    "ExecutionThrottled",
    "ExecutionTimeout",
    "EnrichmentStageFailed",
    "TargetStageFailed",
    "TargetStagePartiallyFailed",
    "TargetStageSkipped",
    "FilteredOut",
    "DeadLettered",
    "Redriven",
    "Retries",
)
TIMINGS = ("Duration", "EnrichmentStageDuration", "TargetStageDuration")


@dataclass
class Timing:
    count: int = 0
    total: float = 0.0
    minimum: float = 0.0
    maximum: float = 0.0

    def add(self, value: float) -> None:
        self.minimum = value if self.count == 0 else min(self.minimum, value)
        self.maximum = max(self.maximum, value)
        self.count += 1
        self.total += value

    def summary(self) -> dict[str, float]:
        average = self.total / self.count if self.count else 0.0
        return {
            "SampleCount": self.count,
            "Sum": round(self.total, 3),
            "Minimum": round(self.minimum, 3),
            "Maximum": round(self.maximum, 3),
            "Average": round(average, 3),
        }


class PipeMetrics:
    """The metrics of one pipe. `Concurrency` is a gauge: executions running now.

    Parameters: `recorder` (optional), where the durable per-minute datapoints go; `account`, `region`, `name`:
    the pipe's (its metrics' dimension is PipeName).
    """

    def __init__(
        self, recorder: Recorder | None = None, *, account: str = "", region: str = "", name: str = ""
    ) -> None:
        self.counts: Counter[str] = Counter()
        self.timings: dict[str, Timing] = {name: Timing() for name in TIMINGS}
        self.concurrency = 0
        self.max_concurrency = 0
        self.recorder = recorder
        self._owner = (account, region)
        self._dimensions = (("PipeName", name),)

    def count(self, name: str, value: int = 1) -> None:
        self.counts[name] += value
        if self.recorder is not None:
            account, region = self._owner
            if value == 1 and name not in UNITS:
                self.recorder.count(account, region, NAMESPACE, name, self._dimensions)
            else:
                unit = UNITS.get(name, "Count")
                self.recorder.add(account, region, NAMESPACE, name, self._dimensions, float(value), unit)

    def timing(self, name: str, milliseconds: float) -> None:
        self.timings[name].add(milliseconds)
        if self.recorder is not None:
            account, region = self._owner
            self.recorder.add(
                account, region, NAMESPACE, name, self._dimensions, milliseconds, "Milliseconds"
            )

    def enter(self) -> None:
        self.concurrency += 1
        self.max_concurrency = max(self.max_concurrency, self.concurrency)

    def leave(self) -> None:
        self.concurrency -= 1

    def snapshot(self) -> dict[str, Any]:
        """Every metric by AWS name: counters as ``{"Sum": n}``, durations as statistics."""
        out: dict[str, Any] = {name: {"Sum": self.counts[name]} for name in COUNTERS}
        out.update({name: timing.summary() for name, timing in self.timings.items()})
        out["Concurrency"] = {"Current": self.concurrency, "Maximum": self.max_concurrency}
        return out
