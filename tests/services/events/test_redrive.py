"""Redriving an events target's dead letters: two redrives that overlap send each dead letter back once."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from pipework.app import Pipework, Settings
from pipework.clock import ManualClock
from pipework.services.base import RequestContext
from pipework.services.events import model

pytestmark = pytest.mark.anyio


async def test_overlapping_redrives_send_each_dead_letter_back_once(tmp_path: Path):
    pipework = await Pipework.open(Settings(data_dir=tmp_path), clock=ManualClock(start=1_800_000_000.0))
    try:
        runtime = pipework.events

        async def call(operation: str, **params: Any) -> dict[str, Any]:
            ctx = RequestContext("events", operation, "us-east-1", "000000000000", "req")
            return await runtime.handle(operation, params, ctx)

        await call("PutRule", Name="r", EventPattern=json.dumps({"source": ["s"]}))
        missing = (
            "arn:aws:lambda:us-east-1:000000000000:function:missing"  # not retried: dead-lettered at once
        )
        await call("PutTargets", Rule="r", Targets=[{"Id": "t", "Arn": missing}])
        entries = [{"Source": "s", "DetailType": "t", "Detail": json.dumps({"n": n})} for n in range(3)]
        await call("PutEvents", Entries=entries)
        await runtime.dispatcher.drain()
        assert len(await runtime.dead_letters()) == 3
        await runtime.dispatcher.stop()  # keep the redriven deliveries in the queue, to count them
        counts = await asyncio.gather(runtime.redrive(), runtime.redrive())
        assert sorted(counts) == [0, 3]
        assert (await pipework.store.counts(model.DELIVERIES)).visible == 3
    finally:
        await pipework.close()


async def test_a_filtered_redrive_considers_every_dead_letter_not_only_the_first_thousand():
    pipework = await Pipework.open(Settings(memory=True), clock=ManualClock(start=1_800_000_000.0))
    try:
        runtime = pipework.events

        async def call(operation: str, **params: Any) -> dict[str, Any]:
            ctx = RequestContext("events", operation, "us-east-1", "000000000000", "req")
            return await runtime.handle(operation, params, ctx)

        await call("PutRule", Name="r", EventPattern=json.dumps({"source": ["s"]}))
        missing = "arn:aws:lambda:us-east-1:000000000000:function:missing"  # dead-lettered at once
        await call("PutTargets", Rule="r", Targets=[{"Id": "t", "Arn": missing}])
        for first in range(0, 1001, 10):
            entries = [
                {"Source": "s", "DetailType": "t", "Detail": json.dumps({"n": n})}
                for n in range(first, min(first + 10, 1001))
            ]
            await call("PutEvents", Entries=entries)
        await runtime.dispatcher.drain()
        assert len(await runtime.dead_letters(limit=2000)) == 1001
        await runtime.dispatcher.stop()  # keep the redriven deliveries in the queue, to count them
        assert await runtime.redrive(rule="r", target="t") == 1001
        assert (await pipework.store.counts(model.DELIVERIES)).visible == 1001
    finally:
        await pipework.close()
