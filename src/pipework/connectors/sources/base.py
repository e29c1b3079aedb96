"""The interface a pipe's source implements: receive batches of records, then complete them.

Two kinds behave differently on failure, as on AWS: an ordered **stream** (a table's stream) is completed by
checkpointing the whole batch once every record was delivered or dead-lettered, so the runner retries failures in
place; a **queue** is completed by deleting the records that were delivered (or filtered out), and the others are
left to the queue's visibility timeout and redrive policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from pipework.jsontypes import JSON


@dataclass
class SourceBatch:
    """Records received together. `position` is what completing the batch needs (a stream position; None for a
    queue, whose records carry their receipt handles)."""

    records: list[JSON]
    position: Any = None

    def extend(self, more: SourceBatch) -> None:
        self.records.extend(more.records)
        if more.position is not None:
            self.position = more.position


class Source(Protocol):
    """A pipe's source. `kind` is ``"stream"`` or ``"queue"``; `event_source` is the records' ``eventSource``."""

    kind: str
    event_source: str

    async def receive(self, max_records: int, wait: float) -> SourceBatch | None:
        """Up to `max_records` records, waiting up to `wait` seconds (clock time) for the first; None if none."""
        ...

    async def complete(self, batch: SourceBatch, done: list[JSON]) -> None:
        """Finish `batch`: `done` are the records delivered or filtered out (a queue deletes them; a stream
        checkpoints the whole batch, whose failures were dead-lettered)."""
        ...

    def arrival(self, record: JSON) -> float | None:
        """When the record entered the source (epoch seconds), for MaximumRecordAgeInSeconds; None if unknown."""
        ...

    async def close(self) -> None:
        """Release what the source holds."""
        ...
