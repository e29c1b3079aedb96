"""NextToken of every EventBridge, Scheduler and Pipes List operation, through boto3: a token the operation did not
issue (garbage, or another operation's token) is a ValidationException, never a silent start from the top; the
tokens it issued page through its results."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

ROLE = "arn:aws:iam::000000000000:role/r"
TARGET = {"Arn": "arn:aws:sqs:us-east-1:000000000000:q", "RoleArn": ROLE}

#: (service, operation, parameters other than NextToken)
OPERATIONS = [
    ("events", "list_rules", {}),
    ("events", "list_event_buses", {}),
    ("events", "list_archives", {}),
    ("events", "list_replays", {}),
    ("events", "list_connections", {}),
    ("events", "list_api_destinations", {}),
    ("events", "list_targets_by_rule", {"Rule": "r1"}),
    ("events", "list_rule_names_by_target", {"TargetArn": TARGET["Arn"]}),
    ("scheduler", "list_schedules", {}),
    ("scheduler", "list_schedule_groups", {}),
    ("pipes", "list_pipes", {}),
]


def another_operations_token(server: Any) -> str:
    """A real token: the first page of ListRules, of two rules, one per page (ListEventBuses for ListRules)."""
    events = server.client("events")
    for name in ("r1", "r2"):
        events.put_rule(Name=name, ScheduleExpression="rate(1 hour)")
    events.put_targets(Rule="r1", Targets=[{"Id": "t1", **TARGET}, {"Id": "t2", **TARGET}])
    events.create_event_bus(Name="other")
    return str(events.list_rules(Limit=1)["NextToken"])


def bus_token(server: Any) -> str:
    return str(server.client("events").list_event_buses(Limit=1)["NextToken"])


@pytest.mark.parametrize(("service", "operation", "params"), OPERATIONS, ids=[o[1] for o in OPERATIONS])
@pytest.mark.parametrize("kind", ["garbage", "percent signs", "another operation's token"])
def test_a_token_the_operation_did_not_issue_is_a_validation_error(server, service, operation, params, kind):
    rules_token = another_operations_token(server)
    token = {
        "garbage": "garbage",
        "percent signs": "%%%",
        "another operation's token": bus_token(server) if operation == "list_rules" else rules_token,
    }[kind]
    with pytest.raises(ClientError) as caught:
        getattr(server.client(service), operation)(NextToken=token, **params)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert caught.value.response["Error"]["Message"] == "Invalid NextToken"


def test_the_tokens_an_operation_issues_page_through_its_results(server):
    another_operations_token(server)
    events = server.client("events")
    first = events.list_targets_by_rule(Rule="r1", Limit=1)
    rest = events.list_targets_by_rule(Rule="r1", Limit=1, NextToken=first["NextToken"])
    assert [t["Id"] for t in first["Targets"] + rest["Targets"]] == ["t1", "t2"]
    assert "NextToken" not in rest
