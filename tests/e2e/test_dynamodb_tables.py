"""DynamoDB through boto3 over real HTTP: tables, items, expressions, queries, batches, transactions, TTL.

Behaviour is asserted against the DynamoDB documentation (messages as DynamoDB words them)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def ddb(server: Any) -> Any:
    return server.client("dynamodb")


def make_table(
    ddb: Any, name: str = "orders", *, range_key: str | None = "sk", stream: str | None = None, **extra: Any
) -> None:
    keys = [{"AttributeName": "pk", "KeyType": "HASH"}]
    attrs = [{"AttributeName": "pk", "AttributeType": "S"}]
    if range_key:
        keys.append({"AttributeName": range_key, "KeyType": "RANGE"})
        attrs.append({"AttributeName": range_key, "AttributeType": extra.pop("range_type", "S")})
    attrs += extra.pop("more_attrs", [])
    params: dict[str, Any] = {
        "TableName": name,
        "KeySchema": keys,
        "AttributeDefinitions": attrs,
        "BillingMode": "PAY_PER_REQUEST",
        **extra,
    }
    if stream:
        params["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream}
    ddb.create_table(**params)


def error_of(call: Any, **params: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call(**params)
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


# ── tables ──


def test_create_describe_list_delete_table(ddb: Any) -> None:
    make_table(ddb, stream="NEW_AND_OLD_IMAGES")
    described = ddb.describe_table(TableName="orders")["Table"]
    assert described["TableStatus"] == "ACTIVE"
    assert described["TableArn"] == "arn:aws:dynamodb:us-east-1:000000000000:table/orders"
    assert described["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert described["LatestStreamArn"].endswith("/stream/" + described["LatestStreamLabel"])
    assert described["ItemCount"] == 0
    assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert ddb.list_tables()["TableNames"] == ["orders"]
    ddb.get_waiter("table_exists").wait(TableName="orders")
    assert ddb.delete_table(TableName="orders")["TableDescription"]["TableStatus"] == "DELETING"
    assert error_of(ddb.describe_table, TableName="orders") == (
        "ResourceNotFoundException",
        "Requested resource not found: Table: orders not found",
    )


def test_create_table_twice_is_resource_in_use(ddb: Any) -> None:
    make_table(ddb)
    assert error_of(make_table, ddb=ddb) == ("ResourceInUseException", "Table already exists: orders")


def test_create_table_with_undefined_key_attribute_is_rejected(ddb: Any) -> None:
    code, message = error_of(
        ddb.create_table,
        TableName="t",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "other", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    assert code == "ValidationException"
    assert "Some index key attributes are not defined in AttributeDefinitions" in message


def test_item_count_counts_items(ddb: Any) -> None:
    make_table(ddb)
    for i in range(3):
        ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}, "sk": {"S": str(i)}})
    assert ddb.describe_table(TableName="orders")["Table"]["ItemCount"] == 3


def test_operations_on_missing_table(ddb: Any) -> None:
    assert error_of(ddb.put_item, TableName="nope", Item={"pk": {"S": "a"}}) == (
        "ResourceNotFoundException",
        "Requested resource not found",
    )


# ── items and attribute types ──

ALL_TYPES = {
    "pk": {"S": "k"},
    "sk": {"S": "1"},
    "s": {"S": "héllo"},
    "n": {"N": "12345678901234567890123456789012345678"},
    "small": {"N": "-0.000000000000000000000000000000000001"},
    "b": {"B": b"\x00\xff"},
    "t": {"BOOL": True},
    "z": {"NULL": True},
    "m": {"M": {"inn": {"L": [{"S": "x"}, {"N": "1"}]}}},
    "l": {"L": [{"M": {}}, {"SS": ["a"]}]},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": [b"a", b"b"]},
    "empty": {"S": ""},
}


def test_all_attribute_types_round_trip(ddb: Any) -> None:
    make_table(ddb)
    ddb.put_item(TableName="orders", Item=ALL_TYPES)
    item = ddb.get_item(TableName="orders", Key={"pk": {"S": "k"}, "sk": {"S": "1"}})["Item"]
    assert item == ALL_TYPES


@pytest.mark.parametrize(
    ("written", "read"),
    [("1.50", "1.5"), ("1e2", "100"), ("007", "7"), ("-0", "0"), ("0.10E-5", "0.000001")],
)
def test_numbers_come_back_canonical(ddb: Any, written: str, read: str) -> None:
    make_table(ddb, range_key=None)
    ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}, "n": {"N": written}})
    assert ddb.get_item(TableName="orders", Key={"pk": {"S": "a"}})["Item"]["n"] == {"N": read}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"N": "1" * 39}, "Attempting to store more than 38 significant digits in a Number"),
        (
            {"N": "1E+126"},
            "Number overflow. Attempting to store a number with magnitude larger than supported range",
        ),
        (
            {"N": "1E-131"},
            "Number underflow. Attempting to store a number with magnitude smaller than supported range",
        ),
        ({"N": "abc"}, "A value provided cannot be converted into a number"),
        ({"SS": []}, "One or more parameter values were invalid: An string set  may not be empty"),
        (
            {"SS": ["a", "a"]},
            "One or more parameter values were invalid: Input collection [a, a] contains duplicates.",
        ),
        (
            {"NS": ["1", "1.0"]},
            "One or more parameter values were invalid: Input collection [1, 1.0] contains duplicates.",
        ),
        ({}, "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"),
    ],
    ids=[
        "39-digits",
        "overflow",
        "underflow",
        "not-a-number",
        "empty-set",
        "dup-set",
        "dup-number-set",
        "empty",
    ],
)
def test_invalid_attribute_values(server: Any, value: dict[str, Any], message: str) -> None:
    ddb = server.client("dynamodb", parameter_validation=False)
    make_table(ddb, range_key=None)
    assert error_of(ddb.put_item, TableName="orders", Item={"pk": {"S": "a"}, "v": value}) == (
        "ValidationException",
        message,
    )


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"x": {"S": "a"}}, "One or more parameter values were invalid: Missing the key pk in the item"),
        (
            {"pk": {"N": "1"}},
            "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N",
        ),
        (
            {"pk": {"S": ""}},
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an "
            "empty string value. Key: pk",
        ),
    ],
)
def test_put_item_key_errors(ddb: Any, item: dict[str, Any], message: str) -> None:
    make_table(ddb, range_key=None)
    assert error_of(ddb.put_item, TableName="orders", Item=item) == ("ValidationException", message)


def test_get_item_with_wrong_key_does_not_match_schema(ddb: Any) -> None:
    make_table(ddb)
    assert error_of(ddb.get_item, TableName="orders", Key={"pk": {"S": "a"}}) == (
        "ValidationException",
        "The provided key element does not match the schema",
    )


def test_item_over_400kb_is_rejected_and_just_under_is_accepted(ddb: Any) -> None:
    make_table(ddb, range_key=None)
    ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}, "d": {"S": "x" * (400 * 1024 - 4)}})
    assert error_of(
        ddb.put_item, TableName="orders", Item={"pk": {"S": "a"}, "d": {"S": "x" * (400 * 1024)}}
    ) == (
        "ValidationException",
        "Item size has exceeded the maximum allowed size",
    )
    assert error_of(
        ddb.update_item,
        TableName="orders",
        Key={"pk": {"S": "a"}},
        UpdateExpression="SET e = :v",
        ExpressionAttributeValues={":v": {"S": "y" * 10}},
    ) == ("ValidationException", "Item size to update has exceeded the maximum allowed size")


# ── conditions and return values ──


def test_put_with_condition_and_return_values(ddb: Any) -> None:
    make_table(ddb, range_key=None)
    put = {"TableName": "orders", "ConditionExpression": "attribute_not_exists(pk)"}
    ddb.put_item(Item={"pk": {"S": "a"}, "v": {"N": "1"}}, **put)
    with pytest.raises(ClientError) as info:
        ddb.put_item(
            Item={"pk": {"S": "a"}, "v": {"N": "2"}}, ReturnValuesOnConditionCheckFailure="ALL_OLD", **put
        )
    error = info.value.response
    assert error["Error"]["Code"] == "ConditionalCheckFailedException"
    assert error["Error"]["Message"] == "The conditional request failed"
    assert error["Item"] == {"pk": {"S": "a"}, "v": {"N": "1"}}
    old = ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}, "v": {"N": "3"}}, ReturnValues="ALL_OLD")
    assert old["Attributes"]["v"] == {"N": "1"}
    assert error_of(ddb.put_item, TableName="orders", Item={"pk": {"S": "a"}}, ReturnValues="ALL_NEW") == (
        "ValidationException",
        "ReturnValues can only be ALL_OLD or NONE",
    )
    deleted = ddb.delete_item(
        TableName="orders",
        Key={"pk": {"S": "a"}},
        ConditionExpression="v BETWEEN :lo AND :hi",
        ExpressionAttributeValues={":lo": {"N": "2"}, ":hi": {"N": "4"}},
        ReturnValues="ALL_OLD",
    )
    assert deleted["Attributes"] == {"pk": {"S": "a"}, "v": {"N": "3"}}


@pytest.mark.parametrize(
    ("condition", "values", "holds"),
    [
        ("attribute_exists(m.inn[1])", {}, True),
        ("attribute_exists(m.inn[2])", {}, False),
        ("attribute_type(ss, :t)", {":t": {"S": "SS"}}, True),
        ("begins_with(s, :p)", {":p": {"S": "hé"}}, True),
        ("contains(ss, :e)", {":e": {"S": "b"}}, True),
        ("contains(s, :e)", {":e": {"S": "ll"}}, True),
        ("contains(l, :e)", {":e": {"SS": ["a"]}}, True),
        ("size(ss) = :two", {":two": {"N": "2"}}, True),
        ("size(s) > :two", {":two": {"N": "2"}}, True),
        ("n IN (:a, :b)", {":a": {"N": "1"}, ":b": {"N": "12345678901234567890123456789012345678"}}, True),
        ("NOT t = :f AND (z = :z OR gone = :z)", {":f": {"BOOL": False}, ":z": {"NULL": True}}, True),
        ("gone <> :a", {":a": {"N": "1"}}, True),
        ("gone < :a", {":a": {"N": "1"}}, False),
        ("s < :n", {":n": {"N": "1"}}, False),
        ("ns = :ns", {":ns": {"NS": ["2.50", "1"]}}, True),
        ("a OR b AND c", {}, None),
    ],
)
def test_condition_expression_semantics(
    ddb: Any, condition: str, values: dict[str, Any], holds: bool | None
) -> None:
    make_table(ddb)
    ddb.put_item(TableName="orders", Item=ALL_TYPES)
    params: dict[str, Any] = {
        "TableName": "orders",
        "Key": {"pk": {"S": "k"}, "sk": {"S": "1"}},
        "ConditionExpression": condition,
    }
    if values:
        params["ExpressionAttributeValues"] = values
    if holds is None:
        # attribute_exists-free paths that are absent: OR/AND precedence must parse; the item lacks a, b, c
        with pytest.raises(ClientError):
            ddb.delete_item(**params)
        return
    if holds:
        ddb.delete_item(**params)
        assert "Item" not in ddb.get_item(TableName="orders", Key=params["Key"])
    else:
        assert error_of(ddb.delete_item, **params)[0] == "ConditionalCheckFailedException"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"ConditionExpression": "a = :v"},
            "Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :v",
        ),
        (
            {"ConditionExpression": "#a = :v", "ExpressionAttributeValues": {":v": {"S": "x"}}},
            "Invalid ConditionExpression: An expression attribute name used in the document path is not defined; attribute name: #a",
        ),
        (
            {
                "ConditionExpression": "a = :v",
                "ExpressionAttributeValues": {":v": {"S": "x"}, ":w": {"S": "y"}},
            },
            "1 validation error detected: Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}",
        ),
        (
            {"ExpressionAttributeNames": {"#a": "a"}},
            "ExpressionAttributeNames can only be specified when using expressions",
        ),
        (
            {"ConditionExpression": "a = = b"},
            'Invalid ConditionExpression: Syntax error; token: "=", near: "= = b"',
        ),
        (
            {"ConditionExpression": "status = :v", "ExpressionAttributeValues": {":v": {"S": "x"}}},
            "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: status",
        ),
        (
            {"ConditionExpression": "nope(a)"},
            "Invalid ConditionExpression: Invalid function name; function: nope",
        ),
        (
            {"ConditionExpression": "begins_with(a)"},
            "Invalid ConditionExpression: Incorrect number of operands for operator or function; operator or function: begins_with, number of operands: 1",
        ),
        (
            {
                "ConditionExpression": "a BETWEEN :hi AND :lo",
                "ExpressionAttributeValues": {":lo": {"N": "1"}, ":hi": {"N": "10"}},
            },
            "Invalid ConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {N:10}, upper bound operand: AttributeValue: {N:1}",
        ),
        (
            {"ConditionExpression": "attribute_type(a, :t)", "ExpressionAttributeValues": {":t": {"S": "X"}}},
            "Invalid ConditionExpression: Invalid attribute type name found; type: X, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}",
        ),
    ],
    ids=[
        "undefined-value",
        "undefined-name",
        "unused-value",
        "names-without-expression",
        "syntax",
        "reserved",
        "unknown-function",
        "operand-count",
        "between-order",
        "attribute-type",
    ],
)
def test_expression_validation_messages(ddb: Any, params: dict[str, Any], message: str) -> None:
    make_table(ddb, range_key=None)
    assert error_of(ddb.put_item, TableName="orders", Item={"pk": {"S": "a"}}, **params) == (
        "ValidationException",
        message,
    )
