"""The queue target against a real instance's SQS: messages with their group, deduplication and attributes, and
the failures a retry cannot fix."""

from __future__ import annotations

import pytest

from pipework.app import Pipework
from pipework.connectors.targets import Message, TargetError
from pipework.connectors.targets.queue import QueueTarget, queue_url

from .conftest import call

pytestmark = pytest.mark.anyio
ARN = "arn:aws:sqs:us-east-1:000000000000:"


async def receive(pipework: Pipework, name: str) -> list[dict]:
    result = await call(
        pipework,
        "sqs",
        "ReceiveMessage",
        QueueUrl=queue_url(ARN + name),
        MaxNumberOfMessages=10,
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["All"],
    )
    return list(result.get("Messages", []))


async def test_each_message_is_one_sendmessage_with_its_attributes(pipework: Pipework) -> None:
    await call(pipework, "sqs", "CreateQueue", QueueName="orders")
    target = QueueTarget(pipework.api)
    attributes = {"RULE_ARN": {"DataType": "String", "StringValue": "r"}}
    sent = await target.send(ARN + "orders", [Message("one", attributes=attributes), Message({"n": 2})])
    assert sent.failed == {}
    messages = await receive(pipework, "orders")
    assert [m["Body"] for m in messages] == ["one", '{"n":2}']
    assert messages[0]["MessageAttributes"]["RULE_ARN"]["StringValue"] == "r"


async def test_a_fifo_message_keeps_its_group_and_gets_a_deduplication_id(pipework: Pipework) -> None:
    await call(pipework, "sqs", "CreateQueue", QueueName="jobs.fifo", Attributes={"FifoQueue": "true"})
    target = QueueTarget(pipework.api)
    await target.send(ARN + "jobs.fifo", [Message("a", group_id="g1"), Message("a", group_id="g1")])
    await target.send(ARN + "jobs.fifo", [Message("b", group_id="g1", deduplication_id="same")] * 2)
    messages = await receive(pipework, "jobs.fifo")
    # Without an id each delivery is its own message; with one, SQS deduplicates.
    assert [m["Body"] for m in messages] == ["a", "a", "b"]
    assert {m["Attributes"]["MessageGroupId"] for m in messages} == {"g1"}


async def test_a_missing_queue_is_not_retryable_and_named_no_resource(pipework: Pipework) -> None:
    with pytest.raises(TargetError) as raised:
        await QueueTarget(pipework.api).send(ARN + "nowhere", [Message("x")])
    assert raised.value.retryable is False
    assert raised.value.reason == "NO_RESOURCE"
    assert raised.value.as_reason().code == "NO_RESOURCE"
    assert raised.value.code == "QueueDoesNotExist"  # SQS's own code, which Scheduler reports
