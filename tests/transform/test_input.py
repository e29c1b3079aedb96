"""Rule target input: InputPath, InputTransformer rendering by position, reserved variables, and PutTargets
validation with AWS's messages. One row per behaviour."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipework.transform import (
    TransformError,
    compile_path,
    render_target_input,
    validate_target_input,
)

EVENT: dict[str, Any] = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "123456789012",
    "time": "2015-11-11T21:29:54Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
    "detail": {
        "instance-id": "i-0123456789",
        "state": "RUNNING",
        "count": 3,
        "ratio": 0.5,
        "ok": True,
        "nothing": None,
        "payload": {"acc_id": "0a78", "sf_id": "baz"},
        "states": ["ACTIVE", "INACTIVE"],
        "items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}],
        "quote": 'say "hi"',
    },
}


def transformer(paths: dict[str, str], template: str) -> dict[str, Any]:
    return {"Id": "t1", "Arn": "arn", "InputTransformer": {"InputPathsMap": paths, "InputTemplate": template}}


def render(target: dict[str, Any], **context: str) -> str:
    validate_target_input(target)
    return render_target_input(target, EVENT, **context)


RENDERING = [
    # (id, paths, template, expected text)
    ("json_value_string_gets_quotes", {"s": "$.detail.state"}, '{"s": <s>}', '{"s": "RUNNING"}'),
    ("json_value_number", {"n": "$.detail.count"}, '{"n": <n>}', '{"n": 3}'),
    ("json_value_float", {"n": "$.detail.ratio"}, '{"n": <n>}', '{"n": 0.5}'),
    ("json_value_boolean", {"b": "$.detail.ok"}, '{"b": <b>}', '{"b": true}'),
    ("json_value_null", {"v": "$.detail.nothing"}, '{"v": <v>}', '{"v": null}'),
    ("json_value_object", {"p": "$.detail.payload"}, '{"p": <p>}', '{"p": {"acc_id":"0a78","sf_id":"baz"}}'),
    ("json_value_array", {"a": "$.detail.states"}, '{"a": <a>}', '{"a": ["ACTIVE","INACTIVE"]}'),
    ("quoted_string_stays_one_string", {"s": "$.detail.state"}, '{"s": "<s>"}', '{"s": "RUNNING"}'),
    ("quoted_number_becomes_text", {"n": "$.detail.count"}, '{"n": "<n>"}', '{"n": "3"}'),
    ("in_string_text", {"s": "$.detail.state"}, '{"m": "state is <s>!"}', '{"m": "state is RUNNING!"}'),
    ("in_string_boolean", {"b": "$.detail.ok"}, '{"m": "ok=<b>"}', '{"m": "ok=true"}'),
    ("missing_path_in_value_position_is_empty_string", {"m": "$.detail.none"}, '{"m": <m>}', '{"m": ""}'),
    ("missing_path_in_string_is_empty", {"m": "$.detail.none"}, '{"m": "x<m>y"}', '{"m": "xy"}'),
    ("string_with_quote_is_escaped", {"q": "$.detail.quote"}, '{"q": "<q>"}', '{"q": "say \\"hi\\""}'),
    (
        "two_placeholders_in_one_string",
        {"a": "$.source", "b": "$.region"},
        '"<a>/<b>"',
        '"aws.ec2/us-east-1"',
    ),
    (
        "plain_text_template",
        {"i": "$.detail.instance-id", "s": "$.detail.state"},
        "Instance <i> is in state <s>",
        "Instance i-0123456789 is in state RUNNING",
    ),
    (
        "quoted_text_template_keeps_its_quotes",
        {"i": "$.detail.instance-id"},
        '"instance <i> changed"',
        '"instance i-0123456789 changed"',
    ),
    ("text_template_missing_is_empty", {"m": "$.nope"}, "value=<m>.", "value=."),
    ("array_template", {"s": "$.detail.state", "n": "$.detail.count"}, "[<s>, <n>]", '["RUNNING", 3]'),
    (
        "index_path",
        {"r": "$.resources[0]"},
        '{"r": <r>}',
        '{"r": "arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"}',
    ),
    ("nested_index_path", {"s": "$.detail.items[1].sku"}, '{"s": <s>}', '{"s": "b"}'),
    ("wildcard_path_gives_a_list", {"s": "$.detail.items[*].sku"}, '{"s": <s>}', '{"s": ["a","b"]}'),
    (
        "root_path_is_the_whole_event",
        {"e": "$"},
        '{"e": <e>}',
        '{"e": ' + json.dumps(EVENT, separators=(",", ":")) + "}",
    ),
    (
        "object_in_a_text_template_renders_without_quotes",
        {"p": "$.detail.payload"},
        "<p>",
        "{acc_id:0a78,sf_id:baz}",
    ),
    (
        "object_and_array_inside_text_render_without_quotes",
        {"p": "$.detail.payload", "a": "$.detail.states"},
        "Payload of <p> in <a>",
        "Payload of {acc_id:0a78,sf_id:baz} in [ACTIVE,INACTIVE]",
    ),
    (
        "object_inside_a_quoted_text_template_renders_without_quotes",
        {"p": "$.detail.payload"},
        '"Payload of <p>"',
        '"Payload of {acc_id:0a78,sf_id:baz}"',
    ),
    (
        "hyphenated_keys",
        {"t": "$.detail-type"},
        '{"t": <t>}',
        '{"t": "EC2 Instance State-change Notification"}',
    ),
    (
        "multiline_template",
        {"s": "$.detail.state"},
        '{\n  "s": <s>,\n  "k": 1\n}',
        '{\n  "s": "RUNNING",\n  "k": 1\n}',
    ),
    (
        "literal_angle_text_in_json_string",
        {"s": "$.detail.state"},
        '{"m": "a < b", "s": <s>}',
        '{"m": "a < b", "s": "RUNNING"}',
    ),
]


@pytest.mark.parametrize(
    ("paths", "template", "expected"), [r[1:] for r in RENDERING], ids=[r[0] for r in RENDERING]
)
def test_input_transformer_renders_by_position(paths: dict[str, str], template: str, expected: str) -> None:
    assert render(transformer(paths, template)) == expected


def test_reserved_rule_variables() -> None:
    target = transformer(
        {},
        '{"arn": <aws.events.rule-arn>, "name": "<aws.events.rule-name>", "at": <aws.events.event.ingestion-time>}',
    )
    text = render(
        target,
        rule_arn="arn:aws:events:us-east-1:1:rule/r",
        rule_name="r",
        ingestion_time="2026-01-01T00:00:00Z",
    )
    assert json.loads(text) == {
        "arn": "arn:aws:events:us-east-1:1:rule/r",
        "name": "r",
        "at": "2026-01-01T00:00:00Z",
    }


def test_aws_events_event_is_the_envelope_without_detail_with_aws_key_names() -> None:
    text = render(transformer({}, '{"e": <aws.events.event>}'))
    summary = json.loads(text)["e"]
    assert "detail" not in summary
    assert summary["detailType"] == EVENT["detail-type"]
    assert summary["id"] == EVENT["id"] and summary["resources"] == EVENT["resources"]


def test_aws_events_event_json_is_the_full_event() -> None:
    assert json.loads(render(transformer({}, '{"e": <aws.events.event.json>}')))["e"] == EVENT


def test_quoted_object_placeholder_renders_invalid_json_and_is_not_delivered() -> None:
    with pytest.raises(TransformError, match="invalid JSON"):
        render(transformer({"p": "$.detail.payload"}, '{"p": "<p>"}'))


@pytest.mark.parametrize(
    "template",
    ['{"path": "users/<p>", "body": <p>}', '{"m": "states <a>"}', '["x <p>"]'],
    ids=["object_in_a_path_string", "array_in_a_message", "object_in_an_array_item"],
)
def test_object_or_array_inside_a_string_of_a_json_template_is_not_delivered(template: str) -> None:
    target = transformer({"p": "$.detail.payload", "a": "$.detail.states"}, template)
    with pytest.raises(TransformError, match="is an object or array inside a string"):
        render(target)


def test_input_is_delivered_verbatim() -> None:
    assert render({"Id": "t", "Input": '{"fixed": [1, 2]}'}) == '{"fixed": [1, 2]}'


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$.detail", EVENT["detail"]),
        ("$.detail.state", "RUNNING"),
        ("$.detail.count", 3),
        ("$.resources", EVENT["resources"]),
        ("$.detail.missing", None),
    ],
    ids=["object", "string_is_a_json_string", "number", "array", "missing_is_null"],
)
def test_input_path_delivers_the_json_of_the_selection(path: str, expected: Any) -> None:
    assert json.loads(render({"Id": "t", "InputPath": path})) == expected


def test_no_input_setting_delivers_the_event() -> None:
    assert json.loads(render({"Id": "t"})) == EVENT


INVALID = [
    (
        "more_than_one_input_setting",
        {"Id": "t1", "Input": "{}", "InputPath": "$.detail"},
        "Only one of Input, InputPath, or InputTransformer must be provided for target t1.",
    ),
    (
        "input_and_transformer",
        {"Id": "t1", "Input": "{}", "InputTransformer": {"InputTemplate": "x"}},
        "Only one of Input, InputPath, or InputTransformer must be provided for target t1.",
    ),
    ("input_not_json", {"Id": "t1", "Input": "{nope"}, "Input for target t1 must be valid JSON text."),
    ("input_path_not_jsonpath", {"Id": "t1", "InputPath": "detail.x"}, "Invalid InputPath for target t1"),
    (
        "unknown_placeholder",
        transformer({"a": "$.detail"}, '{"x": <b>}'),
        "InputTemplate for target t1 contains invalid placeholder b.",
    ),
    (
        "event_variable_inside_a_string",
        transformer({}, '{"x": "<aws.events.event>"}'),
        "InputTemplate for target t1 contains invalid placeholder aws.events.event.",
    ),
    (
        "unknown_reserved_variable",
        transformer({}, "<aws.events.nope>"),
        "contains invalid placeholder aws.events.nope.",
    ),
    ("template_not_json", transformer({"a": "$.detail"}, '{"x": <a>'), "Invalid InputTemplate for target t1"),
    ("placeholder_as_object_key", transformer({"k": "$.source"}, "{<k>: 1}"), "as an object key"),
    ("quoted_placeholder_as_object_key", transformer({"k": "$.source"}, '{"<k>": 1}'), "as an object key"),
    ("path_not_jsonpath", transformer({"a": "detail"}, "<a>"), "Invalid InputPathsMap for target t1"),
    (
        "too_many_paths",
        transformer({f"k{i}": "$.detail" for i in range(101)}, "x"),
        "InputPathsMap for target t1 has 101 entries; at most 100 are allowed.",
    ),
    ("reserved_key", transformer({"AWS.x": "$.detail"}, "<AWS.x>"), "reserved key"),
]


@pytest.mark.parametrize(("target", "message"), [r[1:] for r in INVALID], ids=[r[0] for r in INVALID])
def test_invalid_input_settings_are_rejected_with_aws_messages(target: dict[str, Any], message: str) -> None:
    with pytest.raises(TransformError) as raised:
        validate_target_input(target)
    assert message in str(raised.value)


def test_one_hundred_paths_are_allowed() -> None:
    paths = {f"k{i}": f"$.detail.k{i}" for i in range(100)}
    validate_target_input(transformer(paths, "<k0>"))


@pytest.mark.parametrize(
    ("path", "document", "expected"),
    [
        ("$", {"a": 1}, [{"a": 1}]),
        ("$.a.b", {"a": {"b": 2}}, [2]),
        ("$['a b'].c", {"a b": {"c": 3}}, [3]),
        ('$["x"]', {"x": 4}, [4]),
        ("$.l[-1]", {"l": [1, 2, 3]}, [3]),
        ("$.l[5]", {"l": [1]}, []),
        ("$.o.*", {"o": {"a": 1, "b": 2}}, [1, 2]),
        ("$.l[*].v", {"l": [{"v": 1}, {"w": 2}, {"v": 3}]}, [1, 3]),
        ("$.a.b", {"a": "not an object"}, []),
    ],
)
def test_jsonpath_subset(path: str, document: Any, expected: list[Any]) -> None:
    assert compile_path(path).find(document) == expected


@pytest.mark.parametrize("path", ["detail", "$.", "$.a[", "$[x]", "$..a"])
def test_invalid_jsonpaths_raise_transform_error(path: str) -> None:
    with pytest.raises(TransformError):
        compile_path(path)
