"""The internal subscription API (what a pipe uses to read a table's stream), driven directly on the server's loop."""

from __future__ import annotations

import asyncio
from typing import Any

from pipework.clock import ManualClock
from pipework.services.dynamodbstreams import RecordBatch, subscribe


def setup(make_server: Any) -> tuple[Any, Any, str, ManualClock]:
    clock = ManualClock(start=1_700_000_000.0)
    server = make_server(clock=clock)
    ddb = server.client("dynamodb")
    ddb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    arn = ddb.describe_table(TableName="t")["Table"]["LatestStreamArn"]
    return server, ddb, arn, clock


def keys(batch: RecordBatch | None) -> list[str]:
    return [r["dynamodb"]["Keys"]["pk"]["S"] for r in batch.records] if batch else []


def test_batches_checkpoint_and_resume(make_server: Any) -> None:
    server, ddb, arn, _ = setup(make_server)
    for i in range(5):
        ddb.put_item(TableName="t", Item={"pk": {"S": str(i)}})
    store = server.pipework.store

    async def first_run() -> tuple[list[str], list[str], RecordBatch]:
        sub = subscribe(store, arn, consumer="pipe-a", batch_size=3)
        one = await sub.read()
        two = await sub.read()
        assert one is not None and two is not None
        await sub.checkpoint(one)  # only the first batch was processed
        return keys(one), keys(two), one

    one, two, batch = server.run(first_run())
    assert (one, two) == (["0", "1", "2"], ["3", "4"])
    assert batch.records[0]["eventSourceARN"] == arn and batch.records[0]["eventName"] == "INSERT"
    assert batch.first_sequence < batch.last_sequence

    async def resumed() -> tuple[list[str], str | None]:
        sub = subscribe(store, arn, consumer="pipe-a", start="LATEST")  # the checkpoint wins over start
        return keys(await sub.read()), await sub.checkpointed()

    again, checkpointed = server.run(resumed())
    assert again == ["3", "4"] and checkpointed == batch.last_sequence


def test_latest_and_after_sequence_starts(make_server: Any) -> None:
    server, ddb, arn, _ = setup(make_server)
    ddb.put_item(TableName="t", Item={"pk": {"S": "old"}})
    store = server.pipework.store
    latest = subscribe(store, arn, start="LATEST")
    assert server.run(latest.read()) is None
    ddb.put_item(TableName="t", Item={"pk": {"S": "new"}})
    assert keys(server.run(latest.read())) == ["new"]
    first = server.run(subscribe(store, arn).read())
    assert first is not None
    after_first = subscribe(store, arn, start=first.first_sequence)
    assert keys(server.run(after_first.read())) == ["new"]


def test_a_waiting_reader_is_woken_by_the_write_without_time_passing(make_server: Any) -> None:
    server, ddb, arn, clock = setup(make_server)
    store = server.pipework.store
    sub = subscribe(store, arn, start="LATEST")
    server.run(sub.read())  # positions the reader at the end
    waiting = asyncio.run_coroutine_threadsafe(sub.read(wait=3600), server.loop)
    ddb.put_item(TableName="t", Item={"pk": {"S": "wake"}})
    batch = waiting.result(timeout=10)  # the manual clock never moved: only the commit can have woken it
    assert keys(batch) == ["wake"]
    assert clock.monotonic() == 0.0


def test_iteration_ends_when_the_stream_is_disabled_and_drained(make_server: Any) -> None:
    server, ddb, arn, _ = setup(make_server)
    ddb.put_item(TableName="t", Item={"pk": {"S": "a"}})
    ddb.update_table(TableName="t", StreamSpecification={"StreamEnabled": False})

    async def drain() -> list[str]:
        seen: list[str] = []
        async for batch in subscribe(server.pipework.store, arn):
            seen += keys(batch)
        return seen

    assert server.run(drain()) == ["a"]


def test_ttl_records_carry_the_event_casing_of_user_identity(make_server: Any) -> None:
    server, ddb, arn, clock = setup(make_server)
    ddb.update_time_to_live(TableName="t", TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    ddb.put_item(TableName="t", Item={"pk": {"S": "a"}, "exp": {"N": "1700000001"}})
    clock.advance(5)
    server.run(server.pipework.dynamodb.sweep())
    batch = server.run(server.pipework.dynamodbstreams.subscribe(arn).read())
    assert batch is not None
    assert batch.records[-1]["userIdentity"] == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
