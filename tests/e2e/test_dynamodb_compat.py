"""DynamoDB behaviours AWS was observed to have (issue 13, items 19, 20, 22 and 28): index reads and Select, table
ARNs in place of names, the order and wording of validation messages, and ResourceNotFoundException's text."""

from __future__ import annotations

from typing import Any

import pytest

from .test_dynamodb_tables import error_of, make_table

ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/orders"
KEY = {"pk": {"S": "a"}, "sk": {"S": "1"}}
ITEM = {**KEY, "city": {"S": "oslo"}, "at": {"S": "2026"}, "note": {"S": "hello"}}


@pytest.fixture
def ddb(server: Any) -> Any:
    client = server.client("dynamodb")
    make_table(
        client,
        more_attrs=[
            {"AttributeName": "city", "AttributeType": "S"},
            {"AttributeName": "at", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-city",
                "KeySchema": [{"AttributeName": "city", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": "by-time",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["city"]},
            }
        ],
    )
    client.put_item(TableName="orders", Item=ITEM)
    return client


BY_CITY = {
    "TableName": "orders",
    "IndexName": "by-city",
    "KeyConditionExpression": "city = :c",
    "ExpressionAttributeValues": {":c": {"S": "oslo"}},
}
BY_TIME = {
    "TableName": "orders",
    "IndexName": "by-time",
    "KeyConditionExpression": "pk = :p",
    "ExpressionAttributeValues": {":p": {"S": "a"}},
}
PROJECTED_BY_TIME = {"pk", "sk", "at", "city"}


# ── index reads (item 19) ──


def test_an_index_read_without_select_returns_the_projected_attributes(ddb: Any) -> None:
    assert ddb.query(**BY_CITY)["Items"] == [{"pk": {"S": "a"}, "sk": {"S": "1"}, "city": {"S": "oslo"}}]
    assert set(ddb.query(**BY_TIME)["Items"][0]) == PROJECTED_BY_TIME
    assert ddb.scan(TableName="orders", IndexName="by-city")["Count"] == 1


def test_all_attributes_from_a_local_index_are_fetched_from_the_table(ddb: Any) -> None:
    assert ddb.query(**BY_TIME, Select="ALL_ATTRIBUTES")["Items"] == [ITEM]
    assert ddb.scan(TableName="orders", IndexName="by-time", Select="ALL_ATTRIBUTES")["Items"] == [ITEM]
    assert ddb.query(**BY_TIME, ProjectionExpression="note")["Items"] == [{"note": {"S": "hello"}}]
    filtered = ddb.query(
        **{**BY_TIME, "ExpressionAttributeValues": {":p": {"S": "a"}, ":n": {"S": "hello"}}},
        FilterExpression="note = :n",
    )
    assert filtered["Count"] == 1 and set(filtered["Items"][0]) == PROJECTED_BY_TIME


def test_all_attributes_from_a_global_index_without_all_projected_is_rejected(ddb: Any) -> None:
    assert error_of(ddb.query, **BY_CITY, Select="ALL_ATTRIBUTES") == (
        "ValidationException",
        "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global "
        "secondary index by-city because its projection type is not ALL",
    )


def test_all_projected_attributes_needs_an_index(ddb: Any) -> None:
    expected = (
        "ValidationException",
        "1 validation error detected: ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName",
    )
    assert error_of(ddb.scan, TableName="orders", Select="ALL_PROJECTED_ATTRIBUTES") == expected
    query = {k: v for k, v in BY_TIME.items() if k != "IndexName"}
    assert error_of(ddb.query, **query, Select="ALL_PROJECTED_ATTRIBUTES") == expected


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"Select": "SPECIFIC_ATTRIBUTES"},
            "Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES",
        ),
        (
            {"Select": "ALL_ATTRIBUTES", "ProjectionExpression": "pk"},
            "Cannot specify the ProjectionExpression when choosing to get ALL_ATTRIBUTES",
        ),
        (
            {"Select": "ALL_ATTRIBUTES", "AttributesToGet": ["pk"]},
            "Cannot specify the AttributesToGet when choosing to get ALL_ATTRIBUTES",
        ),
        (
            {"Select": "COUNT", "ProjectionExpression": "pk"},
            "Cannot specify the ProjectionExpression when choosing to get only the Count",
        ),
        (
            {"Select": "ALL_PROJECTED_ATTRIBUTES", "ProjectionExpression": "pk", "IndexName": "by-city"},
            "Cannot specify the ProjectionExpression when choosing to get ALL_PROJECTED_ATTRIBUTES",
        ),
    ],
    ids=[
        "specific-without-projection",
        "all-with-projection",
        "all-with-attributes-to-get",
        "count",
        "projected",
    ],
)
def test_select_messages_name_the_parameters_sent(ddb: Any, params: dict[str, Any], message: str) -> None:
    assert error_of(ddb.scan, TableName="orders", **params) == (
        "ValidationException",
        "1 validation error detected: " + message,
    )


