"""Query and Scan: key conditions turned into one range read of the store, then filter, projection, Limit, the
1 MB page size and LastEvaluatedKey / ExclusiveStartKey pagination, on the table or on a secondary index."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from pipework.services.base import RequestContext

from . import errors
from .expressions import evaluate, project
from .expressions.nodes import And, Between, Call, Compare, In, Literal, Not, Or, Path
from .expressions.parser import DETECTED
from .items import expressions_of, projection_of, reject_legacy
from .keys import KeySchema, escape, range_part
from .model import Index, Table, index_bucket
from .values import Item, check_item, item_size, type_of

if TYPE_CHECKING:
    from .api import DynamoDB

PAGE_BYTES = 1024 * 1024
INVALID_START = "The provided starting key is invalid: The provided key element does not match the schema"


@dataclass
class KeyRange:
    prefix: str = ""
    start: str | None = None
    end: str | None = None
    partition: str = ""  # a Query's partition (the hash part every key read starts with)


def _tighten(bounds: KeyRange, start: str | None = None, end: str | None = None) -> None:
    if start is not None and (bounds.start is None or start > bounds.start):
        bounds.start = start
    if end is not None and (bounds.end is None or end < bounds.end):
        bounds.end = end


class _Target:
    """What a Query or Scan reads: the table or one of its indexes."""

    def __init__(self, table: Table, index: Index | None) -> None:
        self.table = table
        self.index = index
        self.keys: KeySchema = index.keys if index is not None else table.keys
        self.bucket = index_bucket(table.table_id, index.name) if index is not None else table.items_bucket

    def equal_range(self, prefix: str, value: dict[str, Any]) -> tuple[str, str]:
        """[low, high) of the store keys whose range key equals `value`."""
        encoded = range_part(value)
        if self.index is None:
            return prefix + encoded, prefix + encoded + "\x00"
        return prefix + escape(encoded) + "\x00", prefix + escape(encoded) + "\x01"

    def begins(self, prefix: str, value: dict[str, Any]) -> str:
        encoded = range_part(value)
        return prefix + (escape(encoded) if self.index is not None else encoded)

    @property
    def projects_all(self) -> bool:
        return self.index is None or self.index.projection.get("ProjectionType", "ALL") == "ALL"

    def start_key(self, raw: dict[str, Any]) -> str:
        """The store key an ExclusiveStartKey names: it must hold exactly the table's key attributes (and the
        index's, on an index), each of its declared type."""
        key = check_item(raw)
        schemas = [self.table.keys] if self.index is None else [self.table.keys, self.keys]
        expected = {name: kind for schema in schemas for name, kind in schema.typed()}
        if key.keys() != expected.keys() or any(
            type_of(key[name]) != kind for name, kind in expected.items()
        ):
            raise errors.validation(INVALID_START)
        table_key = self.table.keys.store_key(key)
        if self.index is None:
            return table_key
        entry = self.index.keys.index_entry_key(key, table_key)
        if entry is None:
            raise errors.validation(INVALID_START)
        return entry

    def last_key(self, item: Item) -> Item:
        names = list(self.table.keys.names) + [n for n in self.keys.names if n not in self.table.keys.names]
        return {n: item[n] for n in names if n in item}


def _target(svc: DynamoDB, ctx: RequestContext, params: dict[str, Any], select: str | None) -> _Target:
    table = svc.require(params["TableName"], ctx, named=False)
    index = None
    name = params.get("IndexName")
    if name is not None:
        index = table.index(name)
        if index is None:
            raise errors.validation(f"The table does not have the specified index: {name}")
        if params.get("ConsistentRead") and not index.local:
            raise errors.validation("Consistent reads are not supported on global secondary indexes")
    target = _Target(table, index)
    # A local index fetches what it does not hold from the table; a global one cannot.
    if select == "ALL_ATTRIBUTES" and index is not None and not index.local and not target.projects_all:
        raise errors.invalid_parameter(
            f"Select type ALL_ATTRIBUTES is not supported for global secondary index {index.name} because its "
            "projection type is not ALL"
        )
    return target


def _select(params: dict[str, Any], paths: Any) -> str:
    """The Select of a Query or Scan (DynamoDB's default: the projection's attributes, an index's projected ones,
    else all), checked as DynamoDB checks it before looking at the table."""
    select: str | None = params.get("Select")
    if select is None:
        if paths is not None:
            return "SPECIFIC_ATTRIBUTES"
        return "ALL_PROJECTED_ATTRIBUTES" if "IndexName" in params else "ALL_ATTRIBUTES"
    if select == "SPECIFIC_ATTRIBUTES" and paths is None:
        raise errors.validation(
            f"{DETECTED}Must specify the AttributesToGet or ProjectionExpression when choosing to get "
            "SPECIFIC_ATTRIBUTES"
        )
    if select != "SPECIFIC_ATTRIBUTES" and paths is not None:
        given = "AttributesToGet" if "AttributesToGet" in params else "ProjectionExpression"
        chosen = "only the Count" if select == "COUNT" else select
        raise errors.validation(f"{DETECTED}Cannot specify the {given} when choosing to get {chosen}")
    if select == "ALL_PROJECTED_ATTRIBUTES" and "IndexName" not in params:
        raise errors.validation(
            f"{DETECTED}ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName"
        )
    return select


