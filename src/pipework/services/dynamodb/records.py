"""DynamoDB Streams records: what one item change becomes in its table's stream, shaped exactly as AWS shapes it.

A record is stored (as JSON) in the stream's log without its SequenceNumber: the log position assigned at commit
is the sequence number, so readers add it (`with_sequence`). Stream resources describe each stream a table ever had.
"""

from __future__ import annotations

from typing import Any

import orjson

from pipework.ids import random_uuid

from .model import STREAM, Table, stream_log
from .values import Item, equal, item_size

# GetRecords spells the identity's members PrincipalId / Type; Lambda and Pipes events spell them principalId / type.
TTL_IDENTITY = {"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"}
SEQUENCE_DIGITS = 21


def sequence_number(position: int) -> str:
    return f"{position:0{SEQUENCE_DIGITS}d}"


def position_of(sequence: str) -> int:
    return int(sequence)


def unchanged(old: Item | None, new: Item | None) -> bool:
    if old is None or new is None:
        return old is None and new is None
    return old.keys() == new.keys() and all(equal(old[k], new[k]) for k in old)


def stream_record(
    table: Table,
    keys: Item,
    old: Item | None,
    new: Item | None,
    *,
    now: float,
    user_identity: dict[str, str] | None = None,
) -> dict[str, Any] | None:
    """The record for one change (None when the table has no enabled stream or nothing changed)."""
    view = table.stream_view_type
    if view is None or unchanged(old, new):
        return None
    name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
    dynamodb: dict[str, Any] = {"ApproximateCreationDateTime": int(now), "Keys": keys}
    size = item_size(keys)
    if view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES") and new is not None:
        dynamodb["NewImage"] = new
        size += item_size(new)
    if view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES") and old is not None:
        dynamodb["OldImage"] = old
        size += item_size(old)
    dynamodb["SizeBytes"] = size
    dynamodb["StreamViewType"] = view
    record: dict[str, Any] = {
        "eventID": random_uuid().replace("-", ""),
        "eventName": name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": table.region,
        "dynamodb": dynamodb,
    }
    if user_identity is not None:
        record["userIdentity"] = user_identity
    return record


def with_sequence(payload: bytes, position: int) -> dict[str, Any]:
    """A stored record as GetRecords returns it: SequenceNumber added after SizeBytes (AWS's member order)."""
    record: dict[str, Any] = orjson.loads(payload)
    dynamodb = record["dynamodb"]
    ordered = {k: v for k, v in dynamodb.items() if k not in ("SizeBytes", "StreamViewType")}
    ordered["SequenceNumber"] = sequence_number(position)
    ordered["SizeBytes"] = dynamodb["SizeBytes"]
    ordered["StreamViewType"] = dynamodb["StreamViewType"]
    record["dynamodb"] = ordered
    return record


def as_event(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record as a pipe (or Lambda) receives it: eventSourceARN added, userIdentity in event casing."""
    event = dict(record)
    event["eventSourceARN"] = stream_arn
    identity = event.get("userIdentity")
    if identity is not None:
        event["userIdentity"] = {"type": identity["Type"], "principalId": identity["PrincipalId"]}
    return event


def stream_body(table: Table, now: float) -> dict[str, Any]:
    """The resource describing a newly enabled stream (named `table.stream_key`)."""
    assert table.stream_key is not None and table.stream_view_type is not None
    return {
        "arn": table.stream_arn,
        "table": table.name,
        "table_id": table.table_id,
        "label": table.stream_label,
        "view_type": table.stream_view_type,
        "status": "ENABLED",
        "created": now,
        "closed_at": None,
        "log": stream_log(table.stream_key),
        "shard_id": f"shardId-{int(now * 1000):020d}-{table.table_id[:8]}",
        "key_schema": table.key_schema,
        "retention_seconds": table.retention_seconds,
    }


__all__ = [
    "STREAM",
    "TTL_IDENTITY",
    "position_of",
    "sequence_number",
    "stream_body",
    "stream_record",
    "unchanged",
    "with_sequence",
]
