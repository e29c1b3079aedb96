"""Wake-ups for store waiters: commits notify keys (a log, a queue), waiters race a notification against the clock.

In-process only: a commit made by another process on the same file wakes nobody here, so waits also end at
their timeout and callers re-check (a missed wake-up costs latency, never an event).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from pipework.clock import Clock


class Notifier:
    """One future per key, resolved (and replaced) by `notify`; waiters take it *before* checking state."""

    def __init__(self) -> None:
        self._futures: dict[str, asyncio.Future[None]] = {}

    def future(self, key: str) -> asyncio.Future[None]:
        """The future the next `notify(key)` resolves. Take it before reading state so no commit slips between."""
        future = self._futures.get(key)
        if future is None or future.done():
            future = asyncio.get_running_loop().create_future()
            self._futures[key] = future
        return future

    def notify_all(self) -> None:
        """Wake every waiter (after wake-ups may have been missed: waiters re-check their state)."""
        self.notify(list(self._futures))

    def notify(self, keys: Iterable[str]) -> None:
        """Wake every waiter of these keys (must run on the event loop thread)."""
        for key in keys:
            future = self._futures.pop(key, None)
            if future is not None and not future.done():
                future.set_result(None)


async def wait_either(future: asyncio.Future[None], clock: Clock, deadline: float, *, timer: bool) -> bool:
    """Wait for `future` or until the clock reaches `deadline` (epoch seconds), whichever first; True if the
    future fired. `timer`: whether the deadline is a due time (True) or only a bound on the wait (see
    `Clock.sleep_until`).

    The wait is one clock sleeper, registered before this returns control and resolved early by `future`: a
    `ManualClock` sees the waiting task as parked on the clock, and an `advance` made after the deadline was
    computed still wakes it (the deadline is absolute).
    """
    if future.done():
        return True
    sleeper = clock.sleep_until(deadline, timer=timer)

    def wake(_: asyncio.Future[None]) -> None:
        if not sleeper.done():
            sleeper.set_result(None)

    # A callback, not a wrapper: the notifier's future is shared by all waiters of a key and must not be cancelled.
    future.add_done_callback(wake)
    try:
        await sleeper
    finally:
        future.remove_done_callback(wake)
        sleeper.cancel()
    return future.done()


async def wait_until_due(
    future: asyncio.Future[None], clock: Clock, *, now: float, timeout: float, next_due: float | None
) -> bool:
    """`Store.wait_for_due` once the state is read: `now` is the one clock reading the state was judged at,
    `next_due` the earliest future due time (None: nothing pending). True when `future` fired or a due time came;
    False when only `timeout` (a bound on the wait, not a timer) ran out."""
    if next_due is not None and next_due <= now:
        return True
    limit = now + timeout
    if next_due is None:
        return await wait_either(future, clock, limit, timer=False)
    if next_due <= limit:
        await wait_either(future, clock, next_due, timer=True)
        return True
    # The due time lies past this wait's bound, but it is still a timer: time travel must stop there (the waiter,
    # woken at that stop by its bound, then finds the item due) instead of jumping over it.
    alarm = clock.sleep_until(next_due, timer=True)
    try:
        return await wait_either(future, clock, limit, timer=False)
    finally:
        alarm.cancel()


def log_key(log: str) -> str:
    return "log:" + log


def queue_key(queue: str) -> str:
    return "queue:" + queue


def resource_key(kind: str, name: str) -> str:
    """The key a commit touches when it writes a resource (what other nodes' caches watch)."""
    return f"resource:{kind}:{name}"


def parse_resource_key(key: str) -> tuple[str, str] | None:
    """(kind, name) of a `resource_key`, or None for a key of another family. Kinds contain one "/" and no ":"."""
    if not key.startswith("resource:"):
        return None
    kind, _, name = key[len("resource:") :].partition(":")
    return kind, name
