"""`DynamoDB`: the served ``dynamodb`` API of one Pipework instance — tables in memory as a cache of their store
resources, item writes through `ItemWriter`, and the background sweep (TTL expiry, stream retention)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import orjson

from pipework.engine.cluster import Cluster
from pipework.engine.loops import run_forever
from pipework.engine.metrics import Recorder, dimensions
from pipework.services.base import Handler, RequestContext, ServiceError, dispatch
from pipework.store import Store

from . import errors, items, reads, tables
from .model import STREAM, TABLE, Table, index_bucket, table_key, table_key_of, ttl_bucket
from .records import TTL_IDENTITY
from .values import Item
from .writes import Change, Current, ItemWriter

if TYPE_CHECKING:
    from pipework.clock import Clock

log = logging.getLogger(__name__)

OPERATIONS: dict[str, Handler] = {**tables.OPERATIONS, **items.OPERATIONS, **reads.OPERATIONS}
SWEEP_INTERVAL = 1.0  # seconds of clock time between TTL / retention sweeps
SWEEP_BATCH = 100


NAMESPACE = "AWS/DynamoDB"
_ITEM_OPERATIONS = frozenset(
    {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem", "BatchWriteItem"}
)


def _table_name(ref: str) -> str:
    """A TableName parameter's table: a name, or the last part of a table ARN."""
    return ref.rsplit("/", 1)[-1] if ref.startswith("arn:") else ref


