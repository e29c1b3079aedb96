"""The schedule ticker: one work-queue item ("tick") per active schedule, due shortly before its next fire time
(the service decides how long: it enqueues the invocation due at the fire time itself); the ticker leases what is
due, hands the batch to the scheduler service (one commit per batch; per tick if that fails), and sleeps until
the next due time.

Cost grows with the schedules that are due, not with all schedules: the store's queue index (due_at) is the timer
wheel, and `Store.wait_for_due` sleeps until the earliest due item or a commit touching the queue (a new or
changed schedule). The ticker never scans schedules.

`catch_up` decides what a tick leased late (after downtime) does: the latest missed occurrence still inside the
retry age fires once; every older one is counted as missed, never fired in a burst.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pipework.clock import Clock
from pipework.store.base import QueueItem, Store

from .cluster import Cluster
from .loops import run_forever

log = logging.getLogger("pipework.scheduler")

#: Longest a walk over missed occurrences goes before it stops counting them one by one.
MAX_MISSED_WALK = 10_000


@dataclass(frozen=True, slots=True)
class CatchUp:
    """What to do with a tick for occurrence ``scheduled`` leased at ``now``.

    fire: the occurrence to invoke (None: nothing within the retry age); missed: occurrences skipped;
    next: the first occurrence after ``now`` (None: the schedule has no more).
    """

    fire: float | None
    missed: int
    next: float | None


def catch_up(
    next_after: Callable[[float], float | None], scheduled: float, now: float, max_age: float
) -> CatchUp:
    """Walk from ``scheduled`` to ``now``: fire only the latest occurrence <= now, if it is younger than
    ``max_age``; count the others as missed. On time (the usual case) this is one call of ``next_after``."""
    latest = scheduled
    missed = 0
    following = next_after(latest)
    while following is not None and following <= now:
        missed += 1
        latest = following
        if missed >= MAX_MISSED_WALK:
            # A long outage of a frequent schedule: jump close to now, counting what we skipped as one.
            jump = next_after(now - max_age - 1)
            if jump is not None and jump > latest:
                latest = jump
            following = next_after(latest)
            while following is not None and following <= now:
                latest = following
                following = next_after(latest)
            break
        following = next_after(latest)
    if now - latest <= max_age:
        return CatchUp(latest, missed, following)
    return CatchUp(None, missed + 1, following)


FireBatch = Callable[[list[QueueItem]], Awaitable[None]]


class Ticker:
    """Leases due ticks from ``queue`` and passes them, in batches, to ``fire``.

    Parameters:
        store, clock: where the ticks live, and time.
        queue: the work queue of ticks (one item per active schedule, due at or shortly before its next occurrence).
        fire: ``await fire(items)``; must retry each item to its next due time, or ack it, in the same store
            commit that enqueues the invocations (so an occurrence is enqueued exactly once, or the tick's lease
            expires and it is tried again).
        batch: ticks leased at once. visibility: how long a lease lasts (a crashed ticker's ticks return after it).
        idle: the longest sleep while nothing is due (a safety net: commits and due times wake it sooner).
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        queue: str,
        fire: FireBatch,
        batch: int = 500,
        visibility: float = 30.0,
        idle: float = 300.0,
        cluster: Cluster | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.queue = queue
        self.fire = fire
        self.batch = batch
        self.visibility = visibility
        self.idle = idle
        self.cluster = cluster  # on several nodes, one ticks at a time (its lease: "ticker/<queue>")
        self.metrics: Counter[str] = Counter()
        self._runner: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.cluster is not None:
            self._runner = self.cluster.singleton(f"ticker/{self.queue}", self.run)
        else:
            self._runner = asyncio.create_task(self.run(), name=f"ticker:{self.queue}")

    async def stop(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
            self._runner = None

    async def run(self) -> None:
        # Ticks leased by a step that failed come back after `visibility`.
        await run_forever(f"ticker {self.queue}", self._step, clock=self.clock, pause=0.5)

    async def _step(self) -> None:
        if not await self.run_once():
            await self.store.wait_for_due(self.queue, timeout=self.idle)

    async def run_once(self) -> int:
        """Lease what is due and fire it; return how many ticks were handled."""
        items = await self.store.lease(self.queue, max_items=self.batch, visibility_timeout=self.visibility)
        if items:
            self.metrics["Ticks"] += len(items)
            await self.fire(items)
        return len(items)
