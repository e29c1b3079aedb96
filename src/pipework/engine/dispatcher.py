"""The dispatcher: leases due deliveries from a work queue, invokes their target, then acks, schedules a retry
(exponential backoff with full jitter) or dead-letters them when attempts or age run out.

At-least-once: a delivery is acked only after its target succeeded. If the process dies between the target's
success and the ack, the lease expires and the delivery runs again (a duplicate the target must tolerate, as on
AWS). A delivery is never removed without either success or a dead-letter record holding the full payload.

The fire path is batch-oriented: a lease takes up to MAX_LEASE items in one store round trip; the acks of the
deliveries that succeed while one ack commit is in flight go together in the next commit; one renewer task
renews, in one commit, every lease of a long delivery (none runs while nothing is in flight).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
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
#: Items leased per store round trip.
MAX_LEASE = 512
#: The young-generation GC threshold while dispatchers run (CPython's default is 700; see `tune_gc`).
GC_THRESHOLD = 50_000
JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a delivery was given up, as the dead-letter message attributes name it."""

    code: str
    message: str
    condition: str  # EXHAUSTED_RETRY_CONDITION ("" when the error was not retryable)
    attempts: int  # retries made (RETRY_ATTEMPTS)


Invoke = Callable[[JSON], Awaitable[None]]


