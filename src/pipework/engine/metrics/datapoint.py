"""One minute of one metric: sum, count, minimum, maximum and a log-scale histogram, which is what CloudWatch's
statistics (Sum, SampleCount, Average, Minimum, Maximum) and percentiles (p50, p90, p99, ...) are computed from.

The histogram keeps a count per bucket of relative width `GROWTH` (values within about 2.5 % of each other share a
bucket), so a percentile is exact to that precision whatever the number of samples, and minutes merge by adding
counts: a datapoint read back from the store, a later flush of the same minute, or several minutes of a period.
"""

from __future__ import annotations

import math
import re
from typing import Any

#: Ratio between the bounds of two neighbouring histogram buckets.
GROWTH = 1.05
_LOG_GROWTH = math.log(GROWTH)

PERCENTILE = re.compile(r"p(\d{1,2}(?:\.\d{1,10})?|100)")


def bucket_of(value: float) -> int:
    """The histogram bucket of `value`: 0 holds zero, positive buckets count up from 1, negative ones down."""
    if value == 0.0:
        return 0
    if value > 0.0:
        return 1 + max(0, math.floor(math.log(value) / _LOG_GROWTH) + 1_000)
    return -bucket_of(-value)


def bucket_value(bucket: int) -> float:
    """The value a bucket stands for (the geometric middle of its bounds)."""
    if bucket == 0:
        return 0.0
    if bucket < 0:
        return -bucket_value(-bucket)
    return float(GROWTH ** (bucket - 1 - 1_000 + 0.5))


class Aggregate:
    """The samples of one metric in one minute (or a period, once merged). `unit` is the last unit given."""

    __slots__ = ("count", "histogram", "maximum", "minimum", "total", "unit")

    def __init__(self, unit: str = "None") -> None:
        self.total = 0.0
        self.count = 0.0
        self.minimum = math.inf
        self.maximum = -math.inf
        self.histogram: dict[int, float] = {}
        self.unit = unit

    def add(self, value: float, times: float = 1.0) -> None:
        """Record `value` (`times` samples of it)."""
        self.total += value * times
        self.count += times
        if value < self.minimum:
            self.minimum = value
        if value > self.maximum:
            self.maximum = value
        bucket = 1_001 if value == 1.0 else bucket_of(value)  # a count of one: the commonest sample
        histogram = self.histogram
        histogram[bucket] = histogram.get(bucket, 0.0) + times

    def add_values(self, values: list[float]) -> None:
        """Record many samples at once (what `Recorder` gathered on the hot path)."""
        if not values:
            return
        self.total += math.fsum(values)
        self.count += len(values)
        self.minimum = min(self.minimum, min(values))
        self.maximum = max(self.maximum, max(values))
        histogram = self.histogram
        for value in values:
            bucket = 1_001 if value == 1.0 else bucket_of(value)
            histogram[bucket] = histogram.get(bucket, 0.0) + 1.0

    def add_set(self, count: float, total: float, minimum: float, maximum: float) -> None:
        """Record a statistic set (PutMetricData's StatisticValues): no individual values, so no histogram
        buckets beyond its minimum and maximum."""
        if count <= 0:
            return
        self.total += total
        self.count += count
        self.minimum = min(self.minimum, minimum)
        self.maximum = max(self.maximum, maximum)
        for value, share in ((minimum, math.ceil(count / 2)), (maximum, count - math.ceil(count / 2))):
            if share:
                bucket = bucket_of(value)
                self.histogram[bucket] = self.histogram.get(bucket, 0.0) + share

    def merge(self, other: Aggregate) -> None:
        self.total += other.total
        self.count += other.count
        self.minimum = min(self.minimum, other.minimum)
        self.maximum = max(self.maximum, other.maximum)
        for bucket, times in other.histogram.items():
            self.histogram[bucket] = self.histogram.get(bucket, 0.0) + times
        self.unit = other.unit

    def statistic(self, name: str) -> float | None:
        """A CloudWatch statistic (Sum, SampleCount, Average, Minimum, Maximum) or percentile (``p99``,
        ``p99.9``); None for a name it is not."""
        if name == "Sum":
            return self.total
        if name == "SampleCount":
            return self.count
        if name == "Average":
            return self.total / self.count if self.count else 0.0
        if name == "Minimum":
            return self.minimum
        if name == "Maximum":
            return self.maximum
        found = PERCENTILE.fullmatch(name)
        if found is None:
            return None
        return self.percentile(float(found.group(1)))

    def percentile(self, rank: float) -> float:
        """The value below which `rank` % of the samples fall, to the histogram's precision, within [min, max]."""
        total = sum(self.histogram.values())
        if total <= 0:
            return self.maximum
        wanted = total * rank / 100.0
        seen = 0.0
        for bucket in sorted(self.histogram):
            seen += self.histogram[bucket]
            if seen >= wanted:
                return min(self.maximum, max(self.minimum, bucket_value(bucket)))
        return self.maximum

    def to_json(self) -> dict[str, Any]:
        return {
            "s": self.total,
            "n": self.count,
            "lo": self.minimum,
            "hi": self.maximum,
            "u": self.unit,
            "h": [[bucket, times] for bucket, times in self.histogram.items()],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Aggregate:
        aggregate = cls(str(data.get("u", "None")))
        aggregate.total = float(data["s"])
        aggregate.count = float(data["n"])
        aggregate.minimum = float(data["lo"])
        aggregate.maximum = float(data["hi"])
        aggregate.histogram = {int(bucket): float(times) for bucket, times in data.get("h", ())}
        return aggregate

    def copy(self) -> Aggregate:
        other = Aggregate(self.unit)
        other.merge(self)
        return other
