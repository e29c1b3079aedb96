"""The injectable clock: wall time, monotonic time and sleeping until absolute deadlines, behind one protocol.

Everything time-based in Pipework (visibility timeouts, retries, schedules, retention) reads time from a `Clock`,
so tests drive it with `ManualClock` and never sleep for real. `ManualClock.travel_to` moves time the way a user
of ``pipework serve --manual-clock`` expects: timer by timer, letting the work each timer starts settle.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
import weakref
from collections.abc import Iterable
from typing import Protocol

#: Longest real time `ManualClock.travel_to` waits, in all, for background work to settle.
SETTLE_TIMEOUT = 10.0


class Clock(Protocol):
    """A source of time. `now()` is epoch seconds; `monotonic()` never goes backwards.

    Sleeps are futures registered when called, not when first awaited: a deadline computed from a reading of
    `now()` is never pushed back by time that passed before the sleeper started waiting.
    """

    def now(self) -> float:
        """Wall-clock time in epoch seconds."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin; never decreases. Use it for durations."""
        ...

    def sleep(self, seconds: float) -> asyncio.Future[None]:
        """A future resolved `seconds` of this clock's time from now (at the loop's next turn for seconds <= 0)."""
        ...

    def sleep_until(self, deadline: float, *, timer: bool = True) -> asyncio.Future[None]:
        """A future resolved once `now()` reaches `deadline` (epoch seconds; at the next turn if already past).

        `timer=False` marks a safety net rather than a timer (a wait that only bounds how long a loop goes
        without re-checking): `ManualClock.travel_to` does not stop time at it, it wakes at the first stop at or
        past its deadline. Cancel the future to stop waiting.
        """
        ...


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _soon(loop: asyncio.AbstractEventLoop) -> asyncio.Future[None]:
    """A future resolved at the loop's next turn: awaiting it yields once, like ``asyncio.sleep(0)``."""
    future = loop.create_future()
    loop.call_soon(_resolve, future)
    return future


class SystemClock:
    """The real clock: `time.time()`, `time.monotonic()` and the event loop's timers."""

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        if seconds <= 0:
            return _soon(loop)
        future = loop.create_future()
        handle = loop.call_later(seconds, _resolve, future)
        future.add_done_callback(lambda _: handle.cancel())
        return future

    def sleep_until(self, deadline: float, *, timer: bool = True) -> asyncio.Future[None]:
        return self.sleep(deadline - time.time())


class ClockNotSettled(TimeoutError):
    """`ManualClock.travel_to` gave up waiting for background work to settle; `now` is where the clock stopped."""

    def __init__(self, now: float, busy: list[str], timeout: float = SETTLE_TIMEOUT) -> None:
        super().__init__(
            f"Background work did not settle within {timeout:g} s at clock time {now}; "
            f"still busy: {', '.join(busy) or 'unknown'}"
        )
        self.now = now
        self.busy = busy


