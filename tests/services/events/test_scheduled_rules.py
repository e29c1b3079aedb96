"""Scheduled rules against changes racing the ticker (it leases ticks outside the definitions' lock) and against
rules stored before scheduled rules fired: a stale tick fires nothing, a rule without a tick gets one at start."""

from __future__ import annotations

import logging
from typing import Any

import orjson
import pytest

from pipework.clock import ManualClock
from pipework.services.base import RequestContext
from pipework.services.events import model
from pipework.services.events.api import EventsService
from pipework.services.events.schedules import ScheduledRules
from pipework.store.memory import MemoryStore

pytestmark = pytest.mark.anyio
START = 1_800_000_000.0  # 2027-01-15T08:00:00Z
QUEUE = "arn:aws:sqs:us-east-1:000000000000:ticks"


async def call(events: EventsService, operation: str, **params: Any) -> dict[str, Any]:
    ctx = RequestContext("events", operation, "us-east-1", "000000000000", "req")
    return await events.handle(operation, params, ctx)


async def started(store: MemoryStore, clock: ManualClock) -> EventsService:
    events = EventsService(store, clock, region="us-east-1", account="000000000000")
    await events.start()
    return events


async def deliveries(store: MemoryStore) -> list[Any]:
    return [orjson.loads(i.payload) for i in await store.peek(model.DELIVERIES, limit=100)]


async def scheduled(events: EventsService, name: str, expression: str = "rate(1 minute)") -> None:
    await call(events, "PutRule", Name=name, ScheduleExpression=expression)
    await call(events, "PutTargets", Rule=name, Targets=[{"Id": "q", "Arn": QUEUE}])


@pytest.mark.parametrize(
    "change",
    [
        {"operation": "DisableRule", "Name": "a"},
        {"operation": "PutRule", "Name": "a", "ScheduleExpression": "rate(1 hour)"},
        {"operation": "PutRule", "Name": "a", "EventPattern": '{"source": ["x"]}'},
    ],
    ids=["disabled", "rescheduled", "schedule-removed"],
)
async def test_a_tick_leased_before_its_rule_changed_fires_nothing_and_the_others_fire(
    change: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock(start=START)
    store = MemoryStore(clock)
    events = await started(store, clock)
    await scheduled(events, "a")
    await scheduled(events, "b")
    clock.advance(60)
    leased = await store.lease(model.RULE_TICKS, max_items=10, visibility_timeout=30)
    assert len(leased) == 2
    params = dict(change)
    await call(events, params.pop("operation"), **params)  # while the ticker holds both ticks leased

    await ScheduledRules(events).fire(leased)
    assert [d["rule"] for d in await deliveries(store)] == ["b"]
    assert [
        r.message for r in caplog.records if r.levelno >= logging.ERROR
    ] == []  # recognised, not a failed commit
    ticks = await store.peek(model.RULE_TICKS, limit=10)
    expected = 1 if change["operation"] == "DisableRule" or "EventPattern" in change else 2
    assert len(ticks) == expected  # b's tick moved on; a's is the new one, if it still has a schedule


async def test_a_scheduled_rule_stored_without_a_tick_starts_its_schedule_at_start() -> None:
    clock = ManualClock(start=START)
    store = MemoryStore(clock)
    rule = {
        "Name": "legacy",
        "Arn": "arn:aws:events:us-east-1:000000000000:rule/legacy",
        "EventBusName": "default",
        "State": "ENABLED",
        "ScheduleExpression": "rate(5 minutes)",
        "Targets": [{"Id": "q", "Arn": QUEUE}],
        "Tags": {},
    }
    await store.put_resource(model.KIND_RULE, model.rule_key("default", "legacy"), rule)
    events = await started(store, clock)
    [tick] = await store.peek(model.RULE_TICKS, limit=10)
    assert tick.attributes["at"] == START + 300
    again = await started(store, clock)  # a second start finds the tick and adds none
    assert len(await store.peek(model.RULE_TICKS, limit=10)) == 1
    assert again.rule_ticks.current == events.rule_ticks.current
