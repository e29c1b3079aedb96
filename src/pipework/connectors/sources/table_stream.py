"""A table's stream as a pipe source, read through a subscription of the `TableStreams` port (DynamoDB Streams'
internal subscription API: checkpointed in the store, woken by commits). StartingPosition TRIM_HORIZON / LATEST applies only when there is no checkpoint yet.

At-least-once: the checkpoint moves only after a batch is completed, so records read but not completed when the
process stops are read again after a restart (a target may see them twice).
"""

from __future__ import annotations

from typing import Any

from pipework.connectors.ports import StreamReader, TableStreams
from pipework.jsontypes import JSON

from .base import SourceBatch


class TableStreamSource:
    """Reads `stream_arn` for the consumer `consumer` (the pipe ARN) from `start` (TRIM_HORIZON or LATEST)."""

    kind = "stream"
    event_source = "aws:dynamodb"

    def __init__(
        self, streams: TableStreams, stream_arn: str, *, consumer: str, start: str, batch_size: int
    ) -> None:
        self.subscription: StreamReader = streams.subscribe(
            stream_arn, consumer=consumer, start=start, batch_size=batch_size
        )

    async def receive(self, max_records: int, wait: float) -> SourceBatch | None:
        self.subscription.batch_size = max_records
        batch = await self.subscription.read(wait=wait)
        if batch is None:
            return None
        return SourceBatch(list(batch.records), batch)

    async def complete(self, batch: SourceBatch, done: list[JSON]) -> None:
        if batch.position is not None:
            await self.subscription.checkpoint(batch.position)

    def arrival(self, record: JSON) -> float | None:
        created: Any = (record.get("dynamodb") or {}).get("ApproximateCreationDateTime")
        return float(created) if isinstance(created, int | float) else None

    async def close(self) -> None:
        return None

    @staticmethod
    def partition_key(record: JSON) -> bytes:
        """The item key of a record: records of one item stay in order across ParallelizationFactor lanes."""
        import orjson

        return orjson.dumps((record.get("dynamodb") or {}).get("Keys"), option=orjson.OPT_SORT_KEYS)
