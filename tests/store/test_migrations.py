"""Store migrations: the mechanism (applied once, recorded with the data, newer data refused), migration 0001
(SQS data of older versions keyed by account and region), 0002 (DynamoDB's), 0003 (EventBridge's), 0004 (Pipes')
and 0005 (the Scheduler's), on both backends and on data directories written by the code before them
(`data/v0.sql`, `data/v0_dynamodb.sql`, `data/v0_events.sql`, `data/v0_pipes_scheduler.sql`)."""

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


def restore_v0(directory: Path, dump: str = "v0.sql") -> Path:
    """A data directory holding what `data/make_v0_dump.py` (or `make_v0_dynamodb_dump.py`, `dump`
    "v0_dynamodb.sql") wrote with the code before the migrations."""
    directory.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(directory / "pipework.db")
    connection.executescript((DATA / dump).read_text())
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
        # What 0001 does not own is left to the migration of its service (0003 for this bus).
        assert (await store.get_resource("events/bus", "default")) is None
        assert (await store.get_resource("events/bus", "000000000000/us-east-1/default")) is not None
    finally:
        await store.close()


# ── 0002: DynamoDB by account and region ──

EU_STREAM = "arn:aws:dynamodb:eu-central-1:111111111111:table/orders/stream/2027-01-15T08:00:00.000"
OLD_EU_STREAM = "arn:aws:dynamodb:eu-central-1:111111111111:table/orders/stream/2027-01-14T08:00:00.000"
GONE_STREAM = "arn:aws:dynamodb:us-west-2:111111111111:table/gone/stream/2027-01-15T09:00:00.000"
CONSUMER = "arn:aws:pipes:eu-central-1:111111111111:pipe/orders-pipe"


def old_table(
    name: str, table_id: str, label: str | None, indexes: tuple[str, ...] = ()
) -> dict[str, object]:
    return {
        "name": name,
        "table_id": table_id,
        "created": 1.0,
        "key_schema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "attribute_definitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "indexes": [{"name": i, "key_schema": [], "projection": {}, "local": False} for i in indexes],
        "stream_view_type": "KEYS_ONLY" if label else None,
        "stream_label": label,
        "ttl_attribute": "expires",
        "ttl_enabled": True,
        "tags": {},
    }


def old_stream(arn: str, table: str, table_id: str, status: str = "ENABLED") -> dict[str, object]:
    label = arn.rsplit("/", 1)[1]
    return {
        "arn": arn,
        "table": table,
        "table_id": table_id,
        "label": label,
        "status": status,
        "log": f"dynamodb-stream/{table}/{label}",
        "shard_id": "shardId-1",
    }


async def write_old_dynamodb_layout(store: Store) -> None:
    """DynamoDB data as versions before 0002 wrote it: `orders` (a stream enabled from eu-central-1, an older one
    disabled), `plain` (never had a stream), and the stream of a deleted table `gone` (us-west-2)."""
    await store.put_resource(
        "dynamodb-table", "orders", old_table("orders", "t-orders", "2027-01-15T08:00:00.000", ("by-status",))
    )
    await store.put_resource("dynamodb-table", "plain", old_table("plain", "t-plain", None))
    await store.put_resource("dynamodb-stream", EU_STREAM, old_stream(EU_STREAM, "orders", "t-orders"))
    await store.put_resource(
        "dynamodb-stream", OLD_EU_STREAM, old_stream(OLD_EU_STREAM, "orders", "t-orders", "DISABLED")
    )
    await store.put_resource(
        "dynamodb-stream", GONE_STREAM, old_stream(GONE_STREAM, "gone", "t-gone", "DISABLED")
    )
    for name, bucket in (("orders", "t-orders"), ("plain", "t-plain")):
        await store.kv_put(f"dynamodb-items/{bucket}", "s6b/", f'{{"pk": {{"S": "{name}"}}}}'.encode())
        await store.kv_put(f"dynamodb-ttl/{bucket}", "00000000001000000100/s6b/", b"s6b/")
    await store.kv_put("dynamodb-index/t-orders/by-status", "s6f70656e/s6b/", b"{}")
    for payload in (b"first", b"second"):
        await store.append("dynamodb-stream/orders/2027-01-15T08:00:00.000", payload, key="s6b/")
    await store.append("dynamodb-stream/orders/2027-01-14T08:00:00.000", b"older", key="s6b/")
    await store.append("dynamodb-stream/gone/2027-01-15T09:00:00.000", b"gone", key="s6b/")
    await store.kv_put("dynamodb-stream-checkpoints", f"{EU_STREAM}|{CONSUMER}", b"1")
    await store.kv_put("dynamodb-stream-checkpoints", f"{EU_STREAM}|50%/off", b"2")
    await store.kv_put("dynamodb-stream-checkpoints", "arn:aws:dynamodb:us-east-1:1:table/x/stream/l|c", b"9")