def _key_parts(condition: Any) -> list[Any]:
    """The conditions of a KeyConditionExpression, one per key: only AND may join them."""
    parts = []
    pending = [condition]
    while pending:
        node = pending.pop()
        if isinstance(node, And):
            pending += reversed(node.operands)
            continue
        operator = (
            "OR"
            if isinstance(node, Or)
            else "NOT"
            if isinstance(node, Not)
            else "IN"
            if isinstance(node, In)
            else node.name
            if isinstance(node, Call) and node.name != "begins_with"
            else None
        )
        if operator is not None:
            raise errors.validation(f"Invalid operator used in KeyConditionExpression: {operator}")
        operands = (
            (node.left, node.right)
            if isinstance(node, Compare)
            else (node.operand, node.low, node.high)
            if isinstance(node, Between)
            else node.args
        )
        for operand in operands:
            if isinstance(operand, Call):
                raise errors.validation(f"Invalid operator used in KeyConditionExpression: {operand.name}")
        named = [operand for operand in operands if isinstance(operand, Path)]
        if len(named) > 1:
            raise errors.validation(
                "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition"
            )
        if not named:
            raise errors.validation("Invalid condition in KeyConditionExpression: No key attribute specified")
        parts.append(node)
    return parts


def key_range(target: _Target, condition: Any) -> KeyRange:
    """The store range a KeyConditionExpression selects (DynamoDB's messages for conditions it does not support)."""
    keys = target.keys
    hash_value = None
    range_condition = None
    seen: set[str] = set()
    for part in _key_parts(condition):
        name = _key_name(part)
        if name is not None and name in seen:
            raise errors.validation("KeyConditionExpressions must only contain one condition per key")
        if name is not None:
            seen.add(name)
        if name == keys.hash_name and isinstance(part, Compare) and part.op == "=":
            hash_value = _literal(part.right if isinstance(part.left, Path) else part.left)
        elif name is not None and name == keys.range_name:
            range_condition = part
        elif name in (keys.hash_name, keys.range_name) or name is None:
            raise errors.validation("Query key condition not supported")
        else:
            raise errors.validation(
                f"Query condition missed key schema element: {keys.range_name or keys.hash_name}"
            )
    if hash_value is None:
        raise errors.validation(f"Query condition missed key schema element: {keys.hash_name}")
    if type_of(hash_value) != keys.hash_type:
        raise errors.validation(
            "One or more parameter values were invalid: Condition parameter type does not match schema type"
        )
    bounds = KeyRange(prefix=keys.hash_prefix(hash_value), partition=keys.hash_prefix(hash_value))
    if range_condition is None:
        return bounds
    prefix = bounds.prefix
    if isinstance(range_condition, Between):
        low, high = _literal(range_condition.low), _literal(range_condition.high)
        _check_range_type(keys, low, high)
        _tighten(bounds, start=target.equal_range(prefix, low)[0], end=target.equal_range(prefix, high)[1])
    elif isinstance(range_condition, Call):
        value = _literal(range_condition.args[1])
        _check_range_type(keys, value)
        if keys.range_type == "N":
            raise errors.validation(
                "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N"
            )
        bounds.prefix = target.begins(prefix, value)
    else:
        assert isinstance(range_condition, Compare)
        op = range_condition.op
        if not isinstance(range_condition.left, Path):
            op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
        value = _literal(
            range_condition.right if isinstance(range_condition.left, Path) else range_condition.left
        )
        _check_range_type(keys, value)
        first, past = target.equal_range(prefix, value)
        if op == "=":
            _tighten(bounds, start=first, end=past)
        elif op == "<":
            _tighten(bounds, end=first)
        elif op == "<=":
            _tighten(bounds, end=past)
        elif op == ">":
            _tighten(bounds, start=past)
        elif op == ">=":
            _tighten(bounds, start=first)
        else:
            raise errors.validation(f"Unsupported operator on KeyConditionExpression: operator: {op}")
    return bounds


def _check_range_type(keys: KeySchema, *values: dict[str, Any]) -> None:
    for value in values:
        if type_of(value) != keys.range_type:
            raise errors.validation(
                "One or more parameter values were invalid: Condition parameter type does not match schema type"
            )


def _key_name(node: Any) -> str | None:
    if isinstance(node, Compare):
        paths = [side for side in (node.left, node.right) if isinstance(side, Path)]
        literals = [side for side in (node.left, node.right) if isinstance(side, Literal)]
        if len(paths) == 1 and len(literals) == 1 and len(paths[0].elements) == 1:
            return str(paths[0].elements[0])
        return None
    if isinstance(node, Between) and isinstance(node.operand, Path) and len(node.operand.elements) == 1:
        return str(node.operand.elements[0])
    if isinstance(node, Call) and node.name == "begins_with" and isinstance(node.args[0], Path):
        return str(node.args[0].elements[0])
    return None


