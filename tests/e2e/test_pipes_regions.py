"""Every region, one server: pipes belong to the account and region of the request's SigV4 credential scope, through
boto3; a pipe reads its source and delivers to its target in the regions their ARNs name; Pipework's own pipe
routes take ``?region=``; and a data directory of an older version serves each pipe in the region of its ARN (a
stopped pipe stays stopped, dead letters still redrive)."""

from __future__ import annotations

import json
import os
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
from support.http import wait_for
from support.queues import receive_all

EAST, EU = "us-east-1", "eu-central-1"
ACCOUNT = "000000000000"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/pipe"
V0 = Path(__file__).parent.parent / "store" / "data"


def queue(server: RunningServer, region: str, name: str) -> tuple[str, str]:
    sqs = server.client("sqs", region=region)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def error(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


def extension(server: RunningServer, path: str, body: Any = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        server.endpoint_url + path,
        data=orjson.dumps(body) if body is not None else None,
        method="POST" if body is not None else "GET",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, orjson.loads(response.read())
    except urllib.error.HTTPError as failed:
        return failed.code, orjson.loads(failed.read())


def test_pipes_of_the_same_name_in_two_regions_are_two_pipes(
    make_server: Callable[..., RunningServer],
) -> None:
    server = make_server()
    east, eu = server.client("pipes", region=EAST), server.client("pipes", region=EU)
    arns = {}
    for client, region in ((east, EAST), (eu, EU)):
        _, source = queue(server, region, "orders")
        _, target = queue(server, region, "notifications")
        arns[region] = client.create_pipe(
            Name="orders",
            RoleArn=ROLE,
            Source=source,
            Target=target,
            Description=f"from {region}",
            Tags={"region": region},
        )["Arn"]
    assert arns == {
        EAST: f"arn:aws:pipes:{EAST}:{ACCOUNT}:pipe/orders",
        EU: f"arn:aws:pipes:{EU}:{ACCOUNT}:pipe/orders",
    }
    _, only_eu_source = queue(server, EU, "audit")
    eu.create_pipe(
        Name="audit",
        RoleArn=ROLE,
        Source=only_eu_source,
        Target=only_eu_source.replace("audit", "notifications"),
    )

    described = eu.describe_pipe(Name="orders")
    assert (described["Arn"], described["Description"]) == (arns[EU], f"from {EU}")
    assert described["Source"] == f"arn:aws:sqs:{EU}:{ACCOUNT}:orders"
    assert [p["Arn"] for p in east.list_pipes()["Pipes"]] == [arns[EAST]]
    assert [p["Name"] for p in eu.list_pipes()["Pipes"]] == ["audit", "orders"]
    assert error(lambda: east.describe_pipe(Name="audit")) == (
        "NotFoundException",
        "Pipe audit does not exist.",
    )
    # Another region's pipe ARN names no pipe here.
    assert error(lambda: east.list_tags_for_resource(resourceArn=arns[EU]))[0] == "NotFoundException"
    assert eu.list_tags_for_resource(resourceArn=arns[EU])["tags"] == {"region": EU}
    east.tag_resource(resourceArn=arns[EAST], tags={"team": "east"})
    assert eu.list_tags_for_resource(resourceArn=arns[EU])["tags"] == {"region": EU}

    # Each pipe reads its region's queue and delivers to its region's queue.
    server.client("sqs", region=EU).send_message(
        QueueUrl=queue(server, EU, "orders")[0], MessageBody="for eu"
    )
    [delivered] = receive_all(server.client("sqs", region=EU), queue(server, EU, "notifications")[0], 1)
    record = json.loads(delivered["Body"])
    assert (record["body"], record["eventSourceARN"], record["awsRegion"]) == (
        "for eu",
        f"arn:aws:sqs:{EU}:{ACCOUNT}:orders",
        EU,
    )
    east_out = server.client("sqs", region=EAST).receive_message(
        QueueUrl=queue(server, EAST, "notifications")[0]
    )
    assert "Messages" not in east_out

    eu.stop_pipe(Name="orders")
    assert east.describe_pipe(Name="orders")["CurrentState"] == "RUNNING"
    eu.delete_pipe(Name="orders")
    assert error(lambda: eu.describe_pipe(Name="orders"))[0] == "NotFoundException"
    assert east.describe_pipe(Name="orders")["Arn"] == arns[EAST]


def test_a_pipe_in_eu_from_an_eu_table_stream_delivers(make_server: Callable[..., RunningServer]) -> None:
    server = make_server()
    eu_ddb = server.client("dynamodb", region=EU)
    stream = eu_ddb.create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]["LatestStreamArn"]
    assert stream.startswith(f"arn:aws:dynamodb:{EU}:")
    url, target = queue(server, EU, "changes")
    queue(server, EAST, "changes")  # the same name in the default region gets nothing
    pipe = server.client("pipes", region=EU).create_pipe(
        Name="changes",
        RoleArn=ROLE,
        Source=stream,
        SourceParameters={"DynamoDBStreamParameters": {"StartingPosition": "TRIM_HORIZON"}},
        Target=target,
    )
    assert pipe["Arn"] == f"arn:aws:pipes:{EU}:{ACCOUNT}:pipe/changes"
    eu_ddb.put_item(TableName="orders", Item={"pk": {"S": "o1"}})

    [delivered] = receive_all(server.client("sqs", region=EU), url, 1)
    record = json.loads(delivered["Body"])
    assert (record["eventSourceARN"], record["awsRegion"], record["dynamodb"]["Keys"]) == (
        stream,
        EU,
        {"pk": {"S": "o1"}},
    )
    east_url = server.client("sqs", region=EAST).get_queue_url(QueueName="changes")["QueueUrl"]
    assert "Messages" not in server.client("sqs", region=EAST).receive_message(QueueUrl=east_url)


def test_pipework_pipe_routes_name_pipes_of_the_default_region_unless_given_one(
    make_server: Callable[..., RunningServer],
) -> None:
    calls: list[Any] = []
    server = make_server(functions={"record": lambda event, context: calls.append(event)})
    fn = f"arn:aws:lambda:{EU}:{ACCOUNT}:function:record"
    _, source = queue(server, EU, "in")
    server.client("pipes", region=EU).create_pipe(Name="eu-only", RoleArn=ROLE, Source=source, Target=fn)

    status, body = extension(server, "/_pipework/pipes/eu-only/metrics")
    assert (status, body["__type"]) == (404, "NotFoundException")
    status, body = extension(server, f"/_pipework/pipes/eu-only/metrics?region={EU}")
    assert (status, body["PipeArn"]) == (200, f"arn:aws:pipes:{EU}:{ACCOUNT}:pipe/eu-only")
    status, body = extension(server, f"/_pipework/pipes/eu-only/invoke?region={EU}", {"Records": [{"n": 1}]})
    assert (status, body["Status"], calls) == (200, "SUCCEEDED", [[{"n": 1}]])
    assert extension(server, f"/_pipework/pipes/dead-letters?pipe=eu-only&region={EU}") == (
        200,
        {"DeadLetters": []},
    )
    assert extension(server, f"/_pipework/pipes/dead-letters/redrive?region={EU}", {"Pipe": "eu-only"}) == (
        200,
        {"Redriven": 0},
    )
    status, body = extension(server, "/_pipework/pipes/dead-letters?region=../x")
    assert (status, body["__type"]) == (400, "ValidationException")


def test_the_pipes_cli_works_in_aws_default_region(make_server: Callable[..., RunningServer]) -> None:
    server = make_server(functions={"record": lambda event, context: None})
    fn = f"arn:aws:lambda:{EU}:{ACCOUNT}:function:record"
    _, source = queue(server, EU, "in")
    server.client("pipes", region=EU).create_pipe(Name="eu-pipe", RoleArn=ROLE, Source=source, Target=fn)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pipework.cli.main", *args, "--endpoint-url", server.endpoint_url],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "AWS_DEFAULT_REGION": EU},
        )

    listed = cli("pipes", "list")
    assert listed.returncode == 0 and "eu-pipe" in listed.stdout, listed.stderr
    metrics = cli("pipes", "metrics", "eu-pipe", "--json")
    assert metrics.returncode == 0, metrics.stderr
    assert json.loads(metrics.stdout)["PipeArn"] == f"arn:aws:pipes:{EU}:{ACCOUNT}:pipe/eu-pipe"
    assert cli("pipes", "dead-letters", "eu-pipe").returncode == 0
    redriven = cli("dlq", "redrive", "--pipe", "eu-pipe")
    assert (redriven.returncode, redriven.stdout.strip()) == (0, "redriven: 0"), redriven.stderr