async def test_dynamodb_data_moves_to_the_region_of_its_stream_arns(store: Store) -> None:
    await write_old_dynamodb_layout(store)
    assert await migrate(store, Defaults("ap-south-1", "000000000000")) == ALL

    tables = (await store.list_resources("dynamodb/table")).items
    assert [(t.name, t.body["account"], t.body["region"]) for t in tables] == [
        ("000000000000/ap-south-1/plain", "000000000000", "ap-south-1"),  # never had a stream: the defaults
        (
            "111111111111/eu-central-1/orders",
            "111111111111",
            "eu-central-1",
        ),  # where its latest stream's ARN is
    ]
    assert tables[1].body["stream_label"] == "2027-01-15T08:00:00.000" and tables[1].body["ttl_enabled"]
    assert (await store.list_resources("dynamodb-table")).items == []

    streams = (await store.list_resources("dynamodb/stream")).items
    assert [(s.name, s.body["arn"], s.body["log"]) for s in streams] == [
        (
            "111111111111/eu-central-1/orders/2027-01-14T08:00:00.000",
            OLD_EU_STREAM,
            "dynamodb/stream/111111111111/eu-central-1/orders/2027-01-14T08:00:00.000",
        ),
        (
            "111111111111/eu-central-1/orders/2027-01-15T08:00:00.000",
            EU_STREAM,
            "dynamodb/stream/111111111111/eu-central-1/orders/2027-01-15T08:00:00.000",
        ),
        (
            "111111111111/us-west-2/gone/2027-01-15T09:00:00.000",
            GONE_STREAM,
            "dynamodb/stream/111111111111/us-west-2/gone/2027-01-15T09:00:00.000",
        ),
    ]
    assert (await store.list_resources("dynamodb-stream")).items == []
    records = await store.read_log(streams[1].body["log"])
    assert [(r.position, r.payload) for r in records] == [(1, b"first"), (2, b"second")]
    assert [r.payload for r in await store.read_log(streams[0].body["log"])] == [b"older"]
    assert [r.payload for r in await store.read_log(streams[2].body["log"])] == [b"gone"]
    assert await store.read_log("dynamodb-stream/orders/2027-01-15T08:00:00.000") == []

    for bucket in ("t-orders", "t-plain"):
        assert [e.key for e in await store.kv_list(f"dynamodb/item/{bucket}")] == ["s6b/"]
        assert [e.value for e in await store.kv_list(f"dynamodb/ttl/{bucket}")] == [b"s6b/"]
        assert await store.kv_list(f"dynamodb-items/{bucket}") == []
    assert [e.key for e in await store.kv_list("dynamodb/index/t-orders/by-status")] == ["s6f70656e/s6b/"]

    stream_name = "111111111111/eu-central-1/orders/2027-01-15T08:00:00.000"
    assert [(e.key, e.value) for e in await store.kv_list("dynamodb/stream-checkpoint")] == [
        (f"{stream_name}/50%25%2Foff", b"2"),
        (f"{stream_name}/arn:aws:pipes:eu-central-1:111111111111:pipe%2Forders-pipe", b"1"),
    ]
    # The checkpoint of a stream that no longer exists is left behind: nothing can resume it.
    assert [e.key for e in await store.kv_list("dynamodb-stream-checkpoints")] == [
        "arn:aws:dynamodb:us-east-1:1:table/x/stream/l|c"
    ]


