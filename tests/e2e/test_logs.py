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


class Tail:
    """What ``aws logs tail GROUP [--since S] [--filter-pattern P] [--log-stream-name-prefix X] [--follow]`` (AWS
    CLI v2, ``awscli/customizations/logs/tail.py``) sends, call for call: FilterLogEvents with the group as
    ``logGroupIdentifier`` (a name or an ARN), ``interleaved``, ``startTime`` from ``--since``; without
    ``--follow``, every page through the paginator; with it, one call per poll, following ``nextToken``, and after
    the last page the next poll starts at the newest timestamp seen, dropping the events of that timestamp it has
    already printed (by ``eventId``). The CLI sleeps 5 seconds between polls; here `poll` is one of them."""

    def __init__(self, logs: Any, group: str, **options: Any) -> None:
        self.logs = logs
        self.kwargs: dict[str, Any] = {"logGroupIdentifier": group, "interleaved": True, **options}
        self.seen: dict[int, set[str]] = {}

    def once(self) -> list[dict[str, Any]]:
        pages = self.logs.get_paginator("filter_log_events").paginate(**self.kwargs)
        return [event for page in pages for event in page["events"]]

    def poll(self) -> list[dict[str, Any]]:
        """One poll of ``--follow``: the new events, each once."""
        out: list[dict[str, Any]] = []
        while True:
            response = self.logs.filter_log_events(**self.kwargs)
            for event in response["events"]:
                ids = self.seen.setdefault(event["timestamp"], set())
                if event["eventId"] not in ids:
                    ids.add(event["eventId"])
                    out.append(event)
            if self.seen:
                newest = max(self.seen)
                self.seen = {newest: self.seen[newest]}
            if "nextToken" in response:
                self.kwargs["nextToken"] = response["nextToken"]
                continue
            if self.seen:
                self.kwargs["startTime"] = max(self.seen)
            self.kwargs.pop("nextToken", None)
            return out


def messages(events: list[dict[str, Any]]) -> list[str]:
    return [event["message"] for event in events]


def test_aws_logs_tail_follow_prints_new_events_once_from_since_with_a_filter(logs_server: Any) -> None:
    logs = logs_server.client("logs")
    logs.create_log_group(logGroupName="/pipes/power")
    logs.create_log_stream(logGroupName="/pipes/power", logStreamName="power")
    put(logs, "/pipes/power", "power", "ERROR too old", at=START - 900)
    put(logs, "/pipes/power", "power", "ERROR first", "INFO skipped", "ERROR second", at=START)
    # `--since 10m --filter-pattern ERROR --follow`
    tail = Tail(logs, "/pipes/power", startTime=int((START - 600) * MS), filterPattern="ERROR")
    assert messages(tail.poll()) == ["ERROR first", "ERROR second"]
    assert tail.poll() == []  # nothing new: the events at the newest timestamp are not printed again
    # A new event at the very millisecond of the newest one printed, and a later one.
    newest = START + 0.002
    logs.put_log_events(
        logGroupName="/pipes/power",
        logStreamName="power",
        logEvents=[
            {"timestamp": int(newest * MS), "message": "ERROR same millisecond"},
            {"timestamp": int(newest * MS) + 5, "message": "ERROR later"},
            {"timestamp": int(newest * MS) + 6, "message": "DEBUG filtered"},
        ],
    )
    assert messages(tail.poll()) == ["ERROR same millisecond", "ERROR later"]
    assert tail.poll() == []
    # The group named by its ARN (as `aws logs tail arn:aws:logs:...` passes it), without --follow.
    arn = "arn:aws:logs:us-east-1:000000000000:log-group:/pipes/power"
    once = Tail(logs, arn, startTime=int((START - 600) * MS), filterPattern="ERROR")
    assert messages(once.once()) == ["ERROR first", "ERROR second", "ERROR same millisecond", "ERROR later"]
    # `--log-stream-name-prefix` and `unmask` (accepted; nothing is masked here).
    logs.create_log_stream(logGroupName="/pipes/power", logStreamName="other")
    put(logs, "/pipes/power", "other", "ERROR elsewhere", at=START + 1)
    prefixed = Tail(logs, "/pipes/power", logStreamNamePrefix="oth", unmask=True)
    assert messages(prefixed.once()) == ["ERROR elsewhere"]


def test_aws_logs_tail_follow_reads_a_full_page_then_its_next_token(logs_server: Any) -> None:
    logs = logs_server.client("logs")
    logs.create_log_group(logGroupName="busy")
    logs.create_log_stream(logGroupName="busy", logStreamName="s")
    for chunk in range(2):  # 10,000 events a call at most; FilterLogEvents answers 10,000 a page
        logs.put_log_events(
            logGroupName="busy",
            logStreamName="s",
            logEvents=[
                {"timestamp": int(START * MS) + chunk * 10_000 + i, "message": f"m{chunk * 10_000 + i}"}
                for i in range(10_000 if chunk == 0 else 5)
            ],
        )
    tail = Tail(logs, "busy", startTime=int(START * MS))
    first = tail.poll()
    assert len(first) == 10_005 and len({e["eventId"] for e in first}) == 10_005
    assert messages(first)[-1] == "m10004"
    assert tail.poll() == []
