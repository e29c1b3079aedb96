"""Targets invoked as their rule's or pipe's role, and across accounts, with auth on."""

from __future__ import annotations

import json
from typing import Any

from pipework.testing import RunningServer

from .conftest import ADMIN, CAROL, client


def queue(server: RunningServer, name: str, key: tuple[str, str] = ADMIN) -> tuple[str, str]:
    sqs = client(server, "sqs", key)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def receive(server: RunningServer, url: str, key: tuple[str, str] = ADMIN) -> list[dict[str, Any]]:
    return list(
        client(server, "sqs", key).receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    )


def test_a_pipe_whose_role_may_not_send_stops_with_a_permissions_error(
    secured_clocked: RunningServer,
) -> None:
    server = secured_clocked
    _, source = queue(server, "pipe-source")
    source_url = client(server, "sqs", ADMIN).get_queue_url(QueueName="pipe-source")["QueueUrl"]
    _, denied_target = queue(server, "not-forwarded")
    forwarded_url, allowed_target = queue(server, "forwarded-out")
    pipes = client(server, "pipes", ADMIN)
    role = "arn:aws:iam::111111111111:role/forwarder"
    pipes.create_pipe(Name="denied", Source=source, Target=denied_target, RoleArn=role)
    client(server, "sqs", ADMIN).send_message(QueueUrl=source_url, MessageBody="one")
    server.advance(0)
    server.advance(600)
    stopped = pipes.describe_pipe(Name="denied")
    assert stopped["CurrentState"] == "STOPPED"
    assert "NO_PERMISSIONS" in stopped["StateReason"]
    assert "not authorized to perform: sqs:SendMessage" in stopped["StateReason"]
    assert (
        receive(server, client(server, "sqs", ADMIN).get_queue_url(QueueName="not-forwarded")["QueueUrl"])
        == []
    )

    pipes.delete_pipe(Name="denied")
    server.advance(0)
    pipes.create_pipe(Name="allowed", Source=source, Target=allowed_target, RoleArn=role)
    client(server, "sqs", ADMIN).send_message(QueueUrl=source_url, MessageBody="two")
    server.advance(1)
    bodies = {json.loads(m["Body"])["body"] for m in receive(server, forwarded_url)}
    assert "two" in bodies


def test_a_rule_delivers_to_a_bus_in_another_account_only_when_its_policy_allows(
    secured_clocked: RunningServer,
) -> None:
    server = secured_clocked
    events_a, events_b = client(server, "events", ADMIN), client(server, "events", CAROL)
    bus_b = events_b.create_event_bus(Name="central")["EventBusArn"]  # account 222222222222
    inbox_url, inbox_arn = queue(server, "central-inbox", CAROL)
    events_b.put_rule(Name="in", EventBusName="central", EventPattern=json.dumps({"source": ["a.app"]}))
    events_b.put_targets(Rule="in", EventBusName="central", Targets=[{"Id": "q", "Arn": inbox_arn}])
    events_a.put_rule(Name="out", EventPattern=json.dumps({"source": ["a.app"]}))
    events_a.put_targets(Rule="out", Targets=[{"Id": "b", "Arn": bus_b}])

    events_a.put_events(Entries=[{"Source": "a.app", "DetailType": "first", "Detail": "{}"}])
    server.advance(0)
    assert receive(server, inbox_url, CAROL) == []  # B's bus has no policy: the delivery is refused

    events_b.put_permission(
        EventBusName="central", Action="events:PutEvents", Principal="111111111111", StatementId="a"
    )
    events_a.put_events(Entries=[{"Source": "a.app", "DetailType": "second", "Detail": "{}"}])
    server.advance(0)
    (message,) = receive(server, inbox_url, CAROL)
    event = json.loads(message["Body"])
    assert event["detail-type"] == "second" and event["account"] == "111111111111"


