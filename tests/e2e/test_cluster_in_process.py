"""Two instances (`Pipework.open`) on one PostgreSQL schema in one process: what nodes must agree on when they
race, checked without the cost of server processes."""

from __future__ import annotations

import asyncio

import pytest

from pipework.app import Pipework, Settings
from support.postgres import drop_schema, new_schema, require_postgres

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_two_nodes_sending_one_deduplication_id_at_once_enqueue_one_message() -> None:
    url = require_postgres()
    schema = new_schema()
    store = f"{url}?schema={schema}&pool_min=1&pool_max=4"
    nodes = [await Pipework.open(Settings(store=store, port=0)) for _ in range(2)]
    try:
        first, second = (node.api.call for node in nodes)
        queue = await first(
            "sqs", "CreateQueue", {"QueueName": "race.fifo", "Attributes": {"FifoQueue": "true"}}
        )
        url_ = queue["QueueUrl"]
        for _ in range(50):  # the second node follows the new queue
            try:
                await second("sqs", "GetQueueUrl", {"QueueName": "race.fifo"})
                break
            except Exception:
                await asyncio.sleep(0.05)
        for n in range(20):
            params = {
                "QueueUrl": url_,
                "MessageBody": str(n),
                "MessageGroupId": "g",
                "MessageDeduplicationId": f"d{n}",
            }
            answers = await asyncio.gather(
                first("sqs", "SendMessage", params), second("sqs", "SendMessage", params)
            )
            assert answers[0]["MessageId"] == answers[1]["MessageId"]  # one message, the other a duplicate
        attributes = await first(
            "sqs", "GetQueueAttributes", {"QueueUrl": url_, "AttributeNames": ["ApproximateNumberOfMessages"]}
        )
        assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "20"
    finally:
        for node in nodes:
            await node.close()
        await drop_schema(schema)


async def test_a_change_whose_notification_was_lost_is_followed_at_the_next_version_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pipework.app

    monkeypatch.setattr(pipework.app, "VERSION_CHECK", 0.5)
    url = require_postgres()
    schema = new_schema()
    store = f"{url}?schema={schema}&pool_min=1&pool_max=4"
    nodes = [await Pipework.open(Settings(store=store, port=0)) for _ in range(2)]
    try:
        writer, follower = nodes

        async def silent(
            *_: object,
        ) -> None:  # as if the node died between its commits and their notification
            return None

        monkeypatch.setattr(writer.store, "_tell_others", silent)
        await writer.api.call("sqs", "CreateQueue", {"QueueName": "unannounced"})
        await writer.api.call("events", "PutRule", {"Name": "quiet", "ScheduleExpression": "rate(1 hour)"})
        loop = asyncio.get_running_loop()
        started = loop.time()
        while True:
            try:
                await follower.api.call("sqs", "GetQueueUrl", {"QueueName": "unannounced"})
                await follower.api.call("events", "DescribeRule", {"Name": "quiet"})
                break
            except Exception:
                assert loop.time() - started < 10, "the follower never saw the change"
                await asyncio.sleep(0.05)
        await writer.api.call("sqs", "DeleteQueue", {"QueueUrl": "unannounced"})
        while True:  # deletions are followed too
            try:
                await follower.api.call("sqs", "GetQueueUrl", {"QueueName": "unannounced"})
            except Exception:
                break
            assert loop.time() - started < 20, "the follower never saw the deletion"
            await asyncio.sleep(0.05)
    finally:
        for node in nodes:
            await node.close()
        await drop_schema(schema)
