"""Restart catch-up on the durable (SQLite) store: after downtime, a missed occurrence still inside its retry age
fires once, older ones are counted as missed and never fired in a burst; ticks and definitions survive."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipework.app import Pipework, Settings
from pipework.clock import ManualClock
from pipework.services.base import RequestContext

pytestmark = pytest.mark.anyio
START = 1_800_000_000.0  # 2027-01-15T08:00:00Z
FN = "arn:aws:lambda:us-east-1:000000000000:function:record"
ROLE = "arn:aws:iam::000000000000:role/r"


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


class Instance:
    def __init__(self, pipework: Pipework) -> None:
        self.pipework = pipework

    @classmethod
    async def open(cls, data: Path, clock: ManualClock, calls: list[Any]) -> Instance:
        functions = {"record": lambda event, context: calls.append(event)}
        return cls(await Pipework.open(Settings(data_dir=data), clock=clock, functions=functions))

    async def call(self, operation: str, **params: Any) -> dict[str, Any]:
        ctx = RequestContext("scheduler", operation, "us-east-1", "000000000000", "req")
        return await self.pipework.scheduler.handle(operation, params, ctx)

    def metrics(self) -> dict[str, int]:
        return self.pipework.scheduler.metrics()


async def test_restart_fires_the_latest_missed_occurrence_once_and_counts_the_rest(tmp_path: Path) -> None:
    clock = ManualClock(start=START)
    calls: list[Any] = []
    first = await Instance.open(tmp_path, clock, calls)
    target = {
        "Arn": FN,
        "RoleArn": ROLE,
        "Input": '{"name": "minutely", "at": "<aws.scheduler.scheduled-time>"}',
        "RetryPolicy": {"MaximumEventAgeInSeconds": 600, "MaximumRetryAttempts": 3},
    }
    await first.call(
        "CreateSchedule",
        Name="minutely",
        ScheduleExpression="rate(1 minute)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target=target,
    )
    late = {**target, "Input": '{"name": "one-time"}'}
    await first.call(
        "CreateSchedule",
        Name="one-time",
        ScheduleExpression="at(2027-01-15T08:05:00)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target=late,
    )
    await until(lambda: len(calls) == 1)  # a rate schedule starts at once
    await first.pipework.close()

    clock.advance(30 * 60 + 30)  # down for half an hour: 30 minutely occurrences and the at() are missed
    calls.clear()
    second = await Instance.open(tmp_path, clock, calls)
    try:
        await until(lambda: len(calls) == 1)
        await asyncio.sleep(0.1)
        assert calls == [{"name": "minutely", "at": "2027-01-15T08:30:00Z"}]
        assert second.metrics()["MissedInvocations"] == 30  # 29 minutely + the at() older than its age
        clock.advance(30)
        await until(lambda: len(calls) == 2)
        assert calls[1]["at"] == "2027-01-15T08:31:00Z"
        names = [s["Name"] for s in (await second.call("ListSchedules"))["Schedules"]]
        assert names == ["minutely", "one-time"]
    finally:
        await second.pipework.close()
