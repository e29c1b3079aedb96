"""The dispatcher: leases due deliveries from a work queue and invokes their target through the middleware chain
(`pipework.engine.middleware`), then acks, schedules the retry the chain decided, dead-letters, or parks them.

At-least-once: a delivery is acked only after its target succeeded. If the process dies between the target's
success and the ack, the lease expires and the delivery runs again (a duplicate the target must tolerate, as on
AWS). A delivery is never removed without either success or a dead-letter record holding the full payload.
A parked delivery is put back (due later, or in its target key's parking queue until `unpark`) with its lease
uncounted, so parking spends no attempt.

The fire path is batch-oriented: a lease takes up to MAX_LEASE items in one store round trip; the acks of the
deliveries that succeed while one ack commit is in flight go together in the next commit; one renewer task
renews, in one commit, every lease of a long delivery (none runs while nothing is in flight).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from pipework.clock import Clock
from pipework.connectors.targets import TargetError
from pipework.connectors.targets.base import HELD_BACK
from pipework.jsontypes import JSON
from pipework.store.base import QueueItem, Store
from pipework.store.errors import StoreError
from pipework.store.waiting import wait_either

from .envelope import Envelope, open_envelope
from .loops import run_forever
from .middleware import Chain, Failure, Middleware, Park, Result
from .middleware.breaker import CircuitBreaker
from .middleware.counters import Counters
from .middleware.retries import Retries
from .retry import Backoff, GiveUp

if TYPE_CHECKING:
    from .breakers import Breakers

log = logging.getLogger("pipework.dispatcher")
#: Items leased per store round trip.
MAX_LEASE = 512
#: The young-generation GC threshold while dispatchers run (CPython's default is 700; see `tune_gc`).
GC_THRESHOLD = 50_000

__all__ = ["Dispatcher", "Failure", "default_middleware", "parking_queue", "tune_gc"]

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


def default_middleware(
    backoff: Backoff | None = None, rng: random.Random | None = None, breakers: Breakers | None = None
) -> list[Middleware]:
    """The chain of a dispatcher given none: EventBridge's retries, the circuit breakers (if any), then per-target
    counters."""
    if breakers is None:
        return [Retries(backoff, rng), Counters()]
    return [Retries(backoff, rng), CircuitBreaker(breakers), Counters()]


def parking_queue(queue: str, target: str) -> str:
    """The store queue holding `queue`'s deliveries to `target` parked until released (`Dispatcher.unpark`)."""
    return f"{queue}/parked/{target}"


