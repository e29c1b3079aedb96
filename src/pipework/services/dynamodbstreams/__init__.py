"""The DynamoDB Streams service (ListStreams, DescribeStream, GetShardIterator, GetRecords) and the internal
subscription API a pipe uses to read a table's stream with a checkpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .api import DynamoDBStreams
from .subscription import RecordBatch, StreamNotFound, Subscription, subscribe

if TYPE_CHECKING:
    from pipework.app import Pipework


def create_service(pipework: Pipework) -> DynamoDBStreams:
    return DynamoDBStreams(pipework)


__all__ = ["DynamoDBStreams", "RecordBatch", "StreamNotFound", "Subscription", "create_service", "subscribe"]
