"""Time travel through boto3: a server on a manual clock (the pytest plugin's mode, and `pipework serve
--manual-clock` over HTTP) runs a daily schedule, a rule target's retries until its event age runs out, an SQS
visibility timeout of an hour and a long poll, each in a fraction of a second of real time."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from pipework.clock import ManualClock
from pipework.testing import RunningServer
from support.http import wait_for

START = 1_800_000_000.0  # 2027-01-15T08:00:00Z
ACCOUNT = "000000000000"
FN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/scheduler"
DAY = 86400.0


@pytest.fixture
def srv(make_server: Any) -> RunningServer:
    server: RunningServer = make_server(clock=ManualClock(start=START))
    return server


def make_queue(server: Any, name: str, **attributes: str) -> tuple[Any, str, str]:
    sqs = server.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return sqs, url, arn


def receive(sqs: Any, url: str, **params: Any) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], AttributeNames=["All"], **params
    ).get("Messages", [])
    return messages


def test_a_daily_schedule_fires_once_a_day_when_the_clock_moves_a_day_at_a_time(srv: RunningServer) -> None:
    fired: list[tuple[float, Any]] = []
    srv.pipework.functions.register("daily", lambda event, context: fired.append((srv.now(), event)))
    srv.client("scheduler").create_schedule(
        Name="report",
        ScheduleExpression="cron(0 9 * * ? *)",  # 09:00 UTC; the clock starts at 08:00
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": FN + "daily", "RoleArn": ROLE, "Input": '{"at": "<aws.scheduler.scheduled-time>"}'},
    )
    assert srv.advance(3599) == START + 3599
    assert fired == []
    srv.advance(1)
    assert fired == [(START + 3600, {"at": "2027-01-15T09:00:00Z"})]
    started = time.monotonic()
    assert srv.advance(DAY) == START + 3600 + DAY
    assert time.monotonic() - started < 5  # a day of clock time, not of real time
    assert fired[1:] == [(START + 3600 + DAY, {"at": "2027-01-16T09:00:00Z"})]
    srv.advance(2 * DAY)
    assert [event["at"] for _, event in fired] == [
        "2027-01-15T09:00:00Z",
        "2027-01-16T09:00:00Z",
        "2027-01-17T09:00:00Z",
        "2027-01-18T09:00:00Z",
    ]


def test_a_failing_rule_target_is_retried_on_the_clock_then_dead_lettered_when_its_event_age_runs_out(
    srv: RunningServer,
) -> None:
    attempts: list[float] = []

    def down(event: Any, context: Any) -> None:
        attempts.append(srv.now())
        raise RuntimeError("downstream unavailable")

    srv.pipework.functions.register("down", down)
    sqs, dlq_url, dlq_arn = make_queue(srv, "rule-dlq")
    events = srv.client("events")
    events.put_rule(Name="orders", EventPattern='{"source": ["shop"]}')
    events.put_targets(
        Rule="orders",
        Targets=[
            {
                "Id": "down",
                "Arn": FN + "down",
                "RetryPolicy": {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 3600},
                "DeadLetterConfig": {"Arn": dlq_arn},
            }
        ],
    )
    events.put_events(Entries=[{"Source": "shop", "DetailType": "Order", "Detail": '{"id": 7}'}])
    srv.advance(0)  # the event just put is delivered at the time it was put
    assert attempts == [START]
    assert receive(sqs, dlq_url) == []

    srv.advance(3600)
    retried = len(attempts)
    assert retried > 2  # exponential backoff on the clock: a handful of retries in the hour
    assert attempts == sorted(attempts) and attempts[-1] <= START + 3600
    [letter] = receive(sqs, dlq_url)  # given up once the next retry would be older than an hour
    assert int(letter["Attributes"]["SentTimestamp"]) == int(attempts[-1] * 1000)
    attributes = {k: v["StringValue"] for k, v in letter["MessageAttributes"].items()}
    assert attributes["ERROR_CODE"] == "FUNCTION_ERROR"
    assert attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumEventAgeInSeconds"
    assert attributes["RETRY_ATTEMPTS"] == str(retried - 1)
    srv.advance(DAY)
    assert len(attempts) == retried
    assert json.loads(letter["Body"])["detail"] == {"id": 7}


def test_a_message_comes_back_when_its_one_hour_visibility_timeout_expires(srv: RunningServer) -> None:
    sqs, url, _ = make_queue(srv, "jobs")
    sqs.send_message(QueueUrl=url, MessageBody="job")
    [first] = receive(sqs, url, VisibilityTimeout=3600)
    srv.advance(3599)
    assert receive(sqs, url) == []
    srv.advance(1)
    [again] = receive(sqs, url)
    assert again["Body"] == "job" and again["Attributes"]["ApproximateReceiveCount"] == "2"
    assert again["ReceiptHandle"] != first["ReceiptHandle"]


def test_a_long_poll_waits_in_clock_time(srv: RunningServer) -> None:
    sqs, url, _ = make_queue(srv, "polled")
    clock = srv.clock
    sleeping = srv.run(_sleepers(clock))
    result: list[list[dict[str, Any]]] = []
    poll = threading.Thread(target=lambda: result.append(receive(sqs, url, WaitTimeSeconds=20)))
    poll.start()
    wait_for(lambda: srv.run(_sleepers(clock)) > sleeping)  # the poll is waiting on the server
    srv.advance(19)
    assert poll.is_alive()
    srv.advance(1)
    poll.join(5)
    assert result == [[]]

    poll = threading.Thread(target=lambda: result.append(receive(sqs, url, WaitTimeSeconds=20)))
    poll.start()
    wait_for(lambda: srv.run(_sleepers(clock)) > sleeping)
    sqs.send_message(QueueUrl=url, MessageBody="late", DelaySeconds=10)
    srv.advance(10)  # the message becomes visible while the poll waits: it gets it at once
    poll.join(5)
    assert [m["Body"] for m in result[1]] == ["late"]


def take(sqs: Any, url: str) -> list[str]:
    """Receive and delete what is visible; the bodies."""
    messages = receive(sqs, url)
    for message in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return sorted(m["Body"] for m in messages)


async def _sleepers(clock: ManualClock) -> int:
    return clock.sleepers


# ── `pipework serve --manual-clock` over HTTP ────────────────────────────────────────────────────────────────


def clock_call(endpoint_url: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        endpoint_url + "/_pipework/clock",
        data=None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode()),
        method="GET" if body is None else "POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_serve_with_a_manual_clock_fires_a_daily_schedule_when_told_to_advance_a_day(
    server_process: Any, tmp_path: Any
) -> None:
    process = server_process(tmp_path / "data", "--manual-clock", "--clock-start", str(START))
    assert clock_call(process.endpoint_url) == (200, {"Now": START, "Manual": True})
    sqs = process.client("sqs")
    url = sqs.create_queue(QueueName="daily")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    process.client("scheduler").create_schedule(
        Name="daily",
        ScheduleExpression="rate(1 day)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": arn, "RoleArn": ROLE, "Input": "<aws.scheduler.scheduled-time>"},
    )
    assert clock_call(process.endpoint_url, {"Advance": 0}) == (200, {"Now": START})
    assert take(sqs, url) == ["2027-01-15T08:00:00Z"]  # a rate schedule fires when created
    assert clock_call(process.endpoint_url, {"Advance": DAY}) == (200, {"Now": START + DAY})
    assert take(sqs, url) == ["2027-01-16T08:00:00Z"]
    assert clock_call(process.endpoint_url, {"Set": START + 3 * DAY}) == (200, {"Now": START + 3 * DAY})
    assert take(sqs, url) == ["2027-01-17T08:00:00Z", "2027-01-18T08:00:00Z"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"Advance": -1}, "Advance must not be negative: the clock only moves forward."),
        ({"Set": START - 1}, f"Set must not be earlier than the clock's current time ({START})."),
        (
            {"Advance": 1, "Set": START + 5},
            "Exactly one of Advance (seconds) and Set (epoch seconds) is required.",
        ),
        ({}, "Exactly one of Advance (seconds) and Set (epoch seconds) is required."),
        ({"Advance": "60"}, "Advance must be a number of seconds."),
        ({"Set": True}, "Set must be a number of seconds."),
        ({"Advance": 1, "Speed": 2}, "Unknown field Speed: the body takes Advance or Set."),
        ([60], "The body must be a JSON object."),
    ],
)
def test_bad_clock_moves_are_refused_with_aws_shaped_errors(
    srv: RunningServer, body: Any, message: str
) -> None:
    assert clock_call(srv.endpoint_url, body) == (400, {"__type": "ValidationException", "message": message})
    assert srv.now() == START


def test_moving_the_system_clock_is_refused(server: RunningServer) -> None:
    status, answer = clock_call(server.endpoint_url, {"Advance": 60})
    assert (status, answer["__type"]) == (400, "ValidationException")
    assert "not manual" in answer["message"]
    status, answer = clock_call(server.endpoint_url)
    assert status == 200 and answer["Manual"] is False and abs(answer["Now"] - time.time()) < 60
