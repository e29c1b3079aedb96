"""DynamoDB through boto3: UpdateItem, Query, Scan, indexes, batches, transactions and TTL over real HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from pipework.clock import ManualClock

from .test_dynamodb_tables import error_of, make_table


@pytest.fixture
def ddb(server: Any) -> Any:
    return server.client("dynamodb")


KEY = {"pk": {"S": "a"}}


def update(ddb: Any, expression: str, values: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"TableName": "orders", "Key": KEY, "UpdateExpression": expression, **extra}
    if values:
        params["ExpressionAttributeValues"] = values
    result: dict[str, Any] = ddb.update_item(**params)
    return result


def test_update_expression_actions(ddb: Any) -> None:
    make_table(ddb, range_key=None)
    n = {":one": {"N": "1"}, ":ten": {"N": "10"}}
    assert update(ddb, "SET c = if_not_exists(c, :ten) + :one", n, ReturnValues="UPDATED_NEW")[
        "Attributes"
    ] == {"c": {"N": "11"}}
    update(ddb, "SET c = c - :one, l = :l", {":one": {"N": "1"}, ":l": {"L": [{"S": "a"}]}})
    update(ddb, "SET l = list_append(:pre, l)", {":pre": {"L": [{"S": "z"}]}})
    update(ddb, "SET l[5] = :x, m = :m", {":x": {"S": "end"}, ":m": {"M": {"k": {"N": "1"}}}})
    update(ddb, "ADD s :s, m.k :one, fresh :one", {":s": {"SS": ["x", "y"]}, ":one": {"N": "1"}})
    update(ddb, "DELETE s :x REMOVE l[0]", {":x": {"SS": ["x"]}})
    item = ddb.get_item(TableName="orders", Key=KEY)["Item"]
    assert item == {
        "pk": {"S": "a"},
        "c": {"N": "10"},
        "l": {"L": [{"S": "a"}, {"S": "end"}]},
        "m": {"M": {"k": {"N": "2"}}},
        "s": {"SS": ["y"]},
        "fresh": {"N": "1"},
    }
    update(ddb, "DELETE s :y", {":y": {"SS": ["y"]}})
    assert "s" not in ddb.get_item(TableName="orders", Key=KEY)["Item"]
    old = update(ddb, "SET c = fresh, fresh = c", ReturnValues="UPDATED_OLD")["Attributes"]
    assert old == {"c": {"N": "10"}, "fresh": {"N": "1"}}
    assert ddb.get_item(TableName="orders", Key=KEY)["Item"]["c"] == {"N": "1"}


def test_update_creates_missing_item_and_returns_all_new(ddb: Any) -> None:
    make_table(ddb, range_key=None)
    result = update(
        ddb,
        "SET #n = :v",
        {":v": {"S": "x"}},
        ExpressionAttributeNames={"#n": "name"},
        ReturnValues="ALL_NEW",
    )
    assert result["Attributes"] == {"pk": {"S": "a"}, "name": {"S": "x"}}


def test_arithmetic_keeps_38_digits(ddb: Any) -> None:
    make_table(ddb, range_key=None)
    big = "9" * 37 + ".1"
    update(ddb, "SET v = :a", {":a": {"N": big}})
    update(ddb, "SET v = v + :b", {":b": {"N": "0.8"}})
    assert ddb.get_item(TableName="orders", Key=KEY)["Item"]["v"] == {"N": "9" * 37 + ".9"}
    assert error_of(
        ddb.update_item,
        TableName="orders",
        Key=KEY,
        UpdateExpression="SET v = v + :b",
        ExpressionAttributeValues={":b": {"N": "0.01"}},
    ) == ("ValidationException", "Attempting to store more than 38 significant digits in a Number")


@pytest.mark.parametrize(
    ("expression", "values", "message"),
    [
        (
            "SET pk = :v",
            {":v": {"S": "b"}},
            "One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key",
        ),
        (
            "SET a = :v, a.b = :v",
            {":v": {"S": "b"}},
            "1 validation error detected: Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b]",
        ),
        (
            "SET a = :v SET b = :v",
            {":v": {"S": "b"}},
            '1 validation error detected: Invalid UpdateExpression: The "SET" section can only be used once in an update expression;',
        ),
        (
            "ADD a :v",
            {":v": {"S": "b"}},
            "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: STRING",
        ),
        (
            "SET a = nothere + :v",
            {":v": {"N": "1"}},
            "The provided expression refers to an attribute that does not exist in the item",
        ),
        (
            "SET s = s + :v",
            {":v": {"N": "1"}},
            "An operand in the update expression has an incorrect data type",
        ),
        (
            "SET nomap.x = :v",
            {":v": {"N": "1"}},
            "The document path provided in the update expression is invalid for update",
        ),
        (
            "SET a = :v",
            None,
            "Invalid UpdateExpression: An expression attribute value used in expression is not defined; attribute value: :v",
        ),
        ("SET", None, 'Invalid UpdateExpression: Syntax error; token: "<EOF>", near: "SET"'),
    ],
)
def test_update_expression_errors(
    ddb: Any, expression: str, values: dict[str, Any] | None, message: str
) -> None:
    make_table(ddb, range_key=None)
    ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}, "s": {"S": "text"}})
    params: dict[str, Any] = {"TableName": "orders", "Key": KEY, "UpdateExpression": expression}
    if values:
        params["ExpressionAttributeValues"] = values
    assert error_of(ddb.update_item, **params) == ("ValidationException", message)


# ── query and scan ──


def fill(ddb: Any, count: int = 10) -> None:
    make_table(
        ddb,
        range_type="N",
        more_attrs=[{"AttributeName": "city", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-city",
                "KeySchema": [
                    {"AttributeName": "city", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    for i in range(count):
        item = {"pk": {"S": "p"}, "sk": {"N": str(i - 3)}, "v": {"N": str(i)}}
        if i % 2 == 0:
            item["city"] = {"S": "oslo"}
        ddb.put_item(TableName="orders", Item=item)
    ddb.put_item(TableName="orders", Item={"pk": {"S": "q"}, "sk": {"N": "0"}})


def sks(result: dict[str, Any]) -> list[int]:
    return [int(i["sk"]["N"]) for i in result["Items"]]


@pytest.mark.parametrize(
    ("condition", "values", "expected"),
    [
        ("pk = :p", {}, list(range(-3, 7))),
        ("pk = :p AND sk < :x", {":x": {"N": "0"}}, [-3, -2, -1]),
        ("pk = :p AND sk <= :x", {":x": {"N": "0"}}, [-3, -2, -1, 0]),
        ("pk = :p AND sk > :x", {":x": {"N": "4"}}, [5, 6]),
        ("pk = :p AND sk >= :x", {":x": {"N": "4.0"}}, [4, 5, 6]),
        ("pk = :p AND sk = :x", {":x": {"N": "-2"}}, [-2]),
        ("pk = :p AND sk BETWEEN :x AND :y", {":x": {"N": "-1.5"}, ":y": {"N": "2"}}, [-1, 0, 1, 2]),
        (":p = pk AND :x < sk", {":x": {"N": "5"}}, [6]),
    ],
)
def test_query_key_conditions_on_numbers(
    ddb: Any, condition: str, values: dict[str, Any], expected: list[int]
) -> None:
    fill(ddb)
    result = ddb.query(
        TableName="orders",
        KeyConditionExpression=condition,
        ExpressionAttributeValues={":p": {"S": "p"}, **values},
    )
    assert sks(result) == expected
    backwards = ddb.query(
        TableName="orders",
        KeyConditionExpression=condition,
        ExpressionAttributeValues={":p": {"S": "p"}, **values},
        ScanIndexForward=False,
    )
    assert sks(backwards) == expected[::-1]


def test_query_begins_with_on_strings_orders_by_utf8(ddb: Any) -> None:
    make_table(ddb)
    for sk in ["b", "a#2", "a#10", "a", "é", "A", "a#1"]:
        ddb.put_item(TableName="orders", Item={"pk": {"S": "x"}, "sk": {"S": sk}})
    result = ddb.query(
        TableName="orders",
        KeyConditionExpression="pk = :p AND begins_with(sk, :b)",
        ExpressionAttributeValues={":p": {"S": "x"}, ":b": {"S": "a#"}},
    )
    assert [i["sk"]["S"] for i in result["Items"]] == ["a#1", "a#10", "a#2"]
    everything = ddb.query(
        TableName="orders", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "x"}}
    )
    assert [i["sk"]["S"] for i in everything["Items"]] == ["A", "a", "a#1", "a#10", "a#2", "b", "é"]


def test_query_pagination_filter_projection_and_count(ddb: Any) -> None:
    fill(ddb)
    seen: list[int] = []
    params: dict[str, Any] = {
        "TableName": "orders",
        "KeyConditionExpression": "pk = :p",
        "FilterExpression": "v <> :three",
        "ProjectionExpression": "sk, v",
        "ExpressionAttributeValues": {":p": {"S": "p"}, ":three": {"N": "3"}},
        "Limit": 4,
    }
    pages = 0
    while True:
        result = ddb.query(**params)
        pages += 1
        assert result["ScannedCount"] <= 4
        assert all(set(item) == {"sk", "v"} for item in result["Items"])
        seen += sks(result)
        if "LastEvaluatedKey" not in result:
            break
        params["ExclusiveStartKey"] = result["LastEvaluatedKey"]
    assert seen == [-3, -2, -1, 1, 2, 3, 4, 5, 6]
    assert pages == 3  # 4 + 4 + 2 evaluated; a page that hits Limit always carries LastEvaluatedKey
    count = ddb.query(
        TableName="orders",
        KeyConditionExpression="pk = :p",
        Select="COUNT",
        ExpressionAttributeValues={":p": {"S": "p"}},
    )
    assert count["Count"] == 10 and "Items" not in count


def test_query_on_global_secondary_index_is_sparse_and_paginates(ddb: Any) -> None:
    fill(ddb)
    params: dict[str, Any] = {
        "TableName": "orders",
        "IndexName": "by-city",
        "KeyConditionExpression": "city = :c AND sk >= :z",
        "ExpressionAttributeValues": {":c": {"S": "oslo"}, ":z": {"N": "-1"}},
        "Limit": 2,
    }
    first = ddb.query(**params)
    assert sks(first) == [-1, 1]
    assert first["LastEvaluatedKey"] == {"pk": {"S": "p"}, "sk": {"N": "1"}, "city": {"S": "oslo"}}
    second = ddb.query(**params, ExclusiveStartKey=first["LastEvaluatedKey"])
    assert sks(second) == [3, 5]
    # moving an item out of the index (REMOVE its index key) removes it from queries
    ddb.update_item(
        TableName="orders", Key={"pk": {"S": "p"}, "sk": {"N": "1"}}, UpdateExpression="REMOVE city"
    )
    assert sks(ddb.query(**{**params, "Limit": 10})) == [-1, 3, 5]


def test_query_errors(ddb: Any) -> None:
    fill(ddb)
    base = {"TableName": "orders", "ExpressionAttributeValues": {":p": {"S": "p"}}}
    assert error_of(ddb.query, KeyConditionExpression="v = :p", **base) == (
        "ValidationException",
        "Query condition missed key schema element: sk",
    )
    assert error_of(ddb.query, KeyConditionExpression="sk = :p", **base)[1].startswith(
        "Query condition missed key schema element"
    )
    assert error_of(ddb.query, KeyConditionExpression="pk = :p", IndexName="nope", **base) == (
        "ValidationException",
        "The table does not have the specified index: nope",
    )


def test_scan_with_filter_pagination_and_segments(ddb: Any) -> None:
    fill(ddb)
    found = []
    params: dict[str, Any] = {"TableName": "orders", "Limit": 3, "FilterExpression": "attribute_exists(v)"}
    while True:
        result = ddb.scan(**params)
        found += result["Items"]
        if "LastEvaluatedKey" not in result:
            break
        params["ExclusiveStartKey"] = result["LastEvaluatedKey"]
    assert len(found) == 10
    segments = [ddb.scan(TableName="orders", Segment=s, TotalSegments=3)["Items"] for s in range(3)]
    assert sorted(len(s) for s in segments) and sum(len(s) for s in segments) == 11


# ── batches and transactions ──


def test_batch_write_and_batch_get(ddb: Any) -> None:
    make_table(ddb, range_key=None)
    ddb.batch_write_item(
        RequestItems={
            "orders": [{"PutRequest": {"Item": {"pk": {"S": str(i)}, "v": {"N": str(i)}}}} for i in range(25)]
        }
    )
    ddb.batch_write_item(RequestItems={"orders": [{"DeleteRequest": {"Key": {"pk": {"S": "0"}}}}]})
    got = ddb.batch_get_item(
        RequestItems={
            "orders": {
                "Keys": [{"pk": {"S": "0"}}, {"pk": {"S": "1"}}, {"pk": {"S": "24"}}],
                "ProjectionExpression": "v",
            }
        }
    )
    assert sorted(i["v"]["N"] for i in got["Responses"]["orders"]) == ["1", "24"]
    assert got["UnprocessedKeys"] == {}
    assert error_of(
        ddb.batch_write_item,
        RequestItems={
            "orders": [
                {"PutRequest": {"Item": {"pk": {"S": "x"}}}},
                {"DeleteRequest": {"Key": {"pk": {"S": "x"}}}},
            ]
        },
    ) == ("ValidationException", "Provided list of item keys contains duplicates")


def test_transact_write_items_all_or_nothing(ddb: Any) -> None:
    make_table(ddb, range_key=None)
    ddb.put_item(TableName="orders", Item={"pk": {"S": "stock"}, "n": {"N": "1"}})
    take = {
        "Update": {
            "TableName": "orders",
            "Key": {"pk": {"S": "stock"}},
            "UpdateExpression": "SET n = n - :one",
            "ConditionExpression": "n >= :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }
    order = {
        "Put": {
            "TableName": "orders",
            "Item": {"pk": {"S": "order-1"}},
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }
    ddb.transact_write_items(TransactItems=[take, order])
    with pytest.raises(ClientError) as info:
        ddb.transact_write_items(
            TransactItems=[take, {"Put": {"TableName": "orders", "Item": {"pk": {"S": "order-2"}}}}]
        )
    error = info.value.response
    assert error["Error"]["Code"] == "TransactionCanceledException"
    assert error["Error"]["Message"] == (
        "Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed, None]"
    )
    assert error["CancellationReasons"] == [
        {
            "Code": "ConditionalCheckFailed",
            "Message": "The conditional request failed",
            "Item": {"pk": {"S": "stock"}, "n": {"N": "0"}},
        },
        {"Code": "None"},
    ]
    assert "Item" not in ddb.get_item(TableName="orders", Key={"pk": {"S": "order-2"}})
    got = ddb.transact_get_items(
        TransactItems=[{"Get": {"TableName": "orders", "Key": {"pk": {"S": "order-1"}}}}]
    )
    assert got["Responses"] == [{"Item": {"pk": {"S": "order-1"}}}]
    assert error_of(ddb.transact_write_items, TransactItems=[order, order]) == (
        "ValidationException",
        "Transaction request cannot include multiple operations on one item",
    )


# ── TTL ──


def test_ttl_expiry_deletes_items_with_the_injected_clock(make_server: Any) -> None:
    clock = ManualClock(start=1_700_000_000.0)
    server = make_server(clock=clock)
    ddb = server.client("dynamodb")
    make_table(ddb, range_key=None, stream="OLD_IMAGE")
    ddb.update_time_to_live(
        TableName="orders", TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"}
    )
    assert ddb.describe_time_to_live(TableName="orders")["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": "exp",
    }
    ddb.put_item(TableName="orders", Item={"pk": {"S": "soon"}, "exp": {"N": str(1_700_000_010)}})
    ddb.put_item(TableName="orders", Item={"pk": {"S": "later"}, "exp": {"N": str(1_700_000_500)}})
    ddb.put_item(TableName="orders", Item={"pk": {"S": "never"}, "exp": {"S": "not a number"}})
    service = server.pipework.dynamodb
    assert server.run(service.sweep())[0] == 0
    server.advance(11)  # returns once the background sweep, woken on the way, has run
    left = sorted(i["pk"]["S"] for i in ddb.scan(TableName="orders")["Items"])
    assert left == ["later", "never"]
