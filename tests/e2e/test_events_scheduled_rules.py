"""Rules with a ScheduleExpression fire, on a manual clock, through boto3: one "Scheduled Event" per occurrence to
the rule's own targets (with their input settings, retries and dead-letter queue), only while the rule is enabled,
rate() counted from the rule's creation or update, cron() in UTC, and the schedule kept across a restart without
a burst of missed occurrences."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from pipework.app import Settings
from pipework.clock import ManualClock
from pipework.testing import RunningServer, serve_in_thread

START = 1_800_000_000.0  # 2027-01-15T08:00:00Z
ACCOUNT = "000000000000"
RULE_ARN = f"arn:aws:events:us-east-1:{ACCOUNT}:rule/"
FN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:"
MINUTE = 60.0


@pytest.fixture
def srv(make_server: Any) -> RunningServer:
    server: RunningServer = make_server(clock=ManualClock(start=START))
    return server


def make_queue(server: RunningServer, name: str) -> tuple[str, str]:
    sqs = server.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def drain(server: RunningServer, url: str) -> list[dict[str, Any]]:
    """Every message in the queue (received and deleted)."""
    sqs = server.client("sqs")
    out: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            return out
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        out.extend(messages)


def bodies(server: RunningServer, url: str) -> list[Any]:
    return [json.loads(m["Body"]) for m in drain(server, url)]


def times(server: RunningServer, url: str) -> list[str]:
    return sorted(event["time"] for event in bodies(server, url))


def scheduled_rule(server: RunningServer, name: str, expression: str, *targets: dict[str, Any]) -> str:
    events = server.client("events")
    arn: str = events.put_rule(Name=name, ScheduleExpression=expression)["RuleArn"]
    events.put_targets(Rule=name, Targets=list(targets))
    return arn


def test_a_rate_rule_puts_one_scheduled_event_per_period_to_its_targets_only(srv: RunningServer) -> None:
    url, arn = make_queue(srv, "ticks")
    other_url, other_arn = make_queue(srv, "other")
    rule_arn = scheduled_rule(srv, "every-5", "rate(5 minutes)", {"Id": "q", "Arn": arn})
    assert rule_arn == RULE_ARN + "every-5"
    # A pattern rule that would match the scheduled event if it were put on the bus: it must get nothing.
    events = srv.client("events")
    events.put_rule(Name="all-aws-events", EventPattern='{"source": ["aws.events"]}')
    events.put_targets(Rule="all-aws-events", Targets=[{"Id": "q", "Arn": other_arn}])

    srv.advance(5 * MINUTE - 1)
    assert drain(srv, url) == []  # the first occurrence is one period after creation, not at once
    srv.advance(1)
    [event] = bodies(srv, url)
    assert uuid.UUID(event.pop("id"))
    assert event == {
        "version": "0",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": "2027-01-15T08:05:00Z",
        "region": "us-east-1",
        "resources": [rule_arn],
        "detail": {},
    }
    srv.advance(15 * MINUTE)
    assert times(srv, url) == ["2027-01-15T08:10:00Z", "2027-01-15T08:15:00Z", "2027-01-15T08:20:00Z"]
    assert drain(srv, other_url) == []


def test_a_cron_rule_fires_at_its_utc_time_each_day(srv: RunningServer) -> None:
    url, arn = make_queue(srv, "noon")
    scheduled_rule(srv, "noon", "cron(0 12 * * ? *)", {"Id": "q", "Arn": arn})
    srv.advance(4 * 3600 - 1)  # 11:59:59
    assert drain(srv, url) == []
    srv.advance(1)
    assert times(srv, url) == ["2027-01-15T12:00:00Z"]
    srv.advance(2 * 86400)
    assert times(srv, url) == ["2027-01-16T12:00:00Z", "2027-01-17T12:00:00Z"]


def test_a_disabled_rule_does_not_fire_and_enabling_it_counts_the_rate_from_then(srv: RunningServer) -> None:
    url, arn = make_queue(srv, "ticks")
    scheduled_rule(srv, "minutely", "rate(1 minute)", {"Id": "q", "Arn": arn})
    events = srv.client("events")
    srv.advance(MINUTE)
    assert times(srv, url) == ["2027-01-15T08:01:00Z"]
    srv.advance(30)
    events.disable_rule(Name="minutely")
    srv.advance(10 * MINUTE)  # 08:11:30
    assert drain(srv, url) == []
    events.enable_rule(Name="minutely")
    srv.advance(MINUTE - 1)
    assert drain(srv, url) == []
    srv.advance(1)
    assert times(srv, url) == ["2027-01-15T08:12:30Z"]
    events.enable_rule(Name="minutely")  # already enabled: the schedule goes on as it was
    srv.advance(MINUTE)
    assert times(srv, url) == ["2027-01-15T08:13:30Z"]


def test_put_rule_with_a_disabled_state_stops_the_schedule(srv: RunningServer) -> None:
    url, arn = make_queue(srv, "ticks")
    scheduled_rule(srv, "minutely", "rate(1 minute)", {"Id": "q", "Arn": arn})
    srv.advance(MINUTE)
    assert len(drain(srv, url)) == 1
    srv.client("events").put_rule(Name="minutely", ScheduleExpression="rate(1 minute)", State="DISABLED")
    srv.advance(10 * MINUTE)
    assert drain(srv, url) == []


def test_a_deleted_rule_never_fires_and_a_new_rule_of_that_name_starts_its_own_schedule(
    srv: RunningServer,
) -> None:
    url, arn = make_queue(srv, "ticks")
    scheduled_rule(srv, "five", "rate(5 minutes)", {"Id": "q", "Arn": arn})
    events = srv.client("events")
    srv.advance(MINUTE)
    events.remove_targets(Rule="five", Ids=["q"])
    events.delete_rule(Name="five")
    srv.advance(MINUTE)  # 08:02
    scheduled_rule(srv, "five", "rate(5 minutes)", {"Id": "q", "Arn": arn})
    srv.advance(5 * MINUTE)  # past 08:05, when the deleted rule would have fired
    assert times(srv, url) == ["2027-01-15T08:07:00Z"]


def test_put_rule_on_a_schedule_rule_restarts_its_rate_from_the_update(srv: RunningServer) -> None:
    url, arn = make_queue(srv, "ticks")
    scheduled_rule(srv, "five", "rate(5 minutes)", {"Id": "q", "Arn": arn})
    srv.advance(3 * MINUTE)
    srv.client("events").put_rule(Name="five", ScheduleExpression="rate(10 minutes)")
    srv.advance(12 * MINUTE)  # 08:15: the old schedule's 08:05 and 08:10 never fire
    assert times(srv, url) == ["2027-01-15T08:13:00Z"]


def test_scheduled_events_go_through_each_targets_input_settings(srv: RunningServer) -> None:
    url, arn = make_queue(srv, "shaped")
    rule_arn = scheduled_rule(
        srv,
        "hourly",
        "rate(1 hour)",
        {"Id": "constant", "Arn": arn, "Input": '{"job": "cleanup"}'},
        {"Id": "path", "Arn": arn, "InputPath": "$.detail"},
        {
            "Id": "transformed",
            "Arn": arn,
            "InputTransformer": {
                "InputPathsMap": {"at": "$.time", "rule": "$.resources[0]", "kind": "$.detail-type"},
                "InputTemplate": '{"at": <at>, "rule": <rule>, "kind": <kind>, "name": <aws.events.rule-name>}',
            },
        },
    )
    srv.advance(3600)
    received = sorted((m["Body"] for m in drain(srv, url)), key=len)
    assert [json.loads(body) for body in received] == [
        {},
        {"job": "cleanup"},
        {"at": "2027-01-15T09:00:00Z", "rule": rule_arn, "kind": "Scheduled Event", "name": "hourly"},
    ]


def test_a_failing_target_of_a_scheduled_rule_is_retried_then_dead_lettered(srv: RunningServer) -> None:
    attempts: list[float] = []

    def down(event: Any, context: Any) -> None:
        attempts.append(srv.now())
        raise RuntimeError("downstream unavailable")

    srv.pipework.functions.register("down", down)
    dlq_url, dlq_arn = make_queue(srv, "rule-dlq")
    rule_arn = scheduled_rule(
        srv,
        "daily",
        "rate(1 day)",
        {
            "Id": "down",
            "Arn": FN + "down",
            "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600},
            "DeadLetterConfig": {"Arn": dlq_arn},
        },
    )
    srv.advance(86400)
    assert attempts[0] == START + 86400
    srv.advance(3600)
    assert len(attempts) == 3  # the first try and two retries
    [letter] = drain(srv, dlq_url)
    attributes = {k: v["StringValue"] for k, v in letter["MessageAttributes"].items()}
    assert attributes["RULE_ARN"] == rule_arn
    assert attributes["TARGET_ARN"] == FN + "down"
    assert attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
    assert attributes["RETRY_ATTEMPTS"] == "2"
    event = json.loads(letter["Body"])
    assert (event["detail-type"], event["time"]) == ("Scheduled Event", "2027-01-16T08:00:00Z")


def test_put_rule_rejects_a_schedule_on_a_custom_bus(srv: RunningServer) -> None:
    events = srv.client("events")
    events.create_event_bus(Name="orders")
    with pytest.raises(ClientError) as exc:
        events.put_rule(Name="tick", EventBusName="orders", ScheduleExpression="rate(5 minutes)")
    assert exc.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "ScheduleExpression is supported only on the default event bus.",
    }


def serve(data: Path, clock: ManualClock) -> Any:
    return serve_in_thread(Settings(data_dir=data), clock=clock)


def test_a_restart_keeps_the_schedule_and_the_next_occurrence_fires_once(tmp_path: Path) -> None:
    with serve(tmp_path, ManualClock(start=START)) as first:
        url, arn = make_queue(first, "ticks")
        scheduled_rule(first, "five", "rate(5 minutes)", {"Id": "q", "Arn": arn})
        first.advance(5 * MINUTE + 30)
        assert times(first, url) == ["2027-01-15T08:05:00Z"]
    # Back up before the next occurrence (08:10): it fires once, on the schedule counted from the creation.
    with serve(tmp_path, ManualClock(start=START + 7 * MINUTE)) as second:
        second.advance(0)
        assert drain(second, url) == []
        second.advance(3 * MINUTE)
        assert times(second, url) == ["2027-01-15T08:10:00Z"]


def test_after_downtime_only_the_latest_missed_occurrence_fires(tmp_path: Path) -> None:
    with serve(tmp_path, ManualClock(start=START)) as first:
        url, arn = make_queue(first, "ticks")
        scheduled_rule(first, "five", "rate(5 minutes)", {"Id": "q", "Arn": arn})
        first.advance(5 * MINUTE)
        assert times(first, url) == ["2027-01-15T08:05:00Z"]
    # Down from 08:05 to 08:21: 08:10, 08:15 and 08:20 were missed; only 08:20 fires, then 08:25 as usual.
    with serve(tmp_path, ManualClock(start=START + 21 * MINUTE)) as second:
        second.advance(0)
        assert times(second, url) == ["2027-01-15T08:20:00Z"]
        second.advance(4 * MINUTE)
        assert times(second, url) == ["2027-01-15T08:25:00Z"]
