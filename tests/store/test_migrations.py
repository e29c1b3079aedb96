"""Store migrations: the mechanism (applied once, recorded with the data, newer data refused) and migration 0001
(SQS data of older versions keyed by account and region), on both backends and on a data directory written by the
code before it (`data/v0.sql`)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import orjson
import pytest

from pipework.clock import ManualClock
from pipework.store import SchemaTooNew, Store, VersionConflict, open_store
from pipework.store.batch import Batch
from pipework.store.migrations import (
    MIGRATIONS,
    SCHEMA_BUCKET,
    SCHEMA_KEY,
    Defaults,
    Migration,
    applied_migrations,
    migrate,
)

pytestmark = pytest.mark.anyio

DEFAULTS = Defaults(region="us-east-1", account="000000000000")
DATA = Path(__file__).parent / "data"
ALL = [m.id for m in MIGRATIONS]


def restore_v0(directory: Path) -> Path:
    """A data directory holding what `data/make_v0_dump.py` wrote with the code before the migrations."""
    directory.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(directory / "pipework.db")
    connection.executescript((DATA / "v0.sql").read_text())
    connection.close()
    return directory


# ── the mechanism ──


def counting(migration_id: str, calls: list[str]) -> Migration:
    async def plan(store: Store, batch: Batch, defaults: Defaults) -> None:
        calls.append(migration_id)
        batch.put_resource("test/marker", migration_id, {"region": defaults.region})

    return Migration(migration_id, "test", plan)


async def test_each_migration_is_applied_once_in_order_and_recorded(store: Store) -> None:
    calls: list[str] = []
    migrations = [counting("0001-a", calls), counting("0002-b", calls)]
    assert await migrate(store, DEFAULTS, migrations[:1]) == ["0001-a"]
    assert await migrate(store, DEFAULTS, migrations) == ["0002-b"]
    assert await migrate(store, DEFAULTS, migrations) == []
    assert calls == ["0001-a", "0002-b"]
    assert await applied_migrations(store) == ["0001-a", "0002-b"]
    marker = await store.get_resource("test/marker", "0002-b")
    assert marker is not None and marker.body == {"region": "us-east-1"}


async def test_a_migration_that_fails_is_neither_applied_nor_recorded(store: Store) -> None:
    async def broken(store: Store, batch: Batch, defaults: Defaults) -> None:
        batch.put_resource("test/marker", "half", {})
        batch.put_resource("test/marker", "half", {}, expected_version=0)  # conflicts with the write before

    with pytest.raises(VersionConflict):
        await migrate(store, DEFAULTS, [Migration("0001-broken", "test", broken)])
    assert await applied_migrations(store) == []
    assert await store.get_resource("test/marker", "half") is None


async def test_a_store_migrated_by_a_newer_version_is_refused_and_left_alone(store: Store) -> None:
    calls: list[str] = []
    await store.kv_put(SCHEMA_BUCKET, SCHEMA_KEY, orjson.dumps(["0001-a", "0002-from-the-future"]))
    with pytest.raises(SchemaTooNew) as raised:
        await migrate(store, DEFAULTS, [counting("0001-a", calls), counting("0003-c", calls)], where="Here")
    message = str(raised.value)
    assert message.startswith("Here was written by a newer version of Pipework")
    assert "0002-from-the-future" in message and "--data" in message
    assert calls == []
    assert await applied_migrations(store) == ["0001-a", "0002-from-the-future"]


async def test_a_new_store_records_every_migration(tmp_path: Path) -> None:
    store = await open_store(str(tmp_path / "new"), ManualClock())
    try:
        assert await applied_migrations(store) == ALL
    finally:
        await store.close()


async def test_open_store_refuses_a_data_directory_of_a_newer_version(tmp_path: Path) -> None:
    store = await open_store(str(tmp_path), ManualClock())
    await store.kv_put(SCHEMA_BUCKET, SCHEMA_KEY, orjson.dumps([*ALL, "9999-from-the-future"]))
    await store.close()
    with pytest.raises(SchemaTooNew, match=f"The data directory {tmp_path} was written by a newer version"):
        await open_store(str(tmp_path), ManualClock())


# ── 0001: SQS by account and region ──


async def write_old_sqs_layout(store: Store, clock: ManualClock) -> str:
    """SQS data as versions before 0001 wrote it; returns the lease token of the message left in flight."""
    queue = {"account": "111111111111", "attributes": {}, "tags": {}, "created": 1.0, "modified": 1.0}
    await store.put_resource(
        "sqs.queue", "111111111111/east", {**queue, "name": "east", "region": "us-east-1"}
    )
    await store.put_resource(
        "sqs.queue", "111111111111/eu", {**queue, "name": "eu", "region": "eu-central-1"}
    )
    await store.put_resource("sqs.queue", "111111111111/old", {**queue, "name": "old"})  # no region recorded
    for name in ("east", "eu", "old"):
        await store.enqueue(f"sqs/111111111111/{name}", f"{name}-1", name.encode(), group_id="g")
    await store.enqueue("sqs/111111111111/eu", "eu-2", b"second")
    token = (await store.lease("sqs/111111111111/eu", visibility_timeout=30))[0].lease_token
    assert token is not None
    await store.put_resource(
        "sqs.move-task",
        "111111111111/eu/task-1",
        {"handle": "h", "sourceArn": "arn:aws:sqs:eu-central-1:111111111111:eu", "status": "RUNNING"},
    )
    await store.kv_put("sqs.dedup", "111111111111/eu/g/d1", b'["eu-1", "1"]', ttl=300)
    await store.kv_put("sqs.dedup", "111111111111/gone/d2", b'["x", "2"]', ttl=300)  # its queue was deleted
    return token


async def test_sqs_data_moves_to_each_queue_s_region(store: Store, clock: ManualClock) -> None:
    token = await write_old_sqs_layout(store, clock)
    assert await migrate(store, Defaults("ap-south-1", "000000000000")) == ALL

    queues = (await store.list_resources("sqs/queue")).items
    assert [q.name for q in queues] == [
        "111111111111/ap-south-1/old",  # no region recorded: the server's default
        "111111111111/eu-central-1/eu",
        "111111111111/us-east-1/east",
    ]
    assert (await store.list_resources("sqs.queue")).items == []
    assert [i.id for i in await store.peek("sqs/message/111111111111/us-east-1/east")] == ["east-1"]
    assert [i.id for i in await store.peek("sqs/message/111111111111/ap-south-1/old")] == ["old-1"]
    eu = "sqs/message/111111111111/eu-central-1/eu"
    assert [i.id for i in await store.peek(eu)] == ["eu-1", "eu-2"]
    assert await store.peek("sqs/111111111111/eu") == []
    await store.ack(eu, "eu-1", token)  # the receipt handle given before the migration still deletes

    tasks = (await store.list_resources("sqs/move-task")).items
    assert [(t.name, t.body["status"]) for t in tasks] == [("111111111111/eu-central-1/eu/task-1", "RUNNING")]
    assert [e.key for e in await store.kv_list("sqs/dedup")] == [
        "111111111111/ap-south-1/gone/d2",  # its queue is gone: the server's default region
        "111111111111/eu-central-1/eu/g/d1",
    ]
    assert await store.kv_list("sqs.dedup") == []


async def test_a_data_directory_written_before_0001_opens_migrated(tmp_path: Path) -> None:
    facts = json.loads((DATA / "v0.json").read_text())
    directory = restore_v0(tmp_path / "data")
    store = await open_store(str(directory), ManualClock(start=facts["clock"]))
    try:
        assert await applied_migrations(store) == ALL
        assert [q.name for q in (await store.list_resources("sqs/queue")).items] == [
            "000000000000/eu-central-1/eu-only",
            "000000000000/eu-central-1/events.fifo",
            "000000000000/us-east-1/jobs",
            "000000000000/us-east-1/jobs-dlq",
            "000000000000/us-east-1/orders",
        ]
        orders = await store.peek("sqs/message/000000000000/us-east-1/orders")
        assert [i.payload for i in orders] == [b"in flight", b"visible", b"delayed"]
        assert [i.in_flight for i in orders] == [True, False, False]
        assert [e.key for e in await store.kv_list("sqs/dedup")] == [
            "000000000000/eu-central-1/events.fifo/d1"
        ]
        assert [t.name.rsplit("/", 1)[0] for t in (await store.list_resources("sqs/move-task")).items] == [
            "000000000000/us-east-1/jobs-dlq"
        ]
        # What 0001 does not own stays as it was (other services migrate their own data).
        assert (await store.get_resource("events/bus", "default")) is not None
    finally:
        await store.close()
