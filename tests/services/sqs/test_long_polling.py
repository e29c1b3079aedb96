"""Long polling: a waiting ReceiveMessage returns as soon as a message arrives, times out on the ManualClock, and
does not hold up other requests (the event loop keeps serving)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from .conftest import Sqs


def receive_in_thread(sqs: Sqs, url: str, **params: Any) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []
    client = sqs.server.client(
        "sqs", read_timeout=60
    )  # its own client: boto3 clients are not shared across threads

    def run() -> None:
        out.append(client.receive_message(QueueUrl=url, **params).get("Messages", []))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def wait_until_waiting(sqs: Sqs, count: int = 1) -> None:
    deadline = time.monotonic() + 5
    while sqs.sleepers() < count:
        assert time.monotonic() < deadline, "the receive never started waiting"
        time.sleep(0.005)


def test_a_waiting_receive_returns_when_a_message_is_sent(sqs: Sqs) -> None:
    url = sqs.create("q")
    thread, out = receive_in_thread(sqs, url, WaitTimeSeconds=20)
    wait_until_waiting(sqs)
    # While it waits, the server keeps answering other requests.
    assert sqs.attributes(url, "ApproximateNumberOfMessages") == {"ApproximateNumberOfMessages": "0"}
    sqs.client.send_message(QueueUrl=url, MessageBody="wake up")
    thread.join(5)
    assert [m["Body"] for m in out[0]] == ["wake up"]


def test_a_waiting_receive_returns_empty_after_the_wait_time(sqs: Sqs) -> None:
    url = sqs.create("q")
    thread, out = receive_in_thread(sqs, url, WaitTimeSeconds=20)
    wait_until_waiting(sqs)
    sqs.advance(19)
    time.sleep(0.05)
    assert thread.is_alive()
    sqs.advance(1)
    thread.join(5)
    assert out == [[]]


def test_the_queue_wait_time_attribute_makes_receives_long_poll(sqs: Sqs) -> None:
    url = sqs.create("q", ReceiveMessageWaitTimeSeconds=5)
    thread, out = receive_in_thread(sqs, url)
    wait_until_waiting(sqs)
    sqs.advance(5)
    thread.join(5)
    assert out == [[]]


def test_a_waiting_receive_wakes_when_a_delayed_message_becomes_due(sqs: Sqs) -> None:
    url = sqs.create("q")
    sqs.client.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=3)
    thread, out = receive_in_thread(sqs, url, WaitTimeSeconds=20)
    wait_until_waiting(sqs)
    sqs.advance(3)
    thread.join(5)
    assert [m["Body"] for m in out[0]] == ["later"]


def test_a_fifo_receive_waits_while_the_only_group_is_in_flight(sqs: Sqs) -> None:
    url = sqs.create("q.fifo", FifoQueue="true", ContentBasedDeduplication="true", VisibilityTimeout=30)
    for body in ("1", "2"):
        sqs.client.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="g")
    (first,) = sqs.receive(url)
    thread, out = receive_in_thread(sqs, url, WaitTimeSeconds=20)
    wait_until_waiting(sqs)
    time.sleep(0.05)
    assert thread.is_alive()  # message 2 is due but blocked by 1: the receive waits instead of spinning
    sqs.client.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
    thread.join(5)
    assert [m["Body"] for m in out[0]] == ["2"]


def test_several_waiting_receives_share_the_messages(sqs: Sqs) -> None:
    url = sqs.create("q")
    waiters = [receive_in_thread(sqs, url, WaitTimeSeconds=20) for _ in range(3)]
    wait_until_waiting(sqs, 3)
    sqs.client.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(3)]
    )
    deadline = time.monotonic() + 5
    while sum(len(out[0]) for _, out in waiters if out) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    sqs.advance(20)
    for thread, _ in waiters:
        thread.join(5)
    assert sorted(m["Body"] for _, out in waiters for m in out[0]) == ["0", "1", "2"]


def test_a_zero_visibility_timeout_returns_each_message_once_per_receive(
    durable_sqs: Callable[[], Sqs],
) -> None:
    sqs = durable_sqs()  # the SQLite store
    url = sqs.create("q")
    sent = [sqs.client.send_message(QueueUrl=url, MessageBody=body)["MessageId"] for body in ("a", "b")]
    sqs.advance(1)  # sent before the receive, so due before it
    received = sqs.receive(url, VisibilityTimeout=0, WaitTimeSeconds=20, MaxNumberOfMessages=10)
    assert [m["MessageId"] for m in received] == sent
    again = sqs.receive(url, VisibilityTimeout=0, WaitTimeSeconds=20, MaxNumberOfMessages=10)
    assert [m["MessageId"] for m in again] == sent  # visible again at once, still once each
