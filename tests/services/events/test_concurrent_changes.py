"""Changes to one definition that overlap (each awaiting the store) all take effect: none writes a stale copy over
another's change. The store here yields on every commit, as SQLite's writer thread does."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from pipework.clock import ManualClock
from pipework.services.base import RequestContext
from pipework.services.events.api import EventsService
from pipework.store.base import Batch
from pipework.store.memory import MemoryStore
from pipework.store.records import CommitResult

pytestmark = pytest.mark.anyio
FN = "arn:aws:lambda:us-east-1:000000000000:function:f"


class YieldingStore(MemoryStore):
    async def commit(self, batch: Batch) -> CommitResult:
        await asyncio.sleep(0)
        return await super().commit(batch)


@pytest.fixture
async def events() -> EventsService:
    clock = ManualClock(start=1_800_000_000.0)
    service = EventsService(YieldingStore(clock), clock, region="us-east-1", account="000000000000")
    await service.start()
    return service


async def call(events: EventsService, operation: str, **params: Any) -> dict[str, Any]:
    ctx = RequestContext("events", operation, "us-east-1", "000000000000", "req")
    return await events.handle(operation, params, ctx)


async def test_overlapping_put_targets_on_one_rule_keep_every_target(events: EventsService):
    await call(events, "PutRule", Name="r", EventPattern=json.dumps({"source": ["s"]}))
    await asyncio.gather(
        *(call(events, "PutTargets", Rule="r", Targets=[{"Id": str(n), "Arn": FN}]) for n in range(5))
    )
    listed = await call(events, "ListTargetsByRule", Rule="r")
    assert sorted(t["Id"] for t in listed["Targets"]) == ["0", "1", "2", "3", "4"]
    again = EventsService(events.store, events.clock, region="us-east-1", account="000000000000")
    await again.start()
    assert len(again.regional("000000000000", "us-east-1").rules[("default", "r")].targets) == 5


async def test_a_tag_and_a_disable_that_overlap_both_stay(events: EventsService):
    arn = (await call(events, "PutRule", Name="r", EventPattern=json.dumps({"source": ["s"]})))["RuleArn"]
    await asyncio.gather(
        call(events, "TagResource", ResourceARN=arn, Tags=[{"Key": "k", "Value": "v"}]),
        call(events, "DisableRule", Name="r"),
    )
    assert (await call(events, "DescribeRule", Name="r"))["State"] == "DISABLED"
    assert (await call(events, "ListTagsForResource", ResourceARN=arn))["Tags"] == [
        {"Key": "k", "Value": "v"}
    ]
