"""Item writes: read, decide, and commit the item, its index entries, its TTL entry and its stream record in one
store commit, so a change and its stream record are never seen apart.

Writes to one item are serialized by a per-key lock (stream records stay in write order per key) and committed with
the revision read as a precondition, so a writer in another process cannot interleave unnoticed: a conflict re-reads
and decides again. Writes to different keys run concurrently and share group commits.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from pipework.clock import Clock
from pipework.store import Batch, RevisionConflict, Store

from .keys import ttl_part
from .model import Table, index_bucket, stream_log, ttl_bucket
from .records import stream_record
from .values import Item

MAX_ATTEMPTS = 20


@dataclass
class Change:
    """One item's before and after. `new` None deletes; `old` None means the item did not exist."""

    table: Table
    key: Item
    store_key: str
    old: Item | None
    new: Item | None
    revision: int
    user_identity: dict[str, str] | None = None


@dataclass
class Current:
    """An item as read for a write: the item (None if absent) and its store revision (0 if absent)."""

    table: Table
    key: Item
    store_key: str
    item: Item | None
    revision: int


class ItemWriter:
    """Commits item changes for the DynamoDB service. Parameters: the `store` and `clock`."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self._locks: dict[tuple[str, str], list[Any]] = {}

    @contextlib.asynccontextmanager
    async def locked(self, keys: Iterable[tuple[str, str]]) -> AsyncIterator[None]:
        """Hold the locks of these (bucket, store key) pairs, taken in sorted order so transactions cannot deadlock."""
        ordered = sorted(set(keys))
        held: list[tuple[str, str]] = []
        try:
            for key in ordered:
                entry = self._locks.get(key)
                if entry is None:
                    entry = self._locks[key] = [asyncio.Lock(), 0]
                entry[1] += 1
                held.append(key)
                await entry[0].acquire()
            yield
        finally:
            for key in reversed(held):
                entry = self._locks[key]
                if entry[0].locked():
                    entry[0].release()
                entry[1] -= 1
                if entry[1] == 0:
                    del self._locks[key]

    async def read(self, table: Table, key: Item) -> Current:
        store_key = table.keys.store_key(key)
        entry = await self.store.kv_get(table.items_bucket, store_key)
        if entry is None:
            return Current(table, key, store_key, None, 0)
        return Current(table, key, store_key, orjson.loads(entry.value), entry.revision)

    async def write(
        self, table: Table, key: Item, decide: Callable[[Current], Change | None]
    ) -> tuple[Current, Change | None]:
        """Read the item, let `decide` compute the change (or None to write nothing; it may raise), commit it.
        Retries when another writer committed to the item in between."""
        store_key = table.keys.store_key(key)
        async with self.locked([(table.items_bucket, store_key)]):
            for _ in range(MAX_ATTEMPTS):
                current = await self.read(table, key)
                change = decide(current)
                if change is None:
                    return current, None
                batch = self.store.batch()
                self.add(batch, change)
                try:
                    await self.store.commit(batch)
                except RevisionConflict:
                    continue
                return current, change
        raise RuntimeError("too many concurrent writes to one item")

    def add(self, batch: Batch, change: Change) -> None:
        """Add the writes of `change` to `batch`: the item (guarded by the revision read), index entries, TTL entry
        and the stream record."""
        table = change.table
        old, new = change.old, change.new
        if new is None:
            batch.kv_delete(table.items_bucket, change.store_key, expected_revision=change.revision)
        else:
            batch.kv_put(
                table.items_bucket, change.store_key, orjson.dumps(new), expected_revision=change.revision
            )
        for index in table.indexes:
            bucket = index_bucket(table.table_id, index.name)
            old_entry = index.keys.index_entry_key(old, change.store_key) if old is not None else None
            new_entry = index.keys.index_entry_key(new, change.store_key) if new is not None else None
            if old_entry is not None and old_entry != new_entry:
                batch.kv_delete(bucket, old_entry)
            if new_entry is not None:
                assert new is not None
                batch.kv_put(bucket, new_entry, orjson.dumps(index.projected(new, table.keys.names)))
        if table.ttl_enabled and table.ttl_attribute is not None:
            bucket = ttl_bucket(table.table_id)
            old_ttl = ttl_part(old.get(table.ttl_attribute)) if old is not None else None
            new_ttl = ttl_part(new.get(table.ttl_attribute)) if new is not None else None
            if old_ttl is not None and old_ttl != new_ttl:
                batch.kv_delete(bucket, old_ttl + "/" + change.store_key)
            if new_ttl is not None and new_ttl != old_ttl:
                batch.kv_put(bucket, new_ttl + "/" + change.store_key, change.store_key.encode())
        record = stream_record(
            table,
            change.key,
            old,
            new,
            now=self.clock.now(),
            user_identity=change.user_identity,
        )
        if record is not None and table.stream_key is not None:
            # Same commit as the item: the record exists if and only if the change does (nothing lost, nothing extra).
            batch.append(stream_log(table.stream_key), orjson.dumps(record), key=change.store_key)
