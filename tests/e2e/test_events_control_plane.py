"""The EventBridge control plane through boto3 over HTTP: the operations the delivery tests do not already drive
(bus updates, rule enable/targets listing, archive and replay lifecycles, connections and API destinations)."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from botocore.exceptions import ClientError

from support.http import wait_for


def error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def test_update_event_bus_and_rule_targets_listing(server):
    events = server.client("events")
    events.create_event_bus(Name="orders")
    events.update_event_bus(Name="orders", Description="order events")
    assert events.describe_event_bus(Name="orders")["Description"] == "order events"

    events.put_rule(
        Name="r", EventBusName="orders", EventPattern=json.dumps({"source": ["shop"]}), State="DISABLED"
    )
    events.enable_rule(Name="r", EventBusName="orders")
    assert events.describe_rule(Name="r", EventBusName="orders")["State"] == "ENABLED"
    targets = [
        {"Id": "a", "Arn": "arn:aws:sqs:us-east-1:000000000000:one"},
        {"Id": "b", "Arn": "arn:aws:sqs:us-east-1:000000000000:two", "Input": '{"fixed": true}'},
    ]
    events.put_targets(Rule="r", EventBusName="orders", Targets=targets)
    listed = events.list_targets_by_rule(Rule="r", EventBusName="orders")["Targets"]
    assert [(t["Id"], t["Arn"], t.get("Input")) for t in listed] == [
        ("a", targets[0]["Arn"], None),
        ("b", targets[1]["Arn"], '{"fixed": true}'),
    ]
    page = events.list_targets_by_rule(Rule="r", EventBusName="orders", Limit=1)
    assert len(page["Targets"]) == 1 and "NextToken" in page
    with pytest.raises(ClientError) as excinfo:
        events.list_targets_by_rule(Rule="nope", EventBusName="orders")
    assert error_code(excinfo) == "ResourceNotFoundException"


def test_archive_lifecycle(server):
    events = server.client("events")
    bus_arn = events.describe_event_bus()["Arn"]
    created = events.create_archive(ArchiveName="orders", EventSourceArn=bus_arn, RetentionDays=7)
    assert created["State"] == "ENABLED"
    events.create_archive(ArchiveName="other", EventSourceArn=bus_arn)
    events.update_archive(
        ArchiveName="orders",
        Description="kept a month",
        RetentionDays=30,
        EventPattern=json.dumps({"source": ["shop"]}),
    )
    archive = events.describe_archive(ArchiveName="orders")
    assert (archive["Description"], archive["RetentionDays"]) == ("kept a month", 30)
    assert json.loads(archive["EventPattern"]) == {"source": ["shop"]}
    assert [a["ArchiveName"] for a in events.list_archives(NamePrefix="ord")["Archives"]] == ["orders"]
    assert {a["ArchiveName"] for a in events.list_archives(EventSourceArn=bus_arn)["Archives"]} == {
        "orders",
        "other",
    }
    with pytest.raises(ClientError) as excinfo:
        events.update_archive(ArchiveName="orders", EventPattern='{"source": "not-a-list"}')
    assert error_code(excinfo) == "InvalidEventPatternException"
    events.delete_archive(ArchiveName="orders")
    with pytest.raises(ClientError) as excinfo:
        events.describe_archive(ArchiveName="orders")
    assert error_code(excinfo) == "ResourceNotFoundException"


def test_an_archive_is_fed_by_a_managed_rule_shaped_as_on_aws(server):
    events = server.client("events")
    bus_arn = events.describe_event_bus()["Arn"]
    events.create_archive(ArchiveName="orders", EventSourceArn=bus_arn, EventPattern='{"source": ["shop"]}')
    rule = events.describe_rule(Name="Events-Archive-orders")
    assert rule["ManagedBy"] == "prod.vhs.events.aws.internal"
    assert json.loads(rule["EventPattern"]) == {"source": ["shop"], "replay-name": [{"exists": False}]}
    targets = events.list_targets_by_rule(Rule="Events-Archive-orders")["Targets"]
    assert targets == [{"Id": "Events-Archive-orders", "Arn": "arn:aws:events:us-east-1:::"}]
    events.put_events(Entries=[{"Source": "shop", "DetailType": "t", "Detail": "{}"}])
    assert events.describe_archive(ArchiveName="orders")["EventCount"] == 1


def test_an_archive_pattern_json_cannot_reencode_is_kept_as_given(server):
    events = server.client("events")
    bus_arn = events.describe_event_bus()["Arn"]
    # a lone surrogate and an integer beyond 64 bits: valid JSON text that orjson refuses
    pattern = '{"detail": {"s": ["\\ud800"], "n": [123456789012345678901234567890]}}'
    events.create_archive(ArchiveName="odd", EventSourceArn=bus_arn, EventPattern=pattern)
    assert events.describe_archive(ArchiveName="odd")["EventPattern"] == pattern
    assert "Events-Archive-odd" in [r["Name"] for r in events.list_rules()["Rules"]]


def test_start_replay_through_boto3_resends_the_window_to_the_named_rule_only(server):
    events = server.client("events")
    seen: dict[str, list[dict]] = {"a": [], "b": []}
    for name in seen:
        server.pipework.functions.register(name, lambda event, context, name=name: seen[name].append(event))
    bus_arn = events.describe_event_bus()["Arn"]
    archive_arn = events.create_archive(ArchiveName="all", EventSourceArn=bus_arn)["ArchiveArn"]
    start = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    events.put_events(
        Entries=[{"Source": "shop", "DetailType": "t", "Detail": json.dumps({"n": n})} for n in range(4)]
    )
    wait_for(lambda: events.describe_archive(ArchiveName="all")["EventCount"] == 4)
    for name in seen:
        rule_arn = events.put_rule(Name=name, EventPattern=json.dumps({"source": ["shop"]}))["RuleArn"]
        events.put_targets(
            Rule=name, Targets=[{"Id": "f", "Arn": f"arn:aws:lambda:us-east-1:000000000000:function:{name}"}]
        )
        if name == "a":
            only = rule_arn
    events.start_replay(
        ReplayName="just-a",
        EventSourceArn=archive_arn,
        EventStartTime=start,
        EventEndTime=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5),
        Destination={"Arn": bus_arn, "FilterArns": [only]},
    )
    replay = wait_for(
        lambda: (r := events.describe_replay(ReplayName="just-a"))["State"] == "COMPLETED" and r
    )
    assert "EventLastReplayedTime" in replay
    wait_for(lambda: len(seen["a"]) == 4)
    time.sleep(0.2)
    assert seen["b"] == []
    assert sorted(e["detail"]["n"] for e in seen["a"]) == [0, 1, 2, 3]
    assert {e["replay-name"] for e in seen["a"]} == {"just-a"}
    assert [r["ReplayName"] for r in events.list_replays(NamePrefix="just")["Replays"]] == ["just-a"]


def test_connection_and_api_destination_lifecycle(server):
    events = server.client("events")
    connection = events.create_connection(
        Name="c",
        AuthorizationType="API_KEY",
        AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-key", "ApiKeyValue": "secret"}},
    )
    arn = connection["ConnectionArn"]
    events.update_connection(Name="c", Description="vendor")
    described = events.describe_connection(Name="c")
    assert described["Description"] == "vendor" and described["ConnectionState"] == "AUTHORIZED"
    assert "ApiKeyValue" not in json.dumps(described["AuthParameters"])  # secrets are never returned
    assert [c["Name"] for c in events.list_connections(NamePrefix="c")["Connections"]] == ["c"]

    destination = events.create_api_destination(
        Name="d", ConnectionArn=arn, InvocationEndpoint="https://example.com/hook", HttpMethod="POST"
    )
    events.update_api_destination(Name="d", InvocationRateLimitPerSecond=5, HttpMethod="PUT")
    described = events.describe_api_destination(Name="d")
    assert described["ApiDestinationArn"] == destination["ApiDestinationArn"]
    assert (described["InvocationRateLimitPerSecond"], described["HttpMethod"]) == (5, "PUT")
    assert [d["Name"] for d in events.list_api_destinations(ConnectionArn=arn)["ApiDestinations"]] == ["d"]

    assert events.deauthorize_connection(Name="c")["ConnectionState"] in ("DEAUTHORIZING", "DEAUTHORIZED")
    wait_for(lambda: events.describe_connection(Name="c")["ConnectionState"] == "DEAUTHORIZED")
    events.delete_api_destination(Name="d")
    assert events.list_api_destinations()["ApiDestinations"] == []
    events.delete_connection(Name="c")
    with pytest.raises(ClientError) as excinfo:
        events.describe_connection(Name="c")
    assert error_code(excinfo) == "ResourceNotFoundException"
