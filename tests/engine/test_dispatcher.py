"""The dispatcher's batched fire path on the memory store and a ManualClock: acks of many deliveries share one
commit, a stale lease does not cost the other acks, one renewer keeps the leases of long deliveries, and nothing
keeps a timer once the dispatcher is idle."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import orjson
import pytest

from pipework.clock import ManualClock
from pipework.engine.dispatcher import GC_THRESHOLD, Dispatcher, Failure, tune_gc
from pipework.jsontypes import JSON
from pipework.store.base import Ack, Batch, CommitResult
from pipework.store.memory import MemoryStore

pytestmark = pytest.mark.anyio
QUEUE = "work"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class CountingStore(MemoryStore):
    """Counts the commits that ack something."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__(clock)
        self.ack_commits = 0

    async def commit(self, batch: Batch) -> CommitResult:
        if any(isinstance(write, Ack) for write in batch.writes):
            self.ack_commits += 1
        return await super().commit(batch)


async def settle(turns: int = 20) -> None:
    for _ in range(turns):
        await asyncio.sleep(0)


def dispatcher(store: MemoryStore, clock: ManualClock, invoke: Any) -> Dispatcher:
    async def dead_letter(payload: JSON, failure: Failure) -> bool:
        return False

    return Dispatcher(
        store,
        clock,
        queue=QUEUE,
        invoke=invoke,
        dead_letter=dead_letter,
        visibility=10.0,
    )


async def fill(store: MemoryStore, count: int) -> None:
    batch = store.batch()
    for n in range(count):
        batch.enqueue(QUEUE, f"i{n}", orjson.dumps({"n": n}))
    await store.commit(batch)


async def test_acks_of_deliveries_that_end_together_share_one_commit() -> None:
    clock = ManualClock()
    store = CountingStore(clock)
    await fill(store, 50)
    delivered: list[int] = []

    async def invoke(payload: JSON) -> None:
        await asyncio.sleep(0)
        delivered.append(payload["n"])

    d = dispatcher(store, clock, invoke)
    await d.drain()
    assert sorted(delivered) == list(range(50))
    assert (await store.counts(QUEUE)).visible == 0 and (await store.counts(QUEUE)).in_flight == 0
    assert store.ack_commits == 1
    assert d.metrics["Invocations"] == 50 and d.metrics["DuplicateRisk"] == 0


async def test_a_stale_lease_in_an_ack_batch_only_costs_its_own_item() -> None:
    clock = ManualClock()
    store = CountingStore(clock)
    await fill(store, 10)
    stolen: list[Any] = []

    async def invoke(payload: JSON) -> None:
        if payload["n"] == 0:
            # Every lease expires and another consumer takes one item: that delivery's ack will be stale.
            clock.advance(11)
            stolen.extend(await store.lease(QUEUE, max_items=1, visibility_timeout=60))
        await asyncio.sleep(0)

    d = dispatcher(store, clock, invoke)
    await d.drain()
    assert len(stolen) == 1
    assert d.metrics["Invocations"] == 10 and d.metrics["DuplicateRisk"] == 1
    # Only the stolen item is left, in flight for its new holder: the others were acked despite the stale one.
    remaining = await store.peek(QUEUE)
    assert [item.id for item in remaining] == [stolen[0].id]


async def test_one_renewer_keeps_the_leases_of_long_deliveries_and_stops_when_idle() -> None:
    clock = ManualClock()
    store = CountingStore(clock)
    await fill(store, 3)
    release = asyncio.Event()

    async def invoke(payload: JSON) -> None:
        await release.wait()

    d = dispatcher(store, clock, invoke)
    assert await d.run_once() == 3
    for _ in range(20):  # 50 s: five times the visibility timeout
        clock.advance(2.5)
        await settle()
    assert await store.lease(QUEUE, max_items=3, visibility_timeout=1) == []  # still leased by the dispatcher
    release.set()
    await d.drain()
    assert d.metrics["Invocations"] == 3 and d.metrics["DuplicateRisk"] == 0
    assert await store.peek(QUEUE) == []
    assert d._renewer is None  # no timer left while nothing is in flight


def test_tune_gc_raises_only_the_interpreter_default_threshold() -> None:
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        tune_gc()
        assert gc.get_threshold() == (GC_THRESHOLD, 10, 10)
        gc.set_threshold(2000, 5, 5)  # an application's own choice is kept
        tune_gc()
        assert gc.get_threshold() == (2000, 5, 5)
    finally:
        gc.set_threshold(*before)
