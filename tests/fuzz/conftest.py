"""One server for the bad-input tests, holding resources that no bad request may change: a bus with a rule and a
target, a queue with a message, a table (with a stream) holding items, a stopped pipe, a disabled schedule, and a
function with its asynchronous invocation configuration and a disabled event source mapping.
After every test the server must still answer its health check and every one of them must be as it was."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pipework.app import Settings
from pipework.testing import RunningServer, serve_in_thread
from support.http import wait_for
from support.lambdas import package

ROLE = "arn:aws:iam::000000000000:role/keep"


class KeptResources:
    """What the fuzz server holds before any bad request; `snapshot()` reads all of it back."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        sqs, events, dynamodb = server.client("sqs"), server.client("events"), server.client("dynamodb")
        self.queue_url = sqs.create_queue(QueueName="keep-queue")["QueueUrl"]
        self.queue_arn = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sqs.send_message(QueueUrl=self.queue_url, MessageBody="keep-message")
        events.create_event_bus(Name="keep-bus")
        events.put_rule(Name="keep-rule", EventBusName="keep-bus", EventPattern='{"source": ["keep"]}')
        events.put_targets(
            Rule="keep-rule", EventBusName="keep-bus", Targets=[{"Id": "keep", "Arn": self.queue_arn}]
        )
        table = dynamodb.create_table(
            TableName="keep-table",
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
        self.stream_arn = table["TableDescription"]["LatestStreamArn"]
        for sk in range(3):
            item = {"pk": {"S": "keep"}, "sk": {"N": str(sk)}, "data": {"M": {"list": {"L": [{"N": "1"}]}}}}
            dynamodb.put_item(TableName="keep-table", Item=item)
        pipes = server.client("pipes")
        pipes.create_pipe(
            Name="keep-pipe",
            Source=self.stream_arn,
            Target=self.queue_arn,
            RoleArn=ROLE,
            DesiredState="STOPPED",
            SourceParameters={"DynamoDBStreamParameters": {"StartingPosition": "TRIM_HORIZON"}},
        )
        wait_for(lambda: pipes.describe_pipe(Name="keep-pipe")["CurrentState"] == "STOPPED")
        scheduler = server.client("scheduler")
        scheduler.create_schedule_group(Name="keep-group")
        scheduler.create_schedule(
            Name="keep-schedule",
            GroupName="keep-group",
            ScheduleExpression="rate(1 hour)",
            FlexibleTimeWindow={"Mode": "OFF"},
            State="DISABLED",
            Target={"Arn": self.queue_arn, "RoleArn": ROLE},
        )
        functions = server.client("lambda")
        functions.create_function(
            FunctionName="keep-function",
            Runtime="python3.12",
            Role=ROLE,
            Handler="app.handler",
            Code={"ZipFile": package()},
        )
        functions.put_function_event_invoke_config(FunctionName="keep-function", MaximumRetryAttempts=1)
        self.mapping = functions.create_event_source_mapping(
            EventSourceArn=self.queue_arn, FunctionName="keep-function", Enabled=False
        )["UUID"]
        server.client("cloudwatch").put_metric_alarm(
            AlarmName="keep-alarm",
            Namespace="Keep",
            MetricName="Errors",
            Dimensions=[{"Name": "Service", "Value": "keep"}],
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=5,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
            TreatMissingData="missing",
        )
        self.expected = self.snapshot()

    def snapshot(self) -> dict[str, Any]:
        server = self.server
        sqs, events, dynamodb = server.client("sqs"), server.client("events"), server.client("dynamodb")
        pipes, scheduler, functions = (
            server.client("pipes"),
            server.client("scheduler"),
            server.client("lambda"),
        )
        found = {
            "queue": sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["All"])["Attributes"],
            "bus": events.describe_event_bus(Name="keep-bus"),
            "rule": events.describe_rule(Name="keep-rule", EventBusName="keep-bus"),
            "targets": events.list_targets_by_rule(Rule="keep-rule", EventBusName="keep-bus")["Targets"],
            "table": dynamodb.describe_table(TableName="keep-table")["Table"],
            "items": dynamodb.scan(TableName="keep-table", ConsistentRead=True)["Items"],
            "pipe": pipes.describe_pipe(Name="keep-pipe"),
            "group": scheduler.get_schedule_group(Name="keep-group"),
            "schedule": scheduler.get_schedule(Name="keep-schedule", GroupName="keep-group"),
            "function": functions.get_function(FunctionName="keep-function"),
            "invoke-config": functions.get_function_event_invoke_config(FunctionName="keep-function"),
            "mapping": functions.get_event_source_mapping(UUID=self.mapping),
            "alarm": server.client("cloudwatch").describe_alarms(AlarmNames=["keep-alarm"])["MetricAlarms"],
        }
        for value in found.values():
            if isinstance(value, dict):
                value.pop("ResponseMetadata", None)
        return found


@pytest.fixture(scope="session")
def fuzz_server() -> Iterator[RunningServer]:
    with serve_in_thread(Settings(memory=True)) as server:
        yield server


@pytest.fixture(scope="session")
def kept(fuzz_server: RunningServer) -> KeptResources:
    return KeptResources(fuzz_server)


@pytest.fixture(autouse=True)
def _still_healthy_and_intact(fuzz_server: RunningServer, kept: KeptResources) -> Iterator[None]:
    yield
    health = httpx.get(fuzz_server.endpoint_url + "/_pipework/health", timeout=15)
    assert health.status_code == 200, health.text
    assert kept.snapshot() == kept.expected, "a bad request changed data it had no business touching"


@pytest.fixture
def http(fuzz_server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fuzz_server.endpoint_url) as client:
        yield client
