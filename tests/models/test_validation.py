"""The compiled input decoder on botocore's real shapes: types, constraints, AWS's messages and paths."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipework.models import (
    SerializationError,
    compile_input,
    compile_operation_input,
    load_service_model,
    validation_message,
)


def decoder(service: str, operation: str):
    return compile_input(load_service_model(service).operation_model(operation).input_shape)


def messages(service: str, operation: str, params: dict) -> list[str]:
    return [p.message for p in decoder(service, operation)(params)[1]]


def test_valid_input_passes_and_unknown_members_are_dropped():
    decoded, problems = decoder("events", "PutRule")({"Name": "r", "State": "ENABLED", "Surprise": 1})
    assert problems == []
    assert decoded == {"Name": "r", "State": "ENABLED"}


@pytest.mark.parametrize(
    ("service", "operation", "params", "expected"),
    [
        (
            "events",
            "PutRule",
            {"Name": ""},
            [
                "Value '' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: "
                "[\\.\\-_A-Za-z0-9]+",
                "Value '' at 'name' failed to satisfy constraint: Member must have length greater than or equal to 1",
            ],
        ),
        (
            "events",
            "TagResource",
            {"ResourceARN": "arn", "Tags": [{"Key": "k"}]},
            ["Value null at 'tags.1.member.value' failed to satisfy constraint: Member must not be null"],
        ),
        (
            "dynamodb",
            "GetItem",
            {"TableName": "t", "Key": {"id": {"L": [{"M": {"x": {"S": "v"}}}]}}},
            [],
        ),
        (
            "dynamodb",
            "GetItem",
            {"TableName": "t", "Key": {"k" * 70000: {"S": "v"}}},
            [
                "Value '"
                + "k" * 70000
                + "' at 'key' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have "
                "length less than or equal to 65535]"
            ],
        ),
    ],
    ids=["two constraints on one value", "nested required", "recursive shapes", "map key constraint"],
)
def test_constraint_messages(service, operation, params, expected):
    assert messages(service, operation, params) == expected


def test_summary_counts_problems():
    problems = decoder("events", "PutRule")({"Name": "", "State": "X"})[1]
    assert validation_message(problems).startswith("3 validation errors detected: ")
    assert validation_message(problems[:1]).startswith("1 validation error detected: Value ")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1714566600, datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
        (1714566600.5, datetime(2024, 5, 1, 12, 30, 0, 500000, tzinfo=UTC)),
        ("2024-05-01T12:30:00Z", datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
        ("2024-05-01T14:30:00+02:00", datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
    ],
)
def test_timestamps_accept_epoch_seconds_and_iso_8601(value, expected):
    decoded, problems = decoder("events", "PutEvents")({"Entries": [{"Time": value}]})
    assert problems == []
    assert decoded["Entries"][0]["Time"] == expected


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"Name": 5}, "NUMBER_VALUE can not be converted to String (at 'name')"),
        ({"Name": "r", "Tags": {"k": "v"}}, "START_OBJECT can not be converted to List (at 'tags')"),
        (
            {"Name": "r", "Tags": [{"Key": True, "Value": "v"}]},
            "BOOLEAN_VALUE can not be converted to String",
        ),
    ],
)
def test_wrong_json_types_are_serialization_errors(params, message):
    with pytest.raises(SerializationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        decoder("events", "PutRule")(params)


def test_blobs_are_base64_decoded_and_bad_base64_is_a_serialization_error():
    decode = decoder("sqs", "SendMessage")
    attribute = {"DataType": "Binary", "BinaryValue": "AAE="}
    decoded, _ = decode({"QueueUrl": "q", "MessageBody": "b", "MessageAttributes": {"a": attribute}})
    assert decoded["MessageAttributes"]["a"]["BinaryValue"] == b"\x00\x01"
    with pytest.raises(SerializationError):
        decode(
            {
                "QueueUrl": "q",
                "MessageBody": "b",
                "MessageAttributes": {"a": {**attribute, "BinaryValue": "!!"}},
            }
        )


def test_integers_out_of_the_32_bit_range_are_serialization_errors():
    with pytest.raises(SerializationError):
        decoder("events", "ListRules")({"Limit": 2**31})


def test_operation_input_leaves_enums_to_services_that_check_their_own():
    # SQS accepts message system attribute names in AttributeNames, outside the model's enum, and words unknown
    # names itself; Scheduler's enums are checked here.
    receive = compile_operation_input(load_service_model("sqs").operation_model("ReceiveMessage"))
    _, problems = receive({"QueueUrl": "q", "AttributeNames": ["SentTimestamp"]})
    assert problems == []
    list_schedules = compile_operation_input(load_service_model("scheduler").operation_model("ListSchedules"))
    _, problems = list_schedules({"State": "PAUSED"})
    assert [p.message for p in problems] == [
        "Value 'PAUSED' at 'state' failed to satisfy constraint: Member must satisfy enum value set: "
        "[ENABLED, DISABLED]"
    ]
