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

    def notify(self, keys: Iterable[str]) -> None:
        """Wake every waiter of these keys (must run on the event loop thread)."""
        for key in keys:
            future = self._futures.pop(key, None)
            if future is not None and not future.done():
                future.set_result(None)


async def wait_either(future: asyncio.Future[None], clock: Clock, timeout: float) -> bool:
    """Wait for `future` or `timeout` seconds of clock time, whichever first; True if the future fired."""
    if future.done():
        return True
    if timeout <= 0:
        return False
    # shield: the notifier's future is shared by all waiters of a key; cancelling ours must not cancel theirs.
    notified = asyncio.ensure_future(asyncio.shield(future))
    sleeper = asyncio.ensure_future(clock.sleep(timeout))
    try:
        await asyncio.wait({notified, sleeper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (notified, sleeper):
            if not task.done():
                task.cancel()
    return future.done()


def log_key(log: str) -> str:
    return "log:" + log


def queue_key(queue: str) -> str:
    return "queue:" + queue