class ManualClock:
    """A clock that only moves when told; sleepers wake when their deadline has passed.

    `advance` and `set` move time at once (tests then let woken tasks run); `travel_to` moves it timer by timer
    and waits, after each stop, until background work has settled (see `busy_tasks`).

    Parameters:
        start: the initial `now()` in epoch seconds (monotonic time starts at 0 and moves in step).
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._origin = start
        # (deadline, tie-breaker, future, timer): the tie-breaker keeps wake order = sleep order.
        self._sleepers: list[tuple[float, int, asyncio.Future[None], bool]] = []
        self._counter = itertools.count()
        # The deadline of every pending sleeper's future: a task awaiting one of these is parked on the clock.
        self._deadlines: dict[asyncio.Future[None], float] = {}
        # Tasks that are not background work (the server's own loops, streaming responses): never waited for.
        self._ignored: weakref.WeakSet[asyncio.Task[object]] = weakref.WeakSet()
        self._lock: asyncio.Lock | None = None

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._now - self._origin

    def sleep(self, seconds: float) -> asyncio.Future[None]:
        return self.sleep_until(self._now + seconds)

    def sleep_until(self, deadline: float, *, timer: bool = True) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        if deadline <= self._now:
            return _soon(loop)  # still yield once, so loops that sleep(0) do not starve the loop
        if len(self._sleepers) > 2 * len(self._deadlines) + 64:
            # Cancelled sleepers (store waits a commit ended early) stay in the heap until their deadline: drop
            # them now and then, so a clock that does not move does not keep them all.
            self._sleepers = [entry for entry in self._sleepers if not entry[2].done()]
            heapq.heapify(self._sleepers)
        future: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._sleepers, (deadline, next(self._counter), future, timer))
        self._deadlines[future] = deadline
        future.add_done_callback(self._forget)
        return future

    def _forget(self, future: asyncio.Future[None]) -> None:
        self._deadlines.pop(future, None)

    # -- moving time at once -----------------------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Move time forward by `seconds` and wake every sleeper whose deadline is now reached.

        Woken tasks run at the event loop's next turn: `await asyncio.sleep(0)` (or `travel_to`) lets them.
        """
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        self._move(self._now + seconds)

    def set(self, now: float) -> None:
        """Move time forward to `now` (epoch seconds), waking sleepers as `advance` does."""
        if now < self._now:
            raise ValueError("a clock cannot go backwards")
        self._move(now)

    def _move(self, now: float) -> None:
        self._now = now
        while self._sleepers and self._sleepers[0][0] <= now:
            _, _, future, _ = heapq.heappop(self._sleepers)
            _resolve(future)  # a cancelled sleeper is simply dropped

    @property
    def sleepers(self) -> int:
        """How many sleepers are pending (cancelled ones excluded). A store wait holds one, or two when the next
        due time lies past its bound (see `pipework.store.waiting.wait_until_due`)."""
        return len(self._deadlines)

    def next_timer(self) -> float | None:
        """The earliest deadline of a pending timer (safety nets excluded), or None."""
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)  # drop cancelled sleepers lazily
        pending = [d for d, _, f, timer in self._sleepers if timer and not f.done()]
        return min(pending) if pending else None

    # -- time travel: timer by timer, letting the work settle ----------------------------------------------------

    def ignore(self, tasks: Iterable[asyncio.Task[object]]) -> None:
        """Never wait for these tasks to settle (the server's own loops, open streaming responses)."""
        for task in tasks:
            self._ignored.add(task)

    async def travel_to(self, target: float, *, timeout: float = SETTLE_TIMEOUT) -> float:
        """Move time forward to `target` (epoch seconds), stopping at every timer due by then; return `now()`.

        First the work already started runs at the current time; then, for each pending timer in deadline order
        (timers set meanwhile included), the clock moves to its deadline, wakes what is due and waits until the
        work has settled (no task busy, see `busy_tasks`); finally it moves to `target` and settles again.
        Raises `ClockNotSettled` when the work does not settle within `timeout` seconds of real time in all (the
        clock stays where it stopped), ValueError when `target` is in the past. Moves run one at a time.
        """
        async with self._travelling():
            return await self._travel(target, timeout)

    async def travel(self, seconds: float, *, timeout: float = SETTLE_TIMEOUT) -> float:
        """`travel_to(now() + seconds)`, with `now()` read once the previous move (if any) has finished."""
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        async with self._travelling():
            return await self._travel(self._now + seconds, timeout)

    async def _travel(self, target: float, timeout: float) -> float:
        if target < self._now:
            raise ValueError("a clock cannot go backwards")
        give_up = (time.monotonic() + timeout, timeout)
        await self._settle(give_up)
        while (step := self.next_timer()) is not None and step <= target:
            self._move(step)
            await self._settle(give_up)
        self._move(target)
        await self._settle(give_up)
        return self._now

    def _travelling(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    async def _settle(self, give_up: tuple[float, float]) -> None:
        idle_turns = 0
        while True:
            busy = self.busy_tasks()
            if not busy:
                idle_turns += 1
                if idle_turns >= 3:  # idle on three turns in a row: no callback was still on its way
                    return
                await asyncio.sleep(0)
                continue
            idle_turns = 0
            if time.monotonic() > give_up[0]:
                raise ClockNotSettled(self._now, sorted(task.get_name() for task in busy), give_up[1])
            # Busy tasks may be waiting for a thread or a socket: give them real time, not a hot spin.
            await asyncio.sleep(0.0005)

    def busy_tasks(self) -> list[asyncio.Task[object]]:
        """Tasks of this event loop doing work: not the caller, not ignored, and not parked on a pending sleeper.

        A task is parked when the future it awaits is a sleeper of this clock whose deadline is still ahead (the
        store's waits for a commit are sleepers resolved early by the commit), or a task or ``gather`` of
        parked ones. Anything else it may await (a thread, a socket, a lock, the loop's next turn) is work.
        """
        current = asyncio.current_task()
        return [
            task
            for task in asyncio.all_tasks()
            if task is not current and task not in self._ignored and not self._task_parked(task, 0)
        ]

    def _task_parked(self, task: asyncio.Future[object], depth: int) -> bool:
        # `_fut_waiter` is the future a suspended task waits on (CPython's Task, C and Python versions alike).
        waiter = getattr(task, "_fut_waiter", None)
        return waiter is not None and self._parked(waiter, depth)

    def _parked(self, future: asyncio.Future[object], depth: int) -> bool:
        if future.done() or depth > 20:
            return False
        deadline = self._deadlines.get(future)  # type: ignore[arg-type]
        if deadline is not None:
            return deadline > self._now
        if isinstance(future, asyncio.Task):
            return self._task_parked(future, depth + 1)
        children = getattr(future, "_children", None)  # asyncio.gather's future
        if children is not None:
            pending = [child for child in children if not child.done()]
            return bool(pending) and all(self._parked(child, depth + 1) for child in pending)
        return False
