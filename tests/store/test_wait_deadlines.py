"""Store waits keep absolute deadlines: time that passes between the wait's reading of the clock and its sleeper
starting to wait is never added on top (the race that made scheduler tests flaky on a busy machine)."""

from __future__ import annotations

import asyncio

import pytest

from pipework.clock import ManualClock
from pipework.store import Store

pytestmark = pytest.mark.anyio


class AdvanceAfterReading(ManualClock):
    """A ManualClock that, once armed, moves `step` seconds at the loop's next turn after `now()` is next read:
    inside a store wait, that is after the wait judged the state and before (or while) it goes to sleep."""

    def __init__(self) -> None:
        super().__init__(start=1_000_000.0)
        self.step: float | None = None

    def now(self) -> float:
        if self.step is not None:
            asyncio.get_running_loop().call_soon(self.advance, self.step)
            self.step = None
        return super().now()


@pytest.fixture
def clock() -> ManualClock:
    return AdvanceAfterReading()


async def test_wait_for_due_wakes_at_the_due_time_even_if_the_clock_moved_right_after_the_reading(
    store: Store, clock: AdvanceAfterReading
) -> None:
    await store.enqueue("q", "a", b"", due_at=clock.now() + 5)
    clock.step = 5
    assert await asyncio.wait_for(store.wait_for_due("q", timeout=300), 5) is True
    assert [item.id for item in await store.lease("q", visibility_timeout=30)] == ["a"]


async def test_wait_for_due_times_out_at_its_deadline_even_if_the_clock_moved_right_after_the_reading(
    store: Store, clock: AdvanceAfterReading
) -> None:
    clock.step = 20
    assert await asyncio.wait_for(store.wait_for_due("q", timeout=20), 5) is False


async def test_wait_for_log_times_out_at_its_deadline_even_if_the_clock_moved_right_after_the_reading(
    store: Store, clock: AdvanceAfterReading
) -> None:
    clock.step = 10
    assert await asyncio.wait_for(store.wait_for_log("log", after=0, timeout=10), 5) is False
