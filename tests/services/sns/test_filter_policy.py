"""SNS filter policies, one row per behaviour: the MessageAttributes scope matches attributes by their type, the
MessageBody scope matches the JSON body as an event pattern does, and policies SNS rejects get its reasons."""

from __future__ import annotations

import json

import pytest

from pipework.services.sns.filter_policy import InvalidFilterPolicy, compile_policy


def s(value: str) -> dict[str, str]:
    return {"DataType": "String", "StringValue": value}


def n(value: str) -> dict[str, str]:
    return {"DataType": "Number", "StringValue": value}


def arr(*values: object) -> dict[str, str]:
    return {"DataType": "String.Array", "StringValue": json.dumps(list(values))}


BINARY = {"DataType": "Binary", "BinaryValue": b"\x00"}

ATTRIBUTE_CASES = [
    ("exact string", {"store": ["example_corp"]}, {"store": s("example_corp")}, True),
    ("exact string differs", {"store": ["example_corp"]}, {"store": s("other")}, False),
    ("missing attribute", {"store": ["example_corp"]}, {}, False),
    ("string does not match a number", {"price": [5]}, {"price": s("5")}, False),
    ("number matches a number attribute", {"price": [5]}, {"price": n("5.0")}, True),
    ("a string condition does not match a number", {"price": ["5"]}, {"price": n("5")}, False),
    ("numeric range", {"price": [{"numeric": [">", 0, "<=", 100]}]}, {"price": n("100")}, True),
    ("numeric range excludes", {"price": [{"numeric": [">", 0, "<=", 100]}]}, {"price": n("100.5")}, False),
    ("numeric on a string attribute", {"price": [{"numeric": [">", 0]}]}, {"price": s("10")}, False),
    ("prefix", {"event": [{"prefix": "order-"}]}, {"event": s("order-created")}, True),
    ("suffix", {"event": [{"suffix": "-created"}]}, {"event": s("order-created")}, True),
    ("equals-ignore-case", {"event": [{"equals-ignore-case": "ORDER"}]}, {"event": s("order")}, True),
    (
        "anything-but matches another value",
        {"event": [{"anything-but": ["a", "b"]}]},
        {"event": s("c")},
        True,
    ),
    ("anything-but excludes", {"event": [{"anything-but": ["a", "b"]}]}, {"event": s("a")}, False),
    ("anything-but needs the attribute", {"event": [{"anything-but": "a"}]}, {}, False),
    (
        "anything-but prefix",
        {"event": [{"anything-but": {"prefix": "test-"}}]},
        {"event": s("test-1")},
        False,
    ),
    ("anything-but numbers", {"price": [{"anything-but": [100]}]}, {"price": n("50")}, True),
    ("exists true", {"store": [{"exists": True}]}, {"store": s("x")}, True),
    ("exists true, missing", {"store": [{"exists": True}]}, {}, False),
    ("exists false, missing", {"store": [{"exists": False}]}, {}, True),
    ("exists false, present", {"store": [{"exists": False}]}, {"store": s("x")}, False),
    ("exists matches a binary attribute", {"blob": [{"exists": True}]}, {"blob": BINARY}, True),
    ("a binary attribute matches no value", {"blob": ["AA=="]}, {"blob": BINARY}, False),
    ("cidr", {"ip": [{"cidr": "10.0.0.0/24"}]}, {"ip": s("10.0.0.7")}, True),
    ("cidr outside", {"ip": [{"cidr": "10.0.0.0/24"}]}, {"ip": s("10.0.1.7")}, False),
    ("string array: any element", {"tags": ["red"]}, {"tags": arr("blue", "red")}, True),
    ("string array: no element", {"tags": ["red"]}, {"tags": arr("blue")}, False),
    ("string array: numbers", {"sizes": [{"numeric": [">=", 10]}]}, {"sizes": arr(1, 12)}, True),
    ("custom string type", {"store": ["x"]}, {"store": {"DataType": "String.id", "StringValue": "x"}}, True),
    ("keys are AND-ed", {"a": ["1"], "b": ["2"]}, {"a": s("1"), "b": s("3")}, False),
    ("values are OR-ed", {"a": ["1", "2"]}, {"a": s("2")}, True),
    ("$or", {"$or": [{"a": ["1"]}, {"b": ["2"]}]}, {"b": s("2")}, True),
    ("$or none", {"$or": [{"a": ["1"]}, {"b": ["2"]}]}, {"a": s("2")}, False),
    ("dotted attribute names are names", {"order.kind": ["x"]}, {"order.kind": s("x")}, True),
]


