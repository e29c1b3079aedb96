"""EventBridge through boto3 over real HTTP: the control plane, PutEvents delivering to queues, functions, logs
and API destinations (a real local HTTP server), retries and dead-letter queues with AWS's attributes, redrive,
archives and replays, and the CLI wrappers.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from pipework.clock import ManualClock
from support.http import Endpoint, wait_for
from support.queues import receive_all

ACCOUNT = "000000000000"
FN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:"


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    e = Endpoint()
    yield e
    e.close()


def test_bus_rule_and_target_lifecycle(server):
    events = server.client("events")
    arn = events.create_event_bus(Name="orders")["EventBusArn"]
    assert arn == f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/orders"
    assert {b["Name"] for b in events.list_event_buses()["EventBuses"]} == {"default", "orders"}
    with pytest.raises(ClientError) as exc:
        events.create_event_bus(Name="orders")
    assert exc.value.response["Error"]["Code"] == "ResourceAlreadyExistsException"
    rule_arn = events.put_rule(Name="r1", EventBusName="orders", EventPattern='{"source": ["shop"]}')[
        "RuleArn"
    ]
    assert rule_arn == f"arn:aws:events:us-east-1:{ACCOUNT}:rule/orders/r1"
    for i in range(3):
        events.put_rule(Name=f"x{i}", EventBusName="orders", EventPattern='{"source": ["x"]}')
    page = events.list_rules(EventBusName="orders", NamePrefix="x", Limit=2)
    assert [r["Name"] for r in page["Rules"]] == ["x0", "x1"]
    rest = events.list_rules(EventBusName="orders", NamePrefix="x", NextToken=page["NextToken"])
    assert [r["Name"] for r in rest["Rules"]] == ["x2"]
    events.disable_rule(Name="r1", EventBusName="orders")
    assert events.describe_rule(Name="r1", EventBusName="orders")["State"] == "DISABLED"
    targets = [{"Id": str(i), "Arn": f"{FN}f{i}"} for i in range(5)]
    events.put_targets(Rule="r1", EventBusName="orders", Targets=targets)
    with pytest.raises(ClientError) as exc:
        events.put_targets(Rule="r1", EventBusName="orders", Targets=[{"Id": "6", "Arn": f"{FN}f6"}])
    assert exc.value.response["Error"]["Code"] == "LimitExceededException"
    assert events.list_rule_names_by_target(TargetArn=f"{FN}f1", EventBusName="orders")["RuleNames"] == ["r1"]
    with pytest.raises(ClientError) as exc:
        events.delete_rule(Name="r1", EventBusName="orders")
    assert exc.value.response["Error"]["Message"] == "Rule can't be deleted since it has targets."
    events.remove_targets(Rule="r1", EventBusName="orders", Ids=[str(i) for i in range(5)])
    events.delete_rule(Name="r1", EventBusName="orders")
    with pytest.raises(ClientError) as exc:
        events.describe_rule(Name="r1", EventBusName="orders")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    events.tag_resource(ResourceARN=arn, Tags=[{"Key": "team", "Value": "a"}])
    assert events.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "team", "Value": "a"}]
    events.untag_resource(ResourceARN=arn, TagKeys=["team"])
    assert events.list_tags_for_resource(ResourceARN=arn)["Tags"] == []


def test_put_rule_and_test_event_pattern_report_aws_pattern_errors(server):
    events = server.client("events")
    with pytest.raises(ClientError) as exc:
        events.put_rule(Name="bad", EventPattern='{"source": "x"}')
    assert exc.value.response["Error"] == {
        "Code": "InvalidEventPatternException",
        "Message": 'Event pattern is not valid. Reason: "source" must be an object or an array',
    }
    event = {
        "id": "1",
        "account": ACCOUNT,
        "source": "shop",
        "time": "2026-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail-type": "t",
        "detail": {"n": 5},
    }
    pattern = '{"detail": {"n": [{"numeric": [">", 1]}]}}'
    assert events.test_event_pattern(EventPattern=pattern, Event=json.dumps(event))["Result"] is True
    with pytest.raises(ClientError) as exc:
        events.test_event_pattern(EventPattern=pattern, Event='{"detail": {}}')
    assert exc.value.response["Error"]["Message"] == "Parameter Event is not valid."


@pytest.mark.parametrize(
    "expression", ["rate(garbage)", "rate(0 minutes)", "cron(* * * * *)", "at(2030-01-01T00:00:00)"]
)
def test_put_rule_rejects_a_schedule_expression_rules_cannot_run(server, expression):
    events = server.client("events")
    with pytest.raises(ClientError) as exc:
        events.put_rule(Name="bad", ScheduleExpression=expression)
    assert exc.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "Parameter ScheduleExpression is not valid.",
    }
    events.put_rule(Name="good", ScheduleExpression="rate(5 minutes)")
    events.put_rule(Name="good", ScheduleExpression="cron(0 12 * * ? *)")


def test_put_events_limits(server):
    events = server.client("events")
    with pytest.raises(ClientError) as exc:
        events.put_events(Entries=[{"Source": "s", "DetailType": "t", "Detail": "{}"}] * 11)
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    result = events.put_events(
        Entries=[
            {"Source": "s", "DetailType": "t", "Detail": "not json"},
            {"Source": "s", "DetailType": "t", "Detail": "{}", "EventBusName": "missing-bus"},
        ]
    )
    assert result["FailedEntryCount"] == 1
    assert result["Entries"][0]["ErrorCode"] == "MalformedDetail"
    assert "EventId" in result["Entries"][1]


def test_put_events_fails_only_the_entry_whose_detail_holds_a_lone_surrogate(server):
    events = server.client("events")
    bus_arn = events.describe_event_bus()["Arn"]
    events.create_archive(ArchiveName="all", EventSourceArn=bus_arn)
    events.put_rule(Name="all", EventPattern=json.dumps({"source": ["s"]}))
    events.put_targets(
        Rule="all", Targets=[{"Id": "log", "Arn": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:g"}]
    )
    valid = {"Source": "s", "DetailType": "t", "Detail": '{"a": "ok"}'}
    result = events.put_events(
        Entries=[
            valid,
            {**valid, "Detail": '{"a": "\\ud800"}'},
            {**valid, "Detail": '{"\\udfff": 1}'},
            {**valid, "Detail": '{"a": "\\ud83d\\ude00"}'},  # a surrogate pair is one character
        ]
    )
    assert result["FailedEntryCount"] == 2
    malformed = {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    assert result["Entries"][1] == malformed and result["Entries"][2] == malformed
    assert "EventId" in result["Entries"][0] and "EventId" in result["Entries"][3]
    assert events.describe_archive(ArchiveName="all")["EventCount"] == 2


def test_events_reach_a_queue_with_input_transformer(server):
    sqs, events = server.client("sqs"), server.client("events")
    url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="big", EventPattern=json.dumps({"detail": {"total": [{"numeric": [">=", 100]}]}}))
    events.put_targets(
        Rule="big",
        Targets=[
            {"Id": "raw", "Arn": queue_arn},
            {
                "Id": "shaped",
                "Arn": queue_arn,
                "InputTransformer": {
                    "InputPathsMap": {"total": "$.detail.total", "id": "$.id"},
                    "InputTemplate": '{"order_total": <total>, "event": "<id>"}',
                },
            },
        ],
    )
    put = events.put_events(
        Entries=[
            {"Source": "shop", "DetailType": "Order", "Detail": json.dumps({"total": 150})},
            {"Source": "shop", "DetailType": "Order", "Detail": json.dumps({"total": 5})},
        ]
    )
    event_id = put["Entries"][0]["EventId"]
    bodies = [json.loads(m["Body"]) for m in receive_all(sqs, url, 2)]
    assert {"order_total": 150, "event": event_id} in bodies
    raw = next(b for b in bodies if "detail" in b)
    assert raw["id"] == event_id and raw["source"] == "shop" and raw["detail"] == {"total": 150}


def test_failing_target_goes_to_the_dlq_with_aws_attributes_and_redrive_delivers_it(server):
    sqs, events = server.client("sqs"), server.client("events")
    dlq_url = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    outcomes: list[str] = []

    def flaky(event: Any, context: Any) -> None:
        outcomes.append(event["id"])
        if len(outcomes) == 1:
            raise RuntimeError("boom")

    server.pipework.functions.register("flaky", flaky)
    events.put_rule(Name="r", EventPattern='{"source": ["shop"]}')
    events.put_targets(
        Rule="r",
        Targets=[
            {
                "Id": "fn",
                "Arn": FN + "flaky",
                "RetryPolicy": {"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 60},
                "DeadLetterConfig": {"Arn": dlq_arn},
            }
        ],
    )
    event_id = events.put_events(Entries=[{"Source": "shop", "DetailType": "t", "Detail": "{}"}])["Entries"][
        0
    ]["EventId"]
    (message,) = receive_all(sqs, dlq_url, 1)
    assert json.loads(message["Body"])["id"] == event_id
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["RULE_ARN"] == f"arn:aws:events:us-east-1:{ACCOUNT}:rule/r"
    assert attributes["TARGET_ARN"] == FN + "flaky"
    assert attributes["ERROR_CODE"] == "FUNCTION_ERROR"
    assert attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
    assert attributes["RETRY_ATTEMPTS"] == "0"
    assert "boom" in attributes["ERROR_MESSAGE"]
    cli = [sys.executable, "-m", "pipework.cli.main"]
    listing = subprocess.run(
        [*cli, "dlq", "list", "--endpoint-url", server.endpoint_url],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "FUNCTION_ERROR" in listing.stdout and "fn" in listing.stdout
    redriven = subprocess.run(
        [*cli, "dlq", "redrive", "--rule", "r", "--endpoint-url", server.endpoint_url],
        capture_output=True,
        text=True,
        check=True,
    )
    assert redriven.stdout.strip() == "redriven: 1"
    wait_for(lambda: len(outcomes) == 2)
    assert outcomes == [event_id, event_id]


def test_api_destination_retries_5xx_honours_retry_after_and_applies_auth(server, endpoint):
    events = server.client("events")
    connection = events.create_connection(
        Name="vendor",
        AuthorizationType="API_KEY",
        AuthParameters={
            "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "secret"},
            "InvocationHttpParameters": {"HeaderParameters": [{"Key": "x-from", "Value": "pipework"}]},
        },
    )
    described = events.describe_connection(Name="vendor")
    assert "ApiKeyValue" not in json.dumps(described["AuthParameters"], default=str)
    destination = events.create_api_destination(
        Name="hook",
        ConnectionArn=connection["ConnectionArn"],
        InvocationEndpoint=endpoint.url + "/orders/*",
        HttpMethod="POST",
        InvocationRateLimitPerSecond=50,
    )
    events.put_rule(Name="r", EventPattern='{"source": ["shop"]}')
    events.put_targets(
        Rule="r",
        Targets=[
            {
                "Id": "hook",
                "Arn": destination["ApiDestinationArn"],
                "HttpParameters": {"PathParameterValues": ["eu"]},
                "InputPath": "$.detail",
            }
        ],
    )
    endpoint.script = [(500, {}, 0.0), (429, {"Retry-After": "0"}, 0.0)]
    events.put_events(Entries=[{"Source": "shop", "DetailType": "t", "Detail": '{"n": 1}'}])
    wait_for(lambda: len(endpoint.requests) == 3, timeout=20)
    last = endpoint.requests[-1]
    assert last["path"] == "/orders/eu"
    assert last["headers"]["x-api-key"] == "secret" and last["headers"]["x-from"] == "pipework"
    assert json.loads(last["body"]) == {"n": 1}


def test_api_destination_4xx_is_not_retried(server, endpoint):
    events = server.client("events")
    connection = events.create_connection(
        Name="c",
        AuthorizationType="BASIC",
        AuthParameters={"BasicAuthParameters": {"Username": "u", "Password": "p"}},
    )
    destination = events.create_api_destination(
        Name="d",
        ConnectionArn=connection["ConnectionArn"],
        InvocationEndpoint=endpoint.url,
        HttpMethod="POST",
    )
    events.put_rule(Name="r", EventPattern='{"source": ["shop"]}')
    events.put_targets(Rule="r", Targets=[{"Id": "d", "Arn": destination["ApiDestinationArn"]}])
    endpoint.script = [(400, {}, 0.0)]
    events.put_events(Entries=[{"Source": "shop", "DetailType": "t", "Detail": "{}"}])
    wait_for(lambda: endpoint.requests)
    assert endpoint.requests[0]["headers"]["Authorization"] == "Basic dTpw"
    runtime = server.pipework.events
    dead = wait_for(lambda: server.run(runtime.dead_letters()))
    assert dead[0]["Error"]["ERROR_CODE"] == "INVALID_PARAMETER"
    assert len(endpoint.requests) == 1


def test_retries_follow_the_injected_clock(make_server):
    clock = ManualClock(start=1_800_000_000.0)
    srv = make_server(clock=clock)
    events = srv.client("events")
    runtime = srv.pipework.events
    calls: list[float] = []

    def failing(event: Any, context: Any) -> None:
        calls.append(clock.now())
        raise RuntimeError("down")

    srv.pipework.functions.register("failing", failing)
    events.put_rule(Name="r", EventPattern='{"source": ["shop"]}')
    policy = {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 86400}
    events.put_targets(Rule="r", Targets=[{"Id": "f", "Arn": FN + "failing", "RetryPolicy": policy}])
    events.put_events(Entries=[{"Source": "shop", "DetailType": "t", "Detail": "{}"}])
    srv.advance(0)
    assert calls == [clock.now()]
    srv.advance(1200)  # three retries with exponential backoff (at most 1 + 2 + 4 s before jitter)
    assert len(calls) == 4
    assert all(b >= a for a, b in itertools.pairwise(calls))
    dead = srv.run(runtime.dead_letters())
    assert dead[0]["Error"]["RETRY_ATTEMPTS"] == "3"


def test_archived_events_older_than_the_retention_are_trimmed(make_server):
    clock = ManualClock(start=1_800_000_000.0)
    srv = make_server(clock=clock)
    events = srv.client("events")
    bus_arn = events.describe_event_bus()["Arn"]
    events.create_archive(ArchiveName="week", EventSourceArn=bus_arn, RetentionDays=7)
    events.create_archive(ArchiveName="forever", EventSourceArn=bus_arn)
    events.put_events(Entries=[{"Source": "shop", "DetailType": "t", "Detail": "{}"}])
    srv.advance(6 * 86_400)
    events.put_events(Entries=[{"Source": "shop", "DetailType": "t", "Detail": "{}"}])
    counts = {"week": 2, "forever": 2}
    assert {n: events.describe_archive(ArchiveName=n)["EventCount"] for n in counts} == counts
    srv.advance(2 * 86_400)  # the first event is 8 days old, the second 2
    assert events.describe_archive(ArchiveName="week")["EventCount"] == 1
    assert events.describe_archive(ArchiveName="forever")["EventCount"] == 2


def test_archive_and_replay_through_boto3_and_the_cli(server):
    sqs, events = server.client("sqs"), server.client("events")
    url = sqs.create_queue(QueueName="replayed")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus_arn = events.describe_event_bus()["Arn"]
    events.create_archive(ArchiveName="all", EventSourceArn=bus_arn)
    start = time.time() - 5
    for n in range(3):
        events.put_events(Entries=[{"Source": "shop", "DetailType": "t", "Detail": json.dumps({"n": n})}])
    archive = wait_for(lambda: (a := events.describe_archive(ArchiveName="all"))["EventCount"] == 3 and a)
    assert archive["SizeBytes"] > 0
    events.put_rule(Name="to-queue", EventPattern='{"source": ["shop"]}')
    events.put_targets(Rule="to-queue", Targets=[{"Id": "q", "Arn": queue_arn}])
    cli = [sys.executable, "-m", "pipework.cli.main"]
    begin = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start))
    end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 5))
    out = subprocess.run(
        [
            *cli,
            "replay",
            "start",
            "again",
            "--archive",
            "all",
            "--start",
            begin,
            "--end",
            end,
            "--endpoint-url",
            server.endpoint_url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "again: STARTING"
    wait_for(lambda: events.describe_replay(ReplayName="again")["State"] == "COMPLETED")
    bodies = [json.loads(m["Body"]) for m in receive_all(sqs, url, 3)]
    assert sorted(b["detail"]["n"] for b in bodies) == [0, 1, 2]
    assert all(b["replay-name"] == "again" for b in bodies)
    assert list(bodies[0])[7] == "replay-name"
    assert events.describe_archive(ArchiveName="all")["EventCount"] == 3
    assert [r["ReplayName"] for r in events.list_replays()["Replays"]] == ["again"]
    with pytest.raises(ClientError) as exc:
        events.cancel_replay(ReplayName="again")
    assert exc.value.response["Error"]["Code"] == "IllegalStatusException"


def test_put_events_cli_prints_the_event_id(server):
    cli = [sys.executable, "-m", "pipework.cli.main"]
    out = subprocess.run(
        [
            *cli,
            "put-events",
            "--source",
            "shop",
            "--detail-type",
            "t",
            "--detail",
            '{"a": 1}',
            "--endpoint-url",
            server.endpoint_url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert len(out.stdout.strip()) == 36
