"""Replays in process, on a store that counts and can hold commits: a CancelReplay that lands while the replayer
writes its progress is kept, and a replay's cost follows the archived events, not the window's length."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

import pytest

from pipework.clock import ManualClock
from pipework.services.base import RequestContext
from pipework.services.events import model
from pipework.services.events.api import EventsService
from pipework.services.events.replay import Replayer
from pipework.store.base import Batch, PutResource
from pipework.store.memory import MemoryStore
from pipework.store.records import CommitResult

pytestmark = pytest.mark.anyio
DAY = 86_400.0


class HoldingStore(MemoryStore):
    """Counts replay-record writes and window reads; holds the first progress write until `release` is set."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__(clock)
        self.replay_writes = 0
        self.window_reads = 0
        self.hold_progress = False
        self.holding = asyncio.Event()
        self.release = asyncio.Event()

    async def commit(self, batch: Batch) -> CommitResult:
        replays = [w for w in batch.writes if isinstance(w, PutResource) and w.kind == model.KIND_REPLAY]
        self.replay_writes += len(replays)
        progress = any("EventLastReplayedTime" in w.body and w.body["State"] == "RUNNING" for w in replays)
        if progress and self.hold_progress:
            self.hold_progress = False
            self.holding.set()
            await self.release.wait()
        return await super().commit(batch)

    async def read_log_window(self, *args: Any, **kwargs: Any) -> Any:
        self.window_reads += 1
        return await super().read_log_window(*args, **kwargs)


class Events:
    def __init__(self) -> None:
        self.clock = ManualClock(start=1_800_000_000.0)
        self.store = HoldingStore(self.clock)
        self.service = EventsService(self.store, self.clock, region="us-east-1", account="000000000000")
        self.replayer = Replayer(self.service, batch_size=2)
        self.bus_arn = ""

    async def call(self, operation: str, **params: Any) -> dict[str, Any]:
        ctx = RequestContext("events", operation, "us-east-1", "000000000000", "req")
        return await self.service.handle(operation, params, ctx)

    async def archive_events(self, times: list[float]) -> str:
        """An archive of the default bus holding one event at each of `times`; a rule on the bus to replay to."""
        archive = await self.call("CreateArchive", ArchiveName="all", EventSourceArn=self.bus_arn)
        for n, when in enumerate(times):
            entry = {"Source": "s", "DetailType": "t", "Detail": json.dumps({"n": n}), "Time": when}
            await self.call("PutEvents", Entries=[entry])
        await self.call("PutRule", Name="r", EventPattern=json.dumps({"source": ["s"]}))
        arn = "arn:aws:lambda:us-east-1:000000000000:function:f"
        await self.call("PutTargets", Rule="r", Targets=[{"Id": "1", "Arn": arn}])
        return str(archive["ArchiveArn"])

    async def replayed(self) -> list[int]:
        """The `n` of every replayed event waiting for delivery."""
        items = await self.store.peek(model.DELIVERIES, limit=1000)
        payloads = [json.loads(item.payload) for item in items]
        return sorted(p["event"]["detail"]["n"] for p in payloads if "replay" in p)


@pytest.fixture
async def events():
    e = Events()
    await e.service.start()
    await e.replayer.start()
    e.bus_arn = e.service.regional("000000000000", "us-east-1").buses["default"].arn
    yield e
    await e.replayer.stop()


async def test_cancel_replay_while_the_replayer_writes_progress_is_kept(events: Events):
    t0 = events.clock.now()
    archive = await events.archive_events([t0 + i for i in range(6)])
    events.store.hold_progress = True
    await events.call(
        "StartReplay",
        ReplayName="again",
        EventSourceArn=archive,
        EventStartTime=t0,
        EventEndTime=t0 + 60,
        Destination={"Arn": events.bus_arn},
    )
    await events.store.holding.wait()  # the first batch's progress write is in flight
    cancel = asyncio.create_task(events.call("CancelReplay", ReplayName="again"))
    await asyncio.sleep(0)  # the cancel reads the replay while that write is held
    events.store.release.set()
    assert (await cancel)["State"] == "CANCELLING"
    await events.replayer.wait("again")
    described = await events.call("DescribeReplay", ReplayName="again")
    assert described["State"] == "CANCELLED"
    assert "ReplayEndTime" in described
    assert await events.replayed() == [0, 1]  # the batch committed before the cancel, nothing after it


async def test_cancel_replay_before_it_runs_sends_nothing(events: Events):
    t0 = events.clock.now()
    archive = await events.archive_events([t0])
    await events.replayer.stop()  # no replayer running: the replay stays STARTING
    events.service.on_replay_started = None
    await events.call(
        "StartReplay",
        ReplayName="again",
        EventSourceArn=archive,
        EventStartTime=t0,
        EventEndTime=t0 + 60,
        Destination={"Arn": events.bus_arn},
    )
    await events.call("CancelReplay", ReplayName="again")
    replayer = Replayer(events.service)
    await replayer.start()
    await replayer.wait("again")
    assert (await events.call("DescribeReplay", ReplayName="again"))["State"] == "CANCELLED"
    assert await events.replayed() == []


async def test_a_thirty_day_replay_of_a_near_empty_archive_reads_and_writes_per_batch_of_events(
    events: Events,
):
    t0 = events.clock.now()
    times = [t0 + 3 * DAY, t0 + 3 * DAY + 1, t0 + 17 * DAY, t0 + 29 * DAY + 5]
    archive = await events.archive_events(times)
    events.clock.advance(31 * DAY)
    writes_before = events.store.replay_writes
    await events.call(
        "StartReplay",
        ReplayName="month",
        EventSourceArn=archive,
        EventStartTime=t0,
        EventEndTime=t0 + 30 * DAY,
        Destination={"Arn": events.bus_arn},
    )
    await events.replayer.wait("month")
    described = await events.call("DescribeReplay", ReplayName="month")
    assert described["State"] == "COMPLETED"
    assert await events.replayed() == [0, 1, 2, 3]
    # 4 events in batches of 2: the start, RUNNING, two batches, COMPLETED; reads: two batches and the empty end
    assert events.store.replay_writes - writes_before == 5
    assert events.store.window_reads == 3


async def test_replay_sends_oldest_event_time_first_and_resumes_after_the_last_replayed_event(events: Events):
    t0 = events.clock.now()
    archive = await events.archive_events([t0 + 50, t0 + 10, t0 + 30, t0 + 10])
    await events.call(
        "StartReplay",
        ReplayName="again",
        EventSourceArn=archive,
        EventStartTime=t0,
        EventEndTime=t0 + 60,
        Destination={"Arn": events.bus_arn},
    )
    await events.replayer.wait("again")
    items = await events.store.peek(model.DELIVERIES, limit=1000)
    order = [json.loads(i.payload)["event"]["detail"]["n"] for i in items if b'"replay"' in i.payload]
    assert order == [1, 3, 2, 0]
    # a replay interrupted after its first batch resumes after the last event it replayed
    await events.store.purge(model.DELIVERIES)
    here = events.service.regional("000000000000", "us-east-1")
    record = replace(here.replays["again"], state="RUNNING", ended=None, last_replayed=t0 + 10, position=4)
    await events.service.save_replay(here, record)
    replayer = Replayer(events.service)
    await replayer.start()
    await replayer.wait("again")
    assert await events.replayed() == [0, 2]