def test_an_unknown_select_lists_the_values_in_aws_order(server: Any, ddb: Any) -> None:
    scan = server.client("dynamodb", parameter_validation=False).scan
    assert error_of(scan, TableName="orders", Select="SOME") == (
        "ValidationException",
        "1 validation error detected: Value 'SOME' at 'select' failed to satisfy constraint: Member must satisfy "
        "enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]",
    )


# ── table ARNs (item 20) ──


def test_a_table_arn_works_wherever_a_table_name_does(ddb: Any) -> None:
    other = {**KEY, "sk": {"S": "2"}}
    ddb.put_item(TableName=ARN, Item=other)
    assert ddb.get_item(TableName=ARN, Key=other)["Item"] == other
    ddb.update_item(
        TableName=ARN, Key=other, UpdateExpression="SET n = :n", ExpressionAttributeValues={":n": {"N": "1"}}
    )
    assert (
        ddb.query(
            TableName=ARN, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "a"}}
        )["Count"]
        == 2
    )
    assert ddb.scan(TableName=ARN)["Count"] == 2
    ddb.batch_write_item(RequestItems={ARN: [{"PutRequest": {"Item": {**KEY, "sk": {"S": "3"}}}}]})
    got = ddb.batch_get_item(RequestItems={ARN: {"Keys": [{**KEY, "sk": {"S": "3"}}]}})["Responses"]
    assert got == {ARN: [{**KEY, "sk": {"S": "3"}}]}
    ddb.transact_write_items(TransactItems=[{"Delete": {"TableName": ARN, "Key": other}}])
    assert ddb.transact_get_items(TransactItems=[{"Get": {"TableName": ARN, "Key": other}}])["Responses"] == [
        {}
    ]
    ddb.delete_item(TableName=ARN, Key={**KEY, "sk": {"S": "3"}})
    assert ddb.describe_table(TableName=ARN)["Table"]["TableName"] == "orders"
    assert ddb.describe_time_to_live(TableName=ARN)["TimeToLiveDescription"]["TimeToLiveStatus"] == "DISABLED"
    assert ddb.scan(TableName="orders")["Items"] == [ITEM]


def test_an_arn_of_another_account_is_not_this_table(ddb: Any) -> None:
    foreign = "arn:aws:dynamodb:us-east-1:111111111111:table/orders"
    assert error_of(ddb.get_item, TableName=foreign, Key=KEY) == (
        "ResourceNotFoundException",
        "Requested resource not found",
    )


# ── ResourceNotFoundException (item 28) ──


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("put_item", {"TableName": "nope", "Item": KEY}),
        ("get_item", {"TableName": "nope", "Key": KEY}),
        ("update_item", {"TableName": "nope", "Key": KEY, "UpdateExpression": "REMOVE v"}),
        ("delete_item", {"TableName": "nope", "Key": KEY}),
        (
            "query",
            {
                "TableName": "nope",
                "KeyConditionExpression": "pk = :p",
                "ExpressionAttributeValues": {":p": {"S": "a"}},
            },
        ),
        ("scan", {"TableName": "nope"}),
        ("batch_get_item", {"RequestItems": {"nope": {"Keys": [KEY]}}}),
        ("batch_write_item", {"RequestItems": {"nope": [{"PutRequest": {"Item": KEY}}]}}),
        ("transact_write_items", {"TransactItems": [{"Put": {"TableName": "nope", "Item": KEY}}]}),
        ("transact_get_items", {"TransactItems": [{"Get": {"TableName": "nope", "Key": KEY}}]}),
    ],
)
def test_item_operations_on_a_missing_table_say_requested_resource_not_found(
    ddb: Any, operation: str, params: dict[str, Any]
) -> None:
    assert error_of(getattr(ddb, operation), **params) == (
        "ResourceNotFoundException",
        "Requested resource not found",
    )


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("describe_table", {}),
        ("delete_table", {}),
        ("update_table", {"BillingMode": "PAY_PER_REQUEST"}),
        ("describe_time_to_live", {}),
        ("update_time_to_live", {"TimeToLiveSpecification": {"Enabled": True, "AttributeName": "ttl"}}),
    ],
)
def test_table_operations_on_a_missing_table_name_it(
    ddb: Any, operation: str, params: dict[str, Any]
) -> None:
    assert error_of(getattr(ddb, operation), TableName="nope", **params) == (
        "ResourceNotFoundException",
        "Requested resource not found: Table: nope not found",
    )


