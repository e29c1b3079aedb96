"""`Recorder`: samples of one minute merge across flushes, with what the store already holds (a late sample for an
old minute, a restart), and expire after the retention."""

from __future__ import annotations

import pytest

from pipework.clock import ManualClock
from pipework.engine.metrics import Metric, Recorder
from pipework.store.memory import MemoryStore

pytestmark = pytest.mark.anyio

START = 1_800_000_000.0
METRIC = Metric("App", "Latency", (("Service", "a"),))


def sample(recorder: Recorder, value: float, at: float) -> None:
    recorder.add(
        "0", "us-east-1", METRIC.namespace, METRIC.name, METRIC.dimensions, value, "Milliseconds", at
    )


async def test_flushes_of_one_minute_merge_with_the_stored_datapoint() -> None:
    clock = ManualClock(start=START)
    store = MemoryStore(clock)
    recorder = Recorder(store, clock)
    sample(recorder, 10.0, START)
    await recorder.flush()
    sample(recorder, 30.0, START + 30)
    clock.advance(3600)  # the minute's cached datapoint is dropped: the next flush reads the stored one
    await recorder.flush()
    sample(recorder, 20.0, START + 59)
    again = Recorder(store, clock)  # a restarted process: nothing cached at all
    sample(again, 40.0, START + 1)
    await recorder.flush()
    await again.flush()
    [(minute, found)] = await again.read("0", "us-east-1", METRIC, START, START + 60)
    assert minute * 60 == START
    assert (found.count, found.total, found.minimum, found.maximum) == (4, 100.0, 10.0, 40.0)
    assert found.statistic("p50") == pytest.approx(20.0, rel=0.05)
    assert [m.name for m in await again.metrics("0", "us-east-1")] == ["Latency"]


async def test_datapoints_expire_after_the_retention() -> None:
    clock = ManualClock(start=START)
    recorder = Recorder(MemoryStore(clock), clock, retention=3600)
    sample(recorder, 1.0, START)
    await recorder.flush()
    clock.advance(3600 + 61)
    assert await recorder.read("0", "us-east-1", METRIC, START - 60, START + 120) == []
