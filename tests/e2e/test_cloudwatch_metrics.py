"""CloudWatch's metrics through boto3: AWS's metrics recorded by the services (a rule's Invocations, a pipe's
ExecutionFailed, a queue's NumberOfMessagesSent, a table's SuccessfulRequestLatency), custom metrics from
PutMetricData, GetMetricData's queries and math, alarms' own operations, and metrics surviving a restart."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from pipework.app import Settings
from pipework.clock import ManualClock
from pipework.testing import RunningServer, serve_in_thread

START = 1_800_000_000.0
ACCOUNT = "000000000000"
FN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:"


def at(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def sums(
    cloudwatch: Any, namespace: str, name: str, dimensions: dict[str, str], *, stat: str = "Sum"
) -> dict:
    found = cloudwatch.get_metric_statistics(
        Namespace=namespace,
        MetricName=name,
        Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        StartTime=at(START - 3600),
        EndTime=at(START + 7200),
        Period=60,
        Statistics=[stat],
    )
    return {p["Timestamp"].timestamp(): p[stat] for p in found["Datapoints"]}


@pytest.fixture
def srv(make_server: Any) -> RunningServer:
    server: RunningServer = make_server(clock=ManualClock(start=START))
    return server


def test_rule_deliveries_count_as_aws_events_metrics(srv: RunningServer) -> None:
    failing = {"on": False}

    def target(event: Any, context: Any) -> None:
        if failing["on"]:
            raise RuntimeError("down")

    srv.pipework.functions.register("target", target)
    events = srv.client("events")
    events.put_rule(Name="orders", EventPattern=json.dumps({"source": ["shop"]}))
    events.put_targets(
        Rule="orders",
        Targets=[{"Id": "t", "Arn": FN + "target", "RetryPolicy": {"MaximumRetryAttempts": 0}}],
    )
    entry = {"Source": "shop", "DetailType": "order", "Detail": "{}"}
    events.put_events(Entries=[entry, entry])
    srv.advance(1)
    failing["on"] = True
    events.put_events(Entries=[entry])
    srv.advance(61)
    cloudwatch = srv.client("cloudwatch")
    rule = {"RuleName": "orders"}
    assert sums(cloudwatch, "AWS/Events", "MatchedEvents", rule) == {START: 3.0}
    # Invocations count successes and deliveries that failed for good (not the retried attempts).
    assert sums(cloudwatch, "AWS/Events", "Invocations", rule) == {START: 3.0}
    assert sums(cloudwatch, "AWS/Events", "FailedInvocations", rule) == {START: 1.0}
    latency = sums(cloudwatch, "AWS/Events", "IngestionToInvocationStartLatency", rule, stat="SampleCount")
    assert sum(latency.values()) == 3.0
    assert sums(cloudwatch, "AWS/Events", "PutEventsRequestSize", {}, stat="SampleCount") == {START: 2.0}
    names = {m["MetricName"] for m in cloudwatch.list_metrics(Namespace="AWS/Events")["Metrics"]}
    assert {"Invocations", "FailedInvocations", "MatchedEvents", "TriggeredRules"} <= names


def test_queue_and_table_operations_count_as_aws_sqs_and_dynamodb_metrics(srv: RunningServer) -> None:
    sqs = srv.client("sqs")
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="a")
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": "1", "MessageBody": "b"}, {"Id": "2", "MessageBody": "c"}]
    )
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=received[0]["ReceiptHandle"])
    dynamodb = srv.client("dynamodb")
    dynamodb.create_table(
        TableName="meters",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName="meters", Item={"id": {"S": "m1"}})
    with pytest.raises(ClientError):
        dynamodb.put_item(
            TableName="meters", Item={"id": {"S": "m1"}}, ConditionExpression="attribute_not_exists(id)"
        )
    srv.advance(60)
    cloudwatch = srv.client("cloudwatch")
    queue = {"QueueName": "jobs"}
    assert sums(cloudwatch, "AWS/SQS", "NumberOfMessagesSent", queue) == {START: 3.0}
    assert sums(cloudwatch, "AWS/SQS", "NumberOfMessagesReceived", queue) == {START: 3.0}
    assert sums(cloudwatch, "AWS/SQS", "NumberOfMessagesDeleted", queue) == {START: 1.0}
    # The gauges are sampled at each minute boundary: the two undeleted messages are visible again by then.
    assert sums(cloudwatch, "AWS/SQS", "ApproximateNumberOfMessagesVisible", queue, stat="Maximum") == {
        START + 60: 2.0
    }
    assert sums(cloudwatch, "AWS/SQS", "ApproximateAgeOfOldestMessage", queue, stat="Maximum") == {
        START + 60: 60.0
    }
    table = {"TableName": "meters", "Operation": "PutItem"}
    assert sums(cloudwatch, "AWS/DynamoDB", "SuccessfulRequestLatency", table, stat="SampleCount") == {
        START: 1.0
    }
    assert sums(cloudwatch, "AWS/DynamoDB", "ConditionalCheckFailedRequests", {"TableName": "meters"}) == {
        START: 1.0
    }


def test_get_metric_data_runs_metric_stats_percentiles_and_math(srv: RunningServer) -> None:
    cloudwatch = srv.client("cloudwatch")
    for minute, values in enumerate(([10.0, 20.0], [30.0], [])):
        if values:
            cloudwatch.put_metric_data(
                Namespace="Plant",
                MetricData=[
                    {
                        "MetricName": "Load",
                        "Timestamp": at(START + 60 * minute),
                        "Values": values,
                        "Unit": "Count",
                    },
                    {"MetricName": "Spare", "Timestamp": at(START + 60 * minute), "Value": 1.0},
                ],
            )
    load = {"Namespace": "Plant", "MetricName": "Load"}
    spare = {"Namespace": "Plant", "MetricName": "Spare"}
    result = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {"Id": "load", "MetricStat": {"Metric": load, "Period": 60, "Stat": "Sum"}, "ReturnData": False},
            {
                "Id": "spare",
                "MetricStat": {"Metric": spare, "Period": 60, "Stat": "Sum"},
                "ReturnData": False,
            },
            {"Id": "top", "MetricStat": {"Metric": load, "Period": 60, "Stat": "p90"}},
            {"Id": "total", "Expression": "load + spare * 2"},
            {"Id": "filled", "Expression": "FILL(load, 0)"},
            {"Id": "all", "Expression": "SUM(METRICS())"},
            {"Id": "mean", "Expression": "AVG(load)", "Label": "mean load"},
        ],
        StartTime=at(START),
        EndTime=at(START + 180),
        ScanBy="TimestampAscending",
    )
    by_id = {r["Id"]: r for r in result["MetricDataResults"]}
    assert set(by_id) == {"top", "total", "filled", "all", "mean"}
    assert by_id["total"]["Values"] == [32.0, 32.0]
    assert by_id["filled"]["Values"] == [30.0, 30.0, 0.0]
    assert by_id["all"]["Values"] == pytest.approx([51.0, 61.0], rel=0.05)  # load + spare + top (p90)
    assert by_id["mean"]["Label"] == "mean load"
    assert by_id["mean"]["Values"] == [30.0, 30.0, 30.0]
    assert by_id["top"]["Values"][0] == pytest.approx(20.0, rel=0.05)
    assert [t.timestamp() for t in by_id["filled"]["Timestamps"]] == [START, START + 60, START + 120]
    with pytest.raises(ClientError) as raised:
        cloudwatch.get_metric_data(
            MetricDataQueries=[{"Id": "x", "Expression": "nope + 1"}],
            StartTime=at(START),
            EndTime=at(START + 60),
        )
    assert raised.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_alarm_operations_describe_set_state_actions_tags_and_delete(srv: RunningServer) -> None:
    cloudwatch = srv.client("cloudwatch")
    metric = {"Namespace": "Plant", "MetricName": "Load", "Dimensions": [{"Name": "Site", "Value": "north"}]}
    cloudwatch.put_metric_alarm(
        AlarmName="high-load",
        **metric,
        ExtendedStatistic="p99",
        Period=300,
        EvaluationPeriods=3,
        DatapointsToAlarm=2,
        Threshold=100,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        Tags=[{"Key": "team", "Value": "grid"}],
    )
    cloudwatch.put_composite_alarm(AlarmName="grid", AlarmRule='ALARM("high-load") OR ALARM(other)')
    described = cloudwatch.describe_alarms(AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    assert [a["AlarmName"] for a in described["MetricAlarms"]] == ["high-load"]
    assert [(a["AlarmName"], a["StateValue"]) for a in described["CompositeAlarms"]] == [("grid", "OK")]
    arn = described["MetricAlarms"][0]["AlarmArn"]
    assert cloudwatch.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "team", "Value": "grid"}]
    assert [a["AlarmName"] for a in cloudwatch.describe_alarms_for_metric(**metric)["MetricAlarms"]] == [
        "high-load"
    ]
    cloudwatch.set_alarm_state(AlarmName="high-load", StateValue="ALARM", StateReason="testing")
    composite = cloudwatch.describe_alarms(AlarmNames=["grid"], AlarmTypes=["CompositeAlarm"])[
        "CompositeAlarms"
    ]
    assert composite[0]["StateValue"] == "ALARM"
    cloudwatch.disable_alarm_actions(AlarmNames=["high-load"])
    assert cloudwatch.describe_alarms(AlarmNames=["high-load"])["MetricAlarms"][0]["ActionsEnabled"] is False
    with pytest.raises(ClientError) as raised:
        cloudwatch.delete_alarms(AlarmNames=["high-load"])  # the composite still uses it
    assert raised.value.response["Error"]["Code"] == "ValidationError"
    cloudwatch.delete_alarms(AlarmNames=["grid", "high-load"])
    assert cloudwatch.describe_alarms()["MetricAlarms"] == []
    with pytest.raises(ClientError) as raised:
        cloudwatch.put_metric_alarm(
            AlarmName="bad",
            **metric,
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanThreshold",
            AlarmActions=["not-an-arn"],
        )
    assert raised.value.response["Error"]["Code"] == "ValidationError"


def test_metrics_and_alarms_survive_a_restart(tmp_path: Path) -> None:
    clock = ManualClock(start=START)
    with serve_in_thread(Settings(data_dir=tmp_path), clock=clock) as server:
        cloudwatch = server.client("cloudwatch")
        cloudwatch.put_metric_data(Namespace="Plant", MetricData=[{"MetricName": "Load", "Value": 7.0}])
        cloudwatch.put_metric_alarm(
            AlarmName="a",
            Namespace="Plant",
            MetricName="Load",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=5,
            ComparisonOperator="GreaterThanThreshold",
        )
        sqs = server.client("sqs")
        sqs.send_message(QueueUrl=sqs.create_queue(QueueName="q")["QueueUrl"], MessageBody="x")
        # Not flushed yet: the recorder flushes the last samples when the server stops.
    with serve_in_thread(Settings(data_dir=tmp_path), clock=clock) as server:
        cloudwatch = server.client("cloudwatch")
        assert sums(cloudwatch, "Plant", "Load", {}) == {START: 7.0}
        assert sums(cloudwatch, "AWS/SQS", "NumberOfMessagesSent", {"QueueName": "q"}) == {START: 1.0}
        server.advance(60)
        assert cloudwatch.describe_alarms()["MetricAlarms"][0]["StateValue"] == "ALARM"


def test_datapoints_older_than_the_retention_are_gone(make_server: Any) -> None:
    server = make_server(clock=ManualClock(start=START))
    cloudwatch = server.client("cloudwatch")
    cloudwatch.put_metric_data(Namespace="Plant", MetricData=[{"MetricName": "Load", "Value": 7.0}])
    cloudwatch.list_metrics()  # flushes
    server.pipework.clock.advance(15 * 86_400 + 120)
    found = cloudwatch.get_metric_statistics(
        Namespace="Plant",
        MetricName="Load",
        StartTime=at(START - 60),
        EndTime=at(START + 120),
        Period=60,
        Statistics=["Sum"],
    )
    assert found["Datapoints"] == []
