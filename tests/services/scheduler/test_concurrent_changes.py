"""Changes racing the ticker: a schedule updated or deleted while the ticker holds its tick leased must not delay
the other schedules leased in the same batch (the ticker leases outside the service lock; the change removes the
leased tick before `fire` takes the lock)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from pipework.clock import ManualClock
from pipework.services.base import RequestContext, ServiceError
from pipework.services.scheduler import model
from pipework.services.scheduler.api import SchedulerService
from pipework.store import open_store
from pipework.store.memory import MemoryStore

pytestmark = pytest.mark.anyio
START = 1_800_000_000.0  # 2027-01-15T08:00:00Z
FN = "arn:aws:lambda:us-east-1:000000000000:function:record"
ROLE = "arn:aws:iam::000000000000:role/r"
CTX = RequestContext("scheduler", "-", "us-east-1", "000000000000", "request")
HERE = "000000000000/us-east-1/"  # the keys of this account and region


def params(name: str, text: str = "a") -> dict[str, Any]:
    return {
        "Name": name,
        "ScheduleExpression": "rate(1 minute)",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "Target": {"Arn": FN, "RoleArn": ROLE, "Input": f'{{"text": "{text}"}}'},
    }


async def service_with(names: list[str]) -> tuple[SchedulerService, MemoryStore, ManualClock]:
    clock = ManualClock(start=START)
    store = MemoryStore(clock)
    service = SchedulerService(store, clock, region="us-east-1", account="000000000000")
    await service.start()
    for name in names:
        await service.op_CreateSchedule(params(name), CTX)
    return service, store, clock


async def enqueued_for(store: MemoryStore) -> list[str]:
    items = await store.peek(model.INVOCATIONS, limit=1000)
    return sorted(orjson.loads(item.payload)["schedule"] for item in items)


@pytest.mark.parametrize("change", ["update", "delete"])
async def test_a_change_to_a_leased_tick_does_not_hold_back_the_rest_of_the_batch(change: str) -> None:
    names = [f"s{i}" for i in range(5)]
    service, store, _ = await service_with(names)
    # The ticker leases every due tick (rate schedules are due at once) ...
    leased = await store.lease(model.TICKS, max_items=100, visibility_timeout=30.0)
    assert len(leased) == 5
    # ... and before it fires them, one schedule changes (its leased tick is replaced or removed).
    if change == "update":
        await service.op_UpdateSchedule(params("s2", text="b"), CTX)
    else:
        await service.op_DeleteSchedule({"Name": "s2"}, CTX)
    await service.fire(leased)
    # The other four fire now, not after the lease expires.
    assert await enqueued_for(store) == [
        HERE + "default/s0",
        HERE + "default/s1",
        HERE + "default/s3",
        HERE + "default/s4",
    ]
    assert service.metrics["InvocationsEnqueued"] == 4
    # Their ticks moved on to the next occurrence (no longer leased); the changed schedule has its own tick.
    ticks = {item.id: item for item in await store.peek(model.TICKS, limit=100)}
    for name in ("s0", "s1", "s3", "s4"):
        tick = ticks[model.tick_id(f"{HERE}default/{name}", 1)]
        assert tick.attributes["at"] == START + 60
        assert tick.due_at == START + 60 - model.FIRE_AHEAD
    expected_s2 = {model.tick_id(HERE + "default/s2", 2)} if change == "update" else set()
    assert {t for t in ticks if t.startswith(HERE + "default/s2")} == expected_s2
    # The next lease (no clock change) takes only the new tick of the updated schedule, never a stale one.
    again = await store.lease(model.TICKS, max_items=100, visibility_timeout=30.0)
    assert {item.id for item in again} == expected_s2


async def test_a_tick_whose_writes_fail_does_not_hold_back_the_others() -> None:
    """Whatever makes one tick's writes fail (here: it vanished from the queue), the others still fire."""
    service, store, _ = await service_with(["s0", "s1", "s2"])
    leased = await store.lease(model.TICKS, max_items=100, visibility_timeout=30.0)
    s1 = next(item for item in leased if item.id == model.tick_id(HERE + "default/s1", 1))
    assert s1.lease_token is not None
    await store.ack(model.TICKS, s1.id, s1.lease_token)
    await service.fire(leased)
    assert await enqueued_for(store) == [HERE + "default/s0", HERE + "default/s2"]
    assert service.metrics["InvocationsEnqueued"] == 2


