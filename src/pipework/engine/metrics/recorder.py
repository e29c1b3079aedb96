"""`Recorder`: metric samples aggregated in memory per metric and minute, flushed to the store in one batch.

Recording is a dict lookup and a few additions (the delivery hot path calls it); `flush` turns the minutes
gathered since the last flush into durable per-minute datapoints, merged with what the store already holds for
the same minute, and keeps every datapoint `retention` seconds (a TTL: expired datapoints are gone for reads).

Store layout (see `pipework.store.base` for the conventions):
- kv ``cloudwatch/metric``, key ``<account>/<region>/<metric id>``: the metric's namespace, name and dimensions
  (what ListMetrics reads), refreshed while the metric receives data;
- kv ``cloudwatch/datapoint``, key ``<account>/<region>/<metric id>/<minute>``: one `Aggregate` (JSON); the
  minute is epoch minutes, zero-padded, so a key range is a time range.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

import orjson

from pipework.clock import Clock
from pipework.store.base import Store
from pipework.store.errors import StoreError

from .datapoint import Aggregate

log = logging.getLogger("pipework.metrics")

METRICS = "cloudwatch/metric"
DATAPOINTS = "cloudwatch/datapoint"
#: How long datapoints are kept by default: CloudWatch keeps one-minute datapoints 15 days.
RETENTION = 15 * 86_400.0
#: Seconds of clock time between two flushes (reads and alarm evaluations flush first, whatever the time).
FLUSH_INTERVAL = 10.0
#: Minutes back from now whose flushed datapoints stay cached (a later flush of them needs no read).
CACHED_MINUTES = 3

#: True in the task committing a flush: its own commit is not timed (it would add a datapoint to every flush).
_FLUSHING: contextvars.ContextVar[bool] = contextvars.ContextVar("pipework_metrics_flushing", default=False)

Dimensions = tuple[tuple[str, str], ...]
#: (account, region, namespace, metric name, dimensions) — one metric of one account and region.
SeriesKey = tuple[str, str, str, str, Dimensions]
Sampler = Callable[[], Awaitable[None]]


def metric_id(namespace: str, name: str, dimensions: Dimensions) -> str:
    """A short stable id for a metric (namespace, name and dimensions, in any order)."""
    text = orjson.dumps([namespace, name, sorted(dimensions)])
    return hashlib.sha1(text).hexdigest()[:24]


def minute_key(minute: int) -> str:
    return f"{minute:010d}"


@dataclass(frozen=True, slots=True)
class Metric:
    """A metric as ListMetrics names it."""

    namespace: str
    name: str
    dimensions: Dimensions

    def to_api(self) -> dict[str, object]:
        return {
            "Namespace": self.namespace,
            "MetricName": self.name,
            "Dimensions": [{"Name": k, "Value": v} for k, v in self.dimensions],
        }


class Recorder:
    """Aggregates samples per metric and minute in memory; `flush` makes them durable.

    Parameters:
        store, clock: the instance's (a sample is stamped with the clock's minute unless given a time).
        retention: seconds a datapoint is kept (default 15 days).
        flush_interval: seconds of clock time between background flushes.
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        retention: float = RETENTION,
        flush_interval: float = FLUSH_INTERVAL,
    ) -> None:
        self.store = store
        self.clock = clock
        self.retention = retention
        self.flush_interval = flush_interval
        self._pending: dict[tuple[SeriesKey, int], Aggregate] = {}
        # Samples of `add` and `count`, by flat key (account, region, namespace, name, dimensions, minute);
        # aggregated into `_pending` when read or flushed.
        self._samples: dict[tuple[str, str, str, str, Dimensions, int], list[float]] = {}
        self._units: dict[tuple[str, str, str, str, Dimensions, int], str] = {}
        self._counts: dict[tuple[str, str, str, str, Dimensions, int], int] = {}
        # Flushed recent minutes, so a second flush of one needs no store read.
        self._flushed: dict[tuple[SeriesKey, int], Aggregate] = {}
        # Metrics whose catalog entry this process wrote, with the minute it was written.
        self._catalogued: dict[SeriesKey, int] = {}
        #: Totals since the process started, per series (Prometheus reads them).
        self.totals: dict[SeriesKey, Aggregate] = {}
        #: The latest minute flushed of each series, and its aggregate (a gauge's current value).
        self.latest: dict[SeriesKey, tuple[int, Aggregate]] = {}
        #: Called before each flush: gauges that sample a state (queue depths) record through them.
        self.samplers: list[Sampler] = []
        self._flushing = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    # -- recording (the hot path: no awaiting, no store) -----------------------------------------------------------
    def add(
        self,
        account: str,
        region: str,
        namespace: str,
        name: str,
        dimensions: Dimensions,
        value: float,
        unit: str = "Count",
        at: float | None = None,
    ) -> None:
        """Record one sample of a metric at `at` (default: now)."""
        minute = int((self.clock.now() if at is None else at) // 60)
        # A flat key: one tuple to hash per sample (the series tuple is built only when collected).
        key = (account, region, namespace, name, dimensions, minute)
        values = self._samples.get(key)
        if values is None:
            values = self._samples[key] = []
            self._units[key] = unit
        values.append(value)  # aggregated when collected: the hot path only appends

    def count(
        self,
        account: str,
        region: str,
        namespace: str,
        name: str,
        dimensions: Dimensions,
        at: float | None = None,
    ) -> None:
        """Record one occurrence (a sample of 1, unit Count) of a metric at `at` (default: now): a counter
        increment, the cheapest record."""
        minute = int((self.clock.now() if at is None else at) // 60)
        key = (account, region, namespace, name, dimensions, minute)
        counts = self._counts
        counts[key] = counts.get(key, 0) + 1

    def commit_observer(self, account: str, region: str, backend: str) -> Callable[[float], None]:
        """A `Store.commit_observer`: each commit's latency as ``Pipework/Store`` ``CommitLatency`` (milliseconds,
        dimension ``Backend``), except the recorder's own flushes."""
        dims: Dimensions = (("Backend", backend),)
        add = self.add

        def observe(seconds: float) -> None:
            if not _FLUSHING.get():
                add(
                    account, region, "Pipework/Store", "CommitLatency", dims, seconds * 1000.0, "Milliseconds"
                )

        return observe

    def add_aggregate(self, series: SeriesKey, at: float, aggregate: Aggregate) -> None:
        """Record several samples at once (PutMetricData's Values/Counts and StatisticValues)."""
        self._merge_pending((series, int(at // 60)), aggregate)

    def _merge_pending(self, key: tuple[SeriesKey, int], aggregate: Aggregate) -> None:
        known = self._pending.get(key)
        if known is None:
            self._pending[key] = aggregate
        else:
            known.merge(aggregate)

    def _collect(self) -> None:
        """Aggregate the samples `add` and `count` gathered into the pending minutes."""
        samples, units, counts = self._samples, self._units, self._counts
        self._samples, self._units, self._counts = {}, {}, {}
        for key, values in samples.items():
            account, region, namespace, name, dims, minute = key
            aggregate = Aggregate(units[key])
            aggregate.add_values(values)
            self._merge_pending(((account, region, namespace, name, dims), minute), aggregate)
        for key, times in counts.items():
            account, region, namespace, name, dims, minute = key
            aggregate = Aggregate("Count")
            aggregate.add(1.0, float(times))
            self._merge_pending(((account, region, namespace, name, dims), minute), aggregate)

    # -- flushing --------------------------------------------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="metrics:flush")

    async def stop(self) -> None:
        """Stop the background flushes and flush what is pending (so metrics survive a restart)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    async def _run(self) -> None:
        while True:
            # A safety net, not a timer: time travel does not stop for flushes (reads flush first anyway).
            await self.clock.sleep_until(self.clock.now() + self.flush_interval, timer=False)
            try:
                await self.flush()
            except StoreError:
                log.exception("flushing metrics failed; the samples stay pending for the next flush")
            except Exception:
                log.exception("flushing metrics failed")

    async def sample(self) -> None:
        for sampler in self.samplers:
            try:
                await sampler()
            except Exception:
                log.exception("metric sampler %r failed", sampler)

    async def flush(self) -> None:
        """Write every pending minute to the store (merged with what it holds), in one commit."""
        async with self._flushing:
            self._collect()
            if not self._pending:
                return
            pending, self._pending = self._pending, {}
            now_minute = int(self.clock.now() // 60)
            batch = self.store.batch()
            ttl = self.retention
            merged: list[tuple[tuple[SeriesKey, int], Aggregate]] = []
            try:
                for key, aggregate in pending.items():
                    series, minute = key
                    account, region, namespace, name, dimensions = series
                    mid = metric_id(namespace, name, dimensions)
                    known = self._flushed.get(key)
                    if known is None:
                        stored = await self.store.kv_get(
                            DATAPOINTS, f"{account}/{region}/{mid}/{minute_key(minute)}"
                        )
                        known = Aggregate.from_json(orjson.loads(stored.value)) if stored else Aggregate()
                    whole = known.copy()
                    whole.merge(aggregate)
                    merged.append((key, whole))
                    # Kept `retention` from the minute's end: an old datapoint put late expires on time.
                    expires = (minute + 1) * 60 + ttl - self.clock.now()
                    if expires <= 0:
                        continue
                    batch.kv_put(
                        DATAPOINTS,
                        f"{account}/{region}/{mid}/{minute_key(minute)}",
                        orjson.dumps(whole.to_json()),
                        ttl=expires,
                    )
                    if self._catalogued.get(series, -1) < now_minute - 60:
                        metric = Metric(namespace, name, dimensions)
                        batch.kv_put(
                            METRICS, f"{account}/{region}/{mid}", orjson.dumps(metric.to_api()), ttl=ttl
                        )
                        self._catalogued[series] = now_minute
                if batch.writes:
                    own = _FLUSHING.set(True)
                    try:
                        await self.store.commit(batch)
                    finally:
                        _FLUSHING.reset(own)
            except BaseException:
                # Nothing was written: put the samples back for the next flush (merged with newer ones).
                for key, aggregate in pending.items():
                    self._merge_pending(key, aggregate)
                raise
            for key, whole in merged:
                self._flushed[key] = whole
                known_latest = self.latest.get(key[0])
                if known_latest is None or known_latest[0] <= key[1]:
                    self.latest[key[0]] = (key[1], whole)
                total = self.totals.get(key[0])
                if total is None:
                    self.totals[key[0]] = pending[key].copy()
                else:
                    total.merge(pending[key])
            for key in [k for k in self._flushed if k[1] < now_minute - CACHED_MINUTES]:
                del self._flushed[key]

    # -- reading ---------------------------------------------------------------------------------------------------
    async def read(
        self, account: str, region: str, metric: Metric, start: float, end: float
    ) -> list[tuple[int, Aggregate]]:
        """The stored minutes of `metric` with start <= minute start < end, oldest first, as (minute, aggregate)
        (flushes what is pending first)."""
        await self.flush()
        mid = metric_id(metric.namespace, metric.name, metric.dimensions)
        prefix = f"{account}/{region}/{mid}/"
        first, last = int(start // 60), int(-(-end // 60))
        out: list[tuple[int, Aggregate]] = []
        cursor = prefix + minute_key(max(first, 0))
        stop = prefix + minute_key(max(last, 0))
        while True:
            entries = await self.store.kv_list(DATAPOINTS, prefix=prefix, start=cursor, end=stop, limit=1000)
            for entry in entries:
                minute = int(entry.key[len(prefix) :])
                if start <= minute * 60 < end:
                    out.append((minute, Aggregate.from_json(orjson.loads(entry.value))))
            if len(entries) < 1000:
                return out
            cursor = entries[-1].key + "\0"

    async def metrics(self, account: str, region: str) -> list[Metric]:
        """Every metric of the account and region that has datapoints within the retention."""
        await self.flush()
        out: list[Metric] = []
        start: str | None = None
        prefix = f"{account}/{region}/"
        while True:
            entries = await self.store.kv_list(METRICS, prefix=prefix, start=start, limit=1000)
            for entry in entries:
                body = orjson.loads(entry.value)
                dims = tuple((d["Name"], d["Value"]) for d in body["Dimensions"])
                out.append(Metric(body["Namespace"], body["MetricName"], dims))
            if len(entries) < 1000:
                return out
            start = entries[-1].key + "\0"

    def live_latest(self) -> dict[SeriesKey, Aggregate]:
        """The latest minute of each series, including samples not flushed yet (a gauge's current value)."""
        self._collect()
        out = {series: aggregate for series, (_, aggregate) in self.latest.items()}
        minutes = {series: minute for series, (minute, _) in self.latest.items()}
        for (series, minute), aggregate in list(self._pending.items()):
            if minute >= minutes.get(series, -1):
                minutes[series] = minute
                out[series] = aggregate
        return out

    def live_totals(self) -> Iterable[tuple[SeriesKey, Aggregate]]:
        """Totals since the process started, including samples not flushed yet (for Prometheus)."""
        self._collect()
        out = {series: total.copy() for series, total in self.totals.items()}
        for (series, _), aggregate in list(self._pending.items()):
            known = out.get(series)
            if known is None:
                out[series] = aggregate.copy()
            else:
                known.merge(aggregate)
        return out.items()


def dimensions(*pairs: tuple[str, str]) -> Dimensions:
    """Dimensions in a canonical (sorted) order, so one metric has one key however it was named."""
    return tuple(sorted(pairs))


def sorted_dimensions(given: Sequence[dict[str, str]] | None) -> Dimensions:
    return tuple(sorted((d["Name"], d["Value"]) for d in given or ()))
