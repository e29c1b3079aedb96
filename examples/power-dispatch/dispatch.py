"""Writes power dispatches to the ``Powers`` table with boto3 and shows the events arriving on the
``power-updates`` queue (through the table's stream, the pipe, the bus and the rule). A deletion is written too:
the pipe's filter drops it, so it never arrives.

    AWS_ENDPOINT_URL=http://localhost:4566 python examples/power-dispatch/dispatch.py
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from setup import client


def dispatch(endpoint_url: str, count: int = 3, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Write `count` dispatches, update one, delete one; return the events that arrived on the queue."""
    ddb, sqs = client("dynamodb", endpoint_url), client("sqs", endpoint_url)
    queue_url = sqs.get_queue_url(QueueName="power-updates")["QueueUrl"]
    for i in range(count):
        ddb.put_item(
            TableName="Powers", Item={"subjectId": {"S": f"plant-{i}"}, "megawatts": {"N": str(10 * (i + 1))}}
        )
        print(f"wrote   plant-{i}: {10 * (i + 1)} MW")
    ddb.update_item(
        TableName="Powers",
        Key={"subjectId": {"S": "plant-0"}},
        UpdateExpression="SET megawatts = :mw",
        ExpressionAttributeValues={":mw": {"N": "42"}},
    )
    print("updated plant-0: 42 MW")
    ddb.delete_item(TableName="Powers", Key={"subjectId": {"S": f"plant-{count - 1}"}})
    print(f"deleted plant-{count - 1} (filtered out by the pipe)")
    arrived: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(arrived) < count + 1 and time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            event = json.loads(message["Body"])
            arrived.append(event)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            print(f"arrived {event['detail-type']} from {event['source']}: {json.dumps(event['detail'])}")
    return arrived


if __name__ == "__main__":
    events = dispatch(os.environ.get("AWS_ENDPOINT_URL", "http://localhost:4566"))
    sys.exit(0 if len(events) == 4 else 1)