# ── validation order and wording (item 22) ──


def test_unused_expression_values_are_reported_before_the_table_and_the_key(ddb: Any) -> None:
    unused = {
        "ExpressionAttributeValues": {":unused": {"S": "x"}},
        "ConditionExpression": "attribute_exists(pk)",
    }
    message = "Value provided in ExpressionAttributeValues unused in expressions: keys: {:unused}"
    expected = ("ValidationException", "1 validation error detected: " + message)
    assert error_of(ddb.put_item, TableName="nope", Item=KEY, **unused) == expected
    assert error_of(ddb.delete_item, TableName="orders", Key={"pk": {"S": "a"}}, **unused) == expected
    names = {"ExpressionAttributeNames": {"#n": "note", "#u": "unused"}, "ProjectionExpression": "#n"}
    assert error_of(ddb.get_item, TableName="nope", Key={"bad": {"S": "x"}}, **names) == (
        "ValidationException",
        "Value provided in ExpressionAttributeNames unused in expressions: keys: {#u}",
    )


def test_placeholders_without_their_sigil_are_a_syntax_error(ddb: Any) -> None:
    assert error_of(
        ddb.put_item,
        TableName="orders",
        Item=KEY,
        ConditionExpression="v = :v",
        ExpressionAttributeValues={"v": {"S": "x"}},
    ) == ("ValidationException", 'ExpressionAttributeValues contains invalid key: Syntax error; key: "v"')
    assert error_of(
        ddb.get_item,
        TableName="orders",
        Key=KEY,
        ProjectionExpression="#n",
        ExpressionAttributeNames={"n": "note"},
    ) == ("ValidationException", 'ExpressionAttributeNames contains invalid key: Syntax error; key: "n"')


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("pk = :p OR sk = :s", "Invalid operator used in KeyConditionExpression: OR"),
        ("NOT pk = :p", "Invalid operator used in KeyConditionExpression: NOT"),
        ("pk = :p AND sk IN (:s)", "Invalid operator used in KeyConditionExpression: IN"),
        (
            "pk = :p AND attribute_exists(sk)",
            "Invalid operator used in KeyConditionExpression: attribute_exists",
        ),
        ("pk = :p AND size(sk) = :s", "Invalid operator used in KeyConditionExpression: size"),
        (
            "pk = sk",
            "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition",
        ),
        ("pk = :p AND :s = :s", "Invalid condition in KeyConditionExpression: No key attribute specified"),
        ("pk = :p AND pk = :p", "KeyConditionExpressions must only contain one condition per key"),
        (
            "pk = :p AND sk > :s AND sk < :s",
            "KeyConditionExpressions must only contain one condition per key",
        ),
        ("pk > :p", "Query key condition not supported"),
        ("sk = :s", "Query condition missed key schema element: pk"),
    ],
)
def test_key_condition_messages(ddb: Any, condition: str, message: str) -> None:
    values = {":p": {"S": "a"}, ":s": {"S": "1"}}
    params: dict[str, Any] = {"TableName": "orders", "KeyConditionExpression": condition}
    used = {k: v for k, v in values.items() if k in condition}
    if used:
        params["ExpressionAttributeValues"] = used
    assert error_of(ddb.query, **params) == ("ValidationException", message)


def test_update_item_without_an_update_expression_creates_the_key_only_item(ddb: Any) -> None:
    key = {**KEY, "sk": {"S": "new"}}
    ddb.update_item(TableName="orders", Key=key)
    assert ddb.get_item(TableName="orders", Key=key)["Item"] == key
