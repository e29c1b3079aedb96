"""Firing ahead: a tick turns into an invocation FIRE_AHEAD seconds before its occurrence, and the invocation runs
at the occurrence, never before. A change inside that window withdraws the early invocation, so the occurrence
fires once, as the schedule stands at its time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from pipework.app import Pipework, Settings
from pipework.clock import ManualClock
from pipework.services.base import RequestContext
from pipework.services.scheduler import model

pytestmark = pytest.mark.anyio
START = 1_800_000_000.0  # 2027-01-15T08:00:00Z
AT = "at(2027-01-15T08:01:00)"  # START + 60
FN = "arn:aws:lambda:us-east-1:000000000000:function:record"
ROLE = "arn:aws:iam::000000000000:role/r"


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


class Instance:
    def __init__(self, clock: ManualClock, calls: list[Any], pipework: Pipework) -> None:
        self.clock = clock
        self.calls = calls
        self.pipework = pipework

    @classmethod
    async def open(cls, data: Path) -> Instance:
        clock = ManualClock(start=START)
        calls: list[Any] = []
        functions = {"record": lambda event, context: calls.append(event)}
        pipework = await Pipework.open(Settings(data_dir=data), clock=clock, functions=functions)
        return cls(clock, calls, pipework)

    async def call(self, operation: str, **params: Any) -> dict[str, Any]:
        ctx = RequestContext("scheduler", operation, "us-east-1", "000000000000", "req")
        return await self.pipework.scheduler.handle(operation, params, ctx)

    def enqueued(self) -> int:
        return self.pipework.scheduler.metrics().get("InvocationsEnqueued", 0)

    async def create(self, text: str) -> None:
        target = {"Arn": FN, "RoleArn": ROLE, "Input": f'{{"text": "{text}"}}'}
        await self.call(
            "CreateSchedule",
            Name="once",
            ScheduleExpression=AT,
            FlexibleTimeWindow={"Mode": "OFF"},
            Target=target,
        )

    async def to_window(self) -> None:
        """Move to inside the fire-ahead window: the invocation is enqueued, not yet due."""
        await asyncio.sleep(0.3)  # let the ticker settle into its wait for the new tick before time moves
        self.clock.advance(60 - model.FIRE_AHEAD + 1)
        await until(lambda: self.enqueued() == 1)
        await asyncio.sleep(0.2)
        assert self.calls == []  # never before the occurrence


@pytest.fixture
async def instance(tmp_path: Path) -> AsyncIterator[Instance]:
    created = await Instance.open(tmp_path)
    yield created
    await created.pipework.close()


async def test_the_invocation_is_enqueued_ahead_and_runs_at_the_occurrence(instance: Instance) -> None:
    await instance.create("a")
    await instance.to_window()
    instance.clock.advance(model.FIRE_AHEAD)
    await until(lambda: len(instance.calls) == 1)
    assert instance.calls == [{"text": "a"}]


async def test_an_update_inside_the_window_fires_the_occurrence_once_as_updated(instance: Instance) -> None:
    await instance.create("a")
    await instance.to_window()
    target = {"Arn": FN, "RoleArn": ROLE, "Input": '{"text": "b"}'}
    await instance.call(
        "UpdateSchedule",
        Name="once",
        ScheduleExpression=AT,
        FlexibleTimeWindow={"Mode": "OFF"},
        Target=target,
    )
    instance.clock.advance(model.FIRE_AHEAD)
    await until(lambda: len(instance.calls) >= 1)
    await asyncio.sleep(0.3)
    assert instance.calls == [{"text": "b"}]


async def test_a_deletion_inside_the_window_withdraws_the_invocation(instance: Instance) -> None:
    await instance.create("a")
    await instance.to_window()
    await instance.call("DeleteSchedule", Name="once")
    instance.clock.advance(model.FIRE_AHEAD)
    await asyncio.sleep(0.5)
    assert instance.calls == []
    assert (await instance.pipework.store.counts(model.INVOCATIONS)).visible == 0