async def test_a_data_directory_with_dynamodb_data_written_before_0002_opens_migrated(tmp_path: Path) -> None:
    facts = json.loads((DATA / "v0_dynamodb.json").read_text())
    directory = restore_v0(tmp_path / "data", "v0_dynamodb.sql")
    store = await open_store(str(directory), ManualClock(start=facts["clock"]))
    try:
        assert await applied_migrations(store) == ALL
        tables = (await store.list_resources("dynamodb/table")).items
        assert [t.name for t in tables] == [
            "000000000000/eu-central-1/eu-orders",
            "000000000000/us-east-1/orders",
            "000000000000/us-east-1/plain",
        ]
        assert (await store.list_resources("dynamodb-table")).items == []
        streams = {s.body["arn"]: s for s in (await store.list_resources("dynamodb/stream")).items}
        assert sorted(streams) == sorted([facts["orders_stream"], facts["gone_stream"], *facts["eu_streams"]])
        orders = streams[facts["orders_stream"]]
        assert orders.name == "000000000000/us-east-1/orders/" + facts["orders_stream"].rsplit("/", 1)[1]
        assert (await store.log_stats(orders.body["log"])).count == 5
        orders_id = tables[1].body["table_id"]
        assert [e.key for e in await store.kv_list(f"dynamodb/item/{orders_id}")] == ["s6f31/a", "s6f32/a"]
        assert len(await store.kv_list(f"dynamodb/index/{orders_id}/by-status")) == 2
        assert [e.key for e in await store.kv_list(f"dynamodb/ttl/{orders_id}")] == [
            f"{facts['ttl_expires']:020d}/s6f31/a"
        ]
        assert [e.value for e in await store.kv_list("dynamodb/stream-checkpoint")] == [b"2"]
    finally:
        await store.close()


# ── 0003: EventBridge by account and region ──

EAST_EVENTS = "arn:aws:events:us-east-1:111111111111:"
EU_EVENTS = "arn:aws:events:eu-central-1:111111111111:"
PARTNER = "aws.partner/saas.com/1/orders"


async def write_old_events_layout(store: Store) -> None:
    """EventBridge data as versions before 0003 wrote it (every ARN from the server's region of the day):
    buses `default` and `orders` and a partner bus (us-east-1), `eu-bus` (eu-central-1); rules on them and a
    scheduled rule with its tick; an archive with two events; a replay, a connection, an API destination; one
    pending delivery of the old shape; and a rule whose ARN is not one (the server's defaults)."""
    for name, prefix in (("default", EAST_EVENTS), ("orders", EAST_EVENTS), (PARTNER, EAST_EVENTS)):
        await store.put_resource("events/bus", name, {"Name": name, "Arn": f"{prefix}event-bus/{name}"})
    await store.put_resource(
        "events/bus", "eu-bus", {"Name": "eu-bus", "Arn": f"{EU_EVENTS}event-bus/eu-bus"}
    )
    rules = (
        ("orders", "to-queue", f"{EAST_EVENTS}rule/orders/to-queue"),
        (PARTNER, "from-saas", f"{EAST_EVENTS}rule/{PARTNER}/from-saas"),
        ("eu-bus", "eu-rule", f"{EU_EVENTS}rule/eu-bus/eu-rule"),
        ("default", "hourly", f"{EAST_EVENTS}rule/hourly"),
        ("default", "odd", "not an arn"),
    )
    for bus, rule, arn in rules:
        await store.put_resource(
            "events/rule", f"{bus}|{rule}", {"Name": rule, "EventBusName": bus, "Arn": arn}
        )
    await store.enqueue(
        "events/rule-ticks",
        "tick-1",
        orjson.dumps({"bus": "default", "rule": "hourly", "anchor": 1.0}),
        due_at=3601.0,
        attributes={"at": 3601.0},
    )
    await store.put_resource(
        "events/archive", "kept", {"ArchiveName": "kept", "ArchiveArn": f"{EU_EVENTS}archive/kept"}
    )
    for n in (1, 2):
        await store.append("events/archive/kept", f"event {n}".encode(), time=float(n), key=f"e{n}")
    await store.put_resource(
        "events/replay", "again", {"ReplayName": "again", "ReplayArn": f"{EU_EVENTS}replay/again"}
    )
    await store.put_resource(
        "events/connection", "conn", {"Name": "conn", "ConnectionArn": f"{EAST_EVENTS}connection/conn/u-1"}
    )
    await store.put_resource(
        "events/api-destination",
        "hook",
        {"Name": "hook", "ApiDestinationArn": f"{EAST_EVENTS}api-destination/hook/u-2"},
    )
    await store.enqueue("events/deliveries", "d-1", b'{"rule_arn": "x"}')


