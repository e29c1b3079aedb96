"""Table operations: CreateTable, DescribeTable, ListTables, UpdateTable (streams), DeleteTable, TTL and tags."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipework.services.base import RequestContext

from . import errors
from .model import (
    STREAM,
    TABLE,
    VIEW_TYPES,
    Table,
    describe_table,
    new_table,
    stream_label,
    table_key,
    table_key_of,
)
from .records import stream_body

if TYPE_CHECKING:
    from .api import DynamoDB


async def create_table(svc: DynamoDB, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    name = params["TableName"]
    now = svc.clock.now()
    table = new_table(params, now, account=ctx.account, region=ctx.region)
    if table.key in svc.tables:
        raise errors.resource_in_use(f"Table already exists: {name}")
    batch = svc.store.batch()
    batch.put_resource(TABLE, table.key, table.to_body(), expected_version=0)
    if table.stream_key is not None:
        batch.put_resource(STREAM, table.stream_key, stream_body(table, now))
    await svc.store.commit(batch)
    svc.tables[table.key] = table
    return {"TableDescription": describe_table(table)}


async def describe(svc: DynamoDB, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    table = svc.require(params["TableName"], ctx)
    count, size = await svc.count_items(table)
    return {"Table": describe_table(table, item_count=count, size_bytes=size)}


async def list_tables(svc: DynamoDB, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    names = [t.name for t in svc.in_region(ctx)]
    start = params.get("ExclusiveStartTableName")
    if start is not None:
        names = [n for n in names if n > start]
    limit = params.get("Limit", 100)
    out: dict[str, Any] = {"TableNames": names[:limit]}
    if len(names) > limit:
        out["LastEvaluatedTableName"] = names[limit - 1]
    return out


async def update_table(svc: DynamoDB, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    table = svc.require(params["TableName"], ctx)
    now = svc.clock.now()
    batch = svc.store.batch()
    changes: dict[str, Any] = {}
    stream = params.get("StreamSpecification")
    if stream is not None:
        if stream.get("StreamEnabled"):
            view = stream.get("StreamViewType")
            if view not in VIEW_TYPES:
                raise errors.validation("StreamViewType is required when StreamEnabled is true")
            if table.stream_view_type is not None:
                raise errors.validation(f"Table already has an enabled stream: {table.stream_arn}")
            changes.update(stream_view_type=view, stream_label=stream_label(now))
            enabled = table.with_(**changes)
            assert enabled.stream_key is not None
            batch.put_resource(STREAM, enabled.stream_key, stream_body(enabled, now))
        else:
            if table.stream_view_type is None:
                raise errors.validation("Table does not have an enabled stream")
            await svc.close_stream(table, batch)
            changes["stream_view_type"] = None
    if "BillingMode" in params:
        changes["billing_mode"] = params["BillingMode"]
    if "ProvisionedThroughput" in params:
        changes["throughput"] = params["ProvisionedThroughput"]
    if "DeletionProtectionEnabled" in params:
        changes["deletion_protection"] = params["DeletionProtectionEnabled"]
    if params.get("GlobalSecondaryIndexUpdates"):
        raise errors.validation(
            "Pipework does not support GlobalSecondaryIndexUpdates yet; recreate the table"
        )
    updated = table.with_(**changes)
    batch.put_resource(TABLE, table.key, updated.to_body())
    await svc.store.commit(batch)
    svc.tables[table.key] = updated
    return {"TableDescription": describe_table(updated)}


async def delete_table(svc: DynamoDB, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    table = svc.require(params["TableName"], ctx)
    if table.deletion_protection:
        raise errors.validation(
            f"Resource cannot be deleted as it is currently protected against deletion. Disable deletion "
            f"protection first. Table: {table.name}"
        )
    batch = svc.store.batch()
    batch.delete_resource(TABLE, table.key)
    if table.stream_view_type is not None:
        await svc.close_stream(table, batch)
    await svc.store.commit(batch)
    del svc.tables[table.key]
    svc.forget(table)
    description = describe_table(table.with_(status="DELETING"))
    return {"TableDescription": description}


async def update_ttl(svc: DynamoDB, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    table = svc.require(params["TableName"], ctx)
    spec = params["TimeToLiveSpecification"]
    enabled, attribute = spec["Enabled"], spec["AttributeName"]
    if enabled and table.ttl_enabled:
        raise errors.validation("TimeToLive is already enabled")
    if not enabled and not table.ttl_enabled:
        raise errors.validation("TimeToLive is already disabled")
    if not enabled and attribute != table.ttl_attribute:
        raise errors.validation(
            "TimeToLive attribute name does not match the current TimeToLive attribute name"
        )
    updated = table.with_(ttl_enabled=enabled, ttl_attribute=attribute)
    await svc.save(updated)
    if enabled:
        await svc.index_ttl(updated)
    return {"TimeToLiveSpecification": {"Enabled": enabled, "AttributeName": attribute}}


async def describe_ttl(svc: DynamoDB, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    table = svc.require(params["TableName"], ctx)
    description: dict[str, Any] = {"TimeToLiveStatus": "ENABLED" if table.ttl_enabled else "DISABLED"}
    if table.ttl_enabled:
        description["AttributeName"] = table.ttl_attribute
    return {"TimeToLiveDescription": description}


def _table_of_arn(svc: DynamoDB, arn: str, ctx: RequestContext) -> Table:
    name = arn.rpartition(":table/")[2].split("/")[0]
    key = table_key_of(arn.partition("/index/")[0].partition("/stream/")[0])
    table = svc.tables.get(key) if key == table_key(ctx.account, ctx.region, name) else None
    if table is None:
        raise errors.table_not_found(name)
    return table


async def tag_resource(svc: DynamoDB, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    table = _table_of_arn(svc, params["ResourceArn"], ctx)
    tags = {**table.tags, **{t["Key"]: t["Value"] for t in params["Tags"]}}
    await svc.save(table.with_(tags=tags))
    return {}


async def untag_resource(svc: DynamoDB, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    table = _table_of_arn(svc, params["ResourceArn"], ctx)
    tags = {k: v for k, v in table.tags.items() if k not in set(params["TagKeys"])}
    await svc.save(table.with_(tags=tags))
    return {}


async def list_tags(svc: DynamoDB, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    table = _table_of_arn(svc, params["ResourceArn"], ctx)
    return {"Tags": [{"Key": k, "Value": v} for k, v in sorted(table.tags.items())]}


OPERATIONS = {
    "CreateTable": create_table,
    "DescribeTable": describe,
    "ListTables": list_tables,
    "UpdateTable": update_table,
    "DeleteTable": delete_table,
    "UpdateTimeToLive": update_ttl,
    "DescribeTimeToLive": describe_ttl,
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListTagsOfResource": list_tags,
}
