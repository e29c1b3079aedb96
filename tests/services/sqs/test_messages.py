"""Messages through boto3 over HTTP: send/receive/delete, MD5s as AWS computes them, attributes, batches,
delays, visibility timeouts (on the ManualClock), retention, and AWS's errors for bad input."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .conftest import START, Sqs
from .test_queues import error_of

ATTRIBUTES: dict[str, Any] = {
    "colour": {"DataType": "String", "StringValue": "blue"},
    "count": {"DataType": "Number", "StringValue": "42"},
    "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xff"},
    "unit": {"DataType": "Number.kg", "StringValue": "1.5"},
}


def test_send_receive_delete_round_trip_with_aws_md5s(sqs: Sqs) -> None:
    url = sqs.create("q")
    sent = sqs.client.send_message(QueueUrl=url, MessageBody="héllo wörld", MessageAttributes=ATTRIBUTES)
    assert sent["MD5OfMessageBody"] == hashlib.md5("héllo wörld".encode()).hexdigest()
    (message,) = sqs.receive(url, MessageAttributeNames=["All"])
    assert message["MessageId"] == sent["MessageId"]
    assert message["Body"] == "héllo wörld"
    assert message["MD5OfBody"] == sent["MD5OfMessageBody"]
    assert message["MessageAttributes"] == ATTRIBUTES
    assert message["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    sqs.client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    sqs.advance(31)
    assert sqs.receive(url) == []


def test_receive_returns_only_the_message_attributes_asked_for_with_their_own_md5(sqs: Sqs) -> None:
    url = sqs.create("q")
    sent = sqs.client.send_message(QueueUrl=url, MessageBody="b", MessageAttributes=ATTRIBUTES)
    (plain,) = sqs.receive(url, VisibilityTimeout=0)
    assert "MessageAttributes" not in plain and "MD5OfMessageAttributes" not in plain
    (some,) = sqs.receive(url, VisibilityTimeout=0, MessageAttributeNames=["colour", "co.*"])
    assert some["MessageAttributes"] == {"colour": ATTRIBUTES["colour"]}
    assert some["MD5OfMessageAttributes"] != sent["MD5OfMessageAttributes"]
    dotted = {
        name: {"DataType": "String", "StringValue": name} for name in ("order.id", "order.kind", "orderly")
    }
    sqs.client.purge_queue(QueueUrl=url)
    sqs.client.send_message(QueueUrl=url, MessageBody="b", MessageAttributes=dotted)
    (prefixed,) = sqs.receive(url, VisibilityTimeout=0, MessageAttributeNames=["order.*"])
    assert set(prefixed["MessageAttributes"]) == {"order.id", "order.kind"}


def test_system_attributes_report_sender_times_and_receive_count(sqs: Sqs) -> None:
    url = sqs.create("q")
    sent = sqs.client.send_message(
        QueueUrl=url,
        MessageBody="b",
        MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-abc"}},
    )
    assert sent["MD5OfMessageSystemAttributes"]
    sqs.advance(2)
    (first,) = sqs.receive(url, VisibilityTimeout=0, MessageSystemAttributeNames=["All"])
    sqs.advance(3)
    (second,) = sqs.receive(url, MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"])
    assert first["Attributes"] == {
        "SenderId": "000000000000",
        "SentTimestamp": str(int(START * 1000)),
        "ApproximateReceiveCount": "1",
        "ApproximateFirstReceiveTimestamp": str(int((START + 2) * 1000)),
        "AWSTraceHeader": "Root=1-abc",
    }
    assert second["Attributes"] == {"ApproximateReceiveCount": "2", "SentTimestamp": str(int(START * 1000))}


def test_receive_accepts_the_legacy_attribute_names_all(sqs: Sqs) -> None:
    url = sqs.create("q")
    sqs.client.send_message(QueueUrl=url, MessageBody="x")
    (message,) = sqs.receive(url, AttributeNames=["All"])
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"


def test_receive_accepts_message_system_attribute_names_in_the_legacy_attribute_names(sqs: Sqs) -> None:
    url = sqs.create("q")
    sqs.client.send_message(QueueUrl=url, MessageBody="x")
    (message,) = sqs.receive(url, AttributeNames=["ApproximateReceiveCount"])
    assert message["Attributes"] == {"ApproximateReceiveCount": "1"}


def test_visibility_timeout_hides_a_received_message_until_it_passes(sqs: Sqs) -> None:
    url = sqs.create("q", VisibilityTimeout=30)
    sqs.client.send_message(QueueUrl=url, MessageBody="x")
    (first,) = sqs.receive(url)
    sqs.advance(29)
    assert sqs.receive(url) == []
    sqs.advance(1)
    (second,) = sqs.receive(url, MessageSystemAttributeNames=["ApproximateReceiveCount"])
    assert second["Attributes"]["ApproximateReceiveCount"] == "2"
    assert second["ReceiptHandle"] != first["ReceiptHandle"]


def test_receive_visibility_timeout_overrides_the_queue_default(sqs: Sqs) -> None:
    url = sqs.create("q", VisibilityTimeout=300)
    sqs.client.send_message(QueueUrl=url, MessageBody="x")
    sqs.receive(url, VisibilityTimeout=5)
    sqs.advance(5)
    assert sqs.bodies(url) == ["x"]


def test_deleting_with_an_outdated_receipt_handle_succeeds_without_deleting(sqs: Sqs) -> None:
    url = sqs.create("q", VisibilityTimeout=10)
    sqs.client.send_message(QueueUrl=url, MessageBody="x")
    (old,) = sqs.receive(url)
    sqs.advance(10)
    (new,) = sqs.receive(url)
    sqs.client.delete_message(QueueUrl=url, ReceiptHandle=old["ReceiptHandle"])
    assert sqs.attributes(url, "ApproximateNumberOfMessagesNotVisible") == {
        "ApproximateNumberOfMessagesNotVisible": "1"
    }
    sqs.client.delete_message(QueueUrl=url, ReceiptHandle=new["ReceiptHandle"])
    sqs.client.delete_message(QueueUrl=url, ReceiptHandle=new["ReceiptHandle"])  # twice is fine too
    sqs.advance(10)
    assert sqs.receive(url) == []


def test_malformed_receipt_handle_is_rejected(sqs: Sqs) -> None:
    url = sqs.create("q")
    with pytest.raises(sqs.client.exceptions.ReceiptHandleIsInvalid) as excinfo:
        sqs.client.delete_message(QueueUrl=url, ReceiptHandle="garbage!")
    assert error_of(excinfo) == (
        "ReceiptHandleIsInvalid",
        'The input receipt handle "garbage!" is not a valid receipt handle.',
    )


def test_change_message_visibility_extends_or_ends_the_timeout(sqs: Sqs) -> None:
    url = sqs.create("q", VisibilityTimeout=10)
    sqs.client.send_message(QueueUrl=url, MessageBody="x")
    (message,) = sqs.receive(url)
    sqs.client.change_message_visibility(
        QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=100
    )
    sqs.advance(99)
    assert sqs.receive(url) == []
    sqs.client.change_message_visibility(
        QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    assert sqs.bodies(url) == ["x"]


def test_change_message_visibility_errors_for_messages_not_in_flight_or_gone(sqs: Sqs) -> None:
    url = sqs.create("q", VisibilityTimeout=10)
    sqs.client.send_message(QueueUrl=url, MessageBody="x")
    (message,) = sqs.receive(url)
    sqs.advance(10)
    with pytest.raises(sqs.client.exceptions.MessageNotInflight) as excinfo:
        sqs.client.change_message_visibility(
            QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=5
        )
    assert error_of(excinfo)[0] == "AWS.SimpleQueueService.MessageNotInflight"
    (again,) = sqs.receive(url)
    sqs.client.delete_message(QueueUrl=url, ReceiptHandle=again["ReceiptHandle"])
    with pytest.raises(ClientError) as excinfo:
        sqs.client.change_message_visibility(
            QueueUrl=url, ReceiptHandle=again["ReceiptHandle"], VisibilityTimeout=5
        )
    code, text = error_of(excinfo)
    assert code == "InvalidParameterValue"
    assert text.endswith("Reason: Message does not exist or is not available for visibility timeout change.")


def test_delay_seconds_per_message_and_per_queue(sqs: Sqs) -> None:
    url = sqs.create("q", DelaySeconds=20)
    sqs.client.send_message(QueueUrl=url, MessageBody="queue-delay")
    sqs.client.send_message(QueueUrl=url, MessageBody="own-delay", DelaySeconds=5)
    sqs.client.send_message(QueueUrl=url, MessageBody="no-delay", DelaySeconds=0)
    assert sqs.bodies(url, MaxNumberOfMessages=10) == ["no-delay"]
    assert sqs.attributes(url, "ApproximateNumberOfMessagesDelayed") == {
        "ApproximateNumberOfMessagesDelayed": "2"
    }
    sqs.advance(5)
    assert sqs.bodies(url, MaxNumberOfMessages=10) == ["own-delay"]
    sqs.advance(15)
    assert sqs.bodies(url, MaxNumberOfMessages=10) == ["queue-delay"]


def test_messages_older_than_the_retention_period_are_removed(sqs: Sqs) -> None:
    url = sqs.create("q", MessageRetentionPeriod=60)
    sqs.client.send_message(QueueUrl=url, MessageBody="old")
    sqs.advance(30)
    sqs.client.send_message(QueueUrl=url, MessageBody="young")
    sqs.advance(31)
    assert sqs.attributes(url, "ApproximateNumberOfMessages") == {"ApproximateNumberOfMessages": "1"}
    assert sqs.bodies(url, MaxNumberOfMessages=10) == ["young"]


def test_receive_returns_at_most_max_number_of_messages_oldest_first(sqs: Sqs) -> None:
    url = sqs.create("q")
    for i in range(15):
        sqs.client.send_message(QueueUrl=url, MessageBody=str(i))
    assert sqs.bodies(url, MaxNumberOfMessages=10) == [str(i) for i in range(10)]
    assert sqs.bodies(url, MaxNumberOfMessages=10) == [str(i) for i in range(10, 15)]


def test_send_and_delete_message_batch_report_each_entry(sqs: Sqs) -> None:
    url = sqs.create("q")
    result = sqs.client.send_message_batch(
        QueueUrl=url,
        Entries=[
            {
                "Id": "a",
                "MessageBody": "one",
                "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}},
            },
            {"Id": "b", "MessageBody": "two", "DelaySeconds": 10},
            {"Id": "bad", "MessageBody": "three", "DelaySeconds": 901},
        ],
    )
    assert [e["Id"] for e in result["Successful"]] == ["a", "b"]
    assert result["Successful"][0]["MD5OfMessageBody"] == hashlib.md5(b"one").hexdigest()
    assert "MD5OfMessageAttributes" in result["Successful"][0]
    assert result["Failed"] == [
        {
            "Id": "bad",
            "SenderFault": True,
            "Code": "InvalidParameterValue",
            "Message": "Value 901 for parameter DelaySeconds is invalid. Reason: must be between 0 and 900, if provided.",
        }
    ]
    sqs.advance(10)
    received = sqs.receive(url, MaxNumberOfMessages=10)
    assert sorted(m["Body"] for m in received) == ["one", "two"]
    deleted = sqs.client.delete_message_batch(
        QueueUrl=url,
        Entries=[{"Id": f"m{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(received)]
        + [{"Id": "junk", "ReceiptHandle": "not-a-handle"}],
    )
    assert sorted(e["Id"] for e in deleted["Successful"]) == ["m0", "m1"]
    assert [(e["Id"], e["Code"]) for e in deleted["Failed"]] == [("junk", "ReceiptHandleIsInvalid")]
    sqs.advance(60)
    assert sqs.receive(url) == []


def test_delete_message_batch_with_an_outdated_handle_still_deletes_the_others(sqs: Sqs) -> None:
    url = sqs.create("q", VisibilityTimeout=10)
    for body in ("a", "b"):
        sqs.client.send_message(QueueUrl=url, MessageBody=body)
    first = sqs.receive(url, MaxNumberOfMessages=10)
    sqs.advance(10)
    second = sqs.receive(url, MaxNumberOfMessages=10)
    entries = [{"Id": "stale", "ReceiptHandle": first[0]["ReceiptHandle"]}] + [
        {"Id": f"m{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(second)
    ]
    result = sqs.client.delete_message_batch(QueueUrl=url, Entries=entries)
    assert len(result["Successful"]) == 3 and result["Failed"] == []
    sqs.advance(60)
    assert sqs.receive(url) == []


def test_change_message_visibility_batch_reports_each_entry(sqs: Sqs) -> None:
    url = sqs.create("q", VisibilityTimeout=10)
    for body in ("a", "b"):
        sqs.client.send_message(QueueUrl=url, MessageBody=body)
    a, b = sqs.receive(url, MaxNumberOfMessages=10)
    sqs.client.delete_message(QueueUrl=url, ReceiptHandle=b["ReceiptHandle"])
    result = sqs.client.change_message_visibility_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "a", "ReceiptHandle": a["ReceiptHandle"], "VisibilityTimeout": 100},
            {"Id": "b", "ReceiptHandle": b["ReceiptHandle"], "VisibilityTimeout": 100},
        ],
    )
    assert [e["Id"] for e in result["Successful"]] == ["a"]
    assert [(e["Id"], e["Code"]) for e in result["Failed"]] == [("b", "InvalidParameterValue")]
    sqs.advance(50)
    assert sqs.receive(url) == []


@pytest.mark.parametrize(
    ("entries", "exception", "code", "message"),
    [
        ([], "EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest",
         "There should be at least one SendMessageBatchRequestEntry in the request."),
        ([{"Id": str(i), "MessageBody": "x"} for i in range(11)], "TooManyEntriesInBatchRequest",
         "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", "Maximum number of entries per request are 10. You have sent 11."),
        ([{"Id": "a", "MessageBody": "x"}, {"Id": "a", "MessageBody": "y"}], "BatchEntryIdsNotDistinct",
         "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", "Id a repeated."),
        ([{"Id": "a b", "MessageBody": "x"}], "InvalidBatchEntryId", "AWS.SimpleQueueService.InvalidBatchEntryId",
         "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long."),
        ([{"Id": "a", "MessageBody": "x" * 800_000}, {"Id": "b", "MessageBody": "y" * 300_000}], "BatchRequestTooLong",
         "AWS.SimpleQueueService.BatchRequestTooLong", "Batch requests cannot be longer than 1048576 bytes. You have sent 1100000 bytes."),
    ],
)  # fmt: skip
def test_bad_batches_are_rejected_whole(
    sqs: Sqs, entries: list[dict[str, Any]], exception: str, code: str, message: str
) -> None:
    url = sqs.create("q")
    with pytest.raises(getattr(sqs.client.exceptions, exception)) as excinfo:
        sqs.client.send_message_batch(QueueUrl=url, Entries=entries)
    assert error_of(excinfo) == (code, message)


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        ({"MessageBody": "x" * 1_048_577}, "InvalidParameterValue",
         "One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes."),
        ({"MessageBody": "x" * 1_048_570, "MessageAttributes": {"abc": {"DataType": "String", "StringValue": "def"}}},
         "InvalidParameterValue", "One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes."),
        ({"MessageBody": "bad \x00 char"}, "InvalidMessageContents",
         "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF"),
        ({"MessageBody": ""}, "MissingParameter", "The request must contain the parameter MessageBody."),
        ({"MessageBody": "x", "DelaySeconds": 901}, "InvalidParameterValue",
         "Value 901 for parameter DelaySeconds is invalid. Reason: must be between 0 and 900, if provided."),
        ({"MessageBody": "x", "MessageAttributes": {"a": {"DataType": "String", "StringValue": ""}}}, "InvalidParameterValue",
         "The message (user) attribute 'a' must contain a non-empty message attribute value for message attribute type 'String'."),
        ({"MessageBody": "x", "MessageAttributes": {"a": {"DataType": "Text", "StringValue": "v"}}}, "InvalidParameterValue",
         "The type of message (user) attribute 'a' is invalid. You must use only the following supported type prefixes: Binary, Number, String."),
        ({"MessageBody": "x", "MessageAttributes": {"n": {"DataType": "Number", "StringValue": "ten"}}}, "InvalidParameterValue",
         "Can't cast the value of message (user) attribute 'n' to a number."),
        ({"MessageBody": "x", "MessageAttributes": {"AWS.x": {"DataType": "String", "StringValue": "v"}}}, "InvalidParameterValue",
         "Message (user) attribute name 'AWS.x' is invalid. The attribute name can contain A-Z, a-z, 0-9, underscore (_), hyphen (-), and period (.) characters."),
        ({"MessageBody": "x", "MessageAttributes": {f"a{i}": {"DataType": "String", "StringValue": "v"} for i in range(11)}},
         "InvalidParameterValue", "Number of message attributes [11] exceeds the allowed maximum [10]."),
        ({"MessageBody": "x", "MessageDeduplicationId": "d"}, "InvalidParameterValue",
         "Value d for parameter MessageDeduplicationId is invalid. Reason: The request include parameter that is not valid for this queue type."),
    ],
)  # fmt: skip
def test_bad_messages_are_rejected_with_aws_codes_and_messages(
    sqs: Sqs, params: dict[str, Any], code: str, message: str
) -> None:
    url = sqs.create("q")
    with pytest.raises(ClientError) as excinfo:
        sqs.client.send_message(QueueUrl=url, **params)
    assert error_of(excinfo) == (code, message)


def test_a_message_of_exactly_the_maximum_size_is_accepted(sqs: Sqs) -> None:
    url = sqs.create("q")
    sqs.client.send_message(QueueUrl=url, MessageBody="x" * 1_048_576)
    assert len(sqs.bodies(url)[0]) == 1_048_576


def test_maximum_message_size_attribute_lowers_the_limit(sqs: Sqs) -> None:
    url = sqs.create("q", MaximumMessageSize=1024)
    with pytest.raises(ClientError) as excinfo:
        sqs.client.send_message(QueueUrl=url, MessageBody="x" * 1025)
    assert error_of(excinfo)[1].endswith("Message must be shorter than 1024 bytes.")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"MaxNumberOfMessages": 11}, "Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided."),
        ({"WaitTimeSeconds": 21}, "Value 21 for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided."),
        ({"VisibilityTimeout": 43_201}, "Value 43201 for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= 43200, if provided."),
    ],
)  # fmt: skip
def test_bad_receive_parameters_are_rejected(sqs: Sqs, params: dict[str, Any], message: str) -> None:
    url = sqs.create("q")
    with pytest.raises(ClientError) as excinfo:
        sqs.client.receive_message(QueueUrl=url, **params)
    assert error_of(excinfo) == ("InvalidParameterValue", message)
