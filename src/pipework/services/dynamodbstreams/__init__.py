"""The DynamoDB Streams service (ListStreams, DescribeStream, GetShardIterator, GetRecords) and the internal
subscription API a pipe uses to read a table's stream with a checkpoint."""

from __future__ import annotations

from .api import DynamoDBStreams
from .subscription import RecordBatch, StreamNotFound, Subscription, subscribe

__all__ = ["DynamoDBStreams", "RecordBatch", "StreamNotFound", "Subscription", "subscribe"]