async def test_events_data_moves_to_the_account_and_region_of_its_arns(store: Store) -> None:
    await write_old_events_layout(store)
    assert await migrate(store, Defaults("ap-south-1", "000000000000")) == ALL

    async def names(kind: str) -> list[str]:
        return [r.name for r in (await store.list_resources(kind)).items]

    assert await names("events/bus") == [
        "111111111111/eu-central-1/eu-bus",
        "111111111111/us-east-1/aws.partner%2Fsaas.com%2F1%2Forders",
        "111111111111/us-east-1/default",
        "111111111111/us-east-1/orders",
    ]
    assert await names("events/rule") == [
        "000000000000/ap-south-1/default/odd",  # no ARN: the server's defaults
        "111111111111/eu-central-1/eu-bus/eu-rule",
        "111111111111/us-east-1/aws.partner%2Fsaas.com%2F1%2Forders/from-saas",
        "111111111111/us-east-1/default/hourly",
        "111111111111/us-east-1/orders/to-queue",
    ]
    partner = await store.get_resource(
        "events/bus", "111111111111/us-east-1/aws.partner%2Fsaas.com%2F1%2Forders"
    )
    assert partner is not None and partner.body["Name"] == PARTNER  # bodies are kept as they were
    assert await names("events/archive") == ["111111111111/eu-central-1/kept"]
    archived = await store.read_log("events/archive/111111111111/eu-central-1/kept")
    assert [(r.position, r.time, r.payload, r.key) for r in archived] == [
        (1, 1.0, b"event 1", "e1"),
        (2, 2.0, b"event 2", "e2"),
    ]
    assert await store.read_log("events/archive/kept") == []
    assert await names("events/replay") == ["111111111111/eu-central-1/again"]
    assert await names("events/connection") == ["111111111111/us-east-1/conn"]
    assert await names("events/api-destination") == ["111111111111/us-east-1/hook"]

    [tick] = await store.peek("events/rule-ticks")
    assert orjson.loads(tick.payload) == {
        "bus": "default",
        "rule": "hourly",
        "anchor": 1.0,
        "account": "111111111111",
        "region": "us-east-1",
    }
    assert (tick.due_at, tick.attributes) == (3601.0, {"at": 3601.0})  # due when it was
    assert await store.list_dead_letters("events/rule-ticks") == []
    # Deliveries are read as their rule ARN's (or the defaults) where they are.
    assert [i.id for i in await store.peek("events/deliveries")] == ["d-1"]


async def test_a_data_directory_with_events_data_written_before_0003_opens_migrated(tmp_path: Path) -> None:
    facts = json.loads((DATA / "v0_events.json").read_text())
    directory = restore_v0(tmp_path / "data", "v0_events.sql")
    store = await open_store(str(directory), ManualClock(start=facts["clock"]))
    try:
        assert await applied_migrations(store) == ALL

        async def names(kind: str) -> list[str]:
            return [r.name for r in (await store.list_resources(kind)).items]

        east, eu = "000000000000/us-east-1/", "000000000000/eu-central-1/"
        # The default bus was created while the server ran in eu-central-1: its ARN names that region.
        assert await names("events/bus") == [eu + "default", eu + "eu-bus", east + "orders"]
        assert await names("events/rule") == [
            eu + "eu-bus/eu-rule",
            east + "default/hourly",
            east + "default/to-missing",
            east + "orders/Events-Archive-orders-archive",
            east + "orders/to-queue",
        ]
        assert await names("events/archive") == [east + "orders-archive"]
        assert (await store.log_stats(f"events/archive/{east}orders-archive")).count == 2
        assert await names("events/replay") == [east + "orders-replay"]
        assert await names("events/connection") == [eu + "eu-conn", east + "api-conn"]
        assert await names("events/api-destination") == [east + "hook"]
        assert [d.id for d in await store.list_dead_letters("events/deliveries")] == [facts["dead_letter_id"]]
    finally:
        await store.close()