# ── a data directory written before pipes were keyed by region ──


def restore_v0(directory: Path) -> dict[str, Any]:
    directory.mkdir(parents=True)
    connection = sqlite3.connect(directory / "pipework.db")
    connection.executescript((V0 / "v0_pipes_scheduler.sql").read_text())
    connection.close()
    facts: dict[str, Any] = json.loads((V0 / "v0_pipes_scheduler.json").read_text())
    return facts


def test_a_data_directory_of_an_older_version_serves_each_pipe_in_its_region(tmp_path: Path) -> None:
    facts = restore_v0(tmp_path / "data")
    calls: list[Any] = []
    app = asgi_app(
        Settings(data_dir=tmp_path / "data"),
        clock=ManualClock(start=facts["clock"]),
        functions={"flaky": lambda event, context: calls.append(event)},  # up again
    )
    server = RunningServer(app)
    server.start()

    def batches() -> list[list[Any]]:  # what the pipe sent (the data's retrying schedule calls `flaky` too)
        return [event for event in calls if isinstance(event, list)]

    try:
        east, eu = server.client("pipes", region=EAST), server.client("pipes", region=EU)
        assert [p["Arn"] for p in east.list_pipes()["Pipes"]] == [facts["orders_pipe"], facts["stopped_pipe"]]
        assert eu.list_pipes()["Pipes"] == []
        stopped = east.describe_pipe(Name="stopped-pipe")
        assert (stopped["DesiredState"], stopped["CurrentState"]) == ("STOPPED", "STOPPED")

        # The stopped pipe stays stopped: its source's message waits.
        sqs = server.client("sqs", region=EAST)
        source = sqs.get_queue_url(QueueName="pipe-in")["QueueUrl"]
        server.advance(60)
        waiting = sqs.get_queue_attributes(QueueUrl=source, AttributeNames=["ApproximateNumberOfMessages"])
        assert waiting["Attributes"]["ApproximateNumberOfMessages"] == "1"

        # The dead letter is kept and redrives through the pipe to its (now working) target.
        [dead] = extension(server, "/_pipework/pipes/dead-letters?pipe=orders-pipe")[1]["DeadLetters"]
        assert (dead["Id"], dead["Record"]["dynamodb"]["Keys"]) == (
            facts["dead_letter_id"],
            {"pk": {"S": "o1"}},
        )
        assert extension(server, "/_pipework/pipes/dead-letters/redrive", {"Pipe": "orders-pipe"})[1] == {
            "Redriven": 1
        }
        server.advance(0)
        wait_for(lambda: batches())
        assert [[r["dynamodb"]["Keys"] for r in batch] for batch in batches()] == [[{"pk": {"S": "o1"}}]]
        assert extension(server, "/_pipework/pipes/dead-letters?pipe=orders-pipe")[1] == {"DeadLetters": []}
        # The stream checkpoint (kept by the pipe's ARN) held: o1 was not read from the stream again.
        server.client("dynamodb", region=EAST).put_item(TableName="orders", Item={"pk": {"S": "o2"}})
        server.advance(0)
        wait_for(lambda: len(batches()) == 2)
        assert batches()[1][0]["dynamodb"]["Keys"] == {"pk": {"S": "o2"}}

        # Started again, the migrated queue pipe delivers what waited.
        east.start_pipe(Name="stopped-pipe")
        out = sqs.get_queue_url(QueueName="pipe-out")["QueueUrl"]
        server.advance(0)
        [delivered] = wait_for(lambda: sqs.receive_message(QueueUrl=out).get("Messages"))
        assert json.loads(delivered["Body"])["body"] == "waiting for the stopped pipe"
    finally:
        server.stop()
