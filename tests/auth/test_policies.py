"""Authorization end to end: identity policies, SQS queue policies and event bus policies, across accounts."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from pipework.testing import RunningServer

from .conftest import ADMIN, ALICE, BOB, CAROL, client


def test_a_key_limited_to_one_queue_uses_it_and_is_denied_another(secured: RunningServer) -> None:
    admin = client(secured, "sqs", ADMIN)
    orders = admin.create_queue(QueueName="orders")["QueueUrl"]
    payroll = admin.create_queue(QueueName="payroll")["QueueUrl"]
    alice = client(secured, "sqs", ALICE)
    alice.send_message(QueueUrl=orders, MessageBody="hello")
    (message,) = alice.receive_message(QueueUrl=orders, WaitTimeSeconds=0)["Messages"]
    assert message["Body"] == "hello"
    alice.delete_message(QueueUrl=orders, ReceiptHandle=message["ReceiptHandle"])
    assert alice.get_queue_url(QueueName="payroll")["QueueUrl"] == payroll  # granted on "*"
    with pytest.raises(ClientError) as error:
        alice.send_message(QueueUrl=payroll, MessageBody="hello")
    assert error.value.response["Error"]["Code"] == "AccessDenied"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error.value.response["Error"]["Message"] == (
        "User: arn:aws:iam::111111111111:user/alice is not authorized to perform: sqs:SendMessage on resource: "
        "arn:aws:sqs:us-east-1:111111111111:payroll because no identity-based policy allows the sqs:SendMessage "
        "action"
    )


def test_an_explicit_deny_wins_over_an_allow(secured: RunningServer) -> None:
    url = client(secured, "sqs", ADMIN).create_queue(QueueName="orders")["QueueUrl"]
    with pytest.raises(ClientError) as error:
        client(secured, "sqs", ALICE).purge_queue(QueueUrl=url)
    assert error.value.response["Error"]["Message"].endswith(
        "with an explicit deny in an identity-based policy"
    )


def test_a_queue_policy_grants_what_the_identity_policy_does_not(secured: RunningServer) -> None:
    admin = client(secured, "sqs", ADMIN)
    url = admin.create_queue(QueueName="shared-inbox")["QueueUrl"]
    alice = client(secured, "sqs", ALICE)
    with pytest.raises(ClientError):
        alice.send_message(QueueUrl=url, MessageBody="x")
    admin.add_permission(
        QueueUrl=url, Label="alice-sends", AWSAccountIds=["111111111111"], Actions=["SendMessage"]
    )
    alice.send_message(QueueUrl=url, MessageBody="x")  # same account: the resource policy alone grants


def test_another_account_uses_a_queue_only_when_its_policy_allows(secured: RunningServer) -> None:
    admin = client(secured, "sqs", ADMIN)
    url = admin.create_queue(QueueName="partner-drop")["QueueUrl"]
    bob = client(secured, "sqs", BOB)  # account 222222222222, allowed sqs:* by his own policy
    with pytest.raises(ClientError) as error:
        bob.send_message(QueueUrl=url, MessageBody="x")
    assert "because no resource-based policy allows the sqs:SendMessage action" in str(error.value)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
                "Action": "sqs:SendMessage",
                "Resource": "arn:aws:sqs:us-east-1:111111111111:partner-drop",
            },
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sqs:SendMessage",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:username": "mallory"}},
            },
        ],
    }
    admin.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    bob.send_message(QueueUrl=url, MessageBody="from bob")
    (message,) = admin.receive_message(QueueUrl=url)["Messages"]
    assert message["Body"] == "from bob"


def test_cross_account_put_events_only_when_the_bus_policy_allows(secured: RunningServer) -> None:
    events_a = client(secured, "events", ADMIN)  # account 111111111111
    sqs_a = client(secured, "sqs", ADMIN)
    bus_arn = events_a.create_event_bus(Name="partners")["EventBusArn"]
    queue_url = sqs_a.create_queue(QueueName="partner-events")["QueueUrl"]
    queue_arn = sqs_a.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events_a.put_rule(Name="all", EventBusName="partners", EventPattern=json.dumps({"source": ["partner"]}))
    events_a.put_targets(Rule="all", EventBusName="partners", Targets=[{"Id": "q", "Arn": queue_arn}])
    bob = client(secured, "events", BOB)  # account 222222222222, allowed events:* by his own policy
    entry = {"Source": "partner", "DetailType": "hello", "Detail": "{}", "EventBusName": bus_arn}
    with pytest.raises(ClientError) as error:
        bob.put_events(Entries=[entry])
    assert error.value.response["Error"]["Code"] == "AccessDeniedException"
    assert error.value.response["Error"]["Message"] == (
        "User: arn:aws:iam::222222222222:user/bob is not authorized to perform: events:PutEvents on resource: "
        f"{bus_arn} because no resource-based policy allows the events:PutEvents action"
    )
    events_a.put_permission(
        EventBusName="partners", Action="events:PutEvents", Principal="222222222222", StatementId="bob"
    )
    described = events_a.describe_event_bus(Name="partners")
    assert json.loads(described["Policy"])["Statement"][0]["Principal"] == {
        "AWS": "arn:aws:iam::222222222222:root"
    }
    assert bob.put_events(Entries=[entry])["FailedEntryCount"] == 0
    (message,) = sqs_a.receive_message(QueueUrl=queue_url, WaitTimeSeconds=10)["Messages"]
    assert json.loads(message["Body"])["account"] == "222222222222"
    events_a.remove_permission(EventBusName="partners", StatementId="bob")
    with pytest.raises(ClientError):
        bob.put_events(Entries=[entry])


def test_resources_live_in_the_callers_account(secured: RunningServer) -> None:
    client(secured, "sqs", ADMIN).create_queue(QueueName="mine-111")
    carol = client(secured, "sqs", CAROL)  # an admin of account 222222222222
    carol.create_queue(QueueName="mine-222")
    names = [url.rsplit("/", 2)[-2:] for url in carol.list_queues().get("QueueUrls", [])]
    assert ["222222222222", "mine-222"] in names and all(account == "222222222222" for account, _ in names)