# ── 0004: Pipes by account and region ──


def old_pipe(name: str, arn: str, state: str = "RUNNING") -> dict[str, object]:
    return {
        "Name": name,
        "Arn": arn,
        "DesiredState": state,
        "CurrentState": state,
        "Source": "s",
        "Target": "t",
    }


async def test_pipes_and_their_dead_letters_move_to_the_region_of_their_arns(store: Store) -> None:
    eu_arn = "arn:aws:pipes:eu-central-1:111111111111:pipe/orders"
    await store.put_resource("pipes/pipe", "orders", old_pipe("orders", eu_arn, "STOPPED"))
    await store.put_resource("pipes/pipe", "odd", old_pipe("odd", "not an arn"))
    for item_id in ("dead-1", "dead-2", "redriven"):
        await store.enqueue("pipes/orders/redrive", item_id, item_id.encode(), attributes={"pipe": eu_arn})
    for item_id in ("dead-1", "dead-2"):
        await store.dead_letter("pipes/orders/redrive", item_id, error={"ERROR_CODE": "Boom"})
    token = (await store.lease("pipes/orders/redrive", visibility_timeout=30))[0].lease_token
    assert token is not None
    await store.enqueue("pipes/odd/redrive", "x", b"x")
    await store.dead_letter("pipes/odd/redrive", "x")

    assert await migrate(store, Defaults("ap-south-1", "000000000000")) == ALL

    pipes = (await store.list_resources("pipes/pipe")).items
    assert [(p.name, p.body["CurrentState"]) for p in pipes] == [
        ("000000000000/ap-south-1/odd", "RUNNING"),  # no ARN to go by: the server's defaults
        ("111111111111/eu-central-1/orders", "STOPPED"),
    ]
    queue = "pipes/redrive/111111111111/eu-central-1/orders"
    dead = await store.list_dead_letters(queue)
    assert [(d.id, d.payload, d.error) for d in dead] == [
        ("dead-1", b"dead-1", {"ERROR_CODE": "Boom"}),
        ("dead-2", b"dead-2", {"ERROR_CODE": "Boom"}),
    ]
    assert [(i.id, i.in_flight) for i in await store.peek(queue)] == [("redriven", True)]
    await store.ack(
        queue, "redriven", token
    )  # a redriven record leased before the migration completes after it
    assert [d.id for d in await store.list_dead_letters("pipes/redrive/000000000000/ap-south-1/odd")] == ["x"]
    assert await store.list_dead_letters("pipes/orders/redrive") == []
    assert await store.peek("pipes/orders/redrive") == []


# ── 0005: the Scheduler by account and region ──


