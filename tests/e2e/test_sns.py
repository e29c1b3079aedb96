"""SNS end to end through boto3 against a real server: topics, SQS / HTTP / Lambda subscriptions with filter
policies and raw delivery, the SubscriptionConfirmation handshake, FIFO order and deduplication, delivery-policy
retries into a dead-letter queue, signatures verified as SNS verification code does, and SNS as a rule target."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from pipework.clock import ManualClock
from support.http import Endpoint, wait_for


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    e = Endpoint()
    yield e
    e.close()


def make_queue(sqs: Any, name: str, **attributes: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def receive(sqs: Any, url: str, count: int) -> list[dict[str, Any]]:
    """Wait for `count` messages in the queue and take them (deleting them)."""
    got: list[dict[str, Any]] = []

    def more() -> bool:
        answer = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=1
        )
        for message in answer.get("Messages", []):
            got.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return len(got) >= count

    wait_for(more, timeout=20)
    return got


def attrs(**values: str) -> dict[str, dict[str, str]]:
    return {k: {"DataType": "String", "StringValue": v} for k, v in values.items()}


def test_topic_lifecycle_is_idempotent_and_tagged(server):
    sns = server.client("sns")
    arn = sns.create_topic(Name="orders", Tags=[{"Key": "team", "Value": "shop"}])["TopicArn"]
    assert arn == "arn:aws:sns:us-east-1:000000000000:orders"
    assert sns.create_topic(Name="orders")["TopicArn"] == arn
    with pytest.raises(sns.exceptions.InvalidParameterException) as raised:
        sns.create_topic(Name="orders", Attributes={"DisplayName": "other"})
    assert "different attributes" in raised.value.response["Error"]["Message"]
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="Orders")
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["DisplayName"] == "Orders"
    sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "dev"}])
    sns.untag_resource(ResourceArn=arn, TagKeys=["team"])
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "env", "Value": "dev"}]
    sns.add_permission(TopicArn=arn, Label="partner", AWSAccountId=["111122223333"], ActionName=["Publish"])
    policy = json.loads(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["__default_statement_ID", "partner"]
    sns.remove_permission(TopicArn=arn, Label="partner")
    policy = json.loads(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["__default_statement_ID"]
    assert [t["TopicArn"] for t in sns.list_topics()["Topics"]] == [arn]
    sns.delete_topic(TopicArn=arn)
    sns.delete_topic(TopicArn=arn)  # deleting twice is no error
    assert sns.list_topics()["Topics"] == []
    with pytest.raises(sns.exceptions.NotFoundException):
        sns.get_topic_attributes(TopicArn=arn)


def test_bad_input_gets_sns_errors(server):
    sns = server.client("sns")
    arn = sns.create_topic(Name="t")["TopicArn"]
    cases = [
        (lambda: sns.create_topic(Name="bad name"), "InvalidParameter", "Invalid parameter: Topic Name"),
        (
            lambda: sns.publish(TopicArn=arn, Message=""),
            "InvalidParameter",
            "Invalid parameter: Empty message",
        ),
        (
            lambda: sns.subscribe(TopicArn=arn, Protocol="carrier-pigeon", Endpoint="x"),
            "InvalidParameter",
            "Invalid parameter: Amazon SNS does not support this protocol",
        ),
        (
            lambda: sns.subscribe(
                TopicArn=arn,
                Protocol="sqs",
                Endpoint="arn:aws:sqs:us-east-1:000000000000:q",
                Attributes={"FilterPolicy": '{"a": [{"wildcard": "x*"}]}'},
            ),
            "InvalidParameter",
            "Invalid parameter: FilterPolicy: Unrecognized match type wildcard",
        ),
        (
            lambda: sns.publish(TopicArn=arn + "-gone", Message="m"),
            "NotFound",
            "Topic does not exist",
        ),
        (
            lambda: sns.publish(TopicArn=arn, Message="m", MessageDeduplicationId="d"),
            "InvalidParameter",
            "Invalid parameter: MessageDeduplicationId Reason: The request includes MessageDeduplicationId "
            "parameter that is not valid for this topic type",
        ),
    ]
    for call, code, message in cases:
        with pytest.raises(ClientError) as raised:
            call()
        assert raised.value.response["Error"]["Code"] == code
        assert raised.value.response["Error"]["Message"] == message


def test_sqs_subscriptions_with_filter_policies_envelope_and_raw_delivery(server):
    sns, sqs = server.client("sns"), server.client("sqs")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    enveloped_url, enveloped = make_queue(sqs, "enveloped")
    raw_url, raw = make_queue(sqs, "raw")
    body_url, body_arn = make_queue(sqs, "by-body")
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=enveloped,
        Attributes={"FilterPolicy": json.dumps({"kind": ["paid"], "total": [{"numeric": [">", 100]}]})},
    )
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=raw,
        Attributes={"RawMessageDelivery": "true", "FilterPolicy": json.dumps({"kind": [{"prefix": "pa"}]})},
    )
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=body_arn, ReturnSubscriptionArn=True)
    sns.set_subscription_attributes(
        SubscriptionArn=sub["SubscriptionArn"],
        AttributeName="FilterPolicyScope",
        AttributeValue="MessageBody",
    )
    sns.set_subscription_attributes(
        SubscriptionArn=sub["SubscriptionArn"],
        AttributeName="FilterPolicy",
        AttributeValue=json.dumps({"order": {"country": ["NL"]}}),
    )
    big = {
        "kind": {"DataType": "String", "StringValue": "paid"},
        "total": {"DataType": "Number", "StringValue": "150"},
    }
    small = {
        "kind": {"DataType": "String", "StringValue": "paid"},
        "total": {"DataType": "Number", "StringValue": "5"},
    }
    first = sns.publish(
        TopicArn=topic, Message=json.dumps({"order": {"country": "NL"}}), Subject="Big", MessageAttributes=big
    )
    sns.publish(TopicArn=topic, Message=json.dumps({"order": {"country": "DE"}}), MessageAttributes=small)

    [enveloped_message] = receive(sqs, enveloped_url, 1)
    document = json.loads(enveloped_message["Body"])
    assert document["Type"] == "Notification"
    assert document["MessageId"] == first["MessageId"]
    assert document["TopicArn"] == topic
    assert document["Subject"] == "Big"
    assert json.loads(document["Message"]) == {"order": {"country": "NL"}}
    assert document["MessageAttributes"] == {
        "kind": {"Type": "String", "Value": "paid"},
        "total": {"Type": "Number", "Value": "150"},
    }
    assert document["SignatureVersion"] == "1"
    assert document["SigningCertURL"].endswith("/_pipework/sns/signing-cert.pem")
    assert "Action=Unsubscribe" in document["UnsubscribeURL"]

    raw_messages = receive(sqs, raw_url, 2)
    assert sorted(json.loads(m["Body"])["order"]["country"] for m in raw_messages) == ["DE", "NL"]
    assert {m["MessageAttributes"]["kind"]["StringValue"] for m in raw_messages} == {"paid"}

    [by_body] = receive(sqs, body_url, 1)
    assert json.loads(json.loads(by_body["Body"])["Message"]) == {"order": {"country": "NL"}}
    # Nothing else arrives: the filtered messages were not delivered.
    for url in (enveloped_url, body_url):
        assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages") is None


def _verify(document: dict[str, Any], pem: bytes) -> None:
    """What SNS verification code does: rebuild the string to sign from the message's type, then check the
    signature with the certificate the SigningCertURL serves (SHA1 for version 1, SHA256 for version 2)."""
    if document["Type"] == "Notification":
        fields = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    else:
        fields = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    text = "".join(f"{f}\n{document[f]}\n" for f in fields if f in document)
    certificate = x509.load_pem_x509_certificate(pem)
    algorithm = hashes.SHA256() if document["SignatureVersion"] == "2" else hashes.SHA1()
    certificate.public_key().verify(  # raises InvalidSignature when it does not verify
        base64.b64decode(document["Signature"]), text.encode(), padding.PKCS1v15(), algorithm
    )


@pytest.mark.parametrize("version", ["1", "2"])
def test_signatures_verify_with_the_certificate_at_the_signing_cert_url(server, version):
    from cryptography.exceptions import InvalidSignature

    sns, sqs = server.client("sns"), server.client("sqs")
    topic = sns.create_topic(Name="signed", Attributes={"SignatureVersion": version})["TopicArn"]
    url, arn = make_queue(sqs, "signed")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    sns.publish(TopicArn=topic, Message="verify me", Subject="s")
    document = json.loads(receive(sqs, url, 1)[0]["Body"])
    pem = httpx.get(document["SigningCertURL"]).content
    _verify(document, pem)
    tampered = {**document, "Message": "verify you"}
    with pytest.raises(InvalidSignature):
        _verify(tampered, pem)


def test_http_subscription_handshake_headers_filter_and_raw_delivery(server, endpoint):
    sns = server.client("sns")
    topic = sns.create_topic(Name="hooks")["TopicArn"]
    answer = sns.subscribe(
        TopicArn=topic,
        Protocol="http",
        Endpoint=endpoint.url + "/sns",
        Attributes={"FilterPolicy": json.dumps({"kind": ["paid"]})},
    )
    assert answer["SubscriptionArn"] == "pending confirmation"
    confirmation = wait_for(lambda: endpoint.requests and endpoint.requests[0])
    assert confirmation["headers"]["x-amz-sns-message-type"] == "SubscriptionConfirmation"
    assert confirmation["headers"]["x-amz-sns-topic-arn"] == topic
    document = json.loads(confirmation["body"])
    _verify(document, httpx.get(document["SigningCertURL"]).content)
    [pending] = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert pending["SubscriptionArn"] == "PendingConfirmation"
    sns.publish(TopicArn=topic, Message="before confirming", MessageAttributes=attrs(kind="paid"))

    # The endpoint confirms the way SNS documents it: a GET of the SubscribeURL.
    assert httpx.get(document["SubscribeURL"]).status_code == 200
    [confirmed] = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    subscription = confirmed["SubscriptionArn"]
    assert subscription.startswith(topic + ":")

    sns.publish(TopicArn=topic, Message="filtered out", MessageAttributes=attrs(kind="new"))
    sent = sns.publish(TopicArn=topic, Message="paid!", MessageAttributes=attrs(kind="paid"))
    notification = wait_for(lambda: len(endpoint.requests) >= 2 and endpoint.requests[1])
    headers = notification["headers"]
    assert headers["x-amz-sns-message-type"] == "Notification"
    assert headers["x-amz-sns-message-id"] == sent["MessageId"]
    assert headers["x-amz-sns-topic-arn"] == topic
    assert headers["x-amz-sns-subscription-arn"] == subscription
    assert json.loads(notification["body"])["Message"] == "paid!"

    sns.set_subscription_attributes(
        SubscriptionArn=subscription, AttributeName="RawMessageDelivery", AttributeValue="true"
    )
    sns.publish(TopicArn=topic, Message="raw body", MessageAttributes=attrs(kind="paid"))
    raw = wait_for(lambda: len(endpoint.requests) >= 3 and endpoint.requests[2])
    assert raw["body"] == "raw body"
    assert raw["headers"]["x-amz-sns-rawdelivery"] == "true"
    assert (
        len(endpoint.requests) == 3
    )  # nothing for the message published before confirming, nor the filtered one


def test_a_failing_http_subscription_ends_in_its_dead_letter_queue(make_server, endpoint):
    server = make_server(clock=ManualClock(start=1_800_000_000.0))
    sns, sqs = server.client("sns"), server.client("sqs")
    topic = sns.create_topic(Name="hooks")["TopicArn"]
    dlq_url, dlq = make_queue(sqs, "hooks-dlq")
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=endpoint.url + "/sns")
    server.advance(1)
    confirmation = json.loads(endpoint.requests[0]["body"])
    sns.confirm_subscription(TopicArn=topic, Token=confirmation["Token"])
    [listed] = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    subscription = listed["SubscriptionArn"]
    sns.set_subscription_attributes(
        SubscriptionArn=subscription,
        AttributeName="DeliveryPolicy",
        AttributeValue=json.dumps(
            {"healthyRetryPolicy": {"numRetries": 2, "minDelayTarget": 5, "maxDelayTarget": 5}}
        ),
    )
    sns.set_subscription_attributes(
        SubscriptionArn=subscription,
        AttributeName="RedrivePolicy",
        AttributeValue=json.dumps({"deadLetterTargetArn": dlq}),
    )
    endpoint.script = [(500, {}, 0.0)] * 3
    sent = sns.publish(TopicArn=topic, Message="never lands")
    server.advance(1)
    assert len(endpoint.requests) == 2  # the confirmation, then the first attempt
    server.advance(5)
    assert len(endpoint.requests) == 3  # first retry, after minDelayTarget
    server.advance(5)
    assert len(endpoint.requests) == 4  # second and last retry
    server.advance(60)
    assert len(endpoint.requests) == 4
    [dead] = sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=0)["Messages"]
    document = json.loads(dead["Body"])
    assert (document["MessageId"], document["Message"]) == (sent["MessageId"], "never lands")


def test_a_failing_sqs_subscription_goes_to_its_dlq_at_once(server):
    """A deleted queue is a client error: no retry helps, so the message goes to the dead-letter queue."""
    sns, sqs = server.client("sns"), server.client("sqs")
    topic = sns.create_topic(Name="t")["TopicArn"]
    dlq_url, dlq = make_queue(sqs, "t-dlq")
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint="arn:aws:sqs:us-east-1:000000000000:never-created",
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq}), "RawMessageDelivery": "true"},
    )
    sns.publish(TopicArn=topic, Message="lost?")
    [dead] = receive(sqs, dlq_url, 1)
    assert dead["Body"] == "lost?"


def test_fifo_topic_keeps_order_per_group_and_deduplicates(server):
    sns, sqs = server.client("sns"), server.client("sqs")
    topic = sns.create_topic(Name="orders.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    url, arn = make_queue(sqs, "orders.fifo", FifoQueue="true")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.publish(TopicArn=topic, Message="no group", MessageDeduplicationId="x")
    sequences = []
    for n in range(30):
        sent = sns.publish(
            TopicArn=topic, Message=f"{n % 2}:{n}", MessageGroupId=f"g{n % 2}", MessageDeduplicationId=f"d{n}"
        )
        sequences.append(int(sent["SequenceNumber"]))
    duplicate = sns.publish(TopicArn=topic, Message="again", MessageGroupId="g0", MessageDeduplicationId="d0")
    assert sequences == sorted(sequences)
    assert int(duplicate["SequenceNumber"]) == sequences[0]
    got = receive(sqs, url, 30)
    bodies = [m["Body"] for m in got]
    for group in ("0", "1"):
        mine = [int(b.split(":")[1]) for b in bodies if b.startswith(group + ":")]
        assert mine == sorted(mine) and len(mine) == 15
    assert "again" not in bodies


def test_content_based_deduplication_and_publish_batch(server):
    sns, sqs = server.client("sns"), server.client("sqs")
    topic = sns.create_topic(
        Name="batch.fifo", Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"}
    )["TopicArn"]
    url, arn = make_queue(sqs, "batch.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    answer = sns.publish_batch(
        TopicArn=topic,
        PublishBatchRequestEntries=[
            {"Id": "a", "Message": "one", "MessageGroupId": "g"},
            {"Id": "b", "Message": "two", "MessageGroupId": "g"},
            {"Id": "c", "Message": "one", "MessageGroupId": "g"},  # a duplicate of "a"
            {"Id": "d", "Message": "", "MessageGroupId": "g"},
        ],
    )
    assert [s["Id"] for s in answer["Successful"]] == ["a", "b", "c"]
    assert answer["Successful"][2]["MessageId"] == answer["Successful"][0]["MessageId"]
    assert answer["Failed"] == [
        {
            "Id": "d",
            "Code": "InvalidParameter",
            "Message": "Invalid parameter: Empty message",
            "SenderFault": True,
        }
    ]
    assert [m["Body"] for m in receive(sqs, url, 2)] == ["one", "two"]


def test_lambda_subscription_invokes_a_pipework_function(make_server):
    seen: list[Any] = []
    server = make_server(functions={"notify": lambda event, context: seen.append(event)})
    sns = server.client("sns")
    topic = sns.create_topic(Name="t")["TopicArn"]
    function = "arn:aws:lambda:us-east-1:000000000000:function:notify"
    subscription = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function)["SubscriptionArn"]
    sent = sns.publish(TopicArn=topic, Message="hi", MessageAttributes=attrs(kind="x"))
    wait_for(lambda: seen)
    [record] = seen[0]["Records"]
    assert record["EventSource"] == "aws:sns"
    assert record["EventSubscriptionArn"] == subscription
    assert record["Sns"]["MessageId"] == sent["MessageId"]
    assert record["Sns"]["Message"] == "hi"
    assert record["Sns"]["MessageAttributes"] == {"kind": {"Type": "String", "Value": "x"}}
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.set_subscription_attributes(
            SubscriptionArn=subscription, AttributeName="RawMessageDelivery", AttributeValue="true"
        )


def test_message_structure_json_sends_each_protocol_its_text(server):
    sns, sqs = server.client("sns"), server.client("sqs")
    topic = sns.create_topic(Name="t")["TopicArn"]
    url, arn = make_queue(sqs, "q")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    sns.publish(
        TopicArn=topic, MessageStructure="json", Message=json.dumps({"default": "d", "sqs": "for queues"})
    )
    assert json.loads(receive(sqs, url, 1)[0]["Body"])["Message"] == "for queues"


def test_rule_to_topic_to_two_queues_with_different_filter_policies(server):
    sns, sqs, events = server.client("sns"), server.client("sqs"), server.client("events")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    big_url, big = make_queue(sqs, "big")
    nl_url, nl = make_queue(sqs, "nl")
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=big,
        Attributes={
            "FilterPolicyScope": "MessageBody",
            "FilterPolicy": json.dumps({"detail": {"total": [{"numeric": [">=", 100]}]}}),
            "RawMessageDelivery": "true",
        },
    )
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=nl,
        Attributes={
            "FilterPolicyScope": "MessageBody",
            "FilterPolicy": json.dumps({"detail": {"country": ["NL"]}}),
            "RawMessageDelivery": "true",
        },
    )
    events.put_rule(Name="orders", EventPattern=json.dumps({"source": ["shop"]}))
    events.put_targets(Rule="orders", Targets=[{"Id": "topic", "Arn": topic}])
    entries = [
        {"total": 150, "country": "NL"},
        {"total": 20, "country": "NL"},
        {"total": 500, "country": "DE"},
        {"total": 1, "country": "FR"},
    ]
    events.put_events(
        Entries=[{"Source": "shop", "DetailType": "Order", "Detail": json.dumps(d)} for d in entries]
    )
    big_got = sorted(json.loads(m["Body"])["detail"]["total"] for m in receive(sqs, big_url, 2))
    nl_got = sorted(json.loads(m["Body"])["detail"]["total"] for m in receive(sqs, nl_url, 2))
    assert big_got == [150, 500]
    assert nl_got == [20, 150]


def test_unsubscribe_url_and_subscription_listing(server):
    sns, sqs = server.client("sns"), server.client("sqs")
    topic = sns.create_topic(Name="t")["TopicArn"]
    url, arn = make_queue(sqs, "q")
    subscription = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)["SubscriptionArn"]
    assert sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)["SubscriptionArn"] == subscription
    assert [s["SubscriptionArn"] for s in sns.list_subscriptions()["Subscriptions"]] == [subscription]
    sns.publish(TopicArn=topic, Message="m")
    document = json.loads(receive(sqs, url, 1)[0]["Body"])
    assert httpx.get(document["UnsubscribeURL"]).status_code == 200
    assert sns.list_subscriptions()["Subscriptions"] == []
    with pytest.raises(sns.exceptions.NotFoundException):
        sns.get_subscription_attributes(SubscriptionArn=subscription)


def test_a_pipe_and_a_schedule_deliver_to_a_topic(make_server):
    clock = ManualClock(start=1_800_000_000.0)
    server = make_server(clock=clock)
    sns, sqs, pipes = server.client("sns"), server.client("sqs"), server.client("pipes")
    scheduler = server.client("scheduler")
    topic = sns.create_topic(Name="t")["TopicArn"]
    out_url, out = make_queue(sqs, "out")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=out, Attributes={"RawMessageDelivery": "true"})
    source_url, source = make_queue(sqs, "source")
    role = "arn:aws:iam::000000000000:role/r"
    pipes.create_pipe(Name="to-topic", Source=source, Target=topic, RoleArn=role)
    wait_for(lambda: pipes.describe_pipe(Name="to-topic")["CurrentState"] == "RUNNING")
    sqs.send_message(QueueUrl=source_url, MessageBody='{"from": "pipe"}')
    scheduler.create_schedule(
        Name="to-topic",
        ScheduleExpression="rate(1 minute)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": topic, "RoleArn": role, "Input": '{"from": "schedule"}'},
    )
    server.advance(61)
    bodies: list[dict[str, Any]] = []

    def both_arrived() -> bool:
        answer = sqs.receive_message(QueueUrl=out_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in answer.get("Messages", []):
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=out_url, ReceiptHandle=message["ReceiptHandle"])
        records = [b for b in bodies if b.get("eventSource") == "aws:sqs"]
        return bool(records) and {"from": "schedule"} in bodies

    wait_for(both_arrived, timeout=20)
    # The pipe publishes the SQS record (its body inside); the schedule publishes its Input at each occurrence.
    records = [b for b in bodies if b.get("eventSource") == "aws:sqs"]
    assert [r["body"] for r in records] == ['{"from": "pipe"}']
    assert all(b == {"from": "schedule"} for b in bodies if b not in records)


def test_list_operations_page_by_100_and_refuse_tokens_they_did_not_issue(server):
    sns, sqs = server.client("sns"), server.client("sqs")
    topics = [sns.create_topic(Name=f"t{n:03d}")["TopicArn"] for n in range(101)]
    first = sns.list_topics()
    assert len(first["Topics"]) == 100
    rest = sns.list_topics(NextToken=first["NextToken"])
    assert [t["TopicArn"] for t in first["Topics"] + rest["Topics"]] == topics
    assert "NextToken" not in rest
    _, queue = make_queue(sqs, "q")
    sns.subscribe(TopicArn=topics[0], Protocol="sqs", Endpoint=queue)
    for call in (
        lambda: sns.list_topics(NextToken="garbage"),
        lambda: sns.list_subscriptions(NextToken=first["NextToken"]),  # another operation's token
        lambda: sns.list_subscriptions_by_topic(TopicArn=topics[0], NextToken="x"),
    ):
        with pytest.raises(sns.exceptions.InvalidParameterException) as raised:
            call()
        assert raised.value.response["Error"]["Message"] == "Invalid parameter: NextToken"


def test_unsubscribing_stops_the_retries_of_queued_messages(make_server, endpoint):
    server = make_server(clock=ManualClock(start=1_800_000_000.0))
    sns = server.client("sns")
    topic = sns.create_topic(Name="hooks")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=endpoint.url + "/sns")
    server.advance(1)
    token = json.loads(endpoint.requests[0]["body"])["Token"]
    subscription = sns.confirm_subscription(TopicArn=topic, Token=token)["SubscriptionArn"]
    endpoint.script = [(503, {}, 0.0)] * 5
    sns.publish(TopicArn=topic, Message="retried until unsubscribed")
    server.advance(1)
    assert len(endpoint.requests) == 2  # the confirmation, then the first (failed) attempt
    sns.unsubscribe(SubscriptionArn=subscription)
    server.advance(120)  # past every retry of the default policy (3, 20 s apart)
    assert len(endpoint.requests) == 2


def test_a_message_a_rule_publishes_is_signed_with_this_server_s_certificate_url(server):
    sns, sqs, events = server.client("sns"), server.client("sqs"), server.client("events")
    topic = sns.create_topic(Name="from-rule")["TopicArn"]
    url, queue = make_queue(sqs, "from-rule")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue)
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["shop"]}))
    events.put_targets(Rule="r", Targets=[{"Id": "topic", "Arn": topic}])
    events.put_events(Entries=[{"Source": "shop", "DetailType": "Order", "Detail": "{}"}])
    document = json.loads(receive(sqs, url, 1)[0]["Body"])
    assert document["SigningCertURL"].startswith(server.endpoint_url)
    _verify(document, httpx.get(document["SigningCertURL"]).content)


def test_a_cloudformation_stack_makes_a_topic_with_a_filtered_raw_subscription(server):
    cfn, sns, sqs = server.client("cloudformation"), server.client("sns"), server.client("sqs")
    template = {
        "Resources": {
            "Paid": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "paid"}},
            "Orders": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "orders"}},
            "PaidOnly": {
                "Type": "AWS::SNS::Subscription",
                "Properties": {
                    "TopicArn": {"Ref": "Orders"},
                    "Protocol": "sqs",
                    "Endpoint": {"Fn::GetAtt": ["Paid", "Arn"]},
                    "RawMessageDelivery": True,
                    "FilterPolicy": {"status": ["paid"]},
                },
            },
        }
    }
    cfn.create_stack(StackName="shop", TemplateBody=json.dumps(template))
    wait_for(lambda: cfn.describe_stacks(StackName="shop")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE")
    topic = "arn:aws:sns:us-east-1:000000000000:orders"
    for status in ("new", "paid"):
        sns.publish(TopicArn=topic, Message=status, MessageAttributes=attrs(status=status))
    url = sqs.get_queue_url(QueueName="paid")["QueueUrl"]
    assert [m["Body"] for m in receive(sqs, url, 1)] == ["paid"]
    cfn.delete_stack(StackName="shop")
    wait_for(lambda: sns.list_topics()["Topics"] == [])


def test_an_alarm_action_publishes_to_a_topic(server):
    sns, sqs, cloudwatch = server.client("sns"), server.client("sqs"), server.client("cloudwatch")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    url, queue = make_queue(sqs, "on-call")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue)
    cloudwatch.put_metric_alarm(
        AlarmName="high-load",
        Namespace="Grid",
        MetricName="Load",
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=90,
        ComparisonOperator="GreaterThanThreshold",
        AlarmActions=[topic],
    )
    cloudwatch.set_alarm_state(AlarmName="high-load", StateValue="ALARM", StateReason="drill")
    document = json.loads(receive(sqs, url, 1)[0]["Body"])
    assert document["TopicArn"] == topic
    alarm = json.loads(document["Message"])
    assert (alarm["AlarmName"], alarm["NewStateValue"]) == ("high-load", "ALARM")
