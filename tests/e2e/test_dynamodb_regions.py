"""Every region, one server: DynamoDB tables, their items and their streams belong to the account and region of the
request's SigV4 credential scope, through boto3; and a data directory of an older version serves each table and
stream in the region its stream ARNs named (items, index entries, TTL entries, stream records and checkpoints kept)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from pipework.app import Settings, asgi_app
from pipework.clock import ManualClock
from pipework.services.dynamodbstreams import subscribe
from pipework.testing import RunningServer

EAST, EU = "us-east-1", "eu-central-1"
ACCOUNT = "000000000000"
V0 = Path(__file__).parent.parent / "store" / "data"


@pytest.fixture
def ddb_server(make_server: Callable[..., RunningServer]) -> RunningServer:
    return make_server(clock=ManualClock(start=1_800_000_000.0))


def create(client: Any, name: str, *, stream: str | None = "NEW_IMAGE", **extra: Any) -> dict[str, Any]:
    spec = {"StreamEnabled": True, "StreamViewType": stream} if stream else {"StreamEnabled": False}
    description: dict[str, Any] = client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification=spec,
        **extra,
    )["TableDescription"]
    return description


def error(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


def read_all(streams: Any, arn: str, *, after: str | None = None) -> list[dict[str, Any]]:
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    position = (
        {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after}
        if after
        else {"ShardIteratorType": "TRIM_HORIZON"}
    )
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, **position)["ShardIterator"]
    records: list[dict[str, Any]] = streams.get_records(ShardIterator=iterator)["Records"]
    return records


def test_tables_of_the_same_name_in_two_regions_are_two_tables(ddb_server: RunningServer) -> None:
    east, eu = ddb_server.client("dynamodb", region=EAST), ddb_server.client("dynamodb", region=EU)
    east_table = create(east, "orders", Tags=[{"Key": "team", "Value": "east"}])
    eu_table = create(eu, "orders", stream="KEYS_ONLY", Tags=[{"Key": "team", "Value": "eu"}])
    create(eu, "only-in-eu", stream=None)

    east_arn, eu_arn = (
        f"arn:aws:dynamodb:{EAST}:{ACCOUNT}:table/orders",
        f"arn:aws:dynamodb:{EU}:{ACCOUNT}:table/orders",
    )
    assert (east_table["TableArn"], eu_table["TableArn"]) == (east_arn, eu_arn)
    assert east_table["TableId"] != eu_table["TableId"]
    assert east_table["LatestStreamArn"].startswith(east_arn + "/stream/")
    assert eu_table["LatestStreamArn"].startswith(eu_arn + "/stream/")
    described = eu.describe_table(TableName="orders")["Table"]
    assert (described["TableArn"], described["StreamSpecification"]["StreamViewType"]) == (
        eu_arn,
        "KEYS_ONLY",
    )
    assert east.describe_table(TableName=east_arn)["Table"]["TableId"] == east_table["TableId"]
    assert east.list_tables()["TableNames"] == ["orders"]
    assert eu.list_tables()["TableNames"] == ["only-in-eu", "orders"]
    assert error(lambda: east.describe_table(TableName="only-in-eu")) == (
        "ResourceNotFoundException",
        "Requested resource not found: Table: only-in-eu not found",
    )
    # Another region's table ARN names no table here, for table and item operations alike.
    assert error(lambda: east.describe_table(TableName=eu_arn))[0] == "ResourceNotFoundException"
    assert (
        error(lambda: east.get_item(TableName=eu_arn, Key={"pk": {"S": "a"}}))[0]
        == "ResourceNotFoundException"
    )
    assert error(lambda: eu.list_tags_of_resource(ResourceArn=east_arn))[0] == "ResourceNotFoundException"
    assert east.list_tags_of_resource(ResourceArn=east_arn)["Tags"] == [{"Key": "team", "Value": "east"}]
    assert eu.list_tags_of_resource(ResourceArn=eu_arn)["Tags"] == [{"Key": "team", "Value": "eu"}]

    east.update_time_to_live(
        TableName="orders", TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"}
    )
    assert eu.describe_time_to_live(TableName="orders")["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "DISABLED"
    }


def test_items_written_in_one_region_stay_in_that_region(ddb_server: RunningServer) -> None:
    east, eu = ddb_server.client("dynamodb", region=EAST), ddb_server.client("dynamodb", region=EU)
    create(east, "orders")
    create(eu, "orders")
    east.put_item(TableName="orders", Item={"pk": {"S": "a"}, "where": {"S": "east"}})
    eu.put_item(TableName="orders", Item={"pk": {"S": "a"}, "where": {"S": "eu"}})
    eu.put_item(TableName="orders", Item={"pk": {"S": "b"}, "where": {"S": "eu"}})

    assert east.get_item(TableName="orders", Key={"pk": {"S": "a"}})["Item"]["where"] == {"S": "east"}
    assert eu.get_item(TableName="orders", Key={"pk": {"S": "a"}})["Item"]["where"] == {"S": "eu"}
    assert "Item" not in east.get_item(TableName="orders", Key={"pk": {"S": "b"}})
    assert (east.scan(TableName="orders")["Count"], eu.scan(TableName="orders")["Count"]) == (1, 2)
    assert east.describe_table(TableName="orders")["Table"]["ItemCount"] == 1

    eu.delete_table(TableName="orders")
    assert error(lambda: eu.scan(TableName="orders"))[0] == "ResourceNotFoundException"
    assert east.scan(TableName="orders")["Items"] == [{"pk": {"S": "a"}, "where": {"S": "east"}}]
    assert east.describe_table(TableName="orders")["Table"]["StreamSpecification"]["StreamEnabled"]


def test_each_region_has_its_own_streams(ddb_server: RunningServer) -> None:
    east, eu = ddb_server.client("dynamodb", region=EAST), ddb_server.client("dynamodb", region=EU)
    east_streams = ddb_server.client("dynamodbstreams", region=EAST)
    eu_streams = ddb_server.client("dynamodbstreams", region=EU)
    east_arn = create(east, "orders")["LatestStreamArn"]
    eu_arn = create(eu, "orders")["LatestStreamArn"]
    create(eu, "audit")
    east.put_item(TableName="orders", Item={"pk": {"S": "from-east"}})
    eu.put_item(TableName="orders", Item={"pk": {"S": "from-eu"}})

    assert [s["StreamArn"] for s in east_streams.list_streams()["Streams"]] == [east_arn]
    listed = eu_streams.list_streams()["Streams"]
    assert [s["TableName"] for s in listed] == ["audit", "orders"]
    assert eu_streams.list_streams(TableName="orders")["Streams"] == [
        {"StreamArn": eu_arn, "TableName": "orders", "StreamLabel": eu_arn.rsplit("/", 1)[1]}
    ]
    assert eu_streams.describe_stream(StreamArn=eu_arn)["StreamDescription"]["StreamArn"] == eu_arn
    assert error(lambda: east_streams.describe_stream(StreamArn=eu_arn)) == (
        "ResourceNotFoundException",
        f"Requested resource not found: Stream: {eu_arn} not found",
    )
    assert error(lambda: east_streams.list_streams(TableName="audit"))[0] == "ResourceNotFoundException"

    east_records, eu_records = read_all(east_streams, east_arn), read_all(eu_streams, eu_arn)
    assert [(r["dynamodb"]["Keys"]["pk"]["S"], r["awsRegion"]) for r in east_records] == [("from-east", EAST)]
    assert [(r["dynamodb"]["Keys"]["pk"]["S"], r["awsRegion"]) for r in eu_records] == [("from-eu", EU)]

    # A pipe reads a table's stream by its ARN: the ARN's region is where the stream is found.
    async def first_batch(arn: str) -> list[tuple[str, str]]:
        batch = await subscribe(ddb_server.pipework.store, arn, consumer="pipe-x").read()
        assert batch is not None
        return [(r["dynamodb"]["Keys"]["pk"]["S"], r["eventSourceARN"]) for r in batch.records]

    assert ddb_server.run(first_batch(eu_arn)) == [("from-eu", eu_arn)]
    assert ddb_server.run(first_batch(east_arn)) == [("from-east", east_arn)]


# ── a data directory written before tables were keyed by region ──


def restore_v0(directory: Path) -> dict[str, Any]:
    directory.mkdir(parents=True)
    connection = sqlite3.connect(directory / "pipework.db")
    connection.executescript((V0 / "v0_dynamodb.sql").read_text())
    connection.close()
    facts: dict[str, Any] = json.loads((V0 / "v0_dynamodb.json").read_text())
    return facts


def test_a_data_directory_of_an_older_version_serves_each_table_in_its_region(tmp_path: Path) -> None:
    facts = restore_v0(tmp_path / "data")
    clock = ManualClock(start=facts["clock"])
    server = RunningServer(asgi_app(Settings(data_dir=tmp_path / "data"), clock=clock))
    server.start()
    try:
        east, eu = server.client("dynamodb", region=EAST), server.client("dynamodb", region=EU)
        east_streams = server.client("dynamodbstreams", region=EAST)
        eu_streams = server.client("dynamodbstreams", region=EU)
        assert east.list_tables()["TableNames"] == ["orders", "plain"]
        assert eu.list_tables()["TableNames"] == ["eu-orders"]

        orders = east.describe_table(TableName="orders")["Table"]
        assert orders["TableArn"] == f"arn:aws:dynamodb:{EAST}:{ACCOUNT}:table/orders"
        assert (orders["LatestStreamArn"], orders["ItemCount"]) == (facts["orders_stream"], 2)
        eu_orders = eu.describe_table(TableName="eu-orders")["Table"]
        assert eu_orders["TableArn"] == f"arn:aws:dynamodb:{EU}:{ACCOUNT}:table/eu-orders"
        assert eu_orders["LatestStreamArn"] == facts["eu_streams"][1]
        assert eu.list_tags_of_resource(ResourceArn=eu_orders["TableArn"])["Tags"] == [
            {"Key": "team", "Value": "eu"}
        ]
        assert east.describe_time_to_live(TableName="orders")["TimeToLiveDescription"] == {
            "TimeToLiveStatus": "ENABLED",
            "AttributeName": "expires",
        }

        # Items and index entries kept.
        shipped = east.query(
            TableName="orders",
            IndexName="by-status",
            KeyConditionExpression="#s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": "shipped"}},
        )["Items"]
        assert [i["pk"]["S"] for i in shipped] == ["o2"]
        assert east.get_item(TableName="plain", Key={"pk": {"S": "p1"}})["Item"]["note"] == {
            "S": "no stream here"
        }
        assert sorted(i["pk"]["S"] for i in eu.scan(TableName="eu-orders")["Items"]) == ["e1", "e2"]

        # Streams listed in the region of their ARNs, their records and sequence numbers kept.
        assert [s["StreamArn"] for s in east_streams.list_streams()["Streams"]] == [
            facts["gone_stream"],
            facts["orders_stream"],
        ]
        assert [s["StreamArn"] for s in eu_streams.list_streams()["Streams"]] == facts["eu_streams"]
        records = read_all(east_streams, facts["orders_stream"])
        assert [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in records] == [
            ("INSERT", "o1"),
            ("INSERT", "o2"),
            ("MODIFY", "o2"),
            ("INSERT", "o3"),
            ("REMOVE", "o3"),
        ]
        assert [int(r["dynamodb"]["SequenceNumber"]) for r in records] == [1, 2, 3, 4, 5]
        assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in read_all(eu_streams, facts["eu_streams"][0])] == [
            "e1"
        ]
        assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in read_all(east_streams, facts["gone_stream"])] == [
            "g1"
        ]

        # New writes continue the same stream, stamped with the table's region.
        last = read_all(eu_streams, facts["eu_streams"][1])[-1]["dynamodb"]["SequenceNumber"]
        eu.put_item(TableName="eu-orders", Item={"pk": {"S": "e3"}})
        [new] = read_all(eu_streams, facts["eu_streams"][1], after=last)
        assert (new["dynamodb"]["Keys"]["pk"]["S"], new["awsRegion"]) == ("e3", EU)
        assert int(new["dynamodb"]["SequenceNumber"]) == int(last) + 1

        # The consumer's checkpoint still holds: it resumes after the two records it had processed.
        async def resume() -> tuple[str | None, list[str]]:
            sub = subscribe(server.pipework.store, facts["orders_stream"], consumer=facts["consumer"])
            batch = await sub.read()
            assert batch is not None
            return await sub.checkpointed(), [r["eventName"] for r in batch.records]

        assert server.run(resume()) == (facts["checkpoint"], ["MODIFY", "INSERT", "REMOVE"])

        # The TTL entry was kept: once its time passes, the sweep expires the item with a REMOVE record.
        server.advance(
            facts["ttl_expires"] - server.now() + 1
        )  # returns once the sweep woken on the way has run
        assert "Item" not in east.get_item(TableName="orders", Key={"pk": {"S": "o1"}, "sk": {"S": "a"}})
        [removed] = read_all(
            east_streams, facts["orders_stream"], after=records[-1]["dynamodb"]["SequenceNumber"]
        )
        assert (removed["eventName"], removed["dynamodb"]["Keys"]["pk"]["S"]) == ("REMOVE", "o1")
        assert removed["userIdentity"] == {"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"}
    finally:
        server.stop()