class DynamoDB:
    """The ``dynamodb`` service.

    Parameters: `store` and `clock`, the instance's; `region` and `account`, the defaults (a request's own region
    and account scope the tables it sees); `sweep_interval`, seconds of clock time between sweeps that expire TTL'd
    items and trim stream records older than their retention.
    """

    name = "dynamodb"
    operations: ClassVar[Mapping[str, Handler]] = OPERATIONS

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        region: str,
        account: str,
        sweep_interval: float = SWEEP_INTERVAL,
        cluster: Cluster | None = None,
        recorder: Recorder | None = None,
    ) -> None:
        self.recorder = recorder
        self.store = store
        self.cluster = cluster or Cluster(store)
        self.clock = clock
        self.region = region
        self.account = account
        self.sweep_interval = sweep_interval
        self.tables: dict[str, Table] = {}  # by resource name, "<account>/<region>/<table>"
        self.writer = ItemWriter(store, clock)
        self._sweeper: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        await self.refresh(TABLE, None)
        # TTL expiry and stream trimming: one node at a time.
        self._sweeper = self.cluster.singleton("dynamodb/sweeper", self._sweep_forever)

    #: The resource kinds whose changes by other nodes `refresh` follows.
    watched_kinds = frozenset({TABLE})

    async def refresh(self, kind: str, name: str | None) -> None:
        """Load the table stored as `name` (None: every table) as it is now in the store."""
        if name is None:
            loaded = {
                r.name: Table.from_body(r.body) async for r in self.store.all_resources(TABLE, page=500)
            }
            self.tables.clear()
            self.tables.update(loaded)
            return
        resource = await self.store.get_resource(TABLE, name)
        if resource is None:
            self.tables.pop(name, None)
        else:
            self.tables[name] = Table.from_body(resource.body)

    async def stop(self) -> None:
        tasks = [t for t in (self._sweeper, *self._background) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    @staticmethod
    def unknown_operation(operation: str) -> ServiceError:
        return ServiceError(
            "UnknownOperationException", f"Pipework does not implement DynamoDB's {operation} yet", 400
        )

    async def handle(self, operation: str, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        if self.recorder is None:
            return await dispatch(self, operation, params, ctx)
        started = time.perf_counter()
        try:
            result = await dispatch(self, operation, params, ctx)
        except ServiceError as error:
            self._record_error(operation, params, ctx, error)
            raise
        table = params.get("TableName")
        if isinstance(table, str) and operation in _ITEM_OPERATIONS:
            dims = dimensions(("Operation", operation), ("TableName", _table_name(table)))
            latency = (time.perf_counter() - started) * 1000.0
            add = self.recorder.add
            add(ctx.account, ctx.region, NAMESPACE, "SuccessfulRequestLatency", dims, latency, "Milliseconds")
            if operation in ("Query", "Scan", "GetItem", "BatchGetItem"):
                returned = len(result.get("Items") or ()) if operation != "GetItem" else int("Item" in result)
                add(ctx.account, ctx.region, NAMESPACE, "ReturnedItemCount", dims, float(returned))
        return result

    def _record_error(
        self, operation: str, params: dict[str, Any], ctx: RequestContext, error: ServiceError
    ) -> None:
        """UserErrors (a 4xx, per account and region), SystemErrors (a 5xx, per table and operation) and
        ConditionalCheckFailedRequests (per table), as DynamoDB publishes them."""
        assert self.recorder is not None
        table = params.get("TableName")
        name = _table_name(table) if isinstance(table, str) else None
        if error.code == "ConditionalCheckFailedException" and name is not None:
            self.recorder.add(
                ctx.account,
                ctx.region,
                NAMESPACE,
                "ConditionalCheckFailedRequests",
                (("TableName", name),),
                1.0,
            )
        elif error.status >= 500 and name is not None:
            dims = dimensions(("Operation", operation), ("TableName", name))
            self.recorder.add(ctx.account, ctx.region, NAMESPACE, "SystemErrors", dims, 1.0)
        elif error.status < 500:
            self.recorder.add(ctx.account, ctx.region, NAMESPACE, "UserErrors", (), 1.0)

    # ── tables ──

    def require(self, ref: str, ctx: RequestContext, *, named: bool = True) -> Table:
        """The table `ref` names in the request's account and region (by its name or, as DynamoDB accepts wherever
        a table name goes, its ARN), or ResourceNotFoundException: table operations name the table in the message
        (`named`), item operations not."""
        prefix = table_key(ctx.account, ctx.region, "")
        key = table_key_of(ref) if ref.startswith("arn:") else prefix + ref
        table = self.tables.get(key) if key is not None and key.startswith(prefix) else None
        if table is None:
            raise errors.table_not_found(ref if named else None)
        return table

    def in_region(self, ctx: RequestContext) -> list[Table]:
        """The tables of the request's account and region, by name."""
        prefix = table_key(ctx.account, ctx.region, "")
        return sorted((t for k, t in self.tables.items() if k.startswith(prefix)), key=lambda t: t.name)

    async def save(self, table: Table) -> None:
        await self.store.put_resource(TABLE, table.key, table.to_body())
        self.tables[table.key] = table

    async def count_items(self, table: Table) -> tuple[int, int]:
        """(ItemCount, TableSizeBytes): live items and the bytes of their stored form."""
        return await self.store.kv_stats(table.items_bucket)

    async def close_stream(self, table: Table, batch: Any) -> None:
        key = table.stream_key
        if key is None:
            return
        resource = await self.store.get_resource(STREAM, key)
        if resource is not None:
            body = {**resource.body, "status": "DISABLED", "closed_at": self.clock.now()}
            batch.put_resource(STREAM, key, body)

    def forget(self, table: Table) -> None:
        """Delete a dropped table's items and index entries in the background (the table is already gone)."""
        buckets = [table.items_bucket, ttl_bucket(table.table_id)]
        buckets += [index_bucket(table.table_id, i.name) for i in table.indexes]
        task = asyncio.create_task(self._purge(buckets))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _purge(self, buckets: list[str]) -> None:
        for bucket in buckets:
            while True:
                page = await self.store.kv_list(bucket, limit=500)
                if not page:
                    break
                batch = self.store.batch()
                for entry in page:
                    batch.kv_delete(bucket, entry.key)
                await self.store.commit(batch)

    async def index_ttl(self, table: Table) -> None:
        """Backfill the TTL index of a table whose TTL was just enabled."""
        attribute = table.ttl_attribute
        assert attribute is not None
        from .keys import ttl_part

        after: str | None = None
        while True:
            page = await self.store.kv_list(table.items_bucket, start=after, limit=500)
            batch = self.store.batch()
            for entry in page:
                item = orjson.loads(entry.value)
                part = ttl_part(item.get(attribute))
                if part is not None:
                    batch.kv_put(ttl_bucket(table.table_id), part + "/" + entry.key, entry.key.encode())
            if len(batch):
                await self.store.commit(batch)
            if len(page) < 500:
                return
            after = page[-1].key + "\x00"

    # ── background: TTL expiry and stream retention ──

    async def _sweep_forever(self) -> None:
        # A failed sweep is simply done again at the next interval (the pause is the interval already slept).
        await run_forever("dynamodb sweep", self._sweep_later, clock=self.clock, pause=0.0)

    async def _sweep_later(self) -> None:
        # A safety net, not a timer: time travel sweeps at its next stop past the interval (TTL deletes are
        # "within a few days" on AWS; nothing waits for one to the second).
        await self.clock.sleep_until(self.clock.now() + self.sweep_interval, timer=False)
        await self.sweep()

    async def sweep(self) -> tuple[int, int]:
        """One sweep: delete items whose TTL passed (REMOVE records by the DynamoDB service identity) and trim
        stream records past their retention. Returns (items expired, records trimmed)."""
        expired = 0
        for table in list(self.tables.values()):
            if table.ttl_enabled:
                expired += await self._expire(table)
        return expired, await self._trim()

    async def _expire(self, table: Table) -> int:
        now = self.clock.now()
        bucket = ttl_bucket(table.table_id)
        entries = await self.store.kv_list(bucket, end=f"{int(now):020d}", limit=SWEEP_BATCH)
        count = 0
        for entry in entries:
            store_key = entry.value.decode()
            stored = await self.store.kv_get(table.items_bucket, store_key)
            if stored is None:
                await self.store.kv_delete(bucket, entry.key)
                continue
            key = table.keys.key_of(orjson.loads(stored.value))
            attribute = table.ttl_attribute

            def decide(current: Current, table: Table = table, attribute: Any = attribute) -> Change | None:
                item: Item | None = current.item
                if item is None or attribute is None:
                    return None
                from .keys import ttl_part

                part = ttl_part(item.get(attribute))
                if part is None or part >= f"{int(self.clock.now()):020d}":
                    return None  # rewritten since: no longer expired
                return Change(
                    table, current.key, current.store_key, item, None, current.revision, TTL_IDENTITY
                )

            _, change = await self.writer.write(table, key, decide)
            if change is not None:
                count += 1
            else:
                current = await self.writer.read(table, key)
                if current.item is None:
                    await self.store.kv_delete(bucket, entry.key)
        return count

    async def _trim(self) -> int:
        now = self.clock.now()
        trimmed = 0
        token: str | None = None
        while True:
            page = await self.store.list_resources(STREAM, limit=500, next_token=token)
            for resource in page.items:
                body = resource.body
                table = self.tables.get(resource.name.rpartition("/")[0])
                retention = (
                    table.retention_seconds
                    if table is not None and table.table_id == body["table_id"]
                    else body.get("retention_seconds", 86400.0)
                )
                trimmed += await self.store.trim_log(body["log"], before=now - retention)
                closed = body.get("closed_at")
                if closed is not None and closed < now - retention:
                    batch = self.store.batch()
                    batch.delete_log(body["log"])
                    batch.delete_resource(STREAM, resource.name)
                    await self.store.commit(batch)
            token = page.next_token
            if token is None:
                return trimmed
