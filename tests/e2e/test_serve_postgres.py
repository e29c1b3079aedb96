"""`pipework serve --store postgresql://…` (or PIPEWORK_STORE): two server processes on one database share what
the store holds — messages sent through one are received and deleted through the other — and neither prints the
database password.

(The second node starts after the queue exists: services still cache definitions loaded at start, and invalidating
those caches across nodes is the multi-node layer's work, not the store's.)"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from support.postgres import drop_schema, new_schema, require_postgres


@pytest.fixture
def store_url() -> str:
    url = require_postgres()
    schema = new_schema()
    yield f"{url}?schema={schema}"
    asyncio.run(drop_schema(schema))


def test_two_nodes_on_one_database_share_queues_and_messages(
    server_process, tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Auth is sigv4 by default with a PostgreSQL store (tests/auth/test_serve_auth.py); this test is about the store.
    first = server_process(tmp_path / "a", "--store", store_url, "--auth", "off")
    sqs_a = first.client("sqs")
    url = sqs_a.create_queue(QueueName="orders")["QueueUrl"]
    monkeypatch.setenv("PIPEWORK_STORE", store_url)  # the second node takes the store from the environment
    second = server_process(tmp_path / "b", "--auth", "off")
    for node in (first, second):
        banner = "".join(node.output)
        assert "store postgresql://pipework:***@127.0.0.1:5432/pipework_test" in banner
        assert ":pipework@" not in banner

    sqs_b = second.client("sqs")
    assert [u.rsplit("/", 1)[1] for u in sqs_b.list_queues()["QueueUrls"]] == ["orders"]
    queue_b = sqs_b.get_queue_url(QueueName="orders")["QueueUrl"]
    sqs_a.send_message(QueueUrl=url, MessageBody="hello")
    (message,) = sqs_b.receive_message(QueueUrl=queue_b, WaitTimeSeconds=1)["Messages"]
    assert message["Body"] == "hello"
    assert sqs_a.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages", []) == []  # in flight
    sqs_b.delete_message(QueueUrl=queue_b, ReceiptHandle=message["ReceiptHandle"])
    attributes = sqs_a.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (
        attributes["ApproximateNumberOfMessages"],
        attributes["ApproximateNumberOfMessagesNotVisible"],
    ) == (
        "0",
        "0",
    )
    assert first.stop() == 0 and second.stop() == 0
    assert not os.path.exists(tmp_path / "a" / "pipework.db")  # nothing went to the SQLite store
