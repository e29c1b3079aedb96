"""`DynamoDBStreams`: the served ``dynamodbstreams`` API — ListStreams, DescribeStream, GetShardIterator and
GetRecords over the streams the ``dynamodb`` service writes (one shard per stream; its log position is the
sequence number)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import orjson

from pipework.services.base import Handler, RequestContext, ServiceError, dispatch
from pipework.services.dynamodb import DynamoDB, errors
from pipework.services.dynamodb.model import CHECKPOINTS, STREAM, checkpoint_key, stream_key_of, table_key
from pipework.services.dynamodb.records import position_of, sequence_number, with_sequence
from pipework.store import Resource, Store

from .subscription import Subscription, subscribe

if TYPE_CHECKING:
    from pipework.clock import Clock

ITERATOR_LIFETIME = 15 * 60.0  # shard iterators expire after 15 minutes, as in AWS
MAX_RECORDS = 1000
MAX_RESPONSE_BYTES = 1024 * 1024


class DynamoDBStreams:
    """The ``dynamodbstreams`` service; also the entry point of the internal `subscribe` API (see there), which
    implements the connectors' `TableStreams` port.

    Parameters: `store` and `clock`, the instance's; `dynamodb`, the tables whose streams these are.
    """

    name = "dynamodbstreams"

    def __init__(self, store: Store, clock: Clock, *, dynamodb: DynamoDB) -> None:
        self.store = store
        self.clock = clock
        self.dynamodb = dynamodb

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def subscribe(
        self,
        stream_arn: str,
        *,
        consumer: str | None = None,
        start: str = "TRIM_HORIZON",
        batch_size: int = 100,
    ) -> Subscription:
        """See `pipework.services.dynamodbstreams.subscription.subscribe`; the store is this instance's."""
        return subscribe(self.store, stream_arn, consumer=consumer, start=start, batch_size=batch_size)

    async def lag(self, stream_arn: str, consumer: str) -> tuple[int, float | None] | None:
        """How far `consumer` (e.g. a pipe's ARN) is behind on a stream: the records written after its checkpoint,
        and the time the oldest of them was written (None when it is caught up); None if there is no such
        stream. A consumer with no checkpoint yet counts every retained record."""
        key = stream_key_of(stream_arn)
        resource = None if key is None else await self.store.get_resource(STREAM, key)
        if key is None or resource is None:
            return None
        log_name = str(resource.body["log"])
        stats = await self.store.log_stats(log_name)
        saved = await self.store.kv_get(CHECKPOINTS, checkpoint_key(key, consumer))
        after = int(saved.value) if saved is not None else max(stats.first_position - 1, 0)
        behind = max(0, stats.last_position - max(after, stats.first_position - 1))
        if behind == 0:
            return 0, None
        first = await self.store.read_log(log_name, after=after, limit=1)
        return behind, first[0].time if first else None

    async def shard_id(self, stream_arn: str) -> str | None:
        """The id of the stream's one shard; None if there is no such stream."""
        key = stream_key_of(stream_arn)
        resource = await self.store.get_resource(STREAM, key) if key is not None else None
        return None if resource is None else resource.body.get("shard_id")

    @staticmethod
    def unknown_operation(operation: str) -> ServiceError:
        return ServiceError("UnknownOperationException", f"Unknown operation {operation}", 400)

    async def handle(self, operation: str, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        return await dispatch(self, operation, params, ctx)

    async def _stream(self, arn: str, ctx: RequestContext) -> Resource:
        """The stream `arn` names, if it is in the request's account and region."""
        key = stream_key_of(arn)
        in_region = key is not None and key.startswith(table_key(ctx.account, ctx.region, ""))
        resource = await self.store.get_resource(STREAM, key) if key is not None and in_region else None
        if resource is None:
            raise errors.stream_not_found(arn)
        return resource

    async def list_streams(self, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        table = params.get("TableName")
        # Stream names are "<account>/<region>/<table>/<label>": one region's (or one table's) are one prefix.
        prefix = table_key(ctx.account, ctx.region, "" if table is None else f"{table}/")
        streams: list[dict[str, Any]] = []
        async for resource in self.store.all_resources(STREAM, prefix=prefix, page=500):
            body = resource.body
            streams.append(
                {"StreamArn": body["arn"], "TableName": body["table"], "StreamLabel": body["label"]}
            )
        if (
            table is not None
            and not streams
            and table_key(ctx.account, ctx.region, table) not in self._tables()
        ):
            raise errors.table_not_found(table)
        start = params.get("ExclusiveStartStreamArn")
        if start is not None:
            streams = [s for s in streams if s["StreamArn"] > start]
        limit = params.get("Limit", 100)
        out: dict[str, Any] = {"Streams": streams[:limit]}
        if len(streams) > limit:
            out["LastEvaluatedStreamArn"] = streams[limit - 1]["StreamArn"]
        return out

    def _tables(self) -> dict[str, Any]:
        return self.dynamodb.tables

    async def describe_stream(self, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        resource = await self._stream(params["StreamArn"], ctx)
        body = resource.body
        stats = await self.store.log_stats(body["log"])
        sequence_range: dict[str, Any] = {
            "StartingSequenceNumber": sequence_number(stats.first_position or stats.last_position + 1)
        }
        if body["status"] != "ENABLED":
            sequence_range["EndingSequenceNumber"] = sequence_number(stats.last_position)
        description = {
            "StreamArn": body["arn"],
            "StreamLabel": body["label"],
            "StreamStatus": body["status"],
            "StreamViewType": body["view_type"],
            "CreationRequestDateTime": body["created"],
            "TableName": body["table"],
            "KeySchema": body["key_schema"],
            "Shards": [{"ShardId": body["shard_id"], "SequenceNumberRange": sequence_range}],
        }
        return {"StreamDescription": description}

    async def get_shard_iterator(self, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        resource = await self._stream(params["StreamArn"], ctx)
        body = resource.body
        if params["ShardId"] != body["shard_id"]:
            raise ServiceError(
                "ResourceNotFoundException",
                f"Requested resource not found: Shard does not exist: {params['ShardId']}",
                400,
            )
        kind = params["ShardIteratorType"]
        stats = await self.store.log_stats(body["log"])
        sequence = params.get("SequenceNumber")
        if kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
            if sequence is None:
                raise errors.validation(f"SequenceNumber is required for ShardIteratorType {kind}")
            try:
                position = position_of(sequence)
            except ValueError:
                raise errors.validation(f"Invalid SequenceNumber: {sequence}") from None
            if position > stats.last_position:
                raise errors.validation(
                    f"StartingSequenceNumber {sequence} used in GetShardIterator on shard {body['shard_id']} "
                    "is not in the shard's sequence number range"
                )
            if stats.first_position and position < stats.first_position:
                raise errors.trimmed_data(
                    f"Attempted to access data beyond the trim horizon: sequence number {sequence}"
                )
            after = position - 1 if kind == "AT_SEQUENCE_NUMBER" else position
        elif kind == "LATEST":
            after = stats.last_position
        else:  # TRIM_HORIZON
            after = max(stats.first_position - 1, 0) if stats.first_position else stats.last_position
        return {"ShardIterator": self._iterator(body["arn"], body["shard_id"], after)}

    def _iterator(self, arn: str, shard: str, after: int) -> str:
        token = orjson.dumps({"a": arn, "s": shard, "p": after, "t": self.clock.now()})
        return arn + "|" + base64.urlsafe_b64encode(token).decode("ascii")

    def _parse_iterator(self, iterator: str) -> dict[str, Any]:
        try:
            state: dict[str, Any] = orjson.loads(base64.urlsafe_b64decode(iterator.rpartition("|")[2]))
            state["a"], state["s"], state["p"], state["t"]
        except Exception:
            raise errors.validation("Invalid ShardIterator") from None
        return state

    async def get_records(self, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        state = self._parse_iterator(params["ShardIterator"])
        if self.clock.now() - state["t"] > ITERATOR_LIFETIME:
            raise errors.expired_iterator(
                "Iterator expired. The iterator was created at time " + str(state["t"])
            )
        resource = await self._stream(state["a"], ctx)
        body = resource.body
        limit = params.get("Limit", MAX_RECORDS)
        after = state["p"]
        stats = await self.store.log_stats(body["log"])
        if stats.first_position and after + 1 < stats.first_position:
            raise errors.trimmed_data(
                "The operation attempted to read past the oldest stream record in a shard."
            )
        stored = await self.store.read_log(body["log"], after=after, limit=limit)
        records: list[dict[str, Any]] = []
        size = 0
        for entry in stored:
            size += len(entry.payload)
            if records and size > MAX_RESPONSE_BYTES:
                break
            records.append(with_sequence(entry.payload, entry.position))
            after = entry.position
        out: dict[str, Any] = {"Records": records}
        closed = body["status"] != "ENABLED"
        if not (closed and after >= stats.last_position):
            out["NextShardIterator"] = self._iterator(body["arn"], body["shard_id"], after)
        return out

    operations: ClassVar[Mapping[str, Handler]] = {
        "ListStreams": list_streams,
        "DescribeStream": describe_stream,
        "GetShardIterator": get_shard_iterator,
        "GetRecords": get_records,
    }