class Dispatcher:
    """Delivers the items of one work queue.

    Parameters:
        store, clock: the store holding the queue, and time.
        queue: the work queue name.
        invoke: ``await invoke(body)`` delivers one body (the JSON the item's payload holds); raises `TargetError`.
            Items carry their envelope (target key, first-seen time, retry policy) in their attributes
            (`pipework.engine.envelope.envelope_attributes`).
        dead_letter: ``await dead_letter(body, failure)`` after retries are exhausted; returns whether the
            body reached a dead-letter queue (for the metrics). The item then moves to the queue's dead-letter
            set with the full payload, from where it can be redriven.
        middleware: the chain around each invocation (default: `default_middleware(backoff, rng)`).
        concurrency: deliveries in flight at once; visibility: seconds a lease lasts. A running delivery renews
            its lease every visibility / 2 seconds, so a long target call keeps it, while a crashed process's
            deliveries become due again within `visibility` seconds of a restart.
        backoff, rng: for the default chain's `Retries` (ignored when `middleware` is given).
        fifo: lease the queue's items in order per group (`Store.lease` with ``fifo=True``): a group's next item
            waits until the one before it is acked or dead-lettered, retries included (SNS FIFO topics).
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        queue: str,
        invoke: Invoke,
        dead_letter: DeadLetter,
        middleware: Sequence[Middleware] | None = None,
        concurrency: int = 64,
        visibility: float = 10.0,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
        fifo: bool = False,
    ) -> None:
        self.store = store
        self.fifo = fifo
        self.clock = clock
        self.queue = queue
        self.invoke = invoke
        self.dead_letter = dead_letter
        self.chain = Chain(default_middleware(backoff, rng) if middleware is None else middleware)
        self.concurrency = concurrency
        self.visibility = visibility
        # The dispatcher's own count: deliveries that may run twice because an ack or retry lost its lease.
        self._own: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._slots = asyncio.Semaphore(concurrency)
        self._slot_freed: asyncio.Future[None] | None = None
        self._runner: asyncio.Task[None] | None = None
        self._stopping = False
        # Deliveries whose target is running, by item id: the item and its lease deadline (clock time).
        self._in_flight: dict[str, tuple[QueueItem, float]] = {}
        self._renewer: asyncio.Task[None] | None = None
        # Successful deliveries waiting for their ack (the next batch commit).
        self._acks: list[QueueItem] = []
        self._acker: asyncio.Task[None] | None = None

    @property
    def metrics(self) -> Counter[str]:
        """The chain's `Counters` total (Invocations, FailedInvocations, Retries, …) and DuplicateRisk."""
        counters = self.chain.find(Counters)
        out = Counter(counters.total) if counters is not None else Counter()
        out.update(self._own)
        return out

    @property
    def in_flight(self) -> int:
        """Deliveries whose target is running now."""
        return len(self._in_flight)

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
        await run_forever(
            f"dispatcher {self.queue}",
            lambda: self.run_once(wait=1.0),
            clock=self.clock,
            pause=0.5,
            running=lambda: not self._stopping,
        )

    async def run_once(self, *, wait: float = 0.0) -> int:
        """Lease what is due (up to the free concurrency) and start delivering it; return how many."""
        while self._slots.locked():
            # Waiting for a free slot on the clock (a sleeper the next finished delivery resolves): with a manual
            # clock, deliveries all waiting on the clock (a rate limit) then let time move instead of stalling it.
            self._slot_freed = asyncio.get_running_loop().create_future()
            await wait_either(self._slot_freed, self.clock, self.clock.now() + 3600.0, timer=False)
        free = self._free()
        items = await self.store.lease(
            self.queue, max_items=min(free, MAX_LEASE), visibility_timeout=self.visibility, fifo=self.fifo
        )
        if not items:
            if wait:
                await self.store.wait_for_due(self.queue, timeout=wait, fifo=self.fifo)
            return 0
        for item in items:
            await self._slots.acquire()
            self._in_flight[item.id] = (item, item.due_at)  # a leased item's due_at is its lease deadline
            if not self.fifo:
                task: asyncio.Task[Any] = asyncio.create_task(self._deliver(item))
                self._tasks.add(task)
                task.add_done_callback(self._done)
        if self.fifo:
            groups: dict[str | None, list[QueueItem]] = {}
            for item in items:
                groups.setdefault(item.group_id, []).append(item)
            for group in groups.values():
                in_order = asyncio.create_task(self._deliver_in_order(group))
                self._tasks.add(in_order)
                in_order.add_done_callback(functools.partial(self._done, slots=len(group)))
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.create_task(self._renew_leases(), name=f"renewer:{self.queue}")
        return len(items)

    def _free(self) -> int:
        return max(1, self.concurrency - len(self._tasks))

    def _done(self, task: asyncio.Task[Any], slots: int = 1) -> None:
        self._tasks.discard(task)
        for _ in range(slots):
            self._slots.release()
        if self._slot_freed is not None and not self._slot_freed.done():
            self._slot_freed.set_result(None)

    async def _deliver_in_order(self, group: list[QueueItem]) -> None:
        """Deliver one group's leased items one after the other; once one is not settled (retried later or parked),
        the rest are put back unattempted, so none overtakes it: the lease skips a group with an earlier item
        not yet due."""
        for position, item in enumerate(group):
            if await self._deliver(item):
                continue
            for rest in group[position + 1 :]:
                self._in_flight.pop(rest.id, None)
                assert rest.lease_token is not None
                try:
                    await self.store.release(self.queue, rest.id, rest.lease_token)
                except StoreError:
                    # Its lease expired meanwhile: it is due again and leased after the item before it.
                    self._own["DuplicateRisk"] += 1
            return

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

    async def _deliver(self, item: QueueItem) -> bool:
        """Deliver one leased item; whether it is settled (delivered or dead-lettered, not retried or parked)."""
        assert item.lease_token is not None
        try:
            delivery = open_envelope(item, self.clock.now())
            park: Park | None = None
            error: TargetError | None = None
            exception: Exception | None = None
            started = time.perf_counter()
            held: list[float] = []  # what the target notes while it holds the call back (a rate limit)
            noting = HELD_BACK.set(held)
            try:
                park = self.chain.before(delivery)
                if park is None:
                    started = time.perf_counter()
                    await self.invoke(delivery.body)
            except TargetError as exc:
                error = exc
            except Exception as exc:
                # A bug in a connector (or a middleware) is a retryable internal failure, never a lost event.
                log.exception("delivery raised")
                exception = exc
                error = TargetError("INTERNAL_FAILURE", f"{type(exc).__name__}: {exc}")
            finally:
                HELD_BACK.reset(noting)
            result = Result(
                self.clock.now(),
                0.0 if park is not None else time.perf_counter() - started,
                error,
                exception,
                park,
                held_back=sum(held) if held else 0.0,
            )
            self.chain.after(delivery, result)
            # An `after` hook may park a failure instead of retrying it (a breaker that has just opened).
            park = result.parked
            if park is not None:
                await self._park(item, delivery, park, result.at)
                return False
            if error is not None:
                return await self._failed(item, delivery, result, error)
        finally:
            # From here the outcome (ack, retry, dead letter) is committed well within the lease's remaining half.
            self._in_flight.pop(item.id, None)
            if not self._in_flight and self._renewer is not None:
                self._renewer.cancel()  # nothing left to renew: no timer runs while the dispatcher is idle
                self._renewer = None
        # The ack joins the next batch commit; the delivery's slot is free now (its target call is over), so a burst
        # keeps the target busy instead of waiting for bookkeeping. `drain` and `stop` wait for the acks.
        self._ack_later(item)
        return True

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
            self._own["DuplicateRisk"] += len(items)
            return
        for item in items:
            assert item.lease_token is not None
            try:
                await self.store.ack(self.queue, item.id, item.lease_token)
            except StoreError:
                # The lease expired and another worker took the item: it will be delivered again (at-least-once).
                self._own["DuplicateRisk"] += 1
            except Exception:
                log.exception("ack failed")  # not acked: the lease expires and it runs again (a duplicate)
                self._own["DuplicateRisk"] += 1

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

    async def _failed(self, item: QueueItem, delivery: Envelope, result: Result, error: TargetError) -> bool:
        """Dead-letter or retry a failed delivery; whether it was given up (settled)."""
        # Without a Retries middleware in the chain a failure is given up at once.
        decision = result.decision or GiveUp("")
        assert item.lease_token is not None
        try:
            if isinstance(decision, GiveUp):
                failure = Failure(error.code, error.message, decision.condition, delivery.attempt - 1)
                sent = await self.dead_letter(delivery.body, failure)
                self.chain.dead_lettered(delivery, failure, sent)
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
                attributes: JSON = {"last_error": f"{error.code}: {error.message}"}
                if item.attributes.get("parked_at") is not None:  # the park is over: its time is now settled
                    attributes.update(parked=delivery.parked, parked_at=None)
                await self.store.retry(
                    self.queue, item.id, item.lease_token, due_at=decision.at, attributes=attributes
                )
        except StoreError:
            # Lost the lease meanwhile: the item is visible again and will be retried from the store's state.
            self._own["DuplicateRisk"] += 1
            return False
        return isinstance(decision, GiveUp)

    # -- parking: put back without spending an attempt ---------------------------------------------------------

    async def _park(self, item: QueueItem, delivery: Envelope, park: Park, now: float) -> None:
        """Put a parked delivery back with its lease uncounted: due at ``park.until``, or into its target key's
        parking queue until `unpark`. The time parked is added to the envelope when it is next leased."""
        assert item.lease_token is not None
        attributes: JSON = {"parked": delivery.parked, "parked_at": now}
        if "accepted_seq" not in item.attributes:
            # Its place in the queue when first parked (a move gives it a new seq): the tie-break of deliveries
            # accepted at the same time, so parked ones resume in the order they were accepted.
            attributes["accepted_seq"] = item.seq
        batch = self.store.batch()
        batch.release(self.queue, item.id, item.lease_token, due_at=park.until, attributes=attributes)
        if park.until is None:
            # One commit: the delivery is either still leased here or waiting in the parking queue, never lost.
            batch.move(self.queue, item.id, parking_queue(self.queue, park.key or delivery.target))
        try:
            await self.store.commit(batch)
        except StoreError:
            # Lost the lease meanwhile: the item is visible again and its next holder decides (maybe parks) again.
            self._own["DuplicateRisk"] += 1

    async def unpark(self, target: str, *, limit: int | None = None) -> int:
        """Make the deliveries parked until release for `target` due now, oldest first-seen first (at most
        `limit`); returns how many. Called by the middleware that parked them (e.g. a breaker closing)."""
        lot = parking_queue(self.queue, target)
        items: list[QueueItem] = []
        after = 0
        while limit is None or len(items) < limit:
            page = await self.store.peek(lot, after_seq=after, limit=500)
            if not page:
                break
            items.extend(page)
            after = page[-1].seq
        now = self.clock.now()
        items.sort(key=lambda item: (open_envelope(item, now).first_seen, item.seq))
        if limit is not None:
            items = items[:limit]
        if not items:
            return 0
        batch = self.store.batch()
        for item in items:
            # Moved in first-seen order, all due now: leases take them in that order (ties go by seq).
            batch.move(lot, item.id, self.queue)
        await self.store.commit(batch)
        return len(items)

    async def parked(self, target: str) -> int:
        """How many deliveries are parked until release under the key `target`."""
        counts = await self.store.counts(parking_queue(self.queue, target))
        return counts.visible + counts.delayed

    async def parked_items(self, key: str) -> list[tuple[float, int, str]]:
        """(first seen, seq, item id) of the deliveries parked under `key`, first seen first (ties by their seq in
        the queue they were accepted into)."""
        lot = parking_queue(self.queue, key)
        now = self.clock.now()
        out: list[tuple[float, int, str]] = []
        after = 0
        while True:
            page = await self.store.peek(lot, after_seq=after, limit=500)
            if not page:
                break
            out.extend(
                (
                    open_envelope(item, now).first_seen,
                    int(item.attributes.get("accepted_seq", item.seq)),
                    item.id,
                )
                for item in page
            )
            after = page[-1].seq
        out.sort()
        return out

    async def release(self, key: str, item_id: str) -> bool:
        """Make one delivery parked under `key` due now (False if it is not parked there any more)."""
        try:
            await self.store.move(parking_queue(self.queue, key), item_id, self.queue)
        except StoreError:
            return False
        return True

    async def expire_parked(self, key: str, item_ids: Sequence[str], code: str, message: str) -> int:
        """Dead-letter deliveries parked under `key` (kept too long): their dead-letter queue is told, and the full
        payload joins the queue's dead-letter set, as for a delivery that ran out of retries."""
        lot = parking_queue(self.queue, key)
        done = 0
        for item_id in item_ids:
            item = await self.store.get_item(lot, item_id)
            if item is None:
                continue
            delivery = open_envelope(item, self.clock.now())
            failure = Failure(code, message, "", max(0, item.attempts))
            # Moved back first: if the process stops before the dead letter is written, the delivery is due again
            # (and parked again by its breaker), never lost.
            try:
                await self.store.move(lot, item_id, self.queue, due_at=self.clock.now() + 3600.0)
            except StoreError:
                continue
            sent = await self.dead_letter(delivery.body, failure)
            self.chain.dead_lettered(delivery, failure, sent)
            try:
                await self.store.dead_letter(
                    self.queue,
                    item_id,
                    error={
                        "ERROR_CODE": code,
                        "ERROR_MESSAGE": message,
                        "EXHAUSTED_RETRY_CONDITION": "",
                        "RETRY_ATTEMPTS": str(failure.attempts),
                    },
                )
            except StoreError:
                continue
            done += 1
        return done
