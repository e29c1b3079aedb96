from __future__ import annotations

import asyncio
import time

import pytest

from pipework.clock import ClockNotSettled, ManualClock, SystemClock

pytestmark = pytest.mark.anyio


async def test_manual_clock_wakes_sleepers_whose_deadline_passed_in_deadline_order() -> None:
    clock = ManualClock(start=100.0)
    woken: list[str] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woken.append(name)

    tasks = [asyncio.create_task(sleeper("late", 10)), asyncio.create_task(sleeper("early", 5))]
    await asyncio.sleep(0)
    assert clock.sleepers == 2
    clock.advance(4.9)
    await asyncio.sleep(0)
    assert woken == []
    clock.advance(5.1)
    await asyncio.gather(*tasks)
    assert woken == ["early", "late"]
    assert clock.now() == 110.0
    assert clock.monotonic() == 10.0


async def test_manual_clock_drops_cancelled_sleepers_and_refuses_going_backwards() -> None:
    clock = ManualClock()
    sleeper = clock.sleep(1)
    sleeper.cancel()
    await asyncio.sleep(0)
    assert clock.sleepers == 0
    clock.advance(2)  # must not fail on the cancelled future
    with pytest.raises(ValueError):
        clock.advance(-1)


async def test_manual_clock_registers_a_sleeper_when_sleep_is_called_not_when_it_is_first_awaited() -> None:
    clock = ManualClock(start=100.0)
    sleeper = clock.sleep(5)  # not awaited yet
    assert clock.sleepers == 1
    clock.advance(5)
    await asyncio.wait_for(sleeper, 1)
    assert clock.sleep_until(100.0).done() is False  # a past deadline still yields once
    await clock.sleep_until(100.0)


async def test_set_moves_the_clock_forward_to_an_epoch_time_and_wakes_sleepers() -> None:
    clock = ManualClock(start=100.0)
    sleeper = clock.sleep_until(150.0)
    clock.set(200.0)
    await asyncio.wait_for(sleeper, 1)
    assert (clock.now(), clock.monotonic()) == (200.0, 100.0)
    with pytest.raises(ValueError):
        clock.set(199.0)


async def test_system_clock_sleep_until_an_absolute_deadline() -> None:
    clock = SystemClock()
    await asyncio.wait_for(clock.sleep_until(clock.now() + 0.001), 1)
    cancelled = clock.sleep_until(clock.now() + 60)
    cancelled.cancel()


async def test_system_clock_sleep_zero_returns_and_time_moves_forward() -> None:
    clock = SystemClock()
    before = clock.monotonic()
    await clock.sleep(0)
    assert clock.monotonic() >= before
    assert clock.now() > 1_600_000_000


async def test_travel_stops_at_each_timer_in_order_including_timers_set_on_the_way() -> None:
    clock = ManualClock(start=0.0)
    clock.ignore(asyncio.all_tasks())  # the test runner's own tasks, as Pipework.start does for the server's
    woke: list[tuple[str, float]] = []

    async def retrying() -> None:
        await clock.sleep(10)
        woke.append(("first", clock.now()))
        await clock.sleep(5)  # set at the first stop: a later stop of the same move
        woke.append(("retry", clock.now()))

    async def rechecking() -> None:
        await clock.sleep_until(3, timer=False)  # a safety net: no stop of its own
        woke.append(("safety net", clock.now()))

    tasks = [asyncio.create_task(retrying()), asyncio.create_task(rechecking())]
    assert await clock.travel_to(100) == 100
    assert woke == [("safety net", 10.0), ("first", 10.0), ("retry", 15.0)]
    await asyncio.gather(*tasks)


async def test_travel_waits_for_work_in_a_thread_before_moving_on() -> None:
    clock = ManualClock(start=0.0)
    clock.ignore(asyncio.all_tasks())  # the test runner's own tasks, as Pipework.start does for the server's
    done: list[float] = []

    async def work() -> None:
        await clock.sleep(1)
        await asyncio.to_thread(time.sleep, 0.05)  # real work off the loop, e.g. a local function
        done.append(clock.now())

    task = asyncio.create_task(work())
    await clock.travel(60)
    assert done == [1.0] and clock.now() == 60
    await task


async def test_travel_gives_up_naming_the_task_that_does_not_settle() -> None:
    clock = ManualClock(start=0.0)
    clock.ignore(asyncio.all_tasks())  # the test runner's own tasks, as Pipework.start does for the server's
    never = asyncio.Event()
    task = asyncio.create_task(never.wait(), name="stuck-on-an-event")
    with pytest.raises(ClockNotSettled) as raised:
        await clock.travel(5, timeout=0.05)
    assert raised.value.busy == ["stuck-on-an-event"] and raised.value.now == 0.0
    task.cancel()
    clock.ignore([task])
    assert await clock.travel(5) == 5.0
