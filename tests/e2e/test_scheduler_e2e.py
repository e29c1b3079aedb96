"""EventBridge Scheduler through boto3 over real HTTP, on an injected clock: schedules and groups, AWS's validation,
idempotency, firing (rate with StartDate, at() + DELETE, flexible windows, disabled schedules), retries with the
attempt number, dead-letter queues, every target kind, and the `pipework schedules` CLI."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from typing import Any

import pytest
from botocore.exceptions import ClientError

from pipework.clock import ManualClock
from support.http import wait_for

ACCOUNT = "000000000000"
FN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/scheduler"
START = 1_800_000_000.0  # 2027-01-15T08:00:00Z
OFF = {"Mode": "OFF"}


class Harness:
    """A server on a ManualClock, its scheduler client, and recorded function calls."""

    def __init__(self, make_server: Any) -> None:
        self.clock = ManualClock(start=START)
        self.srv = make_server(clock=self.clock)
        self.client = self.srv.client("scheduler")
        self.calls: dict[str, list[tuple[float, Any]]] = {}

    def function(self, name: str, fail: int = 0) -> str:
        self.calls[name] = []
        remaining = [fail]

        def handler(event: Any, context: Any) -> None:
            self.calls[name].append((self.clock.now(), event))
            if remaining[0]:
                remaining[0] -= 1
                raise RuntimeError("downstream unavailable")

        self.srv.pipework.functions.register(name, handler)
        return FN + name

    def advance(self, seconds: float) -> None:
        """Move the clock; returns once everything due by then has fired and its invocations have run."""
        self.srv.advance(seconds)

    def settle(self) -> None:
        """Let what is due now run to the end (ticks fired, invocations run or retried)."""
        self.srv.advance(0)

    def create(self, name: str, expression: str, target: dict[str, Any], **params: Any) -> str:
        params.setdefault("FlexibleTimeWindow", OFF)
        arn: str = self.client.create_schedule(
            Name=name, ScheduleExpression=expression, Target={"RoleArn": ROLE, **target}, **params
        )["ScheduleArn"]
        return arn


@pytest.fixture
def h(make_server: Any) -> Harness:
    return Harness(make_server)


def error(call: Any, **params: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as exc:
        call(**params)
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def test_schedule_and_group_lifecycle(h: Harness) -> None:
    fn = h.function("noop")
    arn = h.create("nightly", "cron(0 3 * * ? *)", {"Arn": fn}, Description="d")
    assert arn == f"arn:aws:scheduler:us-east-1:{ACCOUNT}:schedule/default/nightly"
    got = h.client.get_schedule(Name="nightly")
    assert got["State"] == "ENABLED" and got["ScheduleExpressionTimezone"] == "UTC"
    assert got["Target"]["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}
    assert got["ActionAfterCompletion"] == "NONE" and got["Description"] == "d"
    assert (
        error(
            h.client.create_schedule,
            Name="nightly",
            ScheduleExpression="rate(1 hour)",
            FlexibleTimeWindow=OFF,
            Target={"Arn": fn, "RoleArn": ROLE},
        )[0]
        == "ConflictException"
    )

    group_arn = h.client.create_schedule_group(Name="jobs", Tags=[{"Key": "team", "Value": "ops"}])[
        "ScheduleGroupArn"
    ]
    assert group_arn == f"arn:aws:scheduler:us-east-1:{ACCOUNT}:schedule-group/jobs"
    for i in range(3):
        h.create(
            f"job-{i}", "rate(1 hour)", {"Arn": fn}, GroupName="jobs", State="DISABLED" if i else "ENABLED"
        )
    listed = h.client.list_schedules(GroupName="jobs", NamePrefix="job-", State="DISABLED")["Schedules"]
    assert [s["Name"] for s in listed] == ["job-1", "job-2"]
    assert listed[0]["Target"] == {"Arn": fn}
    pages = list(h.client.get_paginator("list_schedules").paginate(PaginationConfig={"PageSize": 1}))
    assert sum(len(p["Schedules"]) for p in pages) == 4 and len(pages) == 4

    h.advance(60)
    h.client.update_schedule(
        Name="job-0",
        GroupName="jobs",
        ScheduleExpression="rate(2 hours)",
        FlexibleTimeWindow=OFF,
        Target={"Arn": fn, "RoleArn": ROLE},
    )
    updated = h.client.get_schedule(Name="job-0", GroupName="jobs")
    assert updated["ScheduleExpression"] == "rate(2 hours)"
    assert updated["LastModificationDate"] - updated["CreationDate"] == dt.timedelta(seconds=60)

    assert h.client.list_tags_for_resource(ResourceArn=group_arn)["Tags"] == [{"Key": "team", "Value": "ops"}]
    h.client.tag_resource(ResourceArn=group_arn, Tags=[{"Key": "env", "Value": "dev"}])
    h.client.untag_resource(ResourceArn=group_arn, TagKeys=["team"])
    assert h.client.list_tags_for_resource(ResourceArn=group_arn)["Tags"] == [{"Key": "env", "Value": "dev"}]
    assert {g["Name"] for g in h.client.list_schedule_groups()["ScheduleGroups"]} == {"default", "jobs"}
    assert h.client.get_schedule_group(Name="jobs")["State"] == "ACTIVE"

    h.client.delete_schedule_group(Name="jobs")  # deletes its schedules
    assert [s["Name"] for s in h.client.list_schedules()["Schedules"]] == ["nightly"]
    assert error(h.client.get_schedule, Name="job-0", GroupName="jobs") == (
        "ResourceNotFoundException",
        "Schedule group jobs does not exist.",
    )
    h.client.delete_schedule(Name="nightly")
    assert error(h.client.get_schedule, Name="nightly") == (
        "ResourceNotFoundException",
        "Schedule nightly does not exist.",
    )
    assert error(h.client.delete_schedule_group, Name="default")[0] == "ValidationException"


def test_client_token_makes_create_and_delete_idempotent(h: Harness) -> None:
    fn = h.function("noop")
    first = h.create("once", "rate(1 hour)", {"Arn": fn}, ClientToken="token-1")
    assert h.create("once", "rate(1 hour)", {"Arn": fn}, ClientToken="token-1") == first
    h.client.delete_schedule(Name="once", ClientToken="del-1")
    h.client.delete_schedule(Name="once", ClientToken="del-1")  # a retried request succeeds
    assert error(h.client.delete_schedule, Name="once", ClientToken="del-2")[0] == "ResourceNotFoundException"


def test_validation_uses_aws_messages(h: Harness) -> None:
    fn = h.function("noop")
    base: dict[str, Any] = {"Name": "v", "FlexibleTimeWindow": OFF, "Target": {"Arn": fn, "RoleArn": ROLE}}
    create = h.client.create_schedule
    assert error(create, **base, ScheduleExpression="cron(0 0 * * * *)") == (
        "ValidationException",
        "Invalid Schedule Expression cron(0 0 * * * *).",
    )
    assert error(create, **base, ScheduleExpression="rate(1 minutes)")[1] == (
        "Invalid Schedule Expression rate(1 minutes)."
    )
    assert (
        "Mars/Base"
        in error(create, **base, ScheduleExpression="rate(1 hour)", ScheduleExpressionTimezone="Mars/Base")[1]
    )
    old = dt.datetime.fromtimestamp(START - 600, dt.UTC)
    assert error(create, **base, ScheduleExpression="rate(1 hour)", StartDate=old)[1] == (
        "The StartDate you specify cannot be earlier than 5 minutes prior to the current time."
    )
    flexible = {**base, "FlexibleTimeWindow": {"Mode": "FLEXIBLE"}}
    assert error(create, **flexible, ScheduleExpression="rate(1 hour)")[0] == "ValidationException"
    policy = {**base, "Target": {"Arn": fn, "RoleArn": ROLE, "RetryPolicy": {"MaximumRetryAttempts": 200}}}
    code, message = error(create, **policy, ScheduleExpression="rate(1 hour)")
    assert (code, message) == (
        "ValidationException",
        "1 validation error detected: Value '200' at 'target.retryPolicy.maximumRetryAttempts' failed to "
        "satisfy constraint: Member must have value less than or equal to 185",
    )
    bad_target = {**base, "Target": {"Arn": "arn:aws:states:us-east-1:1:stateMachine:x", "RoleArn": ROLE}}
    assert error(create, **bad_target, ScheduleExpression="rate(1 hour)")[0] == "ValidationException"
    assert error(create, **base, ScheduleExpression="rate(1 hour)", GroupName="nope") == (
        "ResourceNotFoundException",
        "Schedule group nope does not exist.",
    )


def test_rate_schedule_with_start_date_fires_from_the_start_date(h: Harness) -> None:
    fn = h.function("tick")
    start = dt.datetime.fromtimestamp(START + 120, dt.UTC)
    h.create(
        "every5",
        "rate(5 minutes)",
        {"Arn": fn, "Input": '{"at": "<aws.scheduler.scheduled-time>"}'},
        StartDate=start,
    )
    h.settle()
    assert h.calls["tick"] == []
    h.advance(119)
    assert h.calls["tick"] == []
    h.advance(1)
    assert len(h.calls["tick"]) == 1
    h.advance(300)
    assert len(h.calls["tick"]) == 2
    assert [c[0] for c in h.calls["tick"]] == [START + 120, START + 420]
    assert h.calls["tick"][0][1] == {"at": "2027-01-15T08:02:00Z"}


def test_at_schedule_with_delete_fires_once_then_is_deleted(h: Harness) -> None:
    fn = h.function("once")
    h.create(
        "reminder",
        "at(2027-01-15T09:00:00)",
        {
            "Arn": fn,
            "Input": json.dumps(
                {"arn": "<aws.scheduler.schedule-arn>", "id": "<aws.scheduler.execution-id>"}
            ),
        },
        ActionAfterCompletion="DELETE",
        ScheduleExpressionTimezone="Europe/Paris",  # 09:00 in Paris is 08:00 UTC: due now
    )
    h.settle()
    assert len(h.calls["once"]) == 1
    event = h.calls["once"][0][1]
    assert event["arn"].endswith(":schedule/default/reminder") and len(event["id"]) == 36
    assert h.client.list_schedules()["Schedules"] == []
    h.advance(86400)
    assert len(h.calls["once"]) == 1


def test_one_time_schedule_without_delete_stays_after_firing(h: Harness) -> None:
    fn = h.function("keep")
    h.create("keep", "at(2027-01-15T08:10:00)", {"Arn": fn})
    h.advance(600)
    assert len(h.calls["keep"]) == 1
    assert h.client.get_schedule(Name="keep")["State"] == "ENABLED"


def test_flexible_window_fires_once_inside_the_window(h: Harness) -> None:
    fn = h.function("flex")
    h.create(
        "flex",
        "cron(0 9 * * ? *)",
        {"Arn": fn},
        FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15},
    )
    due = START + 3600
    h.advance(3600 + 16 * 60)
    assert len(h.calls["flex"]) == 1
    assert due <= h.calls["flex"][0][0] <= due + 15 * 60


def test_disabled_schedule_does_not_fire_until_enabled(h: Harness) -> None:
    fn = h.function("off")
    h.create("off", "rate(1 minute)", {"Arn": fn}, State="DISABLED")
    h.advance(300)
    assert h.calls["off"] == []
    h.client.update_schedule(
        Name="off",
        ScheduleExpression="rate(1 minute)",
        FlexibleTimeWindow=OFF,
        Target={"Arn": fn, "RoleArn": ROLE},
        State="ENABLED",
    )
    h.settle()
    assert len(h.calls["off"]) == 1  # a rate schedule starts when enabled
    h.advance(60)
    assert len(h.calls["off"]) == 2


def test_failed_invocations_retry_with_the_attempt_number(h: Harness) -> None:
    fn = h.function("flaky", fail=2)
    h.create(
        "flaky", "at(2027-01-15T08:00:00)", {"Arn": fn, "Input": '{"n": "<aws.scheduler.attempt-number>"}'}
    )
    h.settle()
    assert len(h.calls["flaky"]) == 1
    h.advance(200)
    assert [c[1]["n"] for c in h.calls["flaky"]] == ["1", "2", "3"]
    assert h.calls["flaky"][0][0] < h.calls["flaky"][1][0] < h.calls["flaky"][2][0]  # backoff on the clock


def _queue(h: Harness, name: str) -> tuple[Any, str, str]:
    sqs = h.srv.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return sqs, url, arn


def _receive(sqs: Any, url: str, count: int) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []

    def more() -> bool:
        got.extend(
            sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get(
                "Messages", []
            )
        )
        return len(got) >= count

    wait_for(more)
    return got


def test_exhausted_retries_go_to_the_dead_letter_queue_with_aws_attributes(h: Harness) -> None:
    sqs, dlq_url, dlq_arn = _queue(h, "schedule-dlq")
    fn = h.function("down", fail=100)
    arn = h.create(
        "doomed",
        "at(2027-01-15T08:00:00)",
        {
            "Arn": fn,
            "Input": '{"order": 7}',
            "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600},
            "DeadLetterConfig": {"Arn": dlq_arn},
        },
    )
    h.advance(3600)
    assert len(h.calls["down"]) == 3
    message = _receive(sqs, dlq_url, 1)[0]
    assert json.loads(message["Body"]) == {"order": 7}
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["SCHEDULE_ARN"] == arn and attributes["TARGET_ARN"] == fn
    assert (
        attributes["ERROR_CODE"] == "FUNCTION_ERROR"
        and "downstream unavailable" in attributes["ERROR_MESSAGE"]
    )
    assert len(attributes["EXECUTION_ID"]) == 36


def test_queue_bus_and_universal_targets(h: Harness) -> None:
    sqs, url, queue_arn = _queue(h, "scheduled")
    events = h.srv.client("events")
    events.put_rule(Name="from-scheduler", EventPattern='{"source": ["billing"]}')
    events.put_targets(Rule="from-scheduler", Targets=[{"Id": "q", "Arn": queue_arn}])
    bus_arn = events.describe_event_bus()["Arn"]
    h.create("to-queue", "at(2027-01-15T08:00:00)", {"Arn": queue_arn, "Input": "plain text"})
    h.create(
        "to-bus",
        "at(2027-01-15T08:00:00)",
        {
            "Arn": bus_arn,
            "Input": '{"invoice": 1}',
            "EventBridgeParameters": {"Source": "billing", "DetailType": "InvoiceDue"},
        },
    )
    h.create(
        "sdk-sqs",
        "at(2027-01-15T08:00:00)",
        {
            "Arn": "arn:aws:scheduler:::aws-sdk:sqs:sendMessage",
            "Input": json.dumps({"QueueUrl": url, "MessageBody": "via sdk"}),
        },
    )
    h.create(
        "sdk-events",
        "at(2027-01-15T08:00:00)",
        {
            "Arn": "arn:aws:scheduler:::aws-sdk:eventbridge:putEvents",
            "Input": json.dumps({"Entries": [{"Source": "billing", "DetailType": "Raw", "Detail": "{}"}]}),
        },
    )
    bodies = [m["Body"] for m in _receive(sqs, url, 4)]
    assert "plain text" in bodies and "via sdk" in bodies
    envelopes = [json.loads(b) for b in bodies if b.startswith("{")]
    invoice = next(e for e in envelopes if e["detail-type"] == "InvoiceDue")
    assert invoice["detail"] == {"invoice": 1}
    assert invoice["resources"] == [f"arn:aws:scheduler:us-east-1:{ACCOUNT}:schedule/default/to-bus"]
    assert any(e["detail-type"] == "Raw" for e in envelopes)


def test_universal_target_puts_a_dynamodb_item(h: Harness) -> None:
    ddb = h.srv.client("dynamodb")
    ddb.create_table(
        TableName="runs",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    item = {"id": {"S": "<aws.scheduler.execution-id>"}, "at": {"S": "<aws.scheduler.scheduled-time>"}}
    h.create(
        "sdk-ddb",
        "at(2027-01-15T08:00:00)",
        {
            "Arn": "arn:aws:scheduler:::aws-sdk:dynamodb:putItem",
            "Input": json.dumps({"TableName": "runs", "Item": item}),
        },
    )
    items = wait_for(lambda: ddb.scan(TableName="runs")["Items"])
    assert items[0]["at"] == {"S": "2027-01-15T08:00:00Z"}


def test_cli_lists_shows_creates_deletes_and_prints_next_fire_times(h: Harness) -> None:
    fn = h.function("cli")

    def cli(*args: str) -> str:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pipework.cli.main",
                "schedules",
                *args,
                "--endpoint-url",
                h.srv.endpoint_url,
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    out = cli(
        "create",
        "weekly",
        "--expression",
        "cron(0 9 ? * MON *)",
        "--target-arn",
        fn,
        "--timezone",
        "America/New_York",
        "--input",
        '{"x": 1}',
    )
    assert "schedule/default/weekly" in out
    listed = cli("list")
    assert "weekly" in listed and "ENABLED" in listed and "NAME" in listed
    shown = cli("show", "weekly")
    assert "cron(0 9 ? * MON *)" in shown and "America/New_York" in shown
    upcoming = cli("next", "weekly", "--count", "3").strip().splitlines()
    assert len(upcoming) == 3 and all("09:00" in line and "Mon" in line for line in upcoming)
    cli("delete", "weekly")
    assert "weekly" not in cli("list")
