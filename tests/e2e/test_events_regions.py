"""Every region, one server: EventBridge buses, rules, archives, connections and API destinations belong to the
account and region of the request's SigV4 credential scope, through boto3; PutEvents routes in its region and
stamps it on the events; targets in another region are reached there; and a data directory of an older version
is served per region after migration 0003."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from botocore.exceptions import ClientError

from pipework.app import Settings, asgi_app
from pipework.clock import ManualClock
from pipework.testing import RunningServer

EAST, EU = "us-east-1", "eu-central-1"
ACCOUNT = "000000000000"
START = 1_800_000_000.0
DATA = Path(__file__).parent.parent / "store" / "data"
SHOP = json.dumps({"source": ["shop"]})


@pytest.fixture
def srv(make_server: Callable[..., RunningServer]) -> RunningServer:
    return make_server(clock=ManualClock(start=START))


def queue(server: RunningServer, region: str, name: str) -> tuple[str, str]:
    """A queue in ``region``: (URL, ARN)."""
    url = server.client("sqs", region=region).create_queue(QueueName=name)["QueueUrl"]
    return url, f"arn:aws:sqs:{region}:{ACCOUNT}:{name}"


def bodies(server: RunningServer, region: str, url: str) -> list[Any]:
    """The messages waiting in a queue of ``region`` (received and deleted), parsed as JSON."""
    sqs = server.client("sqs", region=region)
    out: list[Any] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            out.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return out


def entry(n: object, **more: Any) -> dict[str, Any]:
    return {"Source": "shop", "DetailType": "Order", "Detail": json.dumps({"n": n}), **more}


def error_code(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as raised:
        call()
    code: str = raised.value.response["Error"]["Code"]
    return code


def test_resources_of_the_same_name_in_two_regions_are_apart_with_their_region_s_arns(
    srv: RunningServer,
) -> None:
    arns: dict[str, dict[str, str]] = {}
    for region, description in ((EAST, "east"), (EU, "eu")):
        events = srv.client("events", region=region)
        prefix = f"arn:aws:events:{region}:{ACCOUNT}:"
        bus_arn = events.create_event_bus(Name="orders", Description=description)["EventBusArn"]
        rule_arn = events.put_rule(
            Name="r", EventBusName="orders", EventPattern=SHOP, Description=description
        )["RuleArn"]
        archive_arn = events.create_archive(ArchiveName="a", EventSourceArn=bus_arn, Description=description)[
            "ArchiveArn"
        ]
        connection_arn = events.create_connection(
            Name="c",
            AuthorizationType="API_KEY",
            AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": description}},
        )["ConnectionArn"]
        destination_arn = events.create_api_destination(
            Name="d",
            ConnectionArn=connection_arn,
            InvocationEndpoint="http://127.0.0.1:9/",
            HttpMethod="POST",
        )["ApiDestinationArn"]
        assert bus_arn == prefix + "event-bus/orders"
        assert rule_arn == prefix + "rule/orders/r"
        assert archive_arn == prefix + "archive/a"
        assert connection_arn.startswith(prefix + "connection/c/")
        assert destination_arn.startswith(prefix + "api-destination/d/")
        secret = events.describe_connection(Name="c")["SecretArn"]
        assert secret.startswith(f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:events!connection/c/")
        arns[region] = {"bus": bus_arn, "connection": connection_arn}

    for region, description in ((EAST, "east"), (EU, "eu")):
        events = srv.client("events", region=region)
        prefix = f"arn:aws:events:{region}:{ACCOUNT}:"
        buses = events.list_event_buses()["EventBuses"]
        assert [(b["Name"], b["Arn"]) for b in buses] == [
            ("default", prefix + "event-bus/default"),  # every region has its default bus
            ("orders", prefix + "event-bus/orders"),
        ]
        assert events.describe_event_bus(Name="orders")["Description"] == description
        assert events.describe_rule(Name="r", EventBusName="orders")["Description"] == description
        assert [r["Name"] for r in events.list_rules(EventBusName="orders")["Rules"]] == [
            "Events-Archive-a",
            "r",
        ]
        archive = events.describe_archive(ArchiveName="a")
        assert (archive["Description"], archive["EventSourceArn"]) == (description, arns[region]["bus"])
        [target] = events.list_targets_by_rule(Rule="Events-Archive-a", EventBusName="orders")["Targets"]
        assert target["Arn"] == f"arn:aws:events:{region}:::"
        assert [c["ConnectionArn"] for c in events.list_connections()["Connections"]] == [
            arns[region]["connection"]
        ]
        assert [d["ConnectionArn"] for d in events.list_api_destinations()["ApiDestinations"]] == [
            arns[region]["connection"]
        ]

    east, eu = srv.client("events", region=EAST), srv.client("events", region=EU)
    # An ARN of another region names nothing here.
    assert (
        error_code(lambda: east.list_tags_for_resource(ResourceARN=arns[EU]["bus"]))
        == "ResourceNotFoundException"
    )
    with pytest.raises(ClientError) as raised:
        east.create_archive(ArchiveName="b", EventSourceArn=arns[EU]["bus"])
    assert raised.value.response["Error"]["Message"] == "Event bus orders does not exist."
    eu.tag_resource(ResourceARN=arns[EU]["bus"], Tags=[{"Key": "team", "Value": "eu"}])
    assert east.list_tags_for_resource(ResourceARN=arns[EAST]["bus"])["Tags"] == []

    # Deleting in one region leaves the other's.
    eu.delete_api_destination(Name="d")
    eu.delete_connection(Name="c")
    eu.delete_archive(ArchiveName="a")
    eu.delete_rule(Name="r", EventBusName="orders")
    eu.delete_event_bus(Name="orders")
    assert [b["Name"] for b in eu.list_event_buses()["EventBuses"]] == ["default"]
    assert [b["Name"] for b in east.list_event_buses()["EventBuses"]] == ["default", "orders"]
    assert east.describe_archive(ArchiveName="a")["State"] == "ENABLED"
    assert east.describe_connection(Name="c")["ConnectionState"] == "AUTHORIZED"
    assert error_code(lambda: eu.describe_connection(Name="c")) == "ResourceNotFoundException"


def test_put_events_in_a_region_reaches_only_its_rules_stamped_with_its_region(srv: RunningServer) -> None:
    urls = {}
    for region in (EAST, EU):
        url, arn = queue(srv, region, "orders")
        urls[region] = url
        events = srv.client("events", region=region)
        events.put_rule(Name="r", EventPattern=SHOP)
        events.put_targets(Rule="r", Targets=[{"Id": "q", "Arn": arn}])
    eu = srv.client("events", region=EU)
    put = eu.put_events(Entries=[entry(1)])
    srv.advance(0)
    assert bodies(srv, EAST, urls[EAST]) == []
    [event] = bodies(srv, EU, urls[EU])
    assert (event["id"], event["region"], event["account"]) == (put["Entries"][0]["EventId"], EU, ACCOUNT)
    # A bus named by its ARN is that ARN's.
    eu.put_events(Entries=[entry(2, EventBusName=f"arn:aws:events:{EU}:{ACCOUNT}:event-bus/default")])
    srv.advance(0)
    assert [e["detail"]["n"] for e in bodies(srv, EU, urls[EU])] == [2]
    assert bodies(srv, EAST, urls[EAST]) == []


def test_targets_in_another_region_are_reached_in_that_region(srv: RunningServer) -> None:
    east_url, _ = queue(srv, EAST, "out")
    eu_url, eu_arn = queue(srv, EU, "out")
    east, eu = srv.client("events", region=EAST), srv.client("events", region=EU)
    east.put_rule(Name="to-eu-queue", EventPattern=json.dumps({"detail": {"n": [1]}}))
    east.put_targets(Rule="to-eu-queue", Targets=[{"Id": "q", "Arn": eu_arn}])
    # An event bus target in another region: the event goes on that region's bus, keeping its id and region.
    eu.create_event_bus(Name="inbox")
    eu.put_rule(Name="inbox-to-queue", EventBusName="inbox", EventPattern=SHOP)
    eu.put_targets(Rule="inbox-to-queue", EventBusName="inbox", Targets=[{"Id": "q", "Arn": eu_arn}])
    east.create_event_bus(Name="inbox")  # the same name in the rule's own region, which must not receive
    east.put_rule(Name="to-eu-bus", EventPattern=json.dumps({"detail": {"n": [2]}}))
    east.put_targets(
        Rule="to-eu-bus", Targets=[{"Id": "b", "Arn": f"arn:aws:events:{EU}:{ACCOUNT}:event-bus/inbox"}]
    )
    put = east.put_events(Entries=[entry(1), entry(2)])
    srv.advance(0)
    received = sorted(bodies(srv, EU, eu_url), key=lambda e: e["detail"]["n"])
    assert [(e["id"], e["region"], e["detail"]["n"]) for e in received] == [
        (put["Entries"][0]["EventId"], EAST, 1),
        (put["Entries"][1]["EventId"], EAST, 2),
    ]
    assert bodies(srv, EAST, east_url) == []


def test_a_pipe_puts_events_stamped_with_its_region_on_the_bus_its_target_names(srv: RunningServer) -> None:
    sources = {region: queue(srv, region, "source") for region in (EAST, EU)}
    outs = {region: queue(srv, region, "out") for region in (EAST, EU)}
    for region in (EAST, EU):
        events = srv.client("events", region=region)
        events.create_event_bus(Name="orders")
        events.put_rule(Name="r", EventBusName="orders", EventPattern=json.dumps({"source": ["pipe"]}))
        events.put_targets(Rule="r", EventBusName="orders", Targets=[{"Id": "q", "Arn": outs[region][1]}])
    for region in (EU, EAST):  # both to the eu-central-1 bus
        srv.client("pipes", region=region).create_pipe(
            Name="p",
            Source=sources[region][1],
            Target=f"arn:aws:events:{EU}:{ACCOUNT}:event-bus/orders",
            RoleArn=f"arn:aws:iam::{ACCOUNT}:role/pipe",
            TargetParameters={"EventBridgeEventBusParameters": {"Source": "pipe", "DetailType": "Piped"}},
        )
    srv.advance(0)
    for region in (EU, EAST):
        srv.client("sqs", region=region).send_message(QueueUrl=sources[region][0], MessageBody=region)
    srv.advance(1)
    received = bodies(srv, EU, outs[EU][0])
    assert sorted((e["detail"]["body"], e["region"], e["source"]) for e in received) == [
        (EU, EU, "pipe"),
        (EAST, EAST, "pipe"),  # put by the us-east-1 pipe
    ]
    assert bodies(srv, EAST, outs[EAST][0]) == []


def test_scheduled_rules_archives_and_replays_of_a_region_stay_in_it(srv: RunningServer) -> None:
    urls = {}
    for region in (EAST, EU):
        url, arn = queue(srv, region, "out")
        urls[region] = url
        events = srv.client("events", region=region)
        events.put_rule(Name="tick", ScheduleExpression="rate(1 hour)")
        events.put_targets(Rule="tick", Targets=[{"Id": "q", "Arn": arn}])
    eu, east = srv.client("events", region=EU), srv.client("events", region=EAST)
    east.remove_targets(Rule="tick", Ids=["q"])  # the rule of the same name in eu-central-1 keeps its target
    srv.advance(3600)
    [tick] = bodies(srv, EU, urls[EU])
    assert (tick["detail-type"], tick["region"]) == ("Scheduled Event", EU)
    assert tick["resources"] == [f"arn:aws:events:{EU}:{ACCOUNT}:rule/tick"]
    assert bodies(srv, EAST, urls[EAST]) == []

    eu.remove_targets(Rule="tick", Ids=["q"])
    bus_arn = eu.describe_event_bus()["Arn"]
    archive_arn = eu.create_archive(ArchiveName="all", EventSourceArn=bus_arn)["ArchiveArn"]
    east.create_archive(ArchiveName="all", EventSourceArn=east.describe_event_bus()["Arn"])
    eu.put_rule(Name="shop", EventPattern=SHOP)
    eu.put_targets(Rule="shop", Targets=[{"Id": "q", "Arn": f"arn:aws:sqs:{EU}:{ACCOUNT}:out"}])
    eu.put_events(Entries=[entry(1), entry(2)])
    srv.advance(0)
    assert sorted(e["detail"]["n"] for e in bodies(srv, EU, urls[EU])) == [1, 2]
    assert eu.describe_archive(ArchiveName="all")["EventCount"] == 2
    assert east.describe_archive(ArchiveName="all")["EventCount"] == 0
    eu.start_replay(
        ReplayName="again",
        EventSourceArn=archive_arn,
        EventStartTime=START,
        EventEndTime=START + 7200,
        Destination={"Arn": bus_arn},
    )
    assert error_code(lambda: east.describe_replay(ReplayName="again")) == "ResourceNotFoundException"
    srv.advance(0)
    assert eu.describe_replay(ReplayName="again")["State"] == "COMPLETED"
    replayed = bodies(srv, EU, urls[EU])
    assert sorted((e["detail"]["n"], e["replay-name"], e["region"]) for e in replayed) == [
        (1, "again", EU),
        (2, "again", EU),
    ]


def pipework_route(server: RunningServer, path: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(
        server.endpoint_url + path,
        data=orjson.dumps(body) if body is not None else None,
        method="POST" if body is not None else "GET",
    )
    with urllib.request.urlopen(request) as response:
        return orjson.loads(response.read())


def test_dead_letters_are_listed_and_redriven_per_region(srv: RunningServer) -> None:
    for region in (EAST, EU):
        events = srv.client("events", region=region)
        events.put_rule(Name="r", EventPattern=SHOP)
        events.put_targets(Rule="r", Targets=[{"Id": "q", "Arn": f"arn:aws:sqs:{region}:{ACCOUNT}:later"}])
        events.put_events(Entries=[entry(region)])
    srv.advance(0)  # no such queue: dead-lettered at once
    east_dead = pipework_route(srv, "/_pipework/events/dead-letters")["DeadLetters"]
    eu_dead = pipework_route(srv, f"/_pipework/events/dead-letters?region={EU}")["DeadLetters"]
    assert [d["Event"]["detail"]["n"] for d in east_dead] == [EAST]  # the server's region by default
    assert [d["Event"]["detail"]["n"] for d in eu_dead] == [EU]
    listed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipework.cli.main",
            "dlq",
            "list",
            "--region",
            EU,
            "--endpoint-url",
            srv.endpoint_url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert eu_dead[0]["Id"] in listed and east_dead[0]["Id"] not in listed
    url, _ = queue(srv, EU, "later")
    assert pipework_route(srv, "/_pipework/events/dead-letters/redrive", {"Region": EU}) == {"Redriven": 1}
    srv.advance(0)
    assert [e["detail"]["n"] for e in bodies(srv, EU, url)] == [EU]
    assert [d["Id"] for d in pipework_route(srv, "/_pipework/events/dead-letters")["DeadLetters"]] == [
        east_dead[0]["Id"]
    ]
    with pytest.raises(urllib.error.HTTPError) as raised:
        pipework_route(srv, "/_pipework/events/dead-letters?region=nowhere")
    assert raised.value.code == 400


# ── a data directory written before EventBridge was keyed by region ──


def restore_v0(directory: Path) -> dict[str, Any]:
    directory.mkdir(parents=True)
    connection = sqlite3.connect(directory / "pipework.db")
    connection.executescript((DATA / "v0_events.sql").read_text())
    connection.close()
    facts: dict[str, Any] = json.loads((DATA / "v0_events.json").read_text())
    return facts


def test_a_data_directory_of_an_older_version_is_served_per_region(tmp_path: Path) -> None:
    facts = restore_v0(tmp_path / "data")
    clock = ManualClock(start=facts["clock"])
    server = RunningServer(asgi_app(Settings(data_dir=tmp_path / "data", region=EAST), clock=clock))
    server.start()
    try:
        east, eu = server.client("events", region=EAST), server.client("events", region=EU)
        assert [(b["Name"], b["Arn"]) for b in east.list_event_buses()["EventBuses"]] == [
            ("default", f"arn:aws:events:{EAST}:{ACCOUNT}:event-bus/default"),
            ("orders", facts["bus_arn"]),
        ]
        assert [(b["Name"], b["Arn"]) for b in eu.list_event_buses()["EventBuses"]] == [
            ("default", f"arn:aws:events:{EU}:{ACCOUNT}:event-bus/default"),
            ("eu-bus", facts["eu_bus_arn"]),
        ]
        assert east.list_tags_for_resource(ResourceARN=facts["bus_arn"])["Tags"] == [
            {"Key": "team", "Value": "shop"}
        ]
        assert [r["Name"] for r in east.list_rules()["Rules"]] == ["hourly", "to-missing"]
        assert [r["Name"] for r in eu.list_rules()["Rules"]] == []
        assert [c["ConnectionArn"] for c in east.list_connections()["Connections"]] == [
            facts["connection_arn"]
        ]
        assert [c["ConnectionArn"] for c in eu.list_connections()["Connections"]] == [
            facts["eu_connection_arn"]
        ]
        assert east.describe_api_destination(Name="hook")["ApiDestinationArn"] == facts["destination_arn"]
        assert east.describe_replay(ReplayName="orders-replay")["State"] == "COMPLETED"
        assert eu.list_replays()["Replays"] == []

        # Rules deliver, each in its region.
        east_url = server.client("sqs", region=EAST).get_queue_url(QueueName="orders-queue")["QueueUrl"]
        eu_url = server.client("sqs", region=EU).get_queue_url(QueueName="eu-queue")["QueueUrl"]
        east.put_events(Entries=[entry("order 3", EventBusName="orders")])
        eu.put_events(Entries=[entry("eu 1", EventBusName="eu-bus")])
        server.advance(0)
        assert [e["detail"]["n"] for e in bodies(server, EAST, east_url)] == ["order 3"]
        [eu_event] = bodies(server, EU, eu_url)
        assert (eu_event["detail"]["n"], eu_event["region"]) == ("eu 1", EU)

        # The archive replays what it held before the upgrade, and what it got since.
        assert east.describe_archive(ArchiveName="orders-archive")["EventCount"] == 3
        east.start_replay(
            ReplayName="after-upgrade",
            EventSourceArn=facts["archive_arn"],
            EventStartTime=START - 60,
            EventEndTime=START + 60,
            Destination={"Arn": facts["bus_arn"]},
        )
        server.advance(0)
        assert east.describe_replay(ReplayName="after-upgrade")["State"] == "COMPLETED"
        replayed = bodies(server, EAST, east_url)
        assert sorted(e["detail"]["n"] for e in replayed) == ["order 1", "order 2", "order 3"]

        # The dead letter is the default region's, and redrives once its queue exists.
        [dead] = pipework_route(server, "/_pipework/events/dead-letters")["DeadLetters"]
        assert (dead["Id"], dead["Rule"], dead["Event"]["detail"]["n"]) == (
            facts["dead_letter_id"],
            "to-missing",
            "lost 1",
        )
        assert pipework_route(server, f"/_pipework/events/dead-letters?region={EU}")["DeadLetters"] == []
        missing_url = server.client("sqs", region=EAST).create_queue(QueueName="missing")["QueueUrl"]
        assert pipework_route(server, "/_pipework/events/dead-letters/redrive", {}) == {"Redriven": 1}
        server.advance(0)
        assert [e["detail"]["n"] for e in bodies(server, EAST, missing_url)] == ["lost 1"]

        # The scheduled rule that version stored (and never fired) fires from the upgrade on.
        server.advance(3600)
        [tick] = bodies(server, EAST, east_url)
        assert (tick["detail-type"], tick["region"]) == ("Scheduled Event", EAST)
    finally:
        server.stop()