def tune_gc() -> None:
    """Raise the young-generation GC threshold from CPython's default (700 allocations) to `GC_THRESHOLD`.

    A delivery lives for milliseconds (lease batch, target call, ack commit), longer than 700 allocations, so under a
    burst nearly every delivery's objects were promoted to the oldest generation, and CPython runs a full collection
    whenever those promotions exceed a quarter of the long-lived objects: 4 full collections of ~35 ms each inside
    one 10,000-invocation burst (measured with gc.callbacks), ~14 % of the burst. With the higher threshold they die
    young and full collections stop during bursts. A threshold an embedding application set itself is kept.
    """
    first, *rest = gc.get_threshold()
    if first == 700:
        gc.set_threshold(GC_THRESHOLD, *rest)


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
        # Deliveries whose target is running, by item id: the item and its lease deadline (clock time).
        self._in_flight: dict[str, tuple[QueueItem, float]] = {}
        self._renewer: asyncio.Task[None] | None = None
        # Successful deliveries waiting for their ack (the next batch commit).
        self._acks: list[QueueItem] = []
        self._acker: asyncio.Task[None] | None = None

    def start(self) -> None:
        tune_gc()
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
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
        # Acks already handed to the acker finish (fewer duplicates after a restart); it never waits on a target.
        with contextlib.suppress(asyncio.CancelledError):
            await self.acked()

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
            self.queue, max_items=min(free, MAX_LEASE), visibility_timeout=self.visibility
        )
        if not items:
            if wait:
                await self.store.wait_for_due(self.queue, timeout=wait)
            return 0
        for item in items:
            await self._slots.acquire()
            self._in_flight[item.id] = (item, item.due_at)  # a leased item's due_at is its lease deadline
            task = asyncio.create_task(self._deliver(item))
            self._tasks.add(task)
            task.add_done_callback(self._done)
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.create_task(self._renew_leases(), name=f"renewer:{self.queue}")
        return len(items)

    def _free(self) -> int:
        return max(1, self.concurrency - len(self._tasks))

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()

    async def drain(self) -> None:
        """Deliver everything due now and wait for it, acks included (tests drive the dispatcher with this and the
        clock)."""
        while await self.run_once():
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self.acked()

    async def acked(self) -> None:
        """Wait until every ack queued so far is committed (or has failed and been counted)."""
        while self._acker is not None and not self._acker.done():
            await asyncio.shield(self._acker)

    async def _deliver(self, item: QueueItem) -> None:
        assert item.lease_token is not None
        try:
            payload: JSON = orjson.loads(item.payload)
            if self.attempt_key is not None:
                payload[self.attempt_key] = item.attempts
            try:
                await self.invoke(payload)
            except TargetError as exc:
                await self._failed(item, payload, exc)
                return
            except Exception as exc:
                # A bug in a connector is a retryable internal failure, never a lost event.
                log.exception("delivery raised")
                error = TargetError("INTERNAL_FAILURE", f"{type(exc).__name__}: {exc}")
                await self._failed(item, payload, error)
                return
        finally:
            # From here the outcome (ack, retry, dead letter) is committed well within the lease's remaining half.
            self._in_flight.pop(item.id, None)
            if not self._in_flight and self._renewer is not None:
                self._renewer.cancel()  # nothing left to renew: no timer runs while the dispatcher is idle
                self._renewer = None
        self.metrics["Invocations"] += 1
        # The ack joins the next batch commit; the delivery's slot is free now (its target call is over), so a burst
        # keeps the target busy instead of waiting for bookkeeping. `drain` and `stop` wait for the acks.
        self._ack_later(item)

    # -- acks: one commit for every delivery that succeeded meanwhile ----------------------------------------------

    def _ack_later(self, item: QueueItem) -> None:
        """Queue `item`'s ack for the next batch commit."""
        self._acks.append(item)
        if self._acker is None or self._acker.done():
            self._acker = asyncio.create_task(self._ack_batches(), name=f"acker:{self.queue}")

    async def _ack_batches(self) -> None:
        # Acks queued while one batch commits form the next batch: batches grow with the load, never wait idly.
        while self._acks:
            items, self._acks = self._acks, []
            await self._ack_all(items)

    async def _ack_all(self, items: list[QueueItem]) -> None:
        batch = self.store.batch()
        for item in items:
            assert item.lease_token is not None
            batch.ack(self.queue, item.id, item.lease_token)
        try:
            await self.store.commit(batch)
            return
        except StoreError:
            pass  # one stale lease fails the whole batch: ack the items one by one to find it
        except Exception:
            # Nothing was acked: the leases expire and these deliveries run again (a duplicate, never a loss).
            log.exception("acking %d deliveries failed", len(items))
            self.metrics["DuplicateRisk"] += len(items)
            return
        for item in items:
            assert item.lease_token is not None
            try:
                await self.store.ack(self.queue, item.id, item.lease_token)
            except StoreError:
                # The lease expired and another worker took the item: it will be delivered again (at-least-once).
                self.metrics["DuplicateRisk"] += 1
            except Exception:
                log.exception("ack failed")  # not acked: the lease expires and it runs again (a duplicate)
                self.metrics["DuplicateRisk"] += 1

    # -- leases: one renewer for every delivery in flight ----------------------------------------------------------

    async def _renew_leases(self) -> None:
        """While deliveries are in flight, renew (in one commit) every lease with less than half of `visibility`
        left, so a long target call keeps its item; exits when nothing is in flight (no timer while idle)."""
        while self._in_flight:
            await self.clock.sleep(self.visibility / 4)
            now = self.clock.now()
            half = self.visibility / 2
            due = [(item, deadline) for item, deadline in self._in_flight.values() if deadline - now <= half]
            if not due:
                continue
            try:
                await self._renew(due, now)
            except asyncio.CancelledError:
                raise
            except Exception:
                # Not renewed: a lease that then expires lets its delivery run again (a duplicate, never a loss).
                log.exception("renewing %d leases failed", len(due))

    async def _renew(self, due: list[tuple[QueueItem, float]], now: float) -> None:
        batch = self.store.batch()
        for item, _ in due:
            assert item.lease_token is not None
            batch.change_visibility(self.queue, item.id, item.lease_token, self.visibility)
        try:
            await self.store.commit(batch)
            renewed = [item for item, _ in due]
        except StoreError:
            # One lease is gone (acked or expired meanwhile) and failed the batch: renew the others one by one.
            renewed = []
            for item, _ in due:
                assert item.lease_token is not None
                try:
                    await self.store.change_visibility(self.queue, item.id, item.lease_token, self.visibility)
                except StoreError:
                    # The lease is gone; the outcome is then decided by whoever holds the item.
                    self._in_flight.pop(item.id, None)
                    continue
                renewed.append(item)
        for item in renewed:
            if item.id in self._in_flight:
                self._in_flight[item.id] = (item, now + self.visibility)

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
