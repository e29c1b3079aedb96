"""`run_forever`, the background loop of dispatchers, the ticker, pipe pollers and sweepers, on a ManualClock."""

from __future__ import annotations

import asyncio

import pytest

from pipework.clock import ManualClock
from pipework.engine.loops import STOP, run_forever

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_run_forever_survives_a_failing_step_and_ends_on_stop() -> None:
    clock = ManualClock()
    steps: list[int] = []

    async def step() -> object:
        steps.append(len(steps))
        if len(steps) == 1:
            raise RuntimeError("store hiccup")
        return STOP if len(steps) == 3 else None

    loop = asyncio.ensure_future(run_forever("test", step, clock=clock, pause=0.5))
    for _ in range(20):
        await asyncio.sleep(0)
    assert steps == [0] and not loop.done()  # pausing after the failure, on the clock
    clock.advance(0.5)
    await loop
    assert steps == [0, 1, 2]