async def test_scheduler_data_moves_to_the_region_of_its_arns(store: Store, clock: ManualClock) -> None:
    eu = "arn:aws:scheduler:eu-central-1:111111111111:"
    east = "arn:aws:scheduler:us-east-1:000000000000:"
    await store.put_resource("scheduler/group", "default", {"Arn": east + "schedule-group/default"})
    await store.put_resource(
        "scheduler/group", "team", {"Arn": eu + "schedule-group/team", "Tags": {"a": "1"}}
    )
    await store.put_resource("scheduler/schedule", "team/nightly", {"Arn": eu + "schedule/team/nightly"})
    await store.put_resource(
        "scheduler/schedule", "default/hourly", {"Arn": east + "schedule/default/hourly"}
    )
    ticks = {
        "team/nightly#2": (clock.now() + 500, {"at": clock.now() + 503}),
        "default/hourly#1": (clock.now() + 60, {"at": clock.now() + 63}),
        "default/gone#3": (clock.now() + 9, {"at": clock.now() + 12}),  # outlived its schedule
    }
    for tick_id, (due, attributes) in ticks.items():
        key, generation = tick_id.split("#")
        payload = orjson.dumps({"key": key, "generation": int(generation)})
        await store.enqueue("scheduler/ticks", tick_id, payload, due_at=due, attributes=attributes)
    await store.kv_put("scheduler/client-tokens", "tok", b"default/old", ttl=3600)

    assert await migrate(store, Defaults("ap-south-1", "000000000000")) == ALL

    groups = (await store.list_resources("scheduler/group")).items
    assert [(g.name, g.body.get("Tags")) for g in groups] == [
        ("000000000000/us-east-1/default", None),
        ("111111111111/eu-central-1/team", {"a": "1"}),
    ]
    schedules = (await store.list_resources("scheduler/schedule")).items
    assert [s.name for s in schedules] == [
        "000000000000/us-east-1/default/hourly",
        "111111111111/eu-central-1/team/nightly",
    ]
    moved = {i.id: i for i in await store.peek("scheduler/ticks")}
    new_ids = {
        "team/nightly#2": "111111111111/eu-central-1/team/nightly#2",
        "default/hourly#1": "000000000000/us-east-1/default/hourly#1",
        "default/gone#3": "000000000000/ap-south-1/default/gone#3",
    }
    assert sorted(moved) == sorted(new_ids.values())
    for old_id, new_id in new_ids.items():
        item = moved[new_id]
        key, generation = new_id.split("#")
        assert orjson.loads(item.payload) == {"key": key, "generation": int(generation)}
        assert (item.due_at, item.attributes) == ticks[old_id]
        assert await store.get_item("scheduler/ticks", old_id) is None
    assert await store.list_dead_letters("scheduler/ticks") == []
    [token] = await store.kv_list("scheduler/client-tokens")
    assert (token.key, token.value) == ("000000000000/ap-south-1/tok", b"default/old")
    clock.advance(3601)  # the token still expires when it would have
    assert await store.kv_list("scheduler/client-tokens") == []


async def test_a_data_directory_with_pipes_and_schedules_written_before_0004_opens_migrated(
    tmp_path: Path,
) -> None:
    facts = json.loads((DATA / "v0_pipes_scheduler.json").read_text())
    directory = restore_v0(tmp_path / "data", "v0_pipes_scheduler.sql")
    store = await open_store(str(directory), ManualClock(start=facts["clock"]))
    try:
        assert await applied_migrations(store) == ALL
        here = "000000000000/us-east-1/"
        pipes = (await store.list_resources("pipes/pipe")).items
        assert [(p.name, p.body["Arn"], p.body["CurrentState"]) for p in pipes] == [
            (here + "orders-pipe", facts["orders_pipe"], "RUNNING"),
            (here + "stopped-pipe", facts["stopped_pipe"], "STOPPED"),
        ]
        [dead] = await store.list_dead_letters(f"pipes/redrive/{here}orders-pipe")
        assert dead.id == facts["dead_letter_id"]
        assert orjson.loads(dead.payload)["dynamodb"]["Keys"] == {"pk": {"S": "o1"}}
        groups = (await store.list_resources("scheduler/group")).items
        assert [g.name for g in groups] == [here + "default", here + "team"]
        schedules = (await store.list_resources("scheduler/schedule")).items
        assert [s.name for s in schedules] == [
            here + "default/hourly",
            here + "default/retrying",
            here + "team/once",
            here + "team/paused",
        ]
        ticks = {i.id: i.attributes["at"] for i in await store.peek("scheduler/ticks")}
        assert ticks == {
            here + "default/hourly#1": facts["clock"] - 60 + 3600,
            here + "team/once#1": 1800007200.0,
        }
        assert [e.key for e in await store.kv_list("scheduler/client-tokens")] == [here + "delete-gone"]
    finally:
        await store.close()
