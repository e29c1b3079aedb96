"""`PipeRunner`: the loop that feeds one pipe from its source — batching window, execution, and what happens to
failures: partial batch failures, AUTOMATIC_BISECT, retries with backoff until MaximumRetryAttempts or
MaximumRecordAgeInSeconds, then the dead letters (full records); and the redrive queue of dead letters sent back.

Streams are processed in order (per item key across ParallelizationFactor lanes) and checkpointed only once every
record of a batch was delivered, filtered out or dead-lettered; queues delete what succeeded and leave the rest to
the queue. A pipe whose target keeps failing with a permission-like error stops itself (`PipeStopped`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from pipework.clock import Clock
from pipework.connectors.sources.base import Source, SourceBatch
from pipework.connectors.targets import TargetError
from pipework.engine.retry import Backoff, GiveUp, RetryPolicy, decide
from pipework.store.base import QueueItem, Store
from pipework.store.errors import StoreError

from .dead_letters import DeadLetterReason, DeadLetters
from .definition import QUEUE, PipeDefinition
from .execution import Execution, Outcome

log = logging.getLogger("pipework.pipes")
JSON = dict[str, Any]

#: Consecutive executions failing with a permission-like error after which a pipe stops itself.
AUTO_STOP_AFTER = 5
#: Errors that mean the pipe is misconfigured (missing target, refused authorization), not a passing failure.
PERMISSION_CODES = frozenset({"NO_PERMISSIONS", "NO_RESOURCE", "ACCESS_DENIED"})
#: Errors no retry can fix and that do not stop the pipe: the records go to the dead letters at once.
UNFIXABLE_CODES = frozenset({"INVALID_JSON"})
AGE_CONDITIONS = {"MaximumEventAgeInSeconds": "MaximumRecordAgeInSeconds"}
RECEIVE_WAIT = 5.0  # seconds (clock time) a receive waits for records before the loop checks again
REDRIVE_VISIBILITY = 60.0


class PipeStopped(Exception):
    """The pipe stopped itself; `reason` becomes its StateReason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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
    ) -> None:
        self.pipe = pipe
        self.source = source
        self.execution = execution
        self.dead_letters = dead_letters
        self.store = store
        self.clock = clock
        self.on_stopped = on_stopped
        self.backoff = backoff or Backoff(base=0.5, cap=30.0)
        self.pollers = pollers if pipe.source_kind == QUEUE else 1
        self.rng = rng or random.Random()
        self.metrics = execution.metrics
        self.permission_failures = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._latest: SourceBatch | None = None
        self._checkpointer: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> None:
        name = self.pipe.name
        self._tasks = [
            asyncio.create_task(self._poll(), name=f"pipe:{name}:{i}") for i in range(self.pollers)
        ]
        self._tasks.append(asyncio.create_task(self._redrive_loop(), name=f"pipe:{name}:redrive"))

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
        while not self._stopping:
            try:
                batch = await self.collect()
                if batch is None:
                    continue
                await self.process(batch)
            except asyncio.CancelledError:
                raise
            except PipeStopped as stopped:
                await self._stopped_by_itself(stopped.reason)
                return
            except LookupError as exc:  # the source is gone (table or queue deleted)
                await self._stopped_by_itself(f"The source {self.pipe.source} is not available: {exc}"[:512])
                return
            except Exception:  # the loop survives anything; the batch is read again (not checkpointed)
                log.exception("pipe %s: polling failed", self.pipe.name)
                await self.clock.sleep(1.0)

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
            outcome = await self.execution.run(records)
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

    def _expired(self, record: JSON, now: float) -> bool:
        age = self.pipe.maximum_record_age
        if age < 0:
            return False
        arrived = self.source.arrival(record)
        return arrived is not None and now - arrived > age

    async def deliver_in_order(self, records: list[JSON]) -> None:
        """Deliver stream records until each succeeded, was filtered out or was dead-lettered, keeping order:
        a failed part is retried (with backoff, or bisected) before anything after it."""
        pipe = self.pipe
        segments: deque[tuple[list[JSON], int]] = deque([(records, 0)])
        last_error: TargetError | None = None
        while segments:
            part, attempts = segments.popleft()
            now = self.clock.now()
            expired = [r for r in part if self._expired(r, now)]
            if expired:
                expiry = last_error or TargetError(
                    "RECORD_EXPIRED", "The record is older than its maximum age."
                )
                await self._dead_letter(expired, expiry, "MaximumRecordAgeInSeconds", attempts)
                part = [r for r in part if not self._expired(r, now)]
                if not part:
                    continue
            outcome = await self.execution.run(part)
            self._note_permission(outcome)
            if outcome.succeeded:
                continue
            failed, error = outcome.failed, outcome.error
            last_error = (
                error
                if error is not None
                else TargetError("PARTIAL_FAILURE", "The target reported these records as failed.")
            )
            if error is not None and error.code in UNFIXABLE_CODES:
                await self._dead_letter(failed, error, "", attempts)
                continue
            if pipe.maximum_retry_attempts >= 0 and attempts >= pipe.maximum_retry_attempts:
                await self._dead_letter(failed, last_error, "MaximumRetryAttempts", attempts)
                continue
            if pipe.bisect and error is not None and len(failed) > 1:
                # Splitting does not count as a retry (as Lambda's BisectBatchOnFunctionError).
                middle = len(failed) // 2
                segments.appendleft((failed[middle:], attempts))
                segments.appendleft((failed[:middle], attempts))
                continue
            self.metrics.count("Retries")
            self.execution.log.write(outcome.execution_id, "ExecutionRetried")
            delay = self.backoff.delay(attempts + 1, self.rng)
            if last_error.retry_after is not None:
                delay = max(delay, last_error.retry_after)
            await self.clock.sleep(delay)
            segments.appendleft((failed, attempts + 1))

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
        queue = self.dead_letters.queue
        while not self._stopping:
            try:
                items = await self.store.lease(
                    queue, max_items=self.pipe.batch_size, visibility_timeout=REDRIVE_VISIBILITY
                )
                if not items:
                    await self.store.wait_for_due(queue, timeout=RECEIVE_WAIT)
                    continue
                await self.redrive_items(items)
            except asyncio.CancelledError:
                raise
            except PipeStopped as stopped:
                await self._stopped_by_itself(stopped.reason)
                return
            except Exception:
                log.exception("pipe %s: redrive failed", self.pipe.name)
                await self.clock.sleep(1.0)

    async def redrive_items(self, items: list[QueueItem]) -> None:
        """Send redriven records through the pipe: ack what succeeded, retry the rest with backoff, and
        dead-letter again what runs out of attempts or age (counted from the redrive), telling the DeadLetterConfig
        queue as the first time. (`Redriven` is counted when records are redriven, not on each attempt here.)"""
        records = [orjson.loads(item.payload) for item in items]
        outcome = await self.execution.run(records)
        self._note_permission(outcome)
        failed = {id(r) for r in outcome.failed}
        error = outcome.error or TargetError("PARTIAL_FAILURE", "The target reported the record as failed.")
        queue = self.dead_letters.queue
        batch = self.store.batch()
        now = self.clock.now()
        given_up: dict[DeadLetterReason, list[JSON]] = {}
        retried = False
        for item, record in zip(items, records, strict=True):
            assert item.lease_token is not None
            if id(record) not in failed:
                batch.ack(queue, item.id, item.lease_token)
                continue
            decision = decide(
                self.redrive_policy(),
                attempts=item.attempts,
                first_seen=item.first_leased_at or now,
                now=now,
                retryable=error.code not in UNFIXABLE_CODES,
                backoff=self.backoff,
                rng=self.rng,
            )
            if isinstance(decision, GiveUp):
                # A pipe's age limit is MaximumRecordAgeInSeconds (the retry policy calls it the event age).
                condition = AGE_CONDITIONS.get(decision.condition, decision.condition)
                reason = DeadLetterReason(error.code, error.message, condition, item.attempts - 1)
                batch.dead_letter(
                    queue, item.id, lease_token=item.lease_token, error=reason.attributes(self.pipe.arn)
                )
                given_up.setdefault(reason, []).append(record)
            else:
                batch.retry(queue, item.id, item.lease_token, due_at=decision.at)
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
