"""EventBridge's resources load from the store bodies Pipework has always written, and write them back unchanged
(so a data directory of any version keeps working without a migration); their API shapes carry no key of
Pipework's own."""

from __future__ import annotations

from typing import Any

import pytest

from pipework.services.events import model

PREFIX = "arn:aws:events:us-east-1:000000000000:"
#: Bodies exactly as the code before the frozen resources stored them (one per kind, optional members included).
STORED: list[tuple[Any, dict[str, Any]]] = [
    (
        model.EventBus,
        {
            "Name": "orders",
            "Arn": PREFIX + "event-bus/orders",
            "CreationTime": 1.5,
            "LastModifiedTime": 2.5,
            "Description": "d",
            "DeadLetterConfig": {"Arn": "arn:aws:sqs:us-east-1:000000000000:dlq"},
            "Tags": {"team": "a"},
        },
    ),
    (
        model.Rule,
        {
            "Name": "r",
            "Arn": PREFIX + "rule/orders/r",
            "EventBusName": "orders",
            "State": "ENABLED",
            "Targets": [{"Id": "1", "Arn": "arn:aws:sqs:us-east-1:000000000000:q", "Input": "{}"}],
            "Tags": {"k": "v"},
            "CreatedBy": "000000000000",
            "EventPattern": '{"source":["s"]}',
            "Description": "x",
        },
    ),
    (
        model.Rule,
        {
            "Name": "Events-Archive-a",
            "Arn": PREFIX + "rule/Events-Archive-a",
            "EventBusName": "default",
            "EventPattern": '{"replay-name":[{"exists":false}]}',
            "State": "ENABLED",
            "ManagedBy": model.ARCHIVE_RULE_MANAGER,
            "Description": "Managed rule of archive a",
            "Targets": [{"Id": "Events-Archive-a", "Arn": "arn:aws:events:us-east-1:::", "ArchiveName": "a"}],
            "Tags": {},
        },
    ),
    (
        model.Archive,
        {
            "ArchiveName": "a",
            "ArchiveArn": PREFIX + "archive/a",
            "EventSourceArn": PREFIX + "event-bus/default",
            "State": "ENABLED",
            "RetentionDays": 3,
            "CreationTime": 1.0,
            "EventPattern": '{"source":["s"]}',
        },
    ),
    (
        model.Replay,
        {
            "ReplayName": "p",
            "ReplayArn": PREFIX + "replay/p",
            "EventSourceArn": PREFIX + "archive/a",
            "Destination": {"Arn": PREFIX + "event-bus/default"},
            "EventStartTime": 1.0,
            "EventEndTime": 9.0,
            "State": "RUNNING",
            "ReplayStartTime": 10.0,
            "EventLastReplayedTime": 4.0,
            "_LastReplayedPosition": 7,
        },
    ),
    (
        model.Connection,
        {
            "Name": "c",
            "ConnectionArn": PREFIX + "connection/c/u",
            "AuthorizationType": "API_KEY",
            "AuthParameters": {"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "secret"}},
            "ConnectionState": "AUTHORIZED",
            "CreationTime": 1.0,
            "LastModifiedTime": 1.0,
            "LastAuthorizedTime": 1.0,
            "SecretArn": "arn:aws:secretsmanager:us-east-1:000000000000:secret:events!connection/c/u",
        },
    ),
    (
        model.ApiDestination,
        {
            "Name": "d",
            "ApiDestinationArn": PREFIX + "api-destination/d/u",
            "ApiDestinationState": "ACTIVE",
            "ConnectionArn": PREFIX + "connection/c/u",
            "InvocationEndpoint": "https://example.com/",
            "HttpMethod": "POST",
            "InvocationRateLimitPerSecond": 1,
            "CreationTime": 1.0,
            "LastModifiedTime": 1.0,
        },
    ),
]


@pytest.mark.parametrize(
    ("kind", "body"), STORED, ids=[f"{k.__name__}-{b.get('Name', '')}" for k, b in STORED]
)
def test_a_stored_body_loads_and_is_written_back_unchanged(kind: Any, body: dict[str, Any]) -> None:
    assert kind.from_store(body).to_store() == body


@pytest.mark.parametrize(
    ("kind", "body"), STORED, ids=[f"{k.__name__}-{b.get('Name', '')}" for k, b in STORED]
)
def test_api_shapes_carry_no_key_of_pipeworks_own(kind: Any, body: dict[str, Any]) -> None:
    shown = kind.from_store(body).to_api()
    assert not [k for k in shown if k.startswith("_")]
    assert "Tags" not in shown and "Targets" not in shown


def test_internal_state_is_held_in_attributes() -> None:
    rule = model.Rule.from_store(STORED[2][1])
    assert rule.archive == "a" and rule.targets == (
        {"Id": "Events-Archive-a", "Arn": "arn:aws:events:us-east-1:::"},
    )
    assert rule.to_router()["Targets"] == []  # routing appends to the archive itself
    replay = model.Replay.from_store(STORED[4][1])
    assert replay.position == 7 and replay.to_api()["EventLastReplayedTime"] == 4.0
    connection = model.Connection.from_store(STORED[5][1])
    assert connection.to_api()["AuthParameters"] == {"ApiKeyAuthParameters": {"ApiKeyName": "k"}}
