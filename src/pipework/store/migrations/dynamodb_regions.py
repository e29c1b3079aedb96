"""0002: DynamoDB data under the namespace convention, each table and stream in its account and region.

Before, DynamoDB kept one table namespace for every account and region:
- resources ``dynamodb-table`` named ``<table>`` (the body records neither account nor region);
- resources ``dynamodb-stream`` named by the stream ARN (built from the region of the request that enabled the
  stream), whose body names the stream's log ``dynamodb-stream/<table>/<label>``;
- kv ``dynamodb-stream-checkpoints`` keyed ``<stream ARN>|<consumer>``;
- kv buckets ``dynamodb-items/<TableId>``, ``dynamodb-index/<TableId>/<index>``, ``dynamodb-ttl/<TableId>``.
After: ``dynamodb/table`` named ``<account>/<region>/<table>`` (the body records both), ``dynamodb/stream`` named
``<account>/<region>/<table>/<label>`` with its log ``dynamodb/stream/<that name>``, ``dynamodb/stream-checkpoint``
keyed ``<stream name>/<consumer, '/' as %2F>``, buckets ``dynamodb/item|index|ttl/<TableId>...``.

A stream goes to the account and region its ARN names, so pipes and readers holding that ARN still find it. A
table goes where the ARN of its latest stream points (the only ARN of a table that was stored), and to the server's
default account and region if it never had a stream. Items, index and TTL entries, stream records (positions, so
sequence numbers) and checkpoints are kept as they are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipework.store.base import Batch, Store

from .listing import named_bodies

if TYPE_CHECKING:
    from . import Defaults

ID = "0002-dynamodb-regions"
SUMMARY = (
    "DynamoDB tables, items, streams and their records, and stream checkpoints keyed by account and region"
)

OLD_TABLE, NEW_TABLE = "dynamodb-table", "dynamodb/table"
OLD_STREAM, NEW_STREAM = "dynamodb-stream", "dynamodb/stream"
OLD_CHECKPOINT, NEW_CHECKPOINT = "dynamodb-stream-checkpoints", "dynamodb/stream-checkpoint"
BUCKETS = (("dynamodb-items/", "dynamodb/item/"), ("dynamodb-ttl/", "dynamodb/ttl/"))
OLD_INDEX, NEW_INDEX = "dynamodb-index/", "dynamodb/index/"
NEW_LOG = "dynamodb/stream/"
PAGE = 1000


async def plan(store: Store, batch: Batch, defaults: Defaults) -> None:
    streams = await named_bodies(store, OLD_STREAM)
    new_stream_names: dict[str, str] = {}  # stream ARN -> new resource name
    owners: dict[tuple[str, str], tuple[str, str]] = {}  # (TableId, label) -> (account, region) of its ARN
    for old_name, body in streams:
        account, region, table, label = _stream_parts(old_name, body, defaults)
        new_name = f"{account}/{region}/{table}/{label}"
        new_stream_names[old_name] = new_name
        owners[(str(body.get("table_id")), label)] = (account, region)
        log = NEW_LOG + new_name
        batch.rename_resource(OLD_STREAM, old_name, NEW_STREAM, new_name)
        if isinstance(body.get("log"), str):
            batch.rename_log(body["log"], log)
        batch.put_resource(NEW_STREAM, new_name, {**body, "log": log})

    for old_name, body in await named_bodies(store, OLD_TABLE):
        table_id = str(body.get("table_id"))
        account, region = owners.get(
            (table_id, str(body.get("stream_label"))), (defaults.account, defaults.region)
        )
        new_name = f"{account}/{region}/{old_name}"
        batch.rename_resource(OLD_TABLE, old_name, NEW_TABLE, new_name)
        batch.put_resource(NEW_TABLE, new_name, {**body, "account": account, "region": region})
        for old, new in BUCKETS:
            batch.rename_bucket(old + table_id, new + table_id)
        for index in body.get("indexes") or ():
            batch.rename_bucket(
                f"{OLD_INDEX}{table_id}/{index['name']}", f"{NEW_INDEX}{table_id}/{index['name']}"
            )

    after = ""
    while entries := await store.kv_list(OLD_CHECKPOINT, start=after, limit=PAGE):
        for entry in entries:
            arn, separator, consumer = entry.key.partition("|")
            stream = new_stream_names.get(arn)
            if separator and stream is not None:
                escaped = consumer.replace("%", "%25").replace("/", "%2F")
                batch.kv_rename(OLD_CHECKPOINT, entry.key, NEW_CHECKPOINT, f"{stream}/{escaped}")
            # else: the checkpoint of a stream already gone; no reader can resume it, so it stays where it is.
        after = entries[-1].key + "\0"


def _stream_parts(arn: str, body: dict[str, Any], defaults: Defaults) -> tuple[str, str, str, str]:
    """(account, region, table, label) of a stream named by its ARN,
    ``arn:<partition>:dynamodb:<region>:<account>:table/<table>/stream/<label>`` (a label has colons in it)."""
    parts = arn.split(":", 5)
    resource = parts[5].split("/") if len(parts) == 6 else []
    if len(resource) == 4 and resource[0] == "table" and resource[2] == "stream" and parts[3] and parts[4]:
        return parts[4], parts[3], resource[1], resource[3]
    return defaults.account, defaults.region, str(body["table"]), str(body["label"])
