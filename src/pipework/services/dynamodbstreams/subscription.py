"""The internal subscription API: how the engine (a pipe's source) reads a table's stream without polling HTTP.

    sub = subscribe(store, stream_arn, consumer="pipe:orders", start="TRIM_HORIZON", batch_size=100)
    async for batch in sub:              # waits (woken by commits, no busy polling) until records arrive
        await deliver(batch.records)     # records as a pipe receives them (GetRecords shape + eventSourceARN)
        await sub.checkpoint(batch)      # durable: a restarted consumer resumes after this batch

Delivery is at-least-once: records after the last checkpoint are read again after a restart (a crash between
delivery and `checkpoint` repeats them). Records trimmed by retention before they were read are skipped, as in AWS.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from pipework.services.dynamodb.model import CHECKPOINTS, STREAM, checkpoint_key, stream_key_of
from pipework.services.dynamodb.records import as_event, position_of, sequence_number, with_sequence
from pipework.store import Resource, Store

log = logging.getLogger(__name__)

WAIT_SLICE = 5.0  # seconds of clock time between re-checks when no commit wakes the reader (other processes)


@dataclass(frozen=True)
class RecordBatch:
    """Consecutive records of one stream. `position` is the store position of the last one (what `checkpoint`
    stores); `first_sequence` / `last_sequence` are the records' SequenceNumbers."""

    stream_arn: str
    records: list[dict[str, Any]]
    position: int

    @property
    def first_sequence(self) -> str:
        return str(self.records[0]["dynamodb"]["SequenceNumber"])

    @property
    def last_sequence(self) -> str:
        return str(self.records[-1]["dynamodb"]["SequenceNumber"])


class StreamNotFound(LookupError):
    """No stream with this ARN (never created, or deleted after its retention)."""


class Subscription:
    """A reader of one stream (its single shard), resuming from a durable checkpoint. Build it with `subscribe`.

    Parameters:
        store: the instance's store.
        stream_arn: the stream (a table's LatestStreamArn), found in the account and region its ARN names.
        consumer: the checkpoint's name (e.g. the pipe's ARN); None keeps no checkpoint.
        start: where to begin when there is no checkpoint: "TRIM_HORIZON" (oldest retained record), "LATEST" (only
            records written from now on), or a SequenceNumber (begin after that record).
        batch_size: the most records one batch carries.
    """

    def __init__(
        self,
        store: Store,
        stream_arn: str,
        *,
        consumer: str | None = None,
        start: str = "TRIM_HORIZON",
        batch_size: int = 100,
    ) -> None:
        self.store = store
        self.stream_arn = stream_arn
        self.stream_key = stream_key_of(stream_arn)
        self.consumer = consumer
        self.start = start
        self.batch_size = batch_size
        self._log: str | None = None
        self._after: int | None = None  # position of the last record handed out

    @property
    def checkpoint_key(self) -> str:
        return checkpoint_key(self.stream_key or self.stream_arn, str(self.consumer))

    async def _stream(self) -> Resource | None:
        return None if self.stream_key is None else await self.store.get_resource(STREAM, self.stream_key)

    async def _open(self) -> tuple[str, int]:
        if self._log is None or self._after is None:
            resource = await self._stream()
            if resource is None:
                raise StreamNotFound(self.stream_arn)
            self._log = str(resource.body["log"])
            self._after = await self._initial_position(self._log)
        return self._log, self._after

    async def _initial_position(self, log_name: str) -> int:
        if self.consumer is not None:
            saved = await self.store.kv_get(CHECKPOINTS, self.checkpoint_key)
            if saved is not None:
                return int(saved.value)
        stats = await self.store.log_stats(log_name)
        if self.start == "LATEST":
            return stats.last_position
        if self.start == "TRIM_HORIZON":
            return stats.first_position - 1 if stats.first_position else stats.last_position
        return position_of(self.start)

    async def read(self, *, wait: float | None = None) -> RecordBatch | None:
        """The next batch; with `wait` (seconds of clock time), wait that long for records to arrive before
        returning None. Woken by commits of this process's store, so the wait costs no polling."""
        log_name, after = await self._open()
        # One store read when records are waiting (the common case under load); waiting costs a wake-up, not polling.
        stored = await self.store.read_log(log_name, after=after, limit=self.batch_size)
        if not stored and wait and await self.store.wait_for_log(log_name, after=after, timeout=wait):
            stored = await self.store.read_log(log_name, after=after, limit=self.batch_size)
        if not stored:
            return None
        if stored[0].position > after + 1:
            # Positions are consecutive, so a gap is records retention trimmed before this reader saw them (AWS
            # loses them too); reading after `after` already skipped to the oldest one left.
            log.warning(
                "stream %s: records %d..%d expired before being read",
                self.stream_arn,
                after + 1,
                stored[0].position - 1,
            )
        records = []
        for entry in stored:
            records.append(as_event(with_sequence(entry.payload, entry.position), self.stream_arn))
        self._after = stored[-1].position
        return RecordBatch(self.stream_arn, records, stored[-1].position)

    async def checkpoint(self, done: RecordBatch | str) -> None:
        """Durably record that everything up to `done` (a batch, or a SequenceNumber) was processed."""
        if self.consumer is None:
            raise ValueError("a subscription without a consumer name keeps no checkpoint")
        position = done.position if isinstance(done, RecordBatch) else position_of(done)
        await self.store.kv_put(CHECKPOINTS, self.checkpoint_key, str(position).encode())

    async def checkpointed(self) -> str | None:
        """The SequenceNumber of the last checkpointed record, or None."""
        saved = await self.store.kv_get(CHECKPOINTS, self.checkpoint_key)
        return sequence_number(int(saved.value)) if saved is not None else None

    def rewind(self, sequence: str | None) -> None:
        """Read again after `sequence` (None: from the checkpoint or `start`), e.g. to retry a failed batch."""
        self._after = position_of(sequence) if sequence is not None else None

    async def closed(self) -> bool:
        """Whether the stream is disabled (or its table deleted) and every record was read."""
        resource = await self._stream()
        if resource is None:
            return True
        if resource.body["status"] == "ENABLED":
            return False
        log_name, after = await self._open()
        return (await self.store.log_stats(log_name)).last_position <= after

    def __aiter__(self) -> AsyncIterator[RecordBatch]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[RecordBatch]:
        while True:
            batch = await self.read()
            if batch is None:
                if await self.closed():
                    return
                batch = await self.read(wait=WAIT_SLICE)
            if batch is not None:
                yield batch


def subscribe(
    store: Store,
    stream_arn: str,
    *,
    consumer: str | None = None,
    start: str = "TRIM_HORIZON",
    batch_size: int = 100,
) -> Subscription:
    """Read `stream_arn` in batches with a durable checkpoint; see `Subscription` for the parameters."""
    return Subscription(store, stream_arn, consumer=consumer, start=start, batch_size=batch_size)
