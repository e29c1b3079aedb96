"""Queue helpers for end-to-end tests: create a queue and learn its ARN, and drain what a target delivered."""

from __future__ import annotations

import time
from typing import Any


def make_queue(server: Any, name: str, **attributes: str) -> tuple[str, str]:
    """Create queue `name` on `server` (anything with ``.client("sqs")``); its (URL, ARN)."""
    sqs = server.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def receive_all(sqs: Any, url: str, expected: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Receive and delete messages (with all their attributes) until `expected` arrived or `timeout` passed.
    `sqs` is an SQS client, or a server whose ``.client("sqs")`` is used."""
    if not hasattr(sqs, "receive_message"):
        sqs = sqs.client("sqs")
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(messages) < expected and time.monotonic() < deadline:
        got = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"]
        ).get("Messages", [])
        for message in got:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        messages.extend(got)
    return messages


def queue_empty(server: Any, url: str) -> bool:
    """Whether the queue holds no message, visible or in flight."""
    attributes = server.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return bool(
        attributes["ApproximateNumberOfMessages"] == "0"
        and attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
    )
