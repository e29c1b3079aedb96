"""Writes `v0_dynamodb.sql`: a data directory with DynamoDB data as Pipework wrote it before tables were keyed by
account and region (commit 63f16c0, the same code as `make_v0_dump.py`), dumped as SQL for the migration tests.
Kept for the record: it needs that commit's code (e.g. ``git archive 63f16c0 src | tar -x -C /tmp/v0`` and
``PYTHONPATH=/tmp/v0/src python tests/store/data/make_v0_dynamodb_dump.py``); the current code writes the new layout.
`v0_dynamodb.json` beside it keeps what the tests need to know (stream ARNs, the checkpoint, the clock).

What it holds (account 000000000000, server default region us-east-1, ManualClock from 1_800_000_000). That
version kept one table namespace for every region but built stream ARNs from the request's region:
- from us-east-1: `orders` (pk+sk, GSI `by-status`, TTL on `expires`, NEW_AND_OLD_IMAGES stream with 5 records:
  INSERT o1 (expires in 2 hours), INSERT o2, MODIFY o2 (status shipped), INSERT o3, REMOVE o3), a checkpoint of
  the consumer `arn:aws:pipes:us-east-1:000000000000:pipe/orders-pipe` after its second record; `plain` (no
  stream, one item); `gone` (deleted after one write: its stream is DISABLED and still retained).
- from eu-central-1: `eu-orders` (NEW_IMAGE stream with one record, disabled, then a second stream with one
  record): both stream ARNs name eu-central-1.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
from pathlib import Path

from pipework.app import Pipework, Settings
from pipework.clock import ManualClock
from pipework.testing import RunningServer, make_client

START = 1_800_000_000.0
HERE = Path(__file__).parent
CONSUMER = "arn:aws:pipes:us-east-1:000000000000:pipe/orders-pipe"
SERVICES = ["pipework.services.dynamodb:create_service", "pipework.services.dynamodbstreams:create_service"]


def main() -> None:
    clock = ManualClock(start=START)
    with tempfile.TemporaryDirectory() as tmp:
        pipework = Pipework(Settings(data_dir=Path(tmp)), clock=clock, services=SERVICES)
        server = RunningServer(pipework)
        server.start()

        def advance(seconds: float) -> None:
            async def go() -> None:
                clock.advance(seconds)

            server.run(go())

        east = make_client(server.endpoint_url, "dynamodb", region="us-east-1")
        eu = make_client(server.endpoint_url, "dynamodb", region="eu-central-1")

        orders = east.create_table(
            TableName="orders",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "status")],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by-status",
                    "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]
        east.update_time_to_live(
            TableName="orders", TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"}
        )
        east.put_item(
            TableName="orders",
            Item={
                "pk": {"S": "o1"},
                "sk": {"S": "a"},
                "status": {"S": "open"},
                "expires": {"N": str(int(START) + 7200)},
            },
        )
        east.put_item(TableName="orders", Item={"pk": {"S": "o2"}, "sk": {"S": "a"}, "status": {"S": "open"}})
        east.update_item(
            TableName="orders",
            Key={"pk": {"S": "o2"}, "sk": {"S": "a"}},
            UpdateExpression="SET #s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": "shipped"}},
        )
        east.put_item(TableName="orders", Item={"pk": {"S": "o3"}, "sk": {"S": "a"}, "status": {"S": "open"}})
        east.delete_item(TableName="orders", Key={"pk": {"S": "o3"}, "sk": {"S": "a"}})

        streams = pipework.services["dynamodbstreams"]
        subscription = streams.subscribe(orders["LatestStreamArn"], consumer=CONSUMER, batch_size=2)
        first_two = server.run(subscription.read())
        assert [r["eventName"] for r in first_two.records] == ["INSERT", "INSERT"], first_two
        server.run(subscription.checkpoint(first_two))

        east.create_table(
            TableName="plain",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
        )
        east.put_item(TableName="plain", Item={"pk": {"S": "p1"}, "note": {"S": "no stream here"}})

        gone = east.create_table(
            TableName="gone",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
        )["TableDescription"]
        east.put_item(TableName="gone", Item={"pk": {"S": "g1"}})
        east.delete_table(TableName="gone")

        first_eu = eu.create_table(
            TableName="eu-orders",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
            Tags=[{"Key": "team", "Value": "eu"}],
        )["TableDescription"]
        eu.put_item(TableName="eu-orders", Item={"pk": {"S": "e1"}})
        eu.update_table(TableName="eu-orders", StreamSpecification={"StreamEnabled": False})
        advance(1)  # a new stream label
        second_eu = eu.update_table(
            TableName="eu-orders", StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
        )["TableDescription"]
        eu.put_item(TableName="eu-orders", Item={"pk": {"S": "e2"}})

        server.stop()
        connection = sqlite3.connect(Path(tmp) / "pipework.db")
        dump = "\n".join(connection.iterdump()) + "\n"
        connection.close()
    (HERE / "v0_dynamodb.sql").write_text(dump)
    facts = {
        "clock": clock.now(),
        "orders_stream": orders["LatestStreamArn"],
        "gone_stream": gone["LatestStreamArn"],
        "eu_streams": [first_eu["LatestStreamArn"], second_eu["LatestStreamArn"]],
        "consumer": CONSUMER,
        "checkpoint": first_two.last_sequence,
        "ttl_expires": int(START) + 7200,
    }
    (HERE / "v0_dynamodb.json").write_text(json.dumps(facts, indent=2) + "\n")
    print(f"wrote {HERE / 'v0_dynamodb.sql'} ({len(dump)} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