# ── concurrent requests on the durable store (its commits yield to the event loop) ──


@pytest.fixture
async def durable(tmp_path: Path) -> AsyncIterator[SchedulerService]:
    clock = ManualClock(start=START)
    store = await open_store(str(tmp_path), clock)
    service = SchedulerService(store, clock, region="us-east-1", account="000000000000")
    await service.start()
    yield service
    await store.close()


async def test_concurrent_tag_requests_keep_every_tag(durable: SchedulerService) -> None:
    arn = (await durable.op_CreateScheduleGroup({"Name": "g"}, CTX))["ScheduleGroupArn"]
    await asyncio.gather(
        durable.op_TagResource({"ResourceArn": arn, "Tags": [{"Key": "a", "Value": "1"}]}, CTX),
        durable.op_TagResource({"ResourceArn": arn, "Tags": [{"Key": "b", "Value": "2"}]}, CTX),
        durable.op_UntagResource({"ResourceArn": arn, "TagKeys": ["a"]}, CTX),
    )
    assert durable.groups[HERE + "g"].tags == {"b": "2"}
    stored = await durable.store.get_resource(model.KIND_GROUP, HERE + "g")
    assert stored is not None and stored.body["Tags"] == {"b": "2"}


async def test_tagging_a_group_while_it_is_deleted_does_not_bring_it_back(durable: SchedulerService) -> None:
    arn = (await durable.op_CreateScheduleGroup({"Name": "g"}, CTX))["ScheduleGroupArn"]
    deleted, tagged = await asyncio.gather(
        durable.op_DeleteScheduleGroup({"Name": "g"}, CTX),
        durable.op_TagResource({"ResourceArn": arn, "Tags": [{"Key": "a", "Value": "1"}]}, CTX),
        return_exceptions=True,
    )
    assert deleted == {}
    assert isinstance(tagged, ServiceError) and tagged.code == "ResourceNotFoundException"
    assert HERE + "g" not in durable.groups
    assert await durable.store.get_resource(model.KIND_GROUP, HERE + "g") is None


async def test_a_schedule_created_while_its_group_is_deleted_is_refused(durable: SchedulerService) -> None:
    await durable.op_CreateScheduleGroup({"Name": "g"}, CTX)
    deleted, created = await asyncio.gather(
        durable.op_DeleteScheduleGroup({"Name": "g"}, CTX),
        durable.op_CreateSchedule({**params("s"), "GroupName": "g"}, CTX),
        return_exceptions=True,
    )
    assert deleted == {}
    assert isinstance(created, ServiceError) and created.code == "ResourceNotFoundException"
    assert not [key for key in durable.schedules if key.startswith("g/")]
    assert (await durable.store.list_resources(model.KIND_SCHEDULE, prefix=HERE + "g/")).items == []


async def test_creating_a_group_twice_at_once_conflicts(durable: SchedulerService) -> None:
    results = await asyncio.gather(
        durable.op_CreateScheduleGroup({"Name": "g", "Tags": [{"Key": "first", "Value": "1"}]}, CTX),
        durable.op_CreateScheduleGroup({"Name": "g", "Tags": [{"Key": "second", "Value": "2"}]}, CTX),
        return_exceptions=True,
    )
    conflicts = [r for r in results if isinstance(r, ServiceError) and r.code == "ConflictException"]
    assert len(conflicts) == 1
    assert durable.groups[HERE + "g"].tags == {"first": "1"}
