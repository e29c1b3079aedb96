"""DynamoDB Streams through boto3: record shapes per view type, ordering, iterators, retention, TTL REMOVEs."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from pipework.clock import ManualClock

from .test_dynamodb_tables import error_of, make_table


def read_all(streams: Any, arn: str, kind: str = "TRIM_HORIZON", **extra: Any) -> list[dict[str, Any]]:
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType=kind, **extra)[
        "ShardIterator"
    ]
    records: list[dict[str, Any]] = streams.get_records(ShardIterator=iterator)["Records"]
    return records


def writes(ddb: Any) -> None:
    ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}, "v": {"N": "1"}})  # unchanged: no record
    ddb.update_item(
        TableName="orders",
        Key={"pk": {"S": "a"}},
        UpdateExpression="SET v = :v",
        ExpressionAttributeValues={":v": {"N": "2"}},
    )
    ddb.delete_item(TableName="orders", Key={"pk": {"S": "a"}})
    ddb.delete_item(TableName="orders", Key={"pk": {"S": "a"}})  # already gone: no record


IMAGES = {
    "KEYS_ONLY": [set(), set(), set()],
    "NEW_IMAGE": [{"NewImage"}, {"NewImage"}, set()],
    "OLD_IMAGE": [set(), {"OldImage"}, {"OldImage"}],
    "NEW_AND_OLD_IMAGES": [{"NewImage"}, {"NewImage", "OldImage"}, {"OldImage"}],
}


@pytest.mark.parametrize("view", list(IMAGES))
def test_records_per_view_type(server: Any, view: str) -> None:
    ddb, streams = server.client("dynamodb"), server.client("dynamodbstreams")
    make_table(ddb, range_key=None, stream=view)
    arn = ddb.describe_table(TableName="orders")["Table"]["LatestStreamArn"]
    writes(ddb)
    records = read_all(streams, arn)
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    for record, images in zip(records, IMAGES[view]):
        assert record["eventSource"] == "aws:dynamodb" and record["awsRegion"] == "us-east-1"
        assert record["eventVersion"] == "1.1" and len(record["eventID"]) == 32
        body = record["dynamodb"]
        assert body["Keys"] == {"pk": {"S": "a"}} and body["StreamViewType"] == view
        assert (
            set(body)
            - {"ApproximateCreationDateTime", "Keys", "SequenceNumber", "SizeBytes", "StreamViewType"}
            == images
        )
        assert body["SizeBytes"] > 0
        assert "userIdentity" not in record
    sequences = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert sequences == sorted(sequences)
    if view == "NEW_AND_OLD_IMAGES":
        assert records[1]["dynamodb"]["OldImage"]["v"] == {"N": "1"}
        assert records[1]["dynamodb"]["NewImage"]["v"] == {"N": "2"}


def test_list_describe_and_iterator_types(server: Any) -> None:
    ddb, streams = server.client("dynamodb"), server.client("dynamodbstreams")
    make_table(ddb, range_key=None, stream="KEYS_ONLY")
    arn = ddb.describe_table(TableName="orders")["Table"]["LatestStreamArn"]
    listed = streams.list_streams(TableName="orders")["Streams"]
    assert listed == [{"StreamArn": arn, "TableName": "orders", "StreamLabel": arn.rpartition("/")[2]}]
    for i in range(5):
        ddb.put_item(TableName="orders", Item={"pk": {"S": str(i)}})
    description = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert description["StreamStatus"] == "ENABLED" and description["StreamViewType"] == "KEYS_ONLY"
    assert description["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    shard = description["Shards"][0]
    assert "EndingSequenceNumber" not in shard["SequenceNumberRange"]
    all_records = read_all(streams, arn)
    third = all_records[2]["dynamodb"]["SequenceNumber"]
    at = read_all(streams, arn, "AT_SEQUENCE_NUMBER", SequenceNumber=third)
    after = read_all(streams, arn, "AFTER_SEQUENCE_NUMBER", SequenceNumber=third)
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in at] == ["2", "3", "4"]
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in after] == ["3", "4"]
    latest = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST")[
        "ShardIterator"
    ]
    empty = streams.get_records(ShardIterator=latest)
    assert empty["Records"] == []
    ddb.put_item(TableName="orders", Item={"pk": {"S": "new"}})
    fresh = streams.get_records(ShardIterator=empty["NextShardIterator"], Limit=10)
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in fresh["Records"]] == ["new"]
    limited = streams.get_records(
        ShardIterator=streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"],
        Limit=2,
    )
    assert len(limited["Records"]) == 2
    assert (
        next(
            r["dynamodb"]["Keys"]["pk"]["S"]
            for r in streams.get_records(ShardIterator=limited["NextShardIterator"])["Records"]
        )
        == "2"
    )


def test_disabling_the_stream_closes_the_shard_and_enabling_makes_a_new_stream(server: Any) -> None:
    ddb, streams = server.client("dynamodb"), server.client("dynamodbstreams")
    make_table(ddb, range_key=None)
    assert "LatestStreamArn" not in ddb.describe_table(TableName="orders")["Table"]
    ddb.update_table(
        TableName="orders", StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    )
    first = ddb.describe_table(TableName="orders")["Table"]["LatestStreamArn"]
    ddb.put_item(TableName="orders", Item={"pk": {"S": "x"}})
    code, message = error_of(
        ddb.update_table,
        TableName="orders",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    assert code == "ValidationException" and message.startswith("Table already has an enabled stream")
    ddb.update_table(TableName="orders", StreamSpecification={"StreamEnabled": False})
    ddb.put_item(TableName="orders", Item={"pk": {"S": "y"}})  # no stream: no record
    closed = streams.describe_stream(StreamArn=first)["StreamDescription"]
    assert closed["StreamStatus"] == "DISABLED"
    assert "EndingSequenceNumber" in closed["Shards"][0]["SequenceNumberRange"]
    shard = closed["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=first, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    result = streams.get_records(ShardIterator=iterator)
    assert len(result["Records"]) == 1 and "NextShardIterator" not in result
    ddb.update_table(
        TableName="orders", StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
    )
    assert len(streams.list_streams(TableName="orders")["Streams"]) == 2


def test_records_are_ordered_per_key_under_concurrent_writes(server: Any) -> None:
    import concurrent.futures

    ddb, streams = server.client("dynamodb"), server.client("dynamodbstreams")
    make_table(ddb, range_key=None, stream="NEW_IMAGE")
    arn = ddb.describe_table(TableName="orders")["Table"]["LatestStreamArn"]

    def bump(key: str) -> None:
        client = server.client("dynamodb")
        for _ in range(10):
            client.update_item(
                TableName="orders",
                Key={"pk": {"S": key}},
                UpdateExpression="ADD n :one",
                ExpressionAttributeValues={":one": {"N": "1"}},
            )

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(bump, ["a", "b", "a", "b"]))
    records = read_all(streams, arn)
    for key in "ab":
        counts = [
            int(r["dynamodb"]["NewImage"]["n"]["N"])
            for r in records
            if r["dynamodb"]["Keys"]["pk"]["S"] == key
        ]
        assert counts == list(range(1, 21))


def test_retention_trims_records_and_old_iterators_see_trimmed_data(make_server: Any) -> None:
    clock = ManualClock(start=1_700_000_000.0)
    server = make_server(clock=clock)
    ddb, streams = server.client("dynamodb"), server.client("dynamodbstreams")
    make_table(
        ddb,
        range_key=None,
        stream="KEYS_ONLY",
        Tags=[{"Key": "pipework:stream-retention-hours", "Value": "1"}],
    )
    arn = ddb.describe_table(TableName="orders")["Table"]["LatestStreamArn"]
    ddb.put_item(TableName="orders", Item={"pk": {"S": "old"}})
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    stale = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    server.advance(1800)
    ddb.put_item(TableName="orders", Item={"pk": {"S": "new"}})
    server.advance(1801)  # returns once the background sweep, woken on the way, has run
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in read_all(streams, arn)] == ["new"]
    assert error_of(streams.get_records, ShardIterator=stale)[0] == "ExpiredIteratorException"


def test_ttl_deletes_emit_remove_records_with_the_service_identity(make_server: Any) -> None:
    clock = ManualClock(start=1_700_000_000.0)
    server = make_server(clock=clock)
    ddb, streams = server.client("dynamodb"), server.client("dynamodbstreams")
    make_table(ddb, range_key=None, stream="NEW_AND_OLD_IMAGES")
    ddb.update_time_to_live(
        TableName="orders", TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"}
    )
    ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}, "exp": {"N": "1700000005"}})
    ddb.delete_item(TableName="orders", Key={"pk": {"S": "missing"}})
    server.advance(10)  # returns once the background sweep, woken on the way, has run
    records = read_all(streams, ddb.describe_table(TableName="orders")["Table"]["LatestStreamArn"])
    assert [r["eventName"] for r in records] == ["INSERT", "REMOVE"]
    assert records[1]["userIdentity"] == {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}
    assert records[1]["dynamodb"]["OldImage"] == {"pk": {"S": "a"}, "exp": {"N": "1700000005"}}
    assert "userIdentity" not in records[0]


def test_transaction_records_commit_with_the_items(server: Any) -> None:
    ddb, streams = server.client("dynamodb"), server.client("dynamodbstreams")
    make_table(ddb, range_key=None, stream="KEYS_ONLY")
    arn = ddb.describe_table(TableName="orders")["Table"]["LatestStreamArn"]
    ok = [{"Put": {"TableName": "orders", "Item": {"pk": {"S": k}}}} for k in "xy"]
    ddb.transact_write_items(TransactItems=ok)
    with pytest.raises(ClientError):
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "orders", "Item": {"pk": {"S": "z"}}}},
                {
                    "ConditionCheck": {
                        "TableName": "orders",
                        "Key": {"pk": {"S": "x"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in read_all(streams, arn)] == ["x", "y"]


def test_unknown_stream_is_resource_not_found(server: Any) -> None:
    streams = server.client("dynamodbstreams")
    arn = "arn:aws:dynamodb:us-east-1:000000000000:table/x/stream/2024-01-01T00:00:00.000"
    assert error_of(streams.describe_stream, StreamArn=arn)[0] == "ResourceNotFoundException"
