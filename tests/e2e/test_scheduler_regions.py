"""Every region, one server: schedule groups and schedules belong to the account and region of the request's SigV4
credential scope, through boto3; every region has its ``default`` group; a schedule delivers to its target in the
region the target's ARN names (a universal target calls in the schedule's region); and a data directory of an
older version serves each schedule in the region of its ARN (a schedule still fires once at its next occurrence)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from pipework.app import Settings, asgi_app
from pipework.clock import ManualClock
from pipework.testing import RunningServer

EAST, EU = "us-east-1", "eu-central-1"
ACCOUNT = "000000000000"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/scheduler"
START = 1_800_000_000.0  # 2027-01-15T08:00:00Z
OFF = {"Mode": "OFF"}
V0 = Path(__file__).parent.parent / "store" / "data"


@pytest.fixture
def server(make_server: Callable[..., RunningServer]) -> RunningServer:
    return make_server(clock=ManualClock(start=START))


def queue(server: RunningServer, region: str, name: str) -> tuple[str, str]:
    sqs = server.client("sqs", region=region)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def bodies(server: RunningServer, region: str, url: str) -> list[str]:
    """Receive (and delete) what the queue holds."""
    sqs = server.client("sqs", region=region)
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    for message in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return sorted(m["Body"] for m in messages)


def error(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


def test_groups_and_schedules_of_the_same_name_in_two_regions_are_their_own(server: RunningServer) -> None:
    east, eu = server.client("scheduler", region=EAST), server.client("scheduler", region=EU)
    _, target = queue(server, EAST, "t")
    arns = {}
    for client, region in ((east, EAST), (eu, EU)):
        group = client.create_schedule_group(Name="team", Tags=[{"Key": "region", "Value": region}])
        assert group["ScheduleGroupArn"] == f"arn:aws:scheduler:{region}:{ACCOUNT}:schedule-group/team"
        arns[region] = client.create_schedule(
            Name="nightly",
            GroupName="team",
            ScheduleExpression="cron(0 3 * * ? *)",
            FlexibleTimeWindow=OFF,
            Target={"RoleArn": ROLE, "Arn": target},
            Description=f"from {region}",
        )["ScheduleArn"]
    assert arns == {r: f"arn:aws:scheduler:{r}:{ACCOUNT}:schedule/team/nightly" for r in (EAST, EU)}
    eu_default = eu.create_schedule(
        Name="only-in-eu",
        ScheduleExpression="rate(1 day)",
        FlexibleTimeWindow=OFF,
        Target={"RoleArn": ROLE, "Arn": target},
    )["ScheduleArn"]
    assert eu_default == f"arn:aws:scheduler:{EU}:{ACCOUNT}:schedule/default/only-in-eu"

    # Every region has its own default group.
    assert [(g["Name"], g["Arn"]) for g in eu.list_schedule_groups()["ScheduleGroups"]] == [
        ("default", f"arn:aws:scheduler:{EU}:{ACCOUNT}:schedule-group/default"),
        ("team", f"arn:aws:scheduler:{EU}:{ACCOUNT}:schedule-group/team"),
    ]
    assert eu.get_schedule_group(Name="default")["Arn"].startswith(f"arn:aws:scheduler:{EU}:")
    assert east.get_schedule_group(Name="default")["Arn"].startswith(f"arn:aws:scheduler:{EAST}:")
    assert eu.get_schedule(Name="nightly", GroupName="team")["Description"] == f"from {EU}"
    assert [s["Arn"] for s in east.list_schedules()["Schedules"]] == [arns[EAST]]
    assert [s["Name"] for s in eu.list_schedules()["Schedules"]] == ["only-in-eu", "nightly"]
    assert error(lambda: east.get_schedule(Name="only-in-eu")) == (
        "ResourceNotFoundException",
        "Schedule only-in-eu does not exist.",
    )
    # Tags by ARN: another region's group ARN names nothing here.
    eu_group = f"arn:aws:scheduler:{EU}:{ACCOUNT}:schedule-group/team"
    assert error(lambda: east.list_tags_for_resource(ResourceArn=eu_group))[0] == "ResourceNotFoundException"
    assert eu.list_tags_for_resource(ResourceArn=eu_group)["Tags"] == [{"Key": "region", "Value": EU}]

    # Deleting a region's group deletes its schedules only.
    eu.delete_schedule_group(Name="team", ClientToken="delete-team")
    eu.delete_schedule_group(Name="team", ClientToken="delete-team")  # a retry of the same deletion
    assert error(lambda: east.delete_schedule_group(Name="nope", ClientToken="delete-team"))[0] == (
        "ResourceNotFoundException"
    )
    assert [s["Name"] for s in eu.list_schedules()["Schedules"]] == ["only-in-eu"]
    assert east.get_schedule(Name="nightly", GroupName="team")["Arn"] == arns[EAST]
    east.delete_schedule(Name="nightly", GroupName="team", ClientToken="delete-nightly")
    east.delete_schedule(Name="nightly", GroupName="team", ClientToken="delete-nightly")
    assert (
        error(lambda: east.get_schedule(Name="nightly", GroupName="team"))[0] == "ResourceNotFoundException"
    )


def test_a_schedule_in_eu_fires_to_an_eu_queue(server: RunningServer) -> None:
    eu = server.client("scheduler", region=EU)
    eu_url, eu_arn = queue(server, EU, "jobs")
    east_url, _ = queue(server, EAST, "jobs")
    eu.create_schedule(
        Name="once",
        ScheduleExpression="at(2027-01-15T08:05:00)",
        FlexibleTimeWindow=OFF,
        Target={"RoleArn": ROLE, "Arn": eu_arn, "Input": "templated"},
    )
    eu.create_schedule(
        Name="sdk",
        ScheduleExpression="at(2027-01-15T08:05:00)",
        FlexibleTimeWindow=OFF,
        Target={
            "RoleArn": ROLE,
            "Arn": "arn:aws:scheduler:::aws-sdk:sqs:sendMessage",
            "Input": json.dumps({"QueueUrl": eu_url, "MessageBody": "universal"}),
        },
    )
    server.advance(300)
    assert bodies(server, EU, eu_url) == ["templated", "universal"]
    assert bodies(server, EAST, east_url) == []
    assert server.pipework.scheduler.metrics().get("FailedInvocations", 0) == 0


# ── a data directory written before schedules were keyed by region ──


def test_a_data_directory_of_an_older_version_serves_each_schedule_in_its_region(tmp_path: Path) -> None:
    directory = tmp_path / "data"
    directory.mkdir()
    connection = sqlite3.connect(directory / "pipework.db")
    connection.executescript((V0 / "v0_pipes_scheduler.sql").read_text())
    connection.close()
    facts = json.loads((V0 / "v0_pipes_scheduler.json").read_text())
    calls: list[Any] = []
    app = asgi_app(
        Settings(data_dir=directory),
        clock=ManualClock(start=facts["clock"]),
        functions={"flaky": lambda event, context: calls.append(event)},  # up again
    )
    server = RunningServer(app)
    server.start()
    try:
        east, eu = server.client("scheduler", region=EAST), server.client("scheduler", region=EU)
        assert [s["Arn"] for s in east.list_schedules()["Schedules"]] == [
            facts["hourly"],
            facts["retrying"],
            facts["once"],
            f"arn:aws:scheduler:{EAST}:{ACCOUNT}:schedule/team/paused",
        ]
        assert eu.list_schedules()["Schedules"] == []
        assert [g["Name"] for g in east.list_schedule_groups()["ScheduleGroups"]] == ["default", "team"]
        assert [g["Arn"] for g in eu.list_schedule_groups()["ScheduleGroups"]] == [
            f"arn:aws:scheduler:{EU}:{ACCOUNT}:schedule-group/default"
        ]
        team = f"arn:aws:scheduler:{EAST}:{ACCOUNT}:schedule-group/team"
        assert east.list_tags_for_resource(ResourceArn=team)["Tags"] == [{"Key": "owner", "Value": "team"}]
        # The deletion's client token still answers a retried deletion, in its region.
        east.delete_schedule(Name="gone", ClientToken="delete-gone")
        assert error(lambda: eu.delete_schedule(Name="gone", ClientToken="delete-gone"))[0] == (
            "ResourceNotFoundException"
        )

        # The invocation that was waiting for its retry (due within the second) runs; its DELETE-after-completion
        # schedule goes with it.
        server.advance(1)
        assert calls == [{"from": "retrying"}]
        assert error(lambda: east.get_schedule(Name="retrying"))[0] == "ResourceNotFoundException"

        # The hourly schedule fires once at its next occurrence (an hour after its creation), not before.
        sqs = server.client("sqs", region=EAST)
        target = sqs.get_queue_url(QueueName="schedule-target")["QueueUrl"]
        next_hour = START + 3600
        server.advance(next_hour - server.now() - 1)
        assert bodies(server, EAST, target) == []
        server.advance(1)
        assert bodies(server, EAST, target) == ["hourly"]
        server.advance(3600)  # team/once and the next hour, both at 10:00
        assert bodies(server, EAST, target) == ["hourly", "once"]
    finally:
        server.stop()
