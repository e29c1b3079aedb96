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