@pytest.mark.parametrize(
    ("policy", "attributes", "expected"),
    [c[1:] for c in ATTRIBUTE_CASES],
    ids=[c[0] for c in ATTRIBUTE_CASES],
)
def test_message_attributes_scope(policy, attributes, expected):
    assert compile_policy(json.dumps(policy)).matches("body", attributes) is expected


BODY_CASES = [
    ("nested key", {"order": {"kind": ["paid"]}}, {"order": {"kind": "paid"}}, True),
    ("nested key differs", {"order": {"kind": ["paid"]}}, {"order": {"kind": "new"}}, False),
    ("number in the body", {"total": [{"numeric": [">", 10]}]}, {"total": 12}, True),
    ("arrays in the body", {"tags": ["red"]}, {"tags": ["blue", "red"]}, True),
    ("exists false on the body", {"missing": [{"exists": False}]}, {"other": 1}, True),
    ("null in the body", {"value": [None]}, {"value": None}, True),
]


@pytest.mark.parametrize(
    ("policy", "body", "expected"), [c[1:] for c in BODY_CASES], ids=[c[0] for c in BODY_CASES]
)
def test_message_body_scope(policy, body, expected):
    compiled = compile_policy(json.dumps(policy), "MessageBody")
    assert compiled.matches(json.dumps(body), {}) is expected


def test_a_body_that_is_not_json_matches_no_body_policy():
    assert compile_policy('{"a": [{"exists": false}]}', "MessageBody").matches("plain text", {}) is False


def test_the_body_scope_ignores_attributes():
    policy = compile_policy('{"kind": ["x"]}', "MessageBody")
    assert policy.matches('{"kind": "y"}', {"kind": s("x")}) is False


INVALID = [
    ("not json", "{", "failed to parse JSON."),
    ("not an object", "[1]", "Filter policy must be a JSON object"),
    (
        "nesting in the attributes scope",
        '{"a": {"b": ["c"]}}',
        "Filter policy scope MessageAttributes does not support nested filter policy",
    ),
    ("six keys", json.dumps({k: ["x"] for k in "abcdef"}), "Filter policy can not have more than 5 keys"),
    (
        "too many combinations",
        json.dumps({k: [str(i) for i in range(6)] for k in "abc"}),
        "Filter policy is too complex",
    ),
    ("wildcard", '{"a": [{"wildcard": "x*"}]}', "Unrecognized match type wildcard"),
    ("unknown operator", '{"a": [{"prefixx": "x"}]}', "Unrecognized match type prefixx"),
    (
        "numbers beyond 1e9",
        '{"a": [{"numeric": [">", 1000000001]}]}',
        "Numeric values must be between -1.0E9 and 1.0E9, inclusive",
    ),
    ("empty array", '{"a": []}', "Empty arrays are not allowed"),
    (
        "exists not boolean",
        '{"a": [{"exists": "yes"}]}',
        "exists match pattern must be either true or false.",
    ),
    ("bad numeric operator", '{"a": [{"numeric": ["!", 1]}]}', "Unrecognized numeric range operator: !"),
    ("a scalar value", '{"a": "x"}', '"a" must be an object or an array'),
]


@pytest.mark.parametrize(("text", "reason"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_policies_are_rejected_with_sns_reasons(text, reason):
    with pytest.raises(InvalidFilterPolicy) as raised:
        compile_policy(text)
    assert str(raised.value) == reason


def test_the_body_scope_allows_nesting_and_counts_leaf_keys():
    compile_policy(json.dumps({"a": {"b": {"c": ["x"]}}, "d": ["y"]}), "MessageBody")
    with pytest.raises(InvalidFilterPolicy, match="more than 5 keys"):
        compile_policy(json.dumps({"o": {k: ["x"] for k in "abcdef"}}), "MessageBody")
