"""Subtle behaviours checked against moto's server (a test extra; skipped when it is absent, except in CI).

Each case asserts what the DynamoDB documentation says on Pipework, and records whether moto agrees; a
disagreement is listed in docs/decisions.md with the side the documentation supports."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from pipework.testing import make_client

IN_CI = os.environ.get("CI") == "true"
if not IN_CI:
    pytest.importorskip("moto")


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    executable = shutil.which("moto_server") or os.path.join(os.path.dirname(sys.executable), "moto_server")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [executable, "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                if IN_CI:
                    raise RuntimeError("moto_server did not start") from None
                pytest.skip("moto_server did not start")
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(10)


def both(server: Any, moto_url: str, name: str) -> list[tuple[str, Any, Any]]:
    """(peer, dynamodb client, streams client) with a fresh table `name` with a NEW_AND_OLD_IMAGES stream."""
    peers = []
    for peer, url in (("pipework", server.endpoint_url), ("moto", moto_url)):
        ddb, streams = make_client(url, "dynamodb"), make_client(url, "dynamodbstreams")
        ddb.create_table(
            TableName=name,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "N"},
            ],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        peers.append((peer, ddb, streams))
    return peers


def records(ddb: Any, streams: Any, table: str) -> list[dict[str, Any]]:
    arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    found: list[dict[str, Any]] = streams.get_records(ShardIterator=it)["Records"]
    return found


def test_numbers_and_number_ordering_agree(server: Any, moto_url: str) -> None:
    seen = {}
    for peer, ddb, _ in both(server, moto_url, "numbers"):
        for sk in ["10", "9.5", "-1", "1e1", "0.001"]:
            ddb.put_item(TableName="numbers", Item={"pk": {"S": "a"}, "sk": {"N": sk}, "v": {"N": "1.50"}})
        items = ddb.query(
            TableName="numbers",
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "a"}},
        )["Items"]
        seen[peer] = [(i["sk"]["N"], i["v"]["N"]) for i in items]
    # DynamoDB: numbers are normalised ("1e1" and "10" are one key), sort numerically, come back canonical.
    assert seen["pipework"] == [("-1", "1.5"), ("0.001", "1.5"), ("9.5", "1.5"), ("10", "1.5")]
    # moto agrees on the order and on "1e1" and "10" being one key, but keeps numbers as written (the last write's
    # spelling): the disagreement recorded in docs/decisions.md. A change in moto shows up here.
    assert seen["moto"] == [("-1", "1.50"), ("0.001", "1.50"), ("9.5", "1.50"), ("1e1", "1.50")]


def test_unchanged_put_emits_no_record(server: Any, moto_url: str) -> None:
    names = {}
    for peer, ddb, streams in both(server, moto_url, "unchanged"):
        item = {"pk": {"S": "a"}, "sk": {"N": "1"}}
        ddb.put_item(TableName="unchanged", Item=item)
        ddb.put_item(TableName="unchanged", Item=item)
        names[peer] = [r["eventName"] for r in records(ddb, streams, "unchanged")]
    # DynamoDB docs: a PutItem or UpdateItem that does not change any data writes no stream record.
    assert names["pipework"] == ["INSERT"]
    assert names["moto"] == ["INSERT", "MODIFY"]  # the disagreement recorded in docs/decisions.md


def test_limit_reached_at_the_end_still_returns_last_evaluated_key(server: Any, moto_url: str) -> None:
    has_key = {}
    for peer, ddb, _ in both(server, moto_url, "limits"):
        for sk in range(2):
            ddb.put_item(TableName="limits", Item={"pk": {"S": "a"}, "sk": {"N": str(sk)}})
        result = ddb.query(
            TableName="limits",
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "a"}},
            Limit=2,
        )
        has_key[peer] = "LastEvaluatedKey" in result
    # DynamoDB stops at Limit and returns LastEvaluatedKey without looking further ("If LastEvaluatedKey is not
    # empty, it does not necessarily mean that there is more data in the result set").
    assert has_key["pipework"] is True
    assert has_key["moto"] is False  # the disagreement recorded in docs/decisions.md


def test_condition_failure_and_key_errors_agree(server: Any, moto_url: str) -> None:
    from botocore.exceptions import ClientError

    outcomes = {}
    for peer, ddb, _ in both(server, moto_url, "conditions"):
        got = []
        for params in (
            {"Item": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "ConditionExpression": "attribute_exists(pk)"},
            {"Item": {"pk": {"S": "a"}}},
        ):
            try:
                ddb.put_item(TableName="conditions", **params)
                got.append(None)
            except ClientError as error:
                got.append((error.response["Error"]["Code"], error.response["Error"]["Message"]))
        outcomes[peer] = got
    assert outcomes["pipework"] == [
        ("ConditionalCheckFailedException", "The conditional request failed"),
        ("ValidationException", "One or more parameter values were invalid: Missing the key sk in the item"),
    ]
    assert outcomes["moto"] == outcomes["pipework"]
