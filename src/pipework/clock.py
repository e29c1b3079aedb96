"""The injectable clock: wall time, monotonic time and sleeping, behind one small protocol.

Everything time-based in Pipework (visibility timeouts, retries, schedules, retention) reads time from a `Clock`,
so tests drive it with `ManualClock` and never sleep for real.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Protocol


class Clock(Protocol):
    """A source of time. `now()` is epoch seconds; `monotonic()` never goes backwards."""

    def now(self) -> float:
        """Wall-clock time in epoch seconds."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin; never decreases. Use it for durations and deadlines."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Suspend the calling task for `seconds` of this clock's time (returns at once for seconds <= 0)."""
        ...


class SystemClock:
    """The real clock: `time.time()`, `time.monotonic()` and `asyncio.sleep`."""

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ManualClock:
    """A clock that only moves when a test calls `advance`; sleepers wake when their deadline has passed.

    Parameters:
        start: the initial `now()` in epoch seconds (monotonic time starts at 0 and moves in step).
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._monotonic = 0.0
        # (deadline in monotonic time, tie-breaker, future): the tie-breaker keeps wake order = sleep order.
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._counter = itertools.count()

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            # Still yield once, like asyncio.sleep(0), so loops that sleep(0) do not starve the loop.
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._monotonic + seconds, next(self._counter), future))
        await future

    def advance(self, seconds: float) -> None:
        """Move time forward by `seconds` and wake every sleeper whose deadline is now reached.

        Woken tasks run at the event loop's next turn: `await asyncio.sleep(0)` (or `settle()`) lets them.
        """
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        self._now += seconds
        self._monotonic += seconds
        while self._sleepers and self._sleepers[0][0] <= self._monotonic:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():  # a cancelled sleeper is simply dropped
                future.set_result(None)

    @property
    def sleepers(self) -> int:
        """How many tasks are currently sleeping on this clock (cancelled ones excluded)."""
        return sum(1 for _, _, future in self._sleepers if not future.done())
