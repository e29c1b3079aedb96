"""CloudWatch Logs through boto3: groups and streams, PutLogEvents, GetLogEvents and FilterLogEvents with filter
patterns, retention trimming on the clock, and a rule's log-group target readable through the API (what
``aws logs tail`` reads: FilterLogEvents from a start time, page by page)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from pipework.clock import ManualClock

START = 1_800_000_000.0
MS = 1000


@pytest.fixture
def logs_server(make_server: Any) -> Any:
    return make_server(clock=ManualClock(start=START))


def put(logs: Any, group: str, stream: str, *messages: str, at: float = START) -> None:
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": int(at * MS) + i, "message": m} for i, m in enumerate(messages)],
    )


def test_groups_streams_and_events(logs_server: Any) -> None:
    logs = logs_server.client("logs")
    logs.create_log_group(logGroupName="/pipes/power")
    with pytest.raises(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName="/pipes/power")
    logs.create_log_stream(logGroupName="/pipes/power", logStreamName="a")
    logs.create_log_stream(logGroupName="/pipes/power", logStreamName="b")
    put(logs, "/pipes/power", "a", "started", "ERROR boom", '{"level": "error", "ms": 150}')
    put(logs, "/pipes/power", "b", "WARN slow", '{"level": "info", "ms": 20}', at=START + 1)
    groups = logs.describe_log_groups(logGroupNamePrefix="/pipes")["logGroups"]
    assert [g["logGroupName"] for g in groups] == ["/pipes/power"]
    streams = logs.describe_log_streams(logGroupName="/pipes/power")["logStreams"]
    assert [(s["logStreamName"], s["lastEventTimestamp"]) for s in streams] == [
        ("a", int(START * MS) + 2),
        ("b", int(START * MS) + 1001),
    ]
    got = logs.get_log_events(logGroupName="/pipes/power", logStreamName="a", startFromHead=True)
    assert [e["message"] for e in got["events"]] == ["started", "ERROR boom", '{"level": "error", "ms": 150}']
    again = logs.get_log_events(
        logGroupName="/pipes/power", logStreamName="a", nextToken=got["nextForwardToken"]
    )
    assert again["events"] == [] and again["nextForwardToken"] == got["nextForwardToken"]

    def messages(pattern: str, **params: Any) -> list[str]:
        found = logs.filter_log_events(logGroupName="/pipes/power", filterPattern=pattern, **params)
        return [e["message"] for e in found["events"]]

    assert messages("ERROR") == ["ERROR boom"]
    assert messages("?ERROR ?WARN") == ["ERROR boom", "WARN slow"]
    assert messages('{ $.level = "error" && $.ms > 100 }') == ['{"level": "error", "ms": 150}']
    assert messages("{ $.ms < 100 }") == ['{"level": "info", "ms": 20}']
    assert messages("", logStreamNames=["b"]) == ["WARN slow", '{"level": "info", "ms": 20}']
    assert messages("", startTime=int((START + 1) * MS)) == ["WARN slow", '{"level": "info", "ms": 20}']
    with pytest.raises(ClientError) as raised:
        messages("{ $.level = }")
    assert raised.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as raised:
        logs.put_log_events(
            logGroupName="/pipes/power",
            logStreamName="a",
            logEvents=[
                {"timestamp": int(START * MS) + 5, "message": "x"},
                {"timestamp": int(START * MS), "message": "y"},
            ],
        )
    assert raised.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        put(logs, "/pipes/power", "missing", "x")
    logs.delete_log_group(logGroupName="/pipes/power")
    assert logs.describe_log_groups()["logGroups"] == []


def test_retention_trims_old_events_on_the_clock(logs_server: Any) -> None:
    logs = logs_server.client("logs")
    logs.create_log_group(logGroupName="g")
    logs.create_log_stream(logGroupName="g", logStreamName="s")
    put(logs, "g", "s", "old")
    logs_server.advance(2 * 86_400)
    put(logs, "g", "s", "new", at=START + 2 * 86_400)
    logs.put_retention_policy(logGroupName="g", retentionInDays=1)
    assert logs.describe_log_groups()["logGroups"][0]["retentionInDays"] == 1
    found = logs.filter_log_events(logGroupName="g")["events"]
    assert [e["message"] for e in found] == ["new"]
    with pytest.raises(ClientError) as raised:
        logs.put_retention_policy(logGroupName="g", retentionInDays=2)
    assert raised.value.response["Error"]["Code"] == "InvalidParameterException"


def test_a_rule_log_group_target_is_readable_like_aws_logs_tail_reads_it(logs_server: Any) -> None:
    events = logs_server.client("events")
    events.put_rule(Name="all", EventPattern=json.dumps({"source": ["power"]}))
    group_arn = "arn:aws:logs:us-east-1:000000000000:log-group:/aws/events/power"
    events.put_targets(Rule="all", Targets=[{"Id": "log", "Arn": group_arn}])
    for n in range(3):
        events.put_events(
            Entries=[{"Source": "power", "DetailType": "reading", "Detail": json.dumps({"n": n})}]
        )
    logs_server.advance(1)
    logs = logs_server.client("logs")
    # `aws logs tail /aws/events/power --since 5m`: FilterLogEvents from a start time, every page, interleaved.
    pages = logs.get_paginator("filter_log_events").paginate(
        logGroupName="/aws/events/power", startTime=int((START - 300) * MS), interleaved=True
    )
    found = [json.loads(e["message"]) for page in pages for e in page["events"]]
    assert sorted(e["detail"]["n"] for e in found) == [0, 1, 2]
    assert all(e["source"] == "power" for e in found)