def test_a_rule_target_with_a_role_is_invoked_as_that_role(secured_clocked: RunningServer) -> None:
    server = secured_clocked
    events = client(server, "events", ADMIN)
    denied_url, denied_arn = queue(server, "rule-not-forwarded")
    allowed_url, allowed_arn = queue(server, "forwarded-by-rule")
    role = "arn:aws:iam::111111111111:role/forwarder"  # may send only to forwarded-* queues
    events.put_rule(Name="as-role", EventPattern=json.dumps({"source": ["role.app"]}))
    events.put_targets(
        Rule="as-role",
        Targets=[
            {"Id": "denied", "Arn": denied_arn, "RoleArn": role},
            {"Id": "allowed", "Arn": allowed_arn, "RoleArn": role},
        ],
    )
    events.put_events(Entries=[{"Source": "role.app", "DetailType": "d", "Detail": "{}"}])
    server.advance(0)
    assert len(receive(server, allowed_url)) == 1
    assert receive(server, denied_url) == []


def test_a_schedule_target_is_invoked_as_its_role(secured_clocked: RunningServer) -> None:
    server = secured_clocked
    scheduler = client(server, "scheduler", ADMIN)
    denied_url, denied_arn = queue(server, "schedule-not-forwarded")
    allowed_url, allowed_arn = queue(server, "forwarded-by-schedule")
    role = "arn:aws:iam::111111111111:role/forwarder"
    for name, arn in (("denied", denied_arn), ("allowed", allowed_arn)):
        scheduler.create_schedule(
            Name=name,
            ScheduleExpression="rate(1 minute)",
            FlexibleTimeWindow={"Mode": "OFF"},
            Target={"Arn": arn, "RoleArn": role, "Input": "tick", "RetryPolicy": {"MaximumRetryAttempts": 0}},
        )
    server.advance(61)
    assert {m["Body"] for m in receive(server, allowed_url)} == {"tick"}
    assert receive(server, denied_url) == []


def test_a_universal_schedule_target_is_checked_against_its_role(secured_clocked: RunningServer) -> None:
    """A universal (aws-sdk) target is the API call it names: the role must allow that action on the resources
    the call's parameters name, else the invocation fails with AccessDeniedException into its dead-letter queue."""
    server = secured_clocked
    scheduler = client(server, "scheduler", ADMIN)
    denied_url, _ = queue(server, "sdk-not-forwarded")
    allowed_url, _ = queue(server, "forwarded-by-sdk")
    dlq_url, dlq_arn = queue(server, "sdk-dead-letters")
    role = "arn:aws:iam::111111111111:role/forwarder"  # may send only to forwarded-* queues
    for name, url in (("sdk-denied", denied_url), ("sdk-allowed", allowed_url)):
        scheduler.create_schedule(
            Name=name,
            ScheduleExpression="rate(1 minute)",
            FlexibleTimeWindow={"Mode": "OFF"},
            Target={
                "Arn": "arn:aws:scheduler:::aws-sdk:sqs:sendMessage",
                "RoleArn": role,
                "Input": json.dumps({"QueueUrl": url, "MessageBody": f"sent by {name}"}),
                "RetryPolicy": {"MaximumRetryAttempts": 3},
                "DeadLetterConfig": {"Arn": dlq_arn},
            },
        )
    server.advance(61)
    assert {m["Body"] for m in receive(server, allowed_url)} == {"sent by sdk-allowed"}
    assert receive(server, denied_url) == []
    sqs = client(server, "sqs", ADMIN)
    dead = sqs.receive_message(QueueUrl=dlq_url, MessageAttributeNames=["All"])["Messages"][0]
    attributes = {k: v["StringValue"] for k, v in dead["MessageAttributes"].items()}
    assert attributes["ERROR_CODE"] == "AccessDeniedException"  # not retried: a permissions error
    assert attributes["ERROR_MESSAGE"].startswith(
        "User: arn:aws:sts::111111111111:assumed-role/forwarder/pipework is not authorized to perform: "
        "sqs:SendMessage on resource: arn:aws:sqs:us-east-1:111111111111:sdk-not-forwarded"
    )
    assert attributes["SCHEDULE_ARN"].endswith("schedule/default/sdk-denied")
    assert json.loads(dead["Body"])["MessageBody"] == "sent by sdk-denied"
