"""The energy platform's alarm, end to end through boto3 on the manual clock: a pipe whose target fails, and an
alarm on ``AWS/EventBridge/Pipes`` ``ExecutionFailed`` (Sum, Period 60, 15 periods, > 0, notBreaching) with actions
to an SNS topic that does not exist and to a local function. Only 15 failing minutes in a row raise it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipework.clock import ManualClock
from pipework.testing import RunningServer

START = 1_800_000_000.0  # a minute boundary
ACCOUNT = "000000000000"
FN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/pipe"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:power-alerts"


class Plant:
    """A pipe from a queue to a target that fails while `failing`, an alarm on its failures, and what the alarm's
    function action and a rule on the default bus receive."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.failing = True
        self.actions: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        functions = server.pipework.functions
        functions.register("dispatch", self._target)
        functions.register("on-alarm", lambda event, context: self.actions.append(event))
        functions.register("on-event", lambda event, context: self.events.append(event))
        sqs = server.client("sqs")
        dlq = sqs.create_queue(QueueName="power-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.url = sqs.create_queue(
            QueueName="power",
            Attributes={
                "VisibilityTimeout": "20",
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "1"}),
            },
        )["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        server.client("pipes").create_pipe(Name="power", Source=arn, Target=FN + "dispatch", RoleArn=ROLE)
        events = server.client("events")
        events.put_rule(Name="alarms", EventPattern=json.dumps({"source": ["aws.cloudwatch"]}))
        events.put_targets(Rule="alarms", Targets=[{"Id": "fn", "Arn": FN + "on-event"}])
        self.cloudwatch = server.client("cloudwatch")
        # As in the platform's SAM template.
        self.cloudwatch.put_metric_alarm(
            AlarmName="power-pipe-failing",
            Namespace="AWS/EventBridge/Pipes",
            MetricName="ExecutionFailed",
            Dimensions=[{"Name": "PipeName", "Value": "power"}],
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=15,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
            TreatMissingData="notBreaching",
            AlarmActions=[TOPIC, FN + "on-alarm"],
            OKActions=[TOPIC],
        )

    def _target(self, event: Any, context: Any) -> None:
        if self.failing:
            raise RuntimeError("the dispatcher is down")

    def minute(self, *, send: bool = True) -> None:
        """One minute: a reading (which fails while `failing`), then the clock moves to the next minute."""
        if send:
            self.server.client("sqs").send_message(QueueUrl=self.url, MessageBody='{"mw": 5}')
        self.server.advance(60)

    def alarm(self) -> dict[str, Any]:
        alarms: list[dict[str, Any]] = self.cloudwatch.describe_alarms(AlarmNames=["power-pipe-failing"])[
            "MetricAlarms"
        ]
        return alarms[0]

    def history(self, kind: str | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"AlarmName": "power-pipe-failing", "ScanBy": "TimestampAscending"}
        if kind:
            params["HistoryItemType"] = kind
        items: list[dict[str, Any]] = self.cloudwatch.describe_alarm_history(**params)["AlarmHistoryItems"]
        return items

    def states(self) -> list[str]:
        return [json.loads(i["HistoryData"])["newState"]["stateValue"] for i in self.history("StateUpdate")]


@pytest.fixture
def plant(make_server: Any) -> Plant:
    return Plant(make_server(clock=ManualClock(start=START)))


def test_fifteen_failing_minutes_raise_the_alarm_and_run_its_actions(plant: Plant) -> None:
    for _ in range(14):
        plant.minute()
    assert plant.alarm()["StateValue"] == "OK"
    plant.minute()
    alarm = plant.alarm()
    assert alarm["StateValue"] == "ALARM"
    assert alarm["StateReason"].startswith("Threshold Crossed: 15 out of the last 15 datapoints")
    assert json.loads(alarm["StateReasonData"])["evaluatedDatapoints"][0]["value"] >= 1
    assert plant.states() == ["OK", "ALARM"]
    actions = {json.loads(i["HistoryData"])["notificationResource"]: i for i in plant.history("Action")}
    # The topic does not exist (yet): accepted, and its failure recorded; the function ran.
    assert actions[TOPIC]["HistorySummary"].startswith(f"Failed to execute action {TOPIC}")
    assert actions[FN + "on-alarm"]["HistorySummary"] == f"Successfully executed action {FN}on-alarm"
    assert [a["alarmData"]["state"]["value"] for a in plant.actions] == ["ALARM"]
    changes = [e for e in plant.events if e["detail-type"] == "CloudWatch Alarm State Change"]
    assert [
        (e["source"], e["detail"]["previousState"]["value"], e["detail"]["state"]["value"]) for e in changes
    ] == [
        ("aws.cloudwatch", "INSUFFICIENT_DATA", "OK"),
        ("aws.cloudwatch", "OK", "ALARM"),
    ]
    assert changes[-1]["resources"] == [alarm["AlarmArn"]]
    assert changes[-1]["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"] == {
        "namespace": "AWS/EventBridge/Pipes",
        "name": "ExecutionFailed",
        "dimensions": {"PipeName": "power"},
    }


def test_fourteen_failing_minutes_never_raise_it(plant: Plant) -> None:
    for _ in range(14):
        plant.minute()
    for _ in range(16):
        plant.minute(send=False)
    assert plant.alarm()["StateValue"] == "OK"
    assert "ALARM" not in plant.states()
    assert plant.actions == []


def test_failing_then_recovering_never_raises_it(plant: Plant) -> None:
    for _ in range(10):
        plant.minute()
    plant.failing = False
    for _ in range(3):
        plant.minute()
    plant.failing = True
    for _ in range(10):
        plant.minute()
    assert "ALARM" not in plant.states()
    assert plant.alarm()["StateValue"] == "OK"


def test_no_data_is_ok_under_not_breaching(make_server: Any) -> None:
    server = make_server(clock=ManualClock(start=START))
    cloudwatch = server.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="quiet",
        Namespace="AWS/EventBridge/Pipes",
        MetricName="ExecutionThrottled",
        Dimensions=[{"Name": "PipeName", "Value": "nothing"}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=15,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
    )
    assert cloudwatch.describe_alarms()["MetricAlarms"][0]["StateValue"] == "INSUFFICIENT_DATA"
    server.advance(60)
    alarm = cloudwatch.describe_alarms()["MetricAlarms"][0]
    assert alarm["StateValue"] == "OK"
    assert "treated as [NonBreaching]" in alarm["StateReason"]
