"""SNS with auth on: topic policies decide who in which account may publish and subscribe (AWS's default policy
grants the owner's account), explicit denies win, and the links SNS sends to an HTTP endpoint (SubscribeURL,
UnsubscribeURL, SigningCertURL) work unsigned, as on AWS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from pipework.testing import RunningServer
from services.cloudformation.test_stacks import wait_for_status
from support.http import Endpoint, wait_for

from .conftest import ADMIN, ALICE, BOB, client

BOB_ROOT = "arn:aws:iam::222222222222:root"


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    e = Endpoint()
    yield e
    e.close()


def _topic_with_queue(server: RunningServer, name: str) -> tuple[str, str]:
    """A topic of account 111111111111 with an SQS subscription; returns (topic ARN, queue URL)."""
    sns, sqs = client(server, "sns", ADMIN), client(server, "sqs", ADMIN)
    topic = sns.create_topic(Name=name)["TopicArn"]
    url = sqs.create_queue(QueueName=f"{name}-inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    return topic, url


def _bodies(server: RunningServer, url: str, count: int) -> list[str]:
    sqs = client(server, "sqs", ADMIN)
    got: list[str] = []

    def more() -> bool:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            got.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return len(got) >= count

    wait_for(more, timeout=20)
    return got


def _denied(call: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as error:
        call()
    response: dict[str, Any] = error.value.response
    assert response["Error"]["Code"] == "AuthorizationError"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
    return response


def test_another_account_publishes_only_when_the_topic_policy_allows(secured: RunningServer) -> None:
    topic, url = _topic_with_queue(secured, "partner-news")
    bob = client(secured, "sns", BOB)  # account 222222222222, allowed sns:* by his own policy
    denied = _denied(lambda: bob.publish(TopicArn=topic, Message="too early"))
    assert denied["Error"]["Message"] == (
        f"User: arn:aws:iam::222222222222:user/bob is not authorized to perform: SNS:Publish on resource: {topic} "
        "because no resource-based policy allows the SNS:Publish action"
    )

    admin = client(secured, "sns", ADMIN)
    policy = json.loads(admin.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])  # AWS's default
    policy["Statement"].append(
        {"Sid": "bob-publishes", "Effect": "Allow", "Principal": {"AWS": BOB_ROOT}, "Action": "SNS:Publish",
         "Resource": topic}
    )  # fmt: skip
    admin.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps(policy))
    bob.publish(TopicArn=topic, Message="from bob")
    assert _bodies(secured, url, 1) == ["from bob"]
    # The policy allows Publish, not Subscribe.
    _denied(lambda: bob.subscribe(TopicArn=topic, Protocol="sqs", Endpoint="arn:aws:sqs:us-east-1:2:x"))

    policy["Statement"].append(
        {"Sid": "but-not-bob", "Effect": "Deny", "Principal": "*", "Action": "sns:*", "Resource": topic,
         "Condition": {"StringEquals": {"aws:username": "bob"}}}
    )  # fmt: skip
    admin.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps(policy))
    denied = _denied(lambda: bob.publish(TopicArn=topic, Message="denied again"))
    assert denied["Error"]["Message"].endswith("with an explicit deny in a resource-based policy")


def test_add_permission_lets_another_account_subscribe(secured: RunningServer) -> None:
    topic, _ = _topic_with_queue(secured, "partner-feed")
    bob_sqs = client(secured, "sqs", BOB)
    bob_queue = bob_sqs.create_queue(QueueName="bobs-feed")["QueueUrl"]
    bob_arn = bob_sqs.get_queue_attributes(QueueUrl=bob_queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    bob = client(secured, "sns", BOB)
    _denied(lambda: bob.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=bob_arn))
    client(secured, "sns", ADMIN).add_permission(
        TopicArn=topic, Label="bob-subscribes", AWSAccountId=["222222222222"], ActionName=["Subscribe"]
    )
    subscription = bob.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=bob_arn)["SubscriptionArn"]
    # A subscription's owner manages it, though the topic is another account's.
    attributes = bob.get_subscription_attributes(SubscriptionArn=subscription)["Attributes"]
    assert attributes["Owner"] == "222222222222"
    _denied(lambda: bob.publish(TopicArn=topic, Message="still not allowed to publish"))
    bob.unsubscribe(SubscriptionArn=subscription)


def test_the_default_topic_policy_grants_the_owners_account_and_a_replaced_one_does_not(
    secured: RunningServer,
) -> None:
    topic, url = _topic_with_queue(secured, "team-news")
    alice = client(secured, "sns", ALICE)  # account 111111111111; her identity policy grants only SQS
    alice.publish(TopicArn=topic, Message="by the default policy")  # AWS:SourceOwner is her account
    assert _bodies(secured, url, 1) == ["by the default policy"]
    only_bob = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": BOB_ROOT}, "Action": "sns:Publish", "Resource": topic}],
    }  # fmt: skip
    client(secured, "sns", ADMIN).set_topic_attributes(
        TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps(only_bob)
    )
    denied = _denied(lambda: alice.publish(TopicArn=topic, Message="no longer"))
    assert denied["Error"]["Message"].endswith(
        "because no identity-based policy allows the SNS:Publish action"
    )
    client(secured, "sns", BOB).publish(TopicArn=topic, Message="bob may")
    assert _bodies(secured, url, 1) == ["bob may"]


def test_a_topic_policy_given_at_creation_is_enforced(secured: RunningServer) -> None:
    admin = client(secured, "sns", ADMIN)
    arn = "arn:aws:sns:us-east-1:111111111111:created-open"
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "222222222222"}, "Action": "sns:Publish", "Resource": arn}],
    }  # fmt: skip
    assert (
        admin.create_topic(Name="created-open", Attributes={"Policy": json.dumps(policy)})["TopicArn"] == arn
    )
    assert "MessageId" in client(secured, "sns", BOB).publish(TopicArn=arn, Message="hello")


def test_a_rule_in_another_account_publishes_to_a_topic_only_when_its_policy_allows(
    secured_clocked: RunningServer,
) -> None:
    server = secured_clocked
    topic, url = _topic_with_queue(server, "cross-rule")
    events_b = client(server, "events", BOB)
    events_b.put_rule(Name="to-a", EventPattern=json.dumps({"source": ["b.app"]}))
    events_b.put_targets(Rule="to-a", Targets=[{"Id": "t", "Arn": topic}])
    events_b.put_events(Entries=[{"Source": "b.app", "DetailType": "first", "Detail": "{}"}])
    server.advance(0)
    sqs = client(server, "sqs", ADMIN)
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages") is None
    client(server, "sns", ADMIN).add_permission(
        TopicArn=topic, Label="b-rules", AWSAccountId=["222222222222"], ActionName=["Publish"]
    )
    events_b.put_events(Entries=[{"Source": "b.app", "DetailType": "second", "Detail": "{}"}])
    server.advance(0)
    (message,) = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"]
    assert json.loads(message["Body"])["detail-type"] == "second"


def test_subscribe_and_unsubscribe_urls_work_unsigned(secured: RunningServer, endpoint: Endpoint) -> None:
    sns = client(secured, "sns", ADMIN)
    topic = sns.create_topic(Name="hooks")["TopicArn"]
    assert sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=endpoint.url + "/sns")[
        "SubscriptionArn"
    ] == ("pending confirmation")
    confirmation = json.loads(wait_for(lambda: endpoint.requests and endpoint.requests[0])["body"])
    # The certificate that verifies SNS's messages is served unsigned too.
    certificate = httpx.get(confirmation["SigningCertURL"])
    assert certificate.status_code == 200 and certificate.content.startswith(b"-----BEGIN CERTIFICATE-----")

    confirmed = httpx.get(confirmation["SubscribeURL"])  # no Authorization: the Token is the authorization
    assert confirmed.status_code == 200, confirmed.text
    assert "<SubscriptionArn>arn:aws:sns:" in confirmed.text
    sns.publish(TopicArn=topic, Message="hello")
    notification = json.loads(wait_for(lambda: len(endpoint.requests) > 1 and endpoint.requests[1])["body"])
    assert notification["Message"] == "hello"
    assert httpx.get(notification["UnsubscribeURL"]).status_code == 200
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []

    # Only those two actions: any other unsigned request is refused, and a wrong token confirms nothing.
    refused = httpx.get(f"{secured.endpoint_url}/?Action=ListTopics")
    assert refused.status_code == 403 and "<Code>MissingAuthenticationToken</Code>" in refused.text
    forged = httpx.get(confirmation["SubscribeURL"].replace("Token=", "Token=x"))
    assert forged.status_code == 400 and "<Code>InvalidParameter</Code>" in forged.text


def test_an_authenticated_subscription_is_not_removed_by_its_unsigned_unsubscribe_url(
    secured: RunningServer, endpoint: Endpoint
) -> None:
    sns = client(secured, "sns", ADMIN)
    topic = sns.create_topic(Name="guarded-hooks")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=endpoint.url + "/sns")
    confirmation = json.loads(wait_for(lambda: endpoint.requests and endpoint.requests[0])["body"])
    subscription = sns.confirm_subscription(
        TopicArn=topic, Token=confirmation["Token"], AuthenticateOnUnsubscribe="true"
    )["SubscriptionArn"]
    refused = httpx.get(f"{secured.endpoint_url}/?Action=Unsubscribe&SubscriptionArn={subscription}")
    assert refused.status_code == 403 and "<Code>AuthorizationError</Code>" in refused.text
    assert len(sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]) == 1
    sns.unsubscribe(SubscriptionArn=subscription)  # signed by the topic's owner: removed
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []


def test_a_topic_policy_from_a_template_is_enforced(secured: RunningServer) -> None:
    template = {
        "Resources": {
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "stack-news"}},
            "Policy": {
                "Type": "AWS::SNS::TopicPolicy",
                "Properties": {
                    "Topics": [{"Ref": "Topic"}],
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Principal": {"AWS": BOB_ROOT}, "Action": "sns:Publish",
                                       "Resource": {"Ref": "Topic"}}],
                    },
                },
            },
        }
    }  # fmt: skip
    cfn = client(secured, "cloudformation", ADMIN)
    cfn.create_stack(StackName="sns-policy", TemplateBody=json.dumps(template))
    assert wait_for_status(cfn, "sns-policy")["StackStatus"] == "CREATE_COMPLETE"
    topic = "arn:aws:sns:us-east-1:111111111111:stack-news"
    bob = client(secured, "sns", BOB)
    assert "MessageId" in bob.publish(TopicArn=topic, Message="allowed by the stack's policy")
    _denied(lambda: bob.subscribe(TopicArn=topic, Protocol="sqs", Endpoint="arn:aws:sqs:us-east-1:2:x"))
