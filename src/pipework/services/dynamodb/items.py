"""Item operations: PutItem, GetItem, UpdateItem, DeleteItem, BatchWriteItem, BatchGetItem, TransactWriteItems,
TransactGetItems — conditions, ReturnValues and the 400 KB limit as DynamoDB applies them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipework.services.base import RequestContext, ServiceError

from . import errors
from .expressions import Expressions, apply_update, evaluate, project
from .expressions.parser import DETECTED
from .expressions.update import check_keys_untouched
from .model import Table
from .values import MAX_ITEM_SIZE, Item, check_item, check_values, item_size
from .writes import Change, Current

if TYPE_CHECKING:
    from .api import DynamoDB

LEGACY = ("Expected", "AttributeUpdates", "ConditionalOperator", "KeyConditions", "QueryFilter", "ScanFilter")


def reject_legacy(params: dict[str, Any]) -> None:
    for name in LEGACY:
        if name in params:
            raise errors.validation(
                f"Pipework does not support the legacy parameter {name}; use the expression parameters instead"
            )


def expressions_of(params: dict[str, Any], *, detected: str = "") -> Expressions:
    values = params.get("ExpressionAttributeValues")
    return Expressions(
        params.get("ExpressionAttributeNames"),
        check_values(values) if values is not None else None,
        detected=detected,
    )


def check_return_values(params: dict[str, Any], allowed: tuple[str, ...]) -> str:
    value: str = params.get("ReturnValues", "NONE")
    if value not in allowed:
        if allowed == ("NONE", "ALL_OLD"):
            raise errors.validation("ReturnValues can only be ALL_OLD or NONE")
        raise errors.validation(f"ReturnValues can only be {', '.join(allowed)}")
    return value


def check_size(item: Item, update: bool = False) -> None:
    if item_size(item) > MAX_ITEM_SIZE:
        raise errors.item_too_large(update)


@dataclass
class Prepared:
    """One write, parsed and validated, ready to be decided against the current item."""

    table: Table
    key: Item
    kind: str  # Put, Update, Delete, ConditionCheck
    condition: Any = None
    item: Item | None = None  # Put
    actions: Any = None  # Update
    return_on_failure: bool = False

    def decide(self, current: Current) -> Change | None:
        old = current.item
        if self.condition is not None and not evaluate(self.condition, old or {}):
            raise errors.conditional_check_failed(old if self.return_on_failure and old is not None else None)
        if self.kind == "ConditionCheck":
            return None
        if self.kind == "Put":
            new: Item | None = self.item
        elif self.kind == "Delete":
            if old is None:
                return None
            new = None
        else:
            base = old if old is not None else dict(self.key)
            new = apply_update(base, self.actions)
            check_index_keys(self.table, new)
            check_size(new, update=True)
        return Change(self.table, self.key, current.store_key, old, new, current.revision)


def check_index_keys(table: Table, item: Item) -> None:
    for index in table.indexes:
        index.keys.check_index_keys(item, index.name)


def prepare(
    svc: DynamoDB, ctx: RequestContext, kind: str, params: dict[str, Any], *, detected: str = ""
) -> Prepared:
    """Validate one write as DynamoDB does, in its order: the request's own values and expressions (unused names
    and values included) before the table and the key schema."""
    reject_legacy(params)
    given = check_item(params["Item"] if kind == "Put" else params["Key"])
    exprs = expressions_of(params, detected=detected)
    actions = None
    if kind == "Update":
        text = params.get("UpdateExpression")
        # Without an UpdateExpression, UpdateItem only makes sure the item exists.
        actions = exprs.update(text) if text is not None else []
    if kind == "ConditionCheck" and "ConditionExpression" not in params:
        raise errors.validation("ConditionExpression is required for ConditionCheck")
    condition = exprs.condition(params.get("ConditionExpression"))
    exprs.finish()
    table = svc.require(params["TableName"], ctx, named=False)
    on_failure = params.get("ReturnValuesOnConditionCheckFailure", "NONE") == "ALL_OLD"
    if kind == "Put":
        table.keys.check_item_keys(given)
        check_index_keys(table, given)
        check_size(given)
        prepared = Prepared(table, table.keys.key_of(given), kind, item=given, return_on_failure=on_failure)
    else:
        table.keys.check_key(given)
        prepared = Prepared(table, given, kind, return_on_failure=on_failure)
        if actions is not None:
            check_keys_untouched(actions, table.keys.names)
            prepared.actions = actions
    prepared.condition = condition
    return prepared


def _capacity(params: dict[str, Any], table: Table, units: float) -> dict[str, Any]:
    if params.get("ReturnConsumedCapacity", "NONE") == "NONE":
        return {}
    return {"ConsumedCapacity": {"TableName": table.name, "CapacityUnits": units}}


async def put_item(svc: DynamoDB, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    returns = check_return_values(params, ("NONE", "ALL_OLD"))
    prepared = prepare(svc, ctx, "Put", params, detected=DETECTED)
    current, _ = await svc.writer.write(prepared.table, prepared.key, prepared.decide)
    out = _capacity(params, prepared.table, 1.0)
    if returns == "ALL_OLD" and current.item is not None:
        out["Attributes"] = current.item
    return out


async def delete_item(svc: DynamoDB, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    returns = check_return_values(params, ("NONE", "ALL_OLD"))
    prepared = prepare(svc, ctx, "Delete", params, detected=DETECTED)
    current, _ = await svc.writer.write(prepared.table, prepared.key, prepared.decide)
    out = _capacity(params, prepared.table, 1.0)
    if returns == "ALL_OLD" and current.item is not None:
        out["Attributes"] = current.item
    return out


async def update_item(svc: DynamoDB, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    returns = check_return_values(params, ("NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"))
    prepared = prepare(svc, ctx, "Update", params, detected=DETECTED)
    current, change = await svc.writer.write(prepared.table, prepared.key, prepared.decide)
    out = _capacity(params, prepared.table, 1.0)
    old, new = current.item, change.new if change is not None else current.item
    paths = [a.path for a in prepared.actions]
    chosen: Item | None = None
    if returns == "ALL_OLD":
        chosen = old
    elif returns == "ALL_NEW":
        chosen = new
    elif returns == "UPDATED_OLD" and old is not None:
        chosen = project(old, paths)
    elif returns == "UPDATED_NEW" and new is not None:
        chosen = project(new, paths)
    if chosen:
        out["Attributes"] = chosen
    return out


async def get_item(svc: DynamoDB, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    key = check_item(params["Key"])
    exprs = expressions_of(params)
    paths = projection_of(exprs, params)
    exprs.finish()
    table = svc.require(params["TableName"], ctx, named=False)
    table.keys.check_key(key)
    current = await svc.writer.read(table, key)
    out = _capacity(params, table, 0.5)
    if current.item is not None:
        out["Item"] = project(current.item, paths)
    return out


def projection_of(exprs: Expressions, params: dict[str, Any]) -> Any:
    attributes = params.get("AttributesToGet")
    if attributes is not None:
        if "ProjectionExpression" in params:
            raise errors.validation(
                "Can not use both expression and non-expression parameters in the same request: Non-expression "
                "parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}"
            )
        from .expressions.nodes import Path

        return [Path((name,)) for name in attributes]
    return exprs.projection(params.get("ProjectionExpression"))


async def batch_write(svc: DynamoDB, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    requests = params["RequestItems"]
    total = sum(len(r) for r in requests.values())
    if total > 25:
        raise errors.validation(
            "1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Map value must "
            "satisfy constraint: [Member must have length less than or equal to 25, Member must have length "
            "greater than or equal to 1]"
        )
    prepared: list[Prepared] = []
    for name, entries in requests.items():
        seen: set[str] = set()
        for entry in entries:
            if "PutRequest" in entry and "DeleteRequest" in entry:
                raise errors.validation(
                    "Supplied WriteRequest has more than one request; exactly one of PutRequest or DeleteRequest is "
                    "allowed"
                )
            if "PutRequest" in entry:
                write = prepare(svc, ctx, "Put", {"TableName": name, "Item": entry["PutRequest"]["Item"]})
            elif "DeleteRequest" in entry:
                write = prepare(svc, ctx, "Delete", {"TableName": name, "Key": entry["DeleteRequest"]["Key"]})
            else:
                raise errors.validation(
                    "Supplied AttributeValue has no request; a PutRequest or DeleteRequest is needed"
                )
            store_key = write.table.keys.store_key(write.key)
            if store_key in seen:
                raise errors.validation("Provided list of item keys contains duplicates")
            seen.add(store_key)
            prepared.append(write)
    for write in prepared:
        await svc.writer.write(write.table, write.key, write.decide)
    return {"UnprocessedItems": {}}


async def batch_get(svc: DynamoDB, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    requests = params["RequestItems"]
    if sum(len(r["Keys"]) for r in requests.values()) > 100:
        raise errors.validation("Too many items requested for the BatchGetItem call")
    responses: dict[str, list[Item]] = {}
    for name, request in requests.items():
        keys = [check_item(raw) for raw in request["Keys"]]
        exprs = expressions_of(request)
        paths = projection_of(exprs, request)
        exprs.finish()
        table = svc.require(name, ctx, named=False)
        found: list[Item] = []
        seen: set[str] = set()
        for key in keys:
            table.keys.check_key(key)
            store_key = table.keys.store_key(key)
            if store_key in seen:
                raise errors.validation("Provided list of item keys contains duplicates")
            seen.add(store_key)
            current = await svc.writer.read(table, key)
            if current.item is not None:
                found.append(project(current.item, paths))
        responses[name] = found
    return {"Responses": responses, "UnprocessedKeys": {}}


async def transact_write(svc: DynamoDB, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    prepared: list[Prepared] = []
    for entry in params["TransactItems"]:
        if len(entry) != 1:
            raise errors.validation("TransactItems can only contain one of Check, Put, Update or Delete")
        ((kind, spec),) = entry.items()
        prepared.append(prepare(svc, ctx, kind, spec))
    keys = [(p.table.items_bucket, p.table.keys.store_key(p.key)) for p in prepared]
    if len(set(keys)) != len(keys):
        raise errors.validation("Transaction request cannot include multiple operations on one item")
    async with svc.writer.locked(keys):
        currents = [await svc.writer.read(p.table, p.key) for p in prepared]
        reasons: list[dict[str, Any]] = []
        changes: list[Change] = []
        failed = False
        for write, current in zip(prepared, currents):
            try:
                change = write.decide(current)
            except ServiceError as error:
                failed = True
                reason: dict[str, Any] = {
                    "Code": "ConditionalCheckFailed"
                    if error.code.startswith("Conditional")
                    else "ValidationError",
                    "Message": error.message,
                }
                if "Item" in error.extra:
                    reason["Item"] = error.extra["Item"]
                reasons.append(reason)
                continue
            reasons.append({"Code": "None"})
            if change is not None:
                changes.append(change)
        if failed:
            raise errors.transaction_canceled(reasons)
        batch = svc.store.batch()
        for change in changes:
            svc.writer.add(batch, change)
        # One commit: every item, index entry and stream record of the transaction, or none of them.
        await svc.store.commit(batch)
    return {}


async def transact_get(svc: DynamoDB, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    responses: list[dict[str, Any]] = []
    for entry in params["TransactItems"]:
        spec = entry["Get"]
        result = await get_item(svc, spec, ctx)
        responses.append({"Item": result["Item"]} if "Item" in result else {})
    return {"Responses": responses}


OPERATIONS = {
    "PutItem": put_item,
    "GetItem": get_item,
    "UpdateItem": update_item,
    "DeleteItem": delete_item,
    "BatchWriteItem": batch_write,
    "BatchGetItem": batch_get,
    "TransactWriteItems": transact_write,
    "TransactGetItems": transact_get,
}
