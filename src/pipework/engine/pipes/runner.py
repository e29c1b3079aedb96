"""`PipeRunner`: the loop that feeds one pipe from its source — batching window, execution, and what happens to
failures: partial batch failures, AUTOMATIC_BISECT, retries with backoff until MaximumRetryAttempts or
MaximumRecordAgeInSeconds, then the dead letters (full records); and the redrive queue of dead letters sent back.

Streams are processed in order (per item key across ParallelizationFactor lanes) and checkpointed only once every
record of a batch was delivered, filtered out or dead-lettered; queues delete what succeeded and leave the rest to
the queue. A pipe whose target keeps failing with a permission-like error stops itself (`PipeStopped`).

Whether and when a failed part is retried is the engine's one retry rule (`Retries`, the same middleware rule
deliveries use); batching, bisecting and partial failures stay here. A part whose enrichment or target a middleware
parks is held (the pipe stops consuming its source) and run again when the park is over, spending no retry and
with its time parked left out of MaximumRecordAgeInSeconds. With a `Gate` (the circuit breakers), the runner does
not read its source at all while a delivery would be parked, waits for the gate instead of polling it, and keeps a
held queue batch's messages invisible (ChangeMessageVisibility) so a long park delivers nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
import math
import random
import sys
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Protocol

import orjson

from pipework.clock import Clock
from pipework.connectors.sources.base import Source, SourceBatch
from pipework.connectors.targets import TargetError
from pipework.engine.cluster import Cluster
from pipework.engine.envelope import Envelope, parked_seconds
from pipework.engine.loops import STOP, run_forever
from pipework.engine.middleware import Park
from pipework.engine.middleware.retries import Retries
from pipework.engine.retry import Backoff, GiveUp, RetryPolicy
from pipework.jsontypes import JSON
from pipework.store.base import QueueItem, Store
from pipework.store.errors import StoreError

from .dead_letters import DeadLetterReason, DeadLetters
from .definition import QUEUE, PipeDefinition
from .execution import Execution, Outcome

log = logging.getLogger("pipework.pipes")

#: Consecutive executions failing with a permission-like error after which a pipe stops itself.
AUTO_STOP_AFTER = 5
#: Errors that mean the pipe is misconfigured (missing target, refused authorization), not a passing failure.
PERMISSION_CODES = frozenset({"NO_PERMISSIONS", "NO_RESOURCE", "ACCESS_DENIED"})
#: Errors no retry can fix and that do not stop the pipe: the records go to the dead letters at once.
UNFIXABLE_CODES = frozenset({"INVALID_JSON"})
RECEIVE_WAIT = 5.0  # seconds (clock time) a receive waits for records before the loop checks again
REDRIVE_VISIBILITY = 60.0
#: Seconds (clock time) after which a part parked until released asks the middleware again.
PARK_RECHECK = 1.0
#: Seconds (clock time) a held queue batch's messages are kept invisible for, renewed at a third of it.
KEEP_INVISIBLE = 60.0
#: The age condition of the retry rule, as a pipe's dead letters name it.
AGE_CONDITIONS = {"MaximumEventAgeInSeconds": "MaximumRecordAgeInSeconds"}


class Gate(Protocol):
    """What parks a pipe's stage calls until released (the circuit breakers): asked before reading the source."""

    def blocked(self, keys: Iterable[str]) -> bool:
        """Whether a call to any of these target keys would be parked now."""
        ...

    async def wait_open(self, keys: Sequence[str], *, until: float | None = None) -> None:
        """Wait (on the clock) until no call to these keys would be parked, or until `until` (clock time)."""
        ...

    def hold(self, keys: Iterable[str], records: int) -> None:
        """The runner holds `records` read records for these keys (negative: no longer), for the parked count."""
        ...


