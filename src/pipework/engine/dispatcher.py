"""The dispatcher: leases due deliveries from a work queue, invokes their target, then acks, schedules a retry
(exponential backoff with full jitter) or dead-letters them when attempts or age run out.

At-least-once: a delivery is acked only after its target succeeded. If the process dies between the target's
success and the ack, the lease expires and the delivery runs again (a duplicate the target must tolerate, as on
AWS). A delivery is never removed without either success or a dead-letter record holding the full payload.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from pipework.clock import Clock
from pipework.connectors.targets import TargetError
from pipework.store.base import QueueItem, Store
from pipework.store.errors import StoreError

from .retry import Backoff, GiveUp, RetryPolicy, decide

log = logging.getLogger("pipework.dispatcher")
JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a delivery was given up, as the dead-letter message attributes name it."""

    code: str
    message: str
    condition: str  # EXHAUSTED_RETRY_CONDITION ("" when the error was not retryable)
    attempts: int  # retries made (RETRY_ATTEMPTS)


Invoke = Callable[[JSON], Awaitable[None]]
DeadLetter = Callable[[JSON, Failure], Awaitable[bool]]


class Dispatcher:
    """Delivers the items of one work queue.

    Parameters:
        store, clock: the store holding the queue, and time.
        queue: the work queue name.
        invoke: ``await invoke(payload)`` delivers one payload (the JSON the item holds); raises `TargetError`.
        dead_letter: ``await dead_letter(payload, failure)`` after retries are exhausted; returns whether the
            payload reached a dead-letter queue (for the metrics). The item then moves to the queue's dead-letter
            set with the full payload, from where it can be redriven.
        policy_of: the RetryPolicy of a payload.
        concurrency: deliveries in flight at once; visibility: seconds a lease lasts. A running delivery renews
            its lease every visibility / 2 seconds, so a long target call keeps it, while a crashed process's
            deliveries become due again within `visibility` seconds of a restart.
        attempt_key: if set, each payload gets ``payload[attempt_key] = n`` (1 = the first try) before ``invoke``
            (the scheduler's ``<aws.scheduler.attempt-number>``).
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        queue: str,
        invoke: Invoke,
        dead_letter: DeadLetter,
        policy_of: Callable[[JSON], RetryPolicy],
        concurrency: int = 64,
        visibility: float = 10.0,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
        attempt_key: str | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.queue = queue
        self.invoke = invoke
        self.dead_letter = dead_letter
        self.policy_of = policy_of
        self.concurrency = concurrency
        self.visibility = visibility
        self.backoff = backoff or Backoff()
        self.rng = rng or random.Random()
        self.attempt_key = attempt_key
        self.metrics: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(concurrency)
        self._runner: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self._runner = asyncio.create_task(self.run(), name=f"dispatcher:{self.queue}")

    async def stop(self) -> None:
        self._stopping = True
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
        # In-flight deliveries are abandoned; their leases expire and they run again after a restart.
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def run(self) -> None:
        while not self._stopping:
            try:
                await self.run_once(wait=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:  # the loop must survive anything: a store hiccup retries after a pause
                log.exception("dispatcher loop error")
                await self.clock.sleep(0.5)

    async def run_once(self, *, wait: float = 0.0) -> int:
        """Lease what is due (up to the free concurrency) and start delivering it; return how many."""
        await self._slots.acquire()
        self._slots.release()
        free = self._free()
        items = await self.store.lease(
            self.queue, max_items=min(free, 100), visibility_timeout=self.visibility
        )
        if not items:
            if wait:
                await self.store.wait_for_due(self.queue, timeout=wait)
            return 0
        for item in items:
            await self._slots.acquire()
            task = asyncio.create_task(self._deliver(item))
            self._tasks.add(task)
            task.add_done_callback(self._done)
        return len(items)

    def _free(self) -> int:
        return max(1, self.concurrency - len(self._tasks))

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()

    async def drain(self) -> None:
        """Deliver everything due now and wait for it (tests drive the dispatcher with this and the clock)."""
        while await self.run_once():
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _deliver(self, item: QueueItem) -> None:
        assert item.lease_token is not None
        payload: JSON = orjson.loads(item.payload)
        if self.attempt_key is not None:
            payload[self.attempt_key] = item.attempts
        keeper = asyncio.create_task(self._keep_lease(item))
        try:
            await self.invoke(payload)
        except TargetError as exc:
            await self._failed(item, payload, exc)
            return
        except Exception as exc:  # a bug in a connector is a retryable internal failure, never a lost event
            log.exception("delivery raised")
            await self._failed(item, payload, TargetError("INTERNAL_FAILURE", f"{type(exc).__name__}: {exc}"))
            return
        finally:
            keeper.cancel()
        self.metrics["Invocations"] += 1
        try:
            await self.store.ack(self.queue, item.id, item.lease_token)
        except StoreError:
            # The lease expired and another worker took the item: it will be delivered again (at-least-once).
            self.metrics["DuplicateRisk"] += 1

    async def _keep_lease(self, item: QueueItem) -> None:
        """Renew the lease of a delivery in progress until cancelled."""
        assert item.lease_token is not None
        while True:
            await self.clock.sleep(self.visibility / 2)
            try:
                await self.store.change_visibility(self.queue, item.id, item.lease_token, self.visibility)
            except StoreError:
                return  # the lease is gone; the outcome is then decided by whoever holds the item

    async def _failed(self, item: QueueItem, payload: JSON, error: TargetError) -> None:
        self.metrics["FailedInvocations"] += 1
        now = self.clock.now()
        first_seen = float(payload.get("ingested", now))
        decision = decide(
            self.policy_of(payload),
            attempts=item.attempts,
            first_seen=first_seen,
            now=now,
            retryable=error.retryable,
            backoff=self.backoff,
            rng=self.rng,
            not_before=now + error.retry_after if error.retry_after is not None else None,
        )
        try:
            if isinstance(decision, GiveUp):
                failure = Failure(error.code, error.message, decision.condition, item.attempts - 1)
                sent = await self.dead_letter(payload, failure)
                self.metrics["DeadLetterInvocations" if sent else "DroppedInvocations"] += 1
                # The full payload stays in the queue's dead-letter set for redrive, whatever happened above.
                await self.store.dead_letter(
                    self.queue,
                    item.id,
                    lease_token=item.lease_token,
                    error={
                        "ERROR_CODE": error.code,
                        "ERROR_MESSAGE": error.message,
                        "EXHAUSTED_RETRY_CONDITION": decision.condition,
                        "RETRY_ATTEMPTS": str(failure.attempts),
                    },
                )
            else:
                self.metrics["Retries"] += 1
                await self.store.retry(
                    self.queue,
                    item.id,
                    item.lease_token or "",
                    due_at=decision.at,
                    attributes={"last_error": f"{error.code}: {error.message}"},
                )
        except StoreError:
            # Lost the lease meanwhile: the item is visible again and will be retried from the store's state.
            self.metrics["DuplicateRisk"] += 1
