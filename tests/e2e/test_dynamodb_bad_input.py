"""DynamoDB over real HTTP with input built to hurt: oversized and deeply nested expressions, deeply nested
attribute values, malformed start keys and transaction items, oversized keys. Every answer is a 4xx with
DynamoDB's code and message, and the data and the server stay as they were."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from .test_dynamodb_tables import error_of, make_table

KEY = {"pk": {"S": "a"}, "sk": {"S": "1"}}
ITEM = {**KEY, "v": {"N": "1"}}
REDUNDANT = "Invalid {}: The expression has redundant parentheses;"
INVALID_START = "The provided starting key is invalid: The provided key element does not match the schema"


@pytest.fixture
def ddb(server: Any) -> Any:
    client = server.client("dynamodb")
    make_table(client)
    client.put_item(TableName="orders", Item=ITEM)
    return client


def post(server: Any, operation: str, body: bytes) -> tuple[int, dict[str, Any]]:
    """A raw DynamoDB request (for bodies boto3 cannot build, such as 400 levels of nesting)."""
    request = urllib.request.Request(
        server.endpoint_url,
        data=body,
        method="POST",
        headers={
            "X-Amz-Target": f"DynamoDB_20120810.{operation}",
            "Content-Type": "application/x-amz-json-1.0",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def still_healthy(ddb: Any) -> None:
    assert ddb.get_item(TableName="orders", Key=KEY)["Item"] == ITEM
    ddb.put_item(TableName="orders", Item={**KEY, "sk": {"S": "2"}})
    assert (
        ddb.query(
            TableName="orders", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "a"}}
        )["Count"]
        == 2
    )


# ── expression size and nesting (issue 13, items 4 and 5) ──


def test_a_projection_over_4_kb_is_rejected(ddb: Any) -> None:
    text = ",".join(f"attr{i}" for i in range(8000))
    assert error_of(ddb.get_item, TableName="orders", Key=KEY, ProjectionExpression=text) == (
        "ValidationException",
        "Invalid ProjectionExpression: Expression size has exceeded the maximum allowed size; expression size: "
        + str(len(text)),
    )
    still_healthy(ddb)


def test_an_expression_of_exactly_4_kb_is_accepted(ddb: Any) -> None:
    text = ", ".join(["v"] + [f"a{i}" for i in range(600)])
    assert len(text) < 4096
    text += " " * (4096 - len(text))
    assert ddb.get_item(TableName="orders", Key=KEY, ProjectionExpression=text)["Item"] == {"v": {"N": "1"}}


DEEP = "(" * 250 + "attribute_exists(pk)" + ")" * 250


@pytest.mark.parametrize(
    ("operation", "params", "label"),
    [
        ("put_item", {"Item": ITEM, "ConditionExpression": DEEP}, "ConditionExpression"),
        ("delete_item", {"Key": KEY, "ConditionExpression": DEEP}, "ConditionExpression"),
        ("scan", {"FilterExpression": DEEP}, "FilterExpression"),
        (
            "query",
            {
                "KeyConditionExpression": "(" * 250 + "pk = :p" + ")" * 250,
                "ExpressionAttributeValues": {":p": {"S": "a"}},
            },
            "KeyConditionExpression",
        ),
    ],
)
def test_deeply_parenthesized_expressions_are_a_validation_error(
    ddb: Any, operation: str, params: dict[str, Any], label: str
) -> None:
    assert error_of(getattr(ddb, operation), TableName="orders", **params) == (
        "ValidationException",
        REDUNDANT.format(label),
    )
    still_healthy(ddb)


def test_a_deep_condition_check_fails_the_transaction_and_writes_nothing(ddb: Any) -> None:
    items = [
        {"Put": {"TableName": "orders", "Item": {**KEY, "sk": {"S": "new"}}}},
        {"ConditionCheck": {"TableName": "orders", "Key": KEY, "ConditionExpression": DEEP}},
    ]
    assert error_of(ddb.transact_write_items, TransactItems=items) == (
        "ValidationException",
        REDUNDANT.format("ConditionExpression"),
    )
    assert "Item" not in ddb.get_item(TableName="orders", Key={**KEY, "sk": {"S": "new"}})
    still_healthy(ddb)


@pytest.mark.parametrize(
    "condition",
    [
        "(v = :v AND " * 150 + "v = :v" + ")" * 150,
        "size(" * 500 + "v" + ")" * 500 + " > :v",
    ],
    ids=["nested-groups", "nested-size"],
)
def test_expressions_nested_past_the_limit_are_a_validation_error(ddb: Any, condition: str) -> None:
    code, message = error_of(
        ddb.scan, TableName="orders", FilterExpression=condition, ExpressionAttributeValues={":v": {"N": "1"}}
    )
    assert (code, message) == (
        "ValidationException",
        "Invalid FilterExpression: The expression is nested too deeply; maximum nesting levels: 100",
    )
    still_healthy(ddb)


def test_long_chains_of_not_and_and_evaluate(ddb: Any) -> None:
    values = {":v": {"N": "1"}}
    for condition, count in [
        ("NOT " * 1000 + "v = :v", 1),
        ("NOT " * 1001 + "v = :v", 0),
        (" AND ".join(["v = :v"] * 300), 1),
        (" OR ".join(["w = :v"] * 400 + ["v = :v"]), 1),
    ]:
        found = ddb.scan(TableName="orders", FilterExpression=condition, ExpressionAttributeValues=values)
        assert found["Count"] == count, condition[:40]


# ── attribute values nested deeply (item 6) ──


def nested(levels: int, kind: str) -> str:
    """`levels` of M (or L) around a string, as JSON text (too deep for json.dumps)."""
    opening, closing = ('{"M":{"a":', "}}") if kind == "M" else ('{"L":[', "]}")
    return opening * levels + '{"S":"x"}' + closing * levels


@pytest.mark.parametrize("kind", ["M", "L"])
@pytest.mark.parametrize("levels", [40, 400, 500])
def test_attribute_values_nested_past_32_levels_are_rejected_at_any_depth(
    server: Any, ddb: Any, kind: str, levels: int
) -> None:
    deep = nested(levels, kind)
    requests = [
        ("PutItem", '{"TableName":"orders","Item":{"pk":{"S":"a"},"sk":{"S":"2"},"d":' + deep + "}}"),
        ("GetItem", '{"TableName":"orders","Key":{"pk":' + deep + ',"sk":{"S":"1"}}}'),
        (
            "Query",
            '{"TableName":"orders","KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{":p":'
            + deep
            + "}}",
        ),
    ]
    for operation, body in requests:
        status, answer = post(server, operation, body.encode())
        assert (status, answer) == (
            400,
            {"__type": "ValidationException", "message": "Nesting Levels have exceeded supported limits"},
        ), operation
    still_healthy(ddb)


def test_json_nested_past_the_parser_limit_is_a_serialization_error(server: Any, ddb: Any) -> None:
    status, answer = post(server, "PutItem", b'{"a":' * 5000 + b"1" + b"}" * 5000)
    assert status == 400 and answer["__type"] == "SerializationException"
    still_healthy(ddb)


# ── ExclusiveStartKey (item 7) ──


@pytest.mark.parametrize(
    "start",
    [
        {"sk": {"S": "1"}},
        {"pk": {"S": "a"}},
        {"pk": {"N": "1"}, "sk": {"S": "1"}},
        {"pk": {"S": "a"}, "sk": {"S": "1"}, "other": {"S": "x"}},
    ],
    ids=["missing-hash", "missing-range", "wrong-type", "extra-attribute"],
)
def test_an_exclusive_start_key_not_matching_the_schema_is_rejected(ddb: Any, start: dict[str, Any]) -> None:
    assert error_of(ddb.scan, TableName="orders", ExclusiveStartKey=start) == (
        "ValidationException",
        INVALID_START,
    )
    query = {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "a"}}}
    assert error_of(ddb.query, TableName="orders", ExclusiveStartKey=start, **query) == (
        "ValidationException",
        INVALID_START,
    )


def test_a_query_start_key_in_another_partition_is_outside_the_query(ddb: Any) -> None:
    assert error_of(
        ddb.query,
        TableName="orders",
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "a"}},
        ExclusiveStartKey={"pk": {"S": "b"}, "sk": {"S": "1"}},
    ) == (
        "ValidationException",
        "The provided starting key is outside query boundaries based on provided conditions",
    )


# ── transaction items (item 8) ──


@pytest.mark.parametrize(
    "entry",
    [
        {},
        {
            "Put": {"TableName": "orders", "Item": {**KEY, "sk": {"S": "x"}}},
            "Delete": {"TableName": "orders", "Key": KEY},
        },
    ],
    ids=["empty", "put-and-delete"],
)
def test_a_transact_item_must_hold_exactly_one_action(ddb: Any, entry: dict[str, Any]) -> None:
    assert error_of(ddb.transact_write_items, TransactItems=[entry]) == (
        "ValidationException",
        "TransactItems can only contain one of Check, Put, Update or Delete",
    )
    assert "Item" not in ddb.get_item(TableName="orders", Key={**KEY, "sk": {"S": "x"}})
    still_healthy(ddb)


# ── key sizes (item 21) ──

TOO_LONG_HASH = "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes"
TOO_LONG_RANGE = (
    "One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of "
    "1024 bytes"
)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ({"pk": {"S": "é" * 1025}, "sk": {"S": "1"}}, TOO_LONG_HASH),  # 2050 bytes in UTF-8
        ({"pk": {"B": b"x" * 2049}, "sk": {"S": "1"}}, TOO_LONG_HASH),
        ({"pk": {"S": "a"}, "sk": {"S": "x" * 1025}}, TOO_LONG_RANGE),
    ],
    ids=["hash-string", "hash-binary", "range"],
)
def test_oversized_keys_are_rejected_on_every_write(server: Any, key: dict[str, Any], message: str) -> None:
    ddb = server.client("dynamodb")
    make_table(ddb, more_attrs=[])
    if "B" in key["pk"]:
        ddb.delete_table(TableName="orders")
        ddb.create_table(
            TableName="orders",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "B"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
    expected = ("ValidationException", message)
    assert error_of(ddb.put_item, TableName="orders", Item=key) == expected
    assert error_of(ddb.update_item, TableName="orders", Key=key, UpdateExpression="REMOVE v") == expected
    assert error_of(ddb.delete_item, TableName="orders", Key=key) == expected
    assert (
        error_of(ddb.batch_write_item, RequestItems={"orders": [{"PutRequest": {"Item": key}}]}) == expected
    )
    for action in ({"Put": {"Item": key}}, {"Update": {"Key": key, "UpdateExpression": "REMOVE v"}}):
        [(name, spec)] = action.items()
        assert (
            error_of(ddb.transact_write_items, TransactItems=[{name: {"TableName": "orders", **spec}}])
            == expected
        )
    assert ddb.scan(TableName="orders")["Count"] == 0


def test_an_update_cannot_set_an_index_key_past_its_limit_or_type(server: Any) -> None:
    ddb = server.client("dynamodb")
    make_table(
        ddb,
        range_key=None,
        more_attrs=[{"AttributeName": "city", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-city",
                "KeySchema": [{"AttributeName": "city", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )
    key = {"pk": {"S": "a"}}
    update = {"TableName": "orders", "Key": key, "UpdateExpression": "SET city = :c"}
    assert error_of(ddb.update_item, **update, ExpressionAttributeValues={":c": {"S": "x" * 2049}}) == (
        "ValidationException",
        TOO_LONG_HASH,
    )
    assert error_of(ddb.update_item, **update, ExpressionAttributeValues={":c": {"N": "1"}}) == (
        "ValidationException",
        "One or more parameter values were invalid: Type mismatch for Index Key city Expected: S Actual: N "
        "IndexName: by-city",
    )
    assert "Item" not in ddb.get_item(TableName="orders", Key=key)


# ── tables ──


def test_create_table_without_key_schema_or_attribute_definitions_is_a_validation_error(server: Any) -> None:
    ddb = server.client("dynamodb")
    common = {"TableName": "t", "BillingMode": "PAY_PER_REQUEST"}
    assert error_of(ddb.create_table, **common, KeySchema=[{"AttributeName": "a", "KeyType": "HASH"}]) == (
        "ValidationException",
        "1 validation error detected: Value null at 'attributeDefinitions' failed to satisfy constraint: "
        "Member must not be null",
    )
    assert error_of(ddb.create_table, **common)[1].startswith(
        "2 validation errors detected: Value null at 'keySchema'"
    )
    assert ddb.list_tables()["TableNames"] == []


@pytest.mark.parametrize(
    ("table_keys", "index_keys", "message"),
    [
        (
            ["pk"],
            ["pk", "at"],
            "Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex",
        ),
        (["pk", "sk"], ["pk"], "Index KeySchema does not have a range key for index: local"),
        (
            ["pk", "sk"],
            ["at", "sk"],
            "Index KeySchema does not have the same leading hash key as table KeySchema for index: local. index hash "
            "key: at, table hash key: pk",
        ),
    ],
    ids=["table-without-range", "index-without-range", "other-hash-key"],
)
def test_a_local_index_must_share_the_hash_key_and_have_a_range_key(
    server: Any, table_keys: list[str], index_keys: list[str], message: str
) -> None:
    ddb = server.client("dynamodb")

    def schema(names: list[str]) -> list[dict[str, str]]:
        return [{"AttributeName": n, "KeyType": t} for n, t in zip(names, ("HASH", "RANGE"))]

    names = sorted(set(table_keys) | set(index_keys))
    assert error_of(
        ddb.create_table,
        TableName="t",
        KeySchema=schema(table_keys),
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in names],
        LocalSecondaryIndexes=[
            {"IndexName": "local", "KeySchema": schema(index_keys), "Projection": {"ProjectionType": "ALL"}}
        ],
        BillingMode="PAY_PER_REQUEST",
    ) == ("ValidationException", "One or more parameter values were invalid: " + message)


# ── numbers ──


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "1e999999999",
            "Number overflow. Attempting to store a number with magnitude larger than supported range",
        ),
        (
            "1e-999999999",
            "Number underflow. Attempting to store a number with magnitude smaller than supported range",
        ),
        ("1_000", "A value provided cannot be converted into a number"),
        ("\u0661\u0662", "A value provided cannot be converted into a number"),  # Arabic-Indic digits
    ],
    ids=["huge-exponent", "tiny-exponent", "underscores", "non-ascii-digits"],
)
def test_numbers_python_reads_but_dynamodb_does_not_are_rejected(ddb: Any, text: str, message: str) -> None:
    assert error_of(ddb.put_item, TableName="orders", Item={**KEY, "n": {"N": text}}) == (
        "ValidationException",
        message,
    )
    still_healthy(ddb)