class PipeStopped(Exception):
    """The pipe stopped itself; `reason` becomes its StateReason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def fixable(error: TargetError) -> bool:
    """A pipe retries every error but those no retry can fix (its target's "not retryable" errors included:
    a pipe keeps retrying them until it stops itself)."""
    return error.code not in UNFIXABLE_CODES


def permission_like(error: TargetError | None) -> bool:
    if error is None:
        return False
    if error.code in PERMISSION_CODES:
        return True
    return not error.retryable and error.message.startswith(("Status 401", "Status 403"))


class PipeRunner:
    """Runs one pipe until `stop()` (or until it stops itself, calling `on_stopped(reason)`).

    Parameters:
        pipe: the definition; source: where records come from; execution: filter/enrichment/target.
        dead_letters: where given-up records go; store, clock: the instance's.
        on_stopped: awaited when the pipe stops itself (sets CurrentState STOPPED and the StateReason).
        backoff: delays between retries of a failing stream batch; pollers: concurrent batches of a queue.
        gate: the circuit breakers: the runner stops reading while its target or enrichment would be parked.
    """

    def __init__(
        self,
        pipe: PipeDefinition,
        source: Source,
        execution: Execution,
        dead_letters: DeadLetters,
        *,
        store: Store,
        clock: Clock,
        on_stopped: Callable[[str], Awaitable[None]],
        backoff: Backoff | None = None,
        pollers: int = 4,
        rng: random.Random | None = None,
        cluster: Cluster | None = None,
        gate: Gate | None = None,
    ) -> None:
        self.pipe = pipe
        self.cluster = cluster
        self.source = source
        self.execution = execution
        self.dead_letters = dead_letters
        self.store = store
        self.clock = clock
        self.on_stopped = on_stopped
        self.backoff = backoff or Backoff(base=0.5, cap=30.0)
        self.pollers = pollers if pipe.source_kind == QUEUE else 1
        self.rng = rng or random.Random()
        self.gate = gate
        self.keys = tuple(k for k in (pipe.enrichment, pipe.target) if k)
        self.retries = Retries(self.backoff, self.rng, retryable=fixable)
        self.metrics = execution.metrics
        self.permission_failures = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._latest: SourceBatch | None = None
        self._checkpointer: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> None:
        if self.cluster is not None:  # one node at a time reads the source (its lease: "pipe/<arn>")
            self._tasks = [self.cluster.singleton(f"pipe/{self.pipe.arn}", self._lane)]
            return
        self._tasks = self._lane_tasks()

    def _lane_tasks(self) -> list[asyncio.Task[None]]:
        name = self.pipe.name
        tasks = [asyncio.create_task(self._poll(), name=f"pipe:{name}:{i}") for i in range(self.pollers)]
        tasks.append(asyncio.create_task(self._redrive_loop(), name=f"pipe:{name}:redrive"))
        return tasks

    async def _lane(self) -> None:
        """The source lane while this node holds the pipe's lease: the pollers and the redrive loop."""
        tasks = self._lane_tasks()
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def stop(self) -> None:
        """Stop polling; batches in progress are abandoned (a stream re-reads them from its checkpoint, a queue
        gets them back after their visibility timeout)."""
        self._stopping = True
        current = asyncio.current_task()
        tasks = [t for t in self._tasks if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.source.close()

    async def _stopped_by_itself(self, reason: str) -> None:
        if self._stopping:
            return
        self._stopping = True
        log.warning("pipe %s stopped itself: %s", self.pipe.name, reason)
        self.execution.log.write("-", "PipeStopped", error={"message": reason})
        await self.on_stopped(reason)

    # -- the source loop ---------------------------------------------------------------------------------------
    async def _poll(self) -> None:
        # A failed step's batch is read again (a stream is not checkpointed; a queue's messages come back).
        await run_forever(
            f"pipe {self.pipe.name}: polling",
            self._poll_once,
            clock=self.clock,
            pause=1.0,
            running=lambda: not self._stopping,
        )

    async def _poll_once(self) -> object:
        try:
            if self.gate is not None and self.gate.blocked(self.keys):
                # Stop consuming: the stream's checkpoint and the queue's messages stay where they are.
                await self.gate.wait_open(self.keys)
                return None
            batch = await self.collect()
            if batch is not None:
                await self.process(batch)
        except PipeStopped as stopped:
            await self._stopped_by_itself(stopped.reason)
            return STOP
        except LookupError as exc:  # the source is gone (table or queue deleted)
            await self._stopped_by_itself(f"The source {self.pipe.source} is not available: {exc}"[:512])
            return STOP
        return None

    async def collect(self) -> SourceBatch | None:
        """One batch: up to BatchSize records, waiting up to MaximumBatchingWindowInSeconds for it to fill."""
        size = self.pipe.batch_size
        batch = await self.source.receive(size, RECEIVE_WAIT)
        if batch is None:
            return None
        window = self.pipe.batching_window
        if window > 0:
            deadline = self.clock.now() + window
            # The window's end is a timer of its own: time travel stops there, and a source that answers before
            # it with nothing (a queue waits whole seconds) does not make this loop spin.
            end = self.clock.sleep_until(deadline)
            try:
                while len(batch.records) < size:
                    left = deadline - self.clock.now()
                    if left <= 0:
                        break
                    more = await self.source.receive(size - len(batch.records), left)
                    if more is None:
                        await end
                        break
                    batch.extend(more)
            finally:
                end.cancel()
        return batch

    async def process(self, batch: SourceBatch) -> None:
        records = batch.records
        self.metrics.count("EventCount", len(records))
        self.metrics.count("EventSize", sum(len(orjson.dumps(r)) for r in records))
        if self.pipe.source_kind == QUEUE:
            parked = 0.0
            while True:
                outcome = await self.execution.run(records, delivery=self._envelope(records, 1, parked))
                if outcome.parked is None:
                    break
                # Held, not left to the queue: its receive count (and the queue's redrive policy) stays untouched,
                # and its messages are kept invisible meanwhile (none comes back to be delivered twice).
                parked += await self._wait(outcome.parked, batch)
            self._note_permission(outcome)
            failed = {id(r) for r in outcome.failed}
            await self.source.complete(batch, [r for r in records if id(r) not in failed])
            return
        lanes = self._lanes(records)
        await asyncio.gather(*(self.deliver_in_order(lane) for lane in lanes))
        self._checkpoint(batch)

    def _checkpoint(self, batch: SourceBatch) -> None:
        """Checkpoint a completed stream batch in the background, coalescing: while one checkpoint is being
        written, the next batches are delivered and only the latest position is written after it. A stop
        before it is written means those records are read and delivered again (at-least-once)."""
        self._latest = batch
        if self._checkpointer is None or self._checkpointer.done():
            self._checkpointer = asyncio.create_task(self._write_checkpoints())
            self._tasks = [t for t in self._tasks if not t.done()]
            self._tasks.append(self._checkpointer)

    async def _write_checkpoints(self) -> None:
        while self._latest is not None:
            batch, self._latest = self._latest, None
            try:
                await self.source.complete(batch, batch.records)
            except Exception:
                log.exception("pipe %s: checkpoint failed; records may be delivered again", self.pipe.name)

    def _lanes(self, records: list[JSON]) -> list[list[JSON]]:
        """Split a stream batch into ParallelizationFactor lanes by item key (one key = one lane, in order)."""
        count = self.pipe.parallelization
        if count <= 1:
            return [records]
        key_of = getattr(self.source, "partition_key", None)
        lanes: list[list[JSON]] = [[] for _ in range(count)]
        for record in records:
            key = key_of(record) if key_of is not None else orjson.dumps(record.get("eventID"))
            lanes[int.from_bytes(hashlib.blake2b(key, digest_size=4).digest(), "big") % count].append(record)
        return [lane for lane in lanes if lane]

    def _note_permission(self, outcome: Outcome) -> None:
        if outcome.succeeded:
            self.permission_failures = 0
            return
        if permission_like(outcome.error):
            self.permission_failures += 1
            if self.permission_failures >= AUTO_STOP_AFTER:
                assert outcome.error is not None
                raise PipeStopped(
                    f"The pipe stopped after {self.permission_failures} consecutive failures of its "
                    f"{(outcome.failed_stage or 'target').lower()} with {outcome.error.code}: "
                    f"{outcome.error.message}"[:512]
                )
        else:
            self.permission_failures = 0

    def _expired(self, record: JSON, now: float, parked: float = 0.0) -> bool:
        age = self.pipe.maximum_record_age
        if age < 0:
            return False
        arrived = self.source.arrival(record)
        return arrived is not None and now - arrived - parked > age

    def _envelope(self, records: list[JSON], attempt: int, parked: float) -> Envelope:
        """The envelope of a part's stage calls: its age counts from its youngest record's arrival (a part gives
        up on age only when every record would be too old; older ones expire one by one before each run)."""
        pipe = self.pipe
        arrivals = [self.source.arrival(r) for r in records]
        known = [a for a in arrivals if a is not None]
        age: float = pipe.maximum_record_age if pipe.maximum_record_age >= 0 else math.inf
        if len(known) < len(arrivals) or not known:
            age = math.inf  # a record of unknown arrival never expires
        attempts = pipe.maximum_retry_attempts if pipe.maximum_retry_attempts >= 0 else sys.maxsize
        first_seen = max(known) if known else self.clock.now()
        return Envelope(pipe.target, first_seen, RetryPolicy(attempts, age), records, attempt, parked)

    async def _wait(self, park: Park, batch: SourceBatch | None = None) -> float:
        """Wait out a park (clock time), keeping a held queue `batch` invisible; the seconds waited."""
        started = self.clock.now()
        if park.until is not None or self.gate is None:
            until = park.until if park.until is not None else started + PARK_RECHECK
            await self.clock.sleep(until - started)
            return self.clock.now() - started
        gate, records = self.gate, len(batch.records) if batch is not None else 0
        keep = getattr(self.source, "keep", None) if batch is not None else None
        gate.hold(self.keys, records)
        try:
            while True:
                if keep is not None:
                    await keep(batch, KEEP_INVISIBLE)
                await gate.wait_open(self.keys, until=self.clock.now() + KEEP_INVISIBLE / 3)
                if not gate.blocked(self.keys):
                    break
        finally:
            gate.hold(self.keys, -records)
        return self.clock.now() - started

    async def deliver_in_order(self, records: list[JSON]) -> None:
        """Deliver stream records until each succeeded, was filtered out or was dead-lettered, keeping order:
        a failed part is retried (with backoff, or bisected) before anything after it."""
        pipe = self.pipe
        # (records, retries made, seconds parked)
        segments: deque[tuple[list[JSON], int, float]] = deque([(records, 0, 0.0)])
        last_error: TargetError | None = None
        while segments:
            part, attempts, parked = segments.popleft()
            now = self.clock.now()
            expired = [r for r in part if self._expired(r, now, parked)]
            if expired:
                expiry = last_error or TargetError(
                    "RECORD_EXPIRED", "The record is older than its maximum age."
                )
                await self._dead_letter(expired, expiry, "MaximumRecordAgeInSeconds", attempts)
                part = [r for r in part if not self._expired(r, now, parked)]
                if not part:
                    continue
            outcome = await self.execution.run(part, delivery=self._envelope(part, attempts + 1, parked))
            if outcome.parked is not None:
                # Not attempted: the same part again once the park is over, no retry spent.
                parked += await self._wait(outcome.parked, SourceBatch(part))
                segments.appendleft((part, attempts, parked))
                continue
            self._note_permission(outcome)
            if outcome.succeeded:
                continue
            failed, error = outcome.failed, outcome.error
            last_error = (
                error
                if error is not None
                else TargetError("PARTIAL_FAILURE", "The target reported these records as failed.")
            )
            # A stream record expires on its own when its age passes (`_expired`, checked before each run), as
            # Lambda's event source mappings discard records; the retry rule decides attempts and backoff only.
            delivery = self._envelope(failed, attempts + 1, parked)
            ageless = RetryPolicy(delivery.policy.maximum_retry_attempts, math.inf)
            decision = self.retries.decide(
                dataclasses.replace(delivery, policy=ageless), last_error, now=self.clock.now()
            )
            # Splitting does not count as a retry (as Lambda's BisectBatchOnFunctionError) and runs at once, so a
            # retry that would come too late for the records' age still lets the halves run now.
            bisect = pipe.bisect and error is not None and len(failed) > 1
            if isinstance(decision, GiveUp) and not (bisect and decision.condition in AGE_CONDITIONS):
                condition = AGE_CONDITIONS.get(decision.condition, decision.condition)
                await self._dead_letter(failed, last_error, condition, attempts)
                continue
            if bisect:
                middle = len(failed) // 2
                segments.appendleft((failed[middle:], attempts, parked))
                segments.appendleft((failed[:middle], attempts, parked))
                continue
            assert not isinstance(decision, GiveUp)
            self.metrics.count("Retries")
            self.execution.log.write(outcome.execution_id, "ExecutionRetried")
            await self.clock.sleep(decision.at - self.clock.now())
            segments.appendleft((failed, attempts + 1, parked))

    async def _dead_letter(
        self, records: list[JSON], error: TargetError, condition: str, attempts: int
    ) -> None:
        self.metrics.count("DeadLettered", len(records))
        reason = DeadLetterReason(error.code, error.message, condition, attempts)
        self.execution.log.write("-", "ExecutionDeadLettered", error=reason.attributes(self.pipe.arn))
        await self.dead_letters.add(records, reason)

    # -- redriven dead letters -----------------------------------------------------------------------------------
    def redrive_policy(self) -> RetryPolicy:
        pipe = self.pipe
        attempts = pipe.maximum_retry_attempts if pipe.maximum_retry_attempts >= 0 else 185
        age = pipe.maximum_record_age if pipe.maximum_record_age >= 0 else 86400
        return RetryPolicy(attempts, age)

    async def _redrive_loop(self) -> None:
        await run_forever(
            f"pipe {self.pipe.name}: redrive",
            self._redrive_once,
            clock=self.clock,
            pause=1.0,
            running=lambda: not self._stopping,
        )

    async def _redrive_once(self) -> object:
        queue = self.dead_letters.queue
        try:
            items = await self.store.lease(
                queue, max_items=self.pipe.batch_size, visibility_timeout=REDRIVE_VISIBILITY
            )
            if not items:
                await self.store.wait_for_due(queue, timeout=RECEIVE_WAIT)
                return None
            await self.redrive_items(items)
        except PipeStopped as stopped:
            await self._stopped_by_itself(stopped.reason)
            return STOP
        return None

    async def redrive_items(self, items: list[QueueItem]) -> None:
        """Send redriven records through the pipe: ack what succeeded, retry the rest with backoff, and
        dead-letter again what runs out of attempts or age (counted from the redrive), telling the DeadLetterConfig
        queue as the first time. (`Redriven` is counted when records are redriven, not on each attempt here.)"""
        records = [orjson.loads(item.payload) for item in items]
        now = self.clock.now()
        policy = self.redrive_policy()
        # The age of a redriven record counts from the redrive (its first lease here), time parked excluded.
        envelopes = [
            Envelope(
                self.pipe.target,
                item.first_leased_at or now,
                policy,
                record,
                item.attempts,
                parked_seconds(item.attributes, now),
            )
            for item, record in zip(items, records, strict=True)
        ]
        delivery = dataclasses.replace(
            envelopes[0],
            first_seen=max(e.first_seen for e in envelopes),
            attempt=max(e.attempt for e in envelopes),
            parked=min(e.parked for e in envelopes),
            body=records,
        )
        outcome = await self.execution.run(records, delivery=delivery)
        if outcome.parked is not None:
            await self._park_redriven(items, envelopes, outcome.parked)
            return
        self._note_permission(outcome)
        failed = {id(r) for r in outcome.failed}
        error = outcome.error or TargetError("PARTIAL_FAILURE", "The target reported the record as failed.")
        queue = self.dead_letters.queue
        batch = self.store.batch()
        now = self.clock.now()
        given_up: dict[DeadLetterReason, list[JSON]] = {}
        retried = False
        for item, record, envelope in zip(items, records, envelopes, strict=True):
            assert item.lease_token is not None
            if id(record) not in failed:
                batch.ack(queue, item.id, item.lease_token)
                continue
            decision = self.retries.decide(envelope, error, now=now)
            if isinstance(decision, GiveUp):
                # A pipe's age limit is MaximumRecordAgeInSeconds (the retry policy calls it the event age).
                condition = AGE_CONDITIONS.get(decision.condition, decision.condition)
                reason = DeadLetterReason(error.code, error.message, condition, item.attempts - 1)
                batch.dead_letter(
                    queue, item.id, lease_token=item.lease_token, error=reason.attributes(self.pipe.arn)
                )
                given_up.setdefault(reason, []).append(record)
            else:
                settled = (
                    {"parked": envelope.parked, "parked_at": None}
                    if item.attributes.get("parked_at") is not None
                    else None
                )
                batch.retry(queue, item.id, item.lease_token, due_at=decision.at, attributes=settled)
                retried = True
        try:
            await self.store.commit(batch)
        except StoreError:
            # A lease expired during a slow execution: the records run again (at-least-once).
            log.warning("pipe %s: a redriven record's lease expired; it will run again", self.pipe.name)
            return
        if retried:
            self.metrics.count("Retries")  # as on the stream path: one per failed execution sent again
            self.execution.log.write(outcome.execution_id, "ExecutionRetried")
        for reason, dead in given_up.items():
            self.metrics.count("DeadLettered", len(dead))
            self.execution.log.write("-", "ExecutionDeadLettered", error=reason.attributes(self.pipe.arn))
            # Only after the commit: a record whose commit failed runs again instead (no message for it yet).
            await self.dead_letters.notified(dead, reason)

    async def _park_redriven(self, items: list[QueueItem], envelopes: list[Envelope], park: Park) -> None:
        """Put parked redriven records back with their lease uncounted (no attempt spent), due when the park ends
        (or after `PARK_RECHECK`, to ask again)."""
        now = self.clock.now()
        due = park.until if park.until is not None else now + PARK_RECHECK
        queue = self.dead_letters.queue
        batch = self.store.batch()
        for item, envelope in zip(items, envelopes, strict=True):
            assert item.lease_token is not None
            attributes = {"parked": envelope.parked, "parked_at": now}
            batch.release(queue, item.id, item.lease_token, due_at=due, attributes=attributes)
        try:
            await self.store.commit(batch)
        except StoreError:
            # A lease expired meanwhile: those records come back and are decided again (at-least-once).
            log.warning(
                "pipe %s: a parked redriven record's lease expired; it will run again", self.pipe.name
            )
