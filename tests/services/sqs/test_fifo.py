"""FIFO queues: order per message group, one group in flight at a time, deduplication (explicit and content-based,
per queue or per group) in a 5-minute window on the ManualClock, sequence numbers, and FIFO-only errors."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from .conftest import Sqs
from .test_queues import error_of


def send(sqs: Sqs, url: str, body: str, group: str = "g", **params: Any) -> dict[str, Any]:
    result: dict[str, Any] = sqs.client.send_message(
        QueueUrl=url, MessageBody=body, MessageGroupId=group, **params
    )
    return result


def test_messages_of_a_group_come_in_order_and_a_group_in_flight_blocks_its_later_messages(sqs: Sqs) -> None:
    url = sqs.create("jobs.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    for group in "AB":
        for i in range(3):
            send(sqs, url, f"{group}{i}", group)
    first = sqs.receive(url, MaxNumberOfMessages=2)
    assert [m["Body"] for m in first] == ["A0", "A1"]
    # Group A has messages in flight, so only B is served until they are deleted (or become visible again).
    assert sqs.bodies(url, MaxNumberOfMessages=10) == ["B0", "B1", "B2"]
    assert sqs.receive(url) == []
    for message in first:
        sqs.client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert sqs.bodies(url, MaxNumberOfMessages=10) == ["A2"]


def test_groups_interleave_in_send_order_when_none_is_in_flight(sqs: Sqs) -> None:
    url = sqs.create("jobs.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    for i in range(3):
        send(sqs, url, f"a{i}", "A")
        send(sqs, url, f"b{i}", "B")
    received = sqs.bodies(url, MaxNumberOfMessages=10)
    assert [b for b in received if b[0] == "a"] == ["a0", "a1", "a2"]
    assert [b for b in received if b[0] == "b"] == ["b0", "b1", "b2"]


def test_a_group_whose_message_became_visible_again_restarts_from_that_message(sqs: Sqs) -> None:
    url = sqs.create("jobs.fifo", FifoQueue="true", ContentBasedDeduplication="true", VisibilityTimeout=10)
    for body in ("1", "2", "3"):
        send(sqs, url, body)
    assert sqs.bodies(url) == ["1"]
    sqs.advance(10)
    assert sqs.bodies(url, MaxNumberOfMessages=10) == ["1", "2", "3"]


def test_sequence_numbers_grow_and_are_reported_on_receive(sqs: Sqs) -> None:
    url = sqs.create("jobs.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    numbers = [send(sqs, url, str(i))["SequenceNumber"] for i in range(3)]
    assert numbers == sorted(numbers) and len(set(numbers)) == 3 and all(len(n) == 20 for n in numbers)
    received = sqs.receive(url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"])
    assert [m["Attributes"]["SequenceNumber"] for m in received] == numbers
    assert received[0]["Attributes"]["MessageGroupId"] == "g"
    assert received[0]["Attributes"]["MessageDeduplicationId"]


def test_explicit_deduplication_id_drops_repeats_for_five_minutes(sqs: Sqs) -> None:
    url = sqs.create("jobs.fifo", FifoQueue="true")
    first = send(sqs, url, "one", MessageDeduplicationId="d1")
    repeat = send(sqs, url, "one again", MessageDeduplicationId="d1")
    assert (repeat["MessageId"], repeat["SequenceNumber"]) == (first["MessageId"], first["SequenceNumber"])
    sqs.advance(299)
    send(sqs, url, "still a repeat", MessageDeduplicationId="d1")
    sqs.advance(1)
    fresh = send(sqs, url, "new", MessageDeduplicationId="d1")
    assert fresh["MessageId"] != first["MessageId"]
    assert sqs.bodies(url, MaxNumberOfMessages=10) == ["one", "new"]


def test_content_based_deduplication_hashes_the_body(sqs: Sqs) -> None:
    url = sqs.create("jobs.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    assert send(sqs, url, "same")["MessageId"] == send(sqs, url, "same", "other-group")["MessageId"]
    send(sqs, url, "different")
    assert sqs.bodies(url, MaxNumberOfMessages=10) == ["same", "different"]


def test_deduplication_scope_message_group_dedups_per_group(sqs: Sqs) -> None:
    url = sqs.create(
        "jobs.fifo",
        FifoQueue="true",
        DeduplicationScope="messageGroup",
        FifoThroughputLimit="perMessageGroupId",
    )
    send(sqs, url, "x", "A", MessageDeduplicationId="d")
    send(sqs, url, "x", "B", MessageDeduplicationId="d")
    send(sqs, url, "x", "B", MessageDeduplicationId="d")
    assert len(sqs.receive(url, MaxNumberOfMessages=10)) == 2


def test_send_message_batch_deduplicates_within_the_batch_and_keeps_order(sqs: Sqs) -> None:
    url = sqs.create("jobs.fifo", FifoQueue="true")
    result = sqs.client.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "a", "MessageBody": "1", "MessageGroupId": "g", "MessageDeduplicationId": "x"},
            {"Id": "b", "MessageBody": "2", "MessageGroupId": "g", "MessageDeduplicationId": "y"},
            {"Id": "c", "MessageBody": "1", "MessageGroupId": "g", "MessageDeduplicationId": "x"},
        ],
    )
    ids = {e["Id"]: e["MessageId"] for e in result["Successful"]}
    assert ids["a"] == ids["c"] != ids["b"]
    assert sqs.bodies(url, MaxNumberOfMessages=10) == ["1", "2"]


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        ({"MessageBody": "x"}, "MissingParameter", "The request must contain the parameter MessageGroupId."),
        ({"MessageBody": "x", "MessageGroupId": "g"}, "InvalidParameterValue",
         "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly"),
        ({"MessageBody": "x", "MessageGroupId": "g", "MessageDeduplicationId": "d", "DelaySeconds": 5},
         "InvalidParameterValue",
         "Value 5 for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type."),
    ],
)  # fmt: skip
def test_fifo_send_errors(sqs: Sqs, params: dict[str, Any], code: str, message: str) -> None:
    url = sqs.create("jobs.fifo", FifoQueue="true")
    with pytest.raises(ClientError) as excinfo:
        sqs.client.send_message(QueueUrl=url, **params)
    assert error_of(excinfo) == (code, message)


def test_deduplication_window_is_kept_across_queue_recreation_only_until_deleted(sqs: Sqs) -> None:
    url = sqs.create("jobs.fifo", FifoQueue="true")
    send(sqs, url, "1", MessageDeduplicationId="d")
    sqs.client.delete_queue(QueueUrl=url)
    url = sqs.create("jobs.fifo", FifoQueue="true")
    send(sqs, url, "2", MessageDeduplicationId="d")
    assert sqs.bodies(url) == ["2"]