def _literal(node: Any) -> dict[str, Any]:
    if not isinstance(node, Literal):
        raise errors.validation("Query key condition not supported")
    value: dict[str, Any] = node.value
    return value


@dataclass
class _Request:
    """A Query's or Scan's parameters, validated before the table is looked at (DynamoDB's order)."""

    key_condition: Any
    filter: Any
    paths: Any
    select: str


def _validate(params: dict[str, Any], key_condition: str | None = None) -> _Request:
    reject_legacy(params)
    exprs = expressions_of(params)
    condition = exprs.condition(key_condition, "KeyConditionExpression")
    filter_ = exprs.condition(params.get("FilterExpression"), "FilterExpression")
    paths = projection_of(exprs, params)
    exprs.finish()
    return _Request(condition, filter_, paths, _select(params, paths))


async def query(svc: DynamoDB, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    text = params.get("KeyConditionExpression")
    if text is None:
        raise errors.validation(
            "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request."
        )
    request = _validate(params, text)
    target = _target(svc, ctx, params, request.select)
    bounds = key_range(target, request.key_condition)
    return await _read(svc, target, params, request, bounds, forward=params.get("ScanIndexForward", True))


async def scan(svc: DynamoDB, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    request = _validate(params)
    segment, total = params.get("Segment"), params.get("TotalSegments")
    if (segment is None) != (total is None):
        raise errors.validation(
            "The TotalSegments parameter is required but was not present in the request when Segment parameter is present"
            if total is None
            else "The Segment parameter is required but was not present in the request when parameter TotalSegments is present"
        )
    if segment is not None and total is not None and segment >= total:
        raise errors.validation(
            f"The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: {segment} is not less than TotalSegments: {total}"
        )
    target = _target(svc, ctx, params, request.select)
    return await _read(
        svc,
        target,
        params,
        request,
        KeyRange(),
        forward=True,
        segment=(int(segment), int(total)) if segment is not None and total else None,
    )


async def _read(
    svc: DynamoDB,
    target: _Target,
    params: dict[str, Any],
    request: _Request,
    bounds: KeyRange,
    *,
    forward: bool,
    segment: tuple[int, int] | None = None,
) -> dict[str, Any]:
    filter_, paths, select = request.filter, request.paths, request.select
    # A local index without every attribute reads the rest from the table: for all attributes, a projection or a
    # filter that may name attributes the index does not hold.
    from_table = (
        target.index is not None
        and target.index.local
        and not target.projects_all
        and (select in ("ALL_ATTRIBUTES", "SPECIFIC_ATTRIBUTES") or filter_ is not None)
    )
    start_key = params.get("ExclusiveStartKey")
    if start_key is not None:
        after = target.start_key(start_key)
        if not after.startswith(bounds.partition):
            raise errors.validation(
                "The provided starting key is outside query boundaries based on provided conditions"
            )
        if forward:
            _tighten(bounds, start=after + "\x00")
        else:
            _tighten(bounds, end=after)
    limit = params.get("Limit")
    items: list[Item] = []
    scanned = 0
    scanned_bytes = 0
    last: Item | None = None
    stopped = False
    while not stopped:
        want = 1000 if limit is None else min(1000, limit - scanned)
        page = await svc.store.kv_list(
            target.bucket,
            prefix=bounds.prefix,
            start=bounds.start,
            end=bounds.end,
            limit=want,
            reverse=not forward,
        )
        for entry in page:
            if (
                segment is not None
                and zlib.crc32(entry.key.split("/", 1)[0].encode()) % segment[1] != segment[0]
            ):
                continue
            item: Item = orjson.loads(entry.value)
            full = item
            if from_table:
                stored = await svc.store.kv_get(target.table.items_bucket, entry.key.partition("\x00")[2])
                if stored is not None:
                    full = orjson.loads(stored.value)
            scanned += 1
            scanned_bytes += item_size(full)
            last = item
            if filter_ is None or evaluate(filter_, full):
                items.append(full if select != "ALL_PROJECTED_ATTRIBUTES" else item)
            if (limit is not None and scanned >= limit) or scanned_bytes >= PAGE_BYTES:
                stopped = True
                break
        if len(page) < want:
            break
        if not stopped:
            tail = page[-1].key
            if forward:
                _tighten(bounds, start=tail + "\x00")
            else:
                _tighten(bounds, end=tail)
    out: dict[str, Any] = {"Count": len(items), "ScannedCount": scanned}
    if select != "COUNT":
        out["Items"] = [project(item, paths) for item in items]
    if stopped and last is not None:
        out["LastEvaluatedKey"] = target.last_key(last)
    if params.get("ReturnConsumedCapacity", "NONE") != "NONE":
        out["ConsumedCapacity"] = {
            "TableName": target.table.name,
            "CapacityUnits": max(0.5, scanned_bytes / 8192),
        }
    return out


OPERATIONS = {"Query": query, "Scan": scan}
