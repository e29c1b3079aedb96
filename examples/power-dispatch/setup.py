"""Creates the power-dispatch example: a table ``Powers`` with a NEW_IMAGE stream, the pipe ``power-dispatch``
(drops deletions, reshapes each record, puts it on the bus ``power-events``), and the rule ``updates`` that sends
each dispatch to the queue ``power-updates`` and to the function ``notify_dispatcher``.

Safe to run again (what exists is kept). ``pipework serve --load examples/power-dispatch/setup.py`` runs it once
the server listens; on its own: ``AWS_ENDPOINT_URL=http://localhost:4566 python examples/power-dispatch/setup.py``.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
from botocore.exceptions import ClientError

REGION = "us-east-1"
ACCOUNT = "000000000000"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/power-dispatch"
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:notify_dispatcher"


def client(service: str, endpoint_url: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def setup(endpoint_url: str) -> dict[str, str]:
    """Create (or find) every resource of the example; returns their names and ARNs."""
    ddb, events = client("dynamodb", endpoint_url), client("events", endpoint_url)
    sqs, pipes = client("sqs", endpoint_url), client("pipes", endpoint_url)
    try:
        table = ddb.create_table(
            TableName="Powers",
            KeySchema=[{"AttributeName": "subjectId", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "subjectId", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        )["TableDescription"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise
        table = ddb.describe_table(TableName="Powers")["Table"]
    stream_arn = table["LatestStreamArn"]

    try:
        bus_arn = events.create_event_bus(Name="power-events")["EventBusArn"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceAlreadyExistsException":
            raise
        bus_arn = events.describe_event_bus(Name="power-events")["Arn"]

    queue_url = sqs.create_queue(QueueName="power-updates")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name="updates",
        EventBusName="power-events",
        EventPattern=json.dumps({"source": ["energy.dispatch"], "detail-type": ["PowerDispatch"]}),
    )
    events.put_targets(
        Rule="updates",
        EventBusName="power-events",
        Targets=[{"Id": "queue", "Arn": queue_arn}, {"Id": "dispatcher", "Arn": FUNCTION}],
    )

    definition: dict[str, Any] = {
        "Name": "power-dispatch",
        "RoleArn": ROLE,
        "Source": stream_arn,
        "SourceParameters": {
            "DynamoDBStreamParameters": {"StartingPosition": "TRIM_HORIZON", "BatchSize": 10},
            "FilterCriteria": {"Filters": [{"Pattern": json.dumps({"eventName": ["INSERT", "MODIFY"]})}]},
        },
        "Target": bus_arn,
        "TargetParameters": {
            "InputTemplate": '{"subjectId": <$.dynamodb.NewImage.subjectId.S>, '
            '"megawatts": <$.dynamodb.NewImage.megawatts.N>}',
            "EventBridgeEventBusParameters": {"Source": "energy.dispatch", "DetailType": "PowerDispatch"},
        },
    }
    try:
        pipes.create_pipe(**definition)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConflictException":
            raise
        definition.pop("Source")
        definition["SourceParameters"]["DynamoDBStreamParameters"].pop("StartingPosition")
        pipes.update_pipe(**definition)
    return {
        "table": "Powers",
        "stream": stream_arn,
        "bus": bus_arn,
        "queue": queue_url,
        "pipe": "power-dispatch",
    }


if __name__ == "__main__":
    created = setup(os.environ.get("AWS_ENDPOINT_URL", "http://localhost:4566"))
    print("power-dispatch example ready: " + ", ".join(f"{k}={v}" for k, v in created.items()), flush=True)
