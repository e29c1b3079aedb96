"""Dead-letter queues: messages received more than maxReceiveCount times move to the DLQ with nothing lost (driven
by the ManualClock), redrive policy checks, ListDeadLetterSourceQueues, and message move tasks back out of the DLQ."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from support.http import wait_for

from .conftest import Sqs
from .test_queues import error_of


def with_dlq(sqs: Sqs, max_receive_count: int = 2, fifo: bool = False) -> tuple[str, str]:
    suffix = ".fifo" if fifo else ""
    extra = {"FifoQueue": "true", "ContentBasedDeduplication": "true"} if fifo else {}
    dlq = sqs.create("dead" + suffix, **extra)
    policy = json.dumps({"deadLetterTargetArn": sqs.arn(dlq), "maxReceiveCount": max_receive_count})
    source = sqs.create("work" + suffix, VisibilityTimeout=10, RedrivePolicy=policy, **extra)
    return source, dlq


def test_a_message_received_more_than_max_receive_count_times_moves_to_the_dlq(sqs: Sqs) -> None:
    source, dlq = with_dlq(sqs, max_receive_count=2)
    sent = sqs.client.send_message(
        QueueUrl=source,
        MessageBody="poison",
        MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}},
    )
    for _ in range(2):
        assert sqs.bodies(source) == ["poison"]
        sqs.advance(10)
    assert sqs.receive(source) == []  # the third receive moved it instead
    (dead,) = sqs.receive(dlq, MessageAttributeNames=["All"], MessageSystemAttributeNames=["All"])
    assert dead["MessageId"] == sent["MessageId"] and dead["Body"] == "poison"
    assert dead["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert dead["Attributes"]["DeadLetterQueueSourceArn"] == sqs.arn(source)
    assert sqs.attributes(source, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible") == {
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
    }


def test_fifo_redrive_keeps_the_group_moving(sqs: Sqs) -> None:
    source, dlq = with_dlq(sqs, max_receive_count=1, fifo=True)
    for body in ("bad", "good"):
        sqs.client.send_message(QueueUrl=source, MessageBody=body, MessageGroupId="g")
    assert sqs.bodies(source) == ["bad"]
    sqs.advance(10)
    assert sqs.bodies(source) == ["good"]
    assert sqs.bodies(dlq) == ["bad"]


def test_redrive_policy_needs_an_existing_dlq_of_the_same_type(sqs: Sqs) -> None:
    policy = {"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:nowhere", "maxReceiveCount": 3}
    with pytest.raises(ClientError) as excinfo:
        sqs.create("work", RedrivePolicy=json.dumps(policy))
    assert error_of(excinfo)[0] == "InvalidParameterValue"
    assert error_of(excinfo)[1].endswith("Reason: Dead letter target does not exist.")
    fifo_dlq = sqs.create("dead.fifo", FifoQueue="true")
    policy["deadLetterTargetArn"] = sqs.arn(fifo_dlq)
    with pytest.raises(ClientError) as excinfo:
        sqs.create("work", RedrivePolicy=json.dumps(policy))
    assert error_of(excinfo)[1].endswith(
        "Reason: Dead-letter queue must be same type of queue as the source."
    )
    policy["maxReceiveCount"] = 0
    with pytest.raises(ClientError):
        sqs.create("work", RedrivePolicy=json.dumps(policy))


def test_redrive_allow_policy_decides_who_may_use_a_queue_as_dlq(sqs: Sqs) -> None:
    dlq = sqs.create("dead", RedriveAllowPolicy=json.dumps({"redrivePermission": "denyAll"}))
    policy = json.dumps({"deadLetterTargetArn": sqs.arn(dlq), "maxReceiveCount": 3})
    with pytest.raises(ClientError) as excinfo:
        sqs.create("work", RedrivePolicy=policy)
    assert "does not allow this queue to use it as a dead-letter queue" in error_of(excinfo)[1]
    allowed = "arn:aws:sqs:us-east-1:000000000000:work"
    sqs.client.set_queue_attributes(
        QueueUrl=dlq,
        Attributes={
            "RedriveAllowPolicy": json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [allowed]})
        },
    )
    sqs.create("work", RedrivePolicy=policy)
    with pytest.raises(ClientError):
        sqs.create("other", RedrivePolicy=policy)


def test_redrive_policy_can_be_removed_with_an_empty_value(sqs: Sqs) -> None:
    source, _ = with_dlq(sqs)
    sqs.client.set_queue_attributes(QueueUrl=source, Attributes={"RedrivePolicy": ""})
    assert "RedrivePolicy" not in sqs.attributes(source)


def test_list_dead_letter_source_queues(sqs: Sqs) -> None:
    source, dlq = with_dlq(sqs)
    assert sqs.client.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [source]
    assert sqs.client.list_dead_letter_source_queues(QueueUrl=source)["queueUrls"] == []


def test_list_dead_letter_source_queues_pages(sqs: Sqs) -> None:
    dlq = sqs.create("dead")
    policy = json.dumps({"deadLetterTargetArn": sqs.arn(dlq), "maxReceiveCount": 2})
    urls = [sqs.create(name, RedrivePolicy=policy) for name in ("a", "b", "c")]
    first = sqs.client.list_dead_letter_source_queues(QueueUrl=dlq, MaxResults=2)
    assert first["queueUrls"] == urls[:2]
    second = sqs.client.list_dead_letter_source_queues(
        QueueUrl=dlq, MaxResults=2, NextToken=first["NextToken"]
    )
    assert second["queueUrls"] == urls[2:] and "NextToken" not in second


@pytest.mark.parametrize(
    "params",
    [
        {"NextToken": "a"},  # not base64 (bad padding)
        {"NextToken": "_w=="},  # base64 of b"\xff": not UTF-8
        {"NextToken": "%%%garbage%%%"},
        {"MaxResults": -1},
        {"MaxResults": 0},
        {"MaxResults": 1001},
    ],
)
def test_list_dead_letter_source_queues_rejects_bad_paging(sqs: Sqs, params: dict[str, object]) -> None:
    dlq = sqs.create("dead")
    policy = json.dumps({"deadLetterTargetArn": sqs.arn(dlq), "maxReceiveCount": 2})
    sqs.create("a", RedrivePolicy=policy)
    with pytest.raises(ClientError) as excinfo:
        sqs.client.list_dead_letter_source_queues(QueueUrl=dlq, **params)
    code, message = error_of(excinfo)
    assert code == "InvalidParameterValue"
    if "MaxResults" in params:
        assert message == (
            f"Value {params['MaxResults']} for parameter MaxResults is invalid. "
            "Reason: MaxResults must be an integer between 1 and 1000."
        )
    else:
        assert message == "Invalid NextToken value."
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def dead_letter(sqs: Sqs, source: str, bodies: list[str]) -> None:
    for body in bodies:
        sqs.client.send_message(QueueUrl=source, MessageBody=body)
    for _ in range(2):
        sqs.receive(source, MaxNumberOfMessages=10)
        sqs.advance(10)
    assert sqs.receive(source, MaxNumberOfMessages=10) == []


def test_message_move_task_moves_dead_letters_back_to_their_source(sqs: Sqs) -> None:
    source, dlq = with_dlq(sqs)
    dead_letter(sqs, source, ["a", "b", "c"])
    handle = sqs.client.start_message_move_task(SourceArn=sqs.arn(dlq))["TaskHandle"]
    tasks = sqs.client.list_message_move_tasks

    wait_for(lambda: tasks(SourceArn=sqs.arn(dlq))["Results"][0]["Status"] == "COMPLETED")
    (task,) = tasks(SourceArn=sqs.arn(dlq), MaxResults=10)["Results"]
    assert task["ApproximateNumberOfMessagesMoved"] == 3 and task["ApproximateNumberOfMessagesToMove"] == 3
    assert "TaskHandle" not in task  # only running tasks show their handle
    received = sqs.receive(
        source, MaxNumberOfMessages=10, MessageSystemAttributeNames=["ApproximateReceiveCount"]
    )
    assert sorted(m["Body"] for m in received) == ["a", "b", "c"]
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in received} == {"1"}  # a fresh start
    with pytest.raises(sqs.client.exceptions.ResourceNotFoundException):
        sqs.client.cancel_message_move_task(TaskHandle=handle)


def test_message_move_task_to_an_explicit_destination(sqs: Sqs) -> None:
    source, dlq = with_dlq(sqs)
    elsewhere = sqs.create("elsewhere")
    dead_letter(sqs, source, ["a"])
    sqs.client.start_message_move_task(SourceArn=sqs.arn(dlq), DestinationArn=sqs.arn(elsewhere))
    wait_for(
        lambda: (
            sqs.client.list_message_move_tasks(SourceArn=sqs.arn(dlq))["Results"][0]["Status"] == "COMPLETED"
        )
    )
    assert sqs.bodies(elsewhere) == ["a"]


def test_message_move_task_errors(sqs: Sqs) -> None:
    source, _ = with_dlq(sqs)
    with pytest.raises(ClientError) as excinfo:
        sqs.client.start_message_move_task(SourceArn=sqs.arn(source))
    assert error_of(excinfo) == (
        "InvalidParameterValue",
        "Source queue must be configured as a Dead Letter Queue.",
    )
    with pytest.raises(sqs.client.exceptions.ResourceNotFoundException):
        sqs.client.start_message_move_task(SourceArn="arn:aws:sqs:us-east-1:000000000000:nope")


def test_a_rate_limited_move_task_can_be_cancelled(sqs: Sqs) -> None:
    source, dlq = with_dlq(sqs)
    dead_letter(sqs, source, [str(i) for i in range(5)])
    # One message a second on the ManualClock: the task moves one batch, then waits for the clock.
    handle = sqs.client.start_message_move_task(SourceArn=sqs.arn(dlq), MaxNumberOfMessagesPerSecond=1)[
        "TaskHandle"
    ]
    wait_for(lambda: sqs.sleepers() > 0)
    running = sqs.client.list_message_move_tasks(SourceArn=sqs.arn(dlq))["Results"][0]
    assert running["Status"] == "RUNNING" and running["TaskHandle"] == handle
    with pytest.raises(ClientError):
        sqs.client.start_message_move_task(SourceArn=sqs.arn(dlq))  # one active task per source
    sqs.client.cancel_message_move_task(TaskHandle=handle)
    sqs.advance(3600)
    wait_for(
        lambda: (
            sqs.client.list_message_move_tasks(SourceArn=sqs.arn(dlq))["Results"][0]["Status"] == "CANCELLED"
        )
    )
