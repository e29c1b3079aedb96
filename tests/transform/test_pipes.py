"""Pipes inline templates, implicit parsing of data fields, and whole-value JSONPath parameters."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from pipework.transform import (
    PipeContext,
    TransformError,
    compile_pipe_template,
    is_dynamic_parameter,
    parse_record_data,
    render_pipe_input,
    render_pipe_template,
    resolve_parameters,
)

DYNAMODB_RECORD: dict[str, Any] = {
    "eventID": "1",
    "eventName": "INSERT",
    "eventSource": "aws:dynamodb",
    "dynamodb": {
        "Keys": {"id": {"S": "p-1"}},
        "NewImage": {"id": {"S": "p-1"}, "subjectId": {"S": "s-42"}, "mw": {"N": "12.5"}},
        "StreamViewType": "NEW_IMAGE",
    },
}
SQS_RECORD: dict[str, Any] = {"messageId": "m-1", "body": '{"order": {"id": 7, "email": "a@b.c"}}'}
CONTEXT = PipeContext(
    pipe_arn="arn:aws:pipes:us-east-1:000000000000:pipe/p",
    pipe_name="p",
    source_arn="arn:src",
    enrichment_arn="arn:enr",
    target_arn="arn:tgt",
    ingestion_time="2026-11-24T10:00:00Z",
)

RENDERING = [
    (
        "energy_platform_template",
        DYNAMODB_RECORD,
        '{"subjectId": <$.dynamodb.NewImage.subjectId.S>}',
        '{"subjectId": "s-42"}',
    ),
    ("static_string", DYNAMODB_RECORD, "hello", "hello"),
    ("bare_path_text", DYNAMODB_RECORD, "<$.eventName>", "INSERT"),
    (
        "embedded_path_text",
        DYNAMODB_RECORD,
        "event <$.eventName> for <$.dynamodb.Keys.id.S>",
        "event INSERT for p-1",
    ),
    ("sqs_body_is_parsed_for_paths", SQS_RECORD, '{"id": <$.body.order.id>}', '{"id": 7}'),
    ("bare_json_body_is_quote_stripped", SQS_RECORD, "<$.body>", "{order:{id:7,email:a@b.c}}"),
    (
        "json_body_as_a_value",
        SQS_RECORD,
        '{"data": <$.body>}',
        '{"data": {"order":{"id":7,"email":"a@b.c"}}}',
    ),
    ("quoted_path_string", SQS_RECORD, '{"to": "<$.body.order.email>"}', '{"to": "a@b.c"}'),
    ("missing_path", SQS_RECORD, '{"x": <$.body.nope>}', '{"x": ""}'),
    ("pipe_name_variable", SQS_RECORD, '{"pipe": <aws.pipes.pipe-name>}', '{"pipe": "p"}'),
    (
        "pipe_arn_in_string",
        SQS_RECORD,
        '"from <aws.pipes.source-arn> to <aws.pipes.target-arn>"',
        '"from arn:src to arn:tgt"',
    ),
    ("ingestion_time", SQS_RECORD, "<aws.pipes.event.ingestion-time>", "2026-11-24T10:00:00Z"),
]


@pytest.mark.parametrize(
    ("record", "template", "expected"), [r[1:] for r in RENDERING], ids=[r[0] for r in RENDERING]
)
def test_pipe_templates_render(record: dict[str, Any], template: str, expected: str) -> None:
    assert render_pipe_template(template, record, CONTEXT) == expected


def test_aws_pipes_event_is_the_record_as_received() -> None:
    text = render_pipe_template('{"e": <aws.pipes.event>}', SQS_RECORD, CONTEXT)
    assert json.loads(text)["e"] == SQS_RECORD


def test_aws_pipes_event_json_is_the_parsed_record() -> None:
    text = render_pipe_template('{"e": <aws.pipes.event.json>}', SQS_RECORD, CONTEXT)
    assert json.loads(text)["e"]["body"] == {"order": {"id": 7, "email": "a@b.c"}}


def test_render_pipe_input_parses_json_templates_and_passes_records_through() -> None:
    assert render_pipe_input(None, SQS_RECORD) is SQS_RECORD
    assert render_pipe_input('{"id": <$.body.order.id>}', SQS_RECORD) == {"id": 7}
    assert render_pipe_input("id <$.body.order.id>", SQS_RECORD) == "id 7"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("<aws.pipes.nope>", "invalid placeholder <aws.pipes.nope>"),
        ('{"e": "<aws.pipes.event.json>"}', "invalid placeholder <aws.pipes.event.json>"),
        ('{"a": <$.x>', "InputTemplate is not valid"),
        ("<$.a[>", "invalid JSONPath"),
    ],
    ids=["unknown_variable", "event_json_inside_a_string", "not_json", "bad_path"],
)
def test_invalid_pipe_templates(template: str, message: str) -> None:
    with pytest.raises(TransformError) as raised:
        compile_pipe_template(template)
    assert message in str(raised.value)


def test_kinesis_data_is_decoded_from_base64_json() -> None:
    record = {"data": base64.b64encode(b'{"City": "Seattle"}').decode()}
    assert parse_record_data(record)["data"] == {"City": "Seattle"}


def test_non_json_data_stays_as_given() -> None:
    record = {"data": base64.b64encode(b"plain text").decode(), "body": "not json"}
    assert parse_record_data(record) == record


def test_parse_record_data_does_not_modify_the_record() -> None:
    record = dict(SQS_RECORD)
    parse_record_data(record)
    assert record == SQS_RECORD


def test_whole_value_jsonpath_parameters_are_resolved_per_event() -> None:
    parameters = {
        "EventBridgeEventBusParameters": {"DetailType": "$.body.order.email", "Source": "orders"},
        "HeaderParameters": {"x-id": "$.messageId"},
        "Missing": "$.body.nope",
    }
    assert resolve_parameters(parameters, SQS_RECORD) == {
        "EventBridgeEventBusParameters": {"DetailType": "a@b.c", "Source": "orders"},
        "HeaderParameters": {"x-id": "m-1"},
        "Missing": "$.body.nope",
    }
    assert is_dynamic_parameter("$.detail.state")
    assert not is_dynamic_parameter("plain") and not is_dynamic_parameter("$.a[")
