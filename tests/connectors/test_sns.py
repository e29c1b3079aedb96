"""The sns target against a real instance's SNS: each message is one Publish that fans out to the topic's
subscriptions, a FIFO message keeps its group, and a missing topic is a failure no retry can fix."""

from __future__ import annotations

import pytest

from pipework.app import Pipework
from pipework.connectors.targets import Message, TargetError
from pipework.connectors.targets.queue import queue_url
from pipework.connectors.targets.sns import SnsTarget

from .conftest import call

pytestmark = pytest.mark.anyio
TOPIC = "arn:aws:sns:us-east-1:000000000000:"
QUEUE = "arn:aws:sqs:us-east-1:000000000000:"


async def subscribed_queue(pipework: Pipework, topic: str, queue: str, **attributes: str) -> None:
    await call(pipework, "sqs", "CreateQueue", QueueName=queue, Attributes=attributes)
    await call(
        pipework,
        "sns",
        "Subscribe",
        TopicArn=TOPIC + topic,
        Protocol="sqs",
        Endpoint=QUEUE + queue,
        Attributes={"RawMessageDelivery": "true"},
    )


async def bodies(pipework: Pipework, queue: str, count: int) -> list[str]:
    got: list[str] = []
    for _ in range(count):  # each drain delivers what is due; a FIFO group's next message after the ack
        await pipework.sns.drain()
        result = await call(
            pipework, "sqs", "ReceiveMessage", QueueUrl=queue_url(QUEUE + queue), MaxNumberOfMessages=10
        )
        got += [m["Body"] for m in result.get("Messages", [])]
        if len(got) >= count:
            break
    return got


async def test_each_message_is_one_publish_delivered_to_the_subscriptions(pipework: Pipework) -> None:
    await call(pipework, "sns", "CreateTopic", Name="orders")
    await subscribed_queue(pipework, "orders", "orders-q")
    sent = await SnsTarget(pipework.api).send(TOPIC + "orders", [Message("one"), Message({"n": 2})])
    assert sent.failed == {}
    assert all(r["MessageId"] for r in sent.responses)
    assert sorted(await bodies(pipework, "orders-q", 2)) == ["one", '{"n":2}']


async def test_a_fifo_topic_message_keeps_its_group(pipework: Pipework) -> None:
    await call(pipework, "sns", "CreateTopic", Name="jobs.fifo", Attributes={"FifoTopic": "true"})
    await subscribed_queue(pipework, "jobs.fifo", "jobs.fifo", FifoQueue="true")
    await SnsTarget(pipework.api).send(
        TOPIC + "jobs.fifo", [Message("a", group_id="g"), Message("b", group_id="g")]
    )
    assert await bodies(pipework, "jobs.fifo", 2) == ["a", "b"]


async def test_a_missing_topic_is_not_retryable_and_named_no_resource(pipework: Pipework) -> None:
    with pytest.raises(TargetError) as raised:
        await SnsTarget(pipework.api).send(TOPIC + "nowhere", [Message("x")])
    assert raised.value.retryable is False
    assert raised.value.reason == "NO_RESOURCE"
    assert raised.value.code == "NotFound"
