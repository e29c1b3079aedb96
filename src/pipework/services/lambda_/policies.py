"""A function's resource policy (AddPermission, RemovePermission, GetPolicy) and its tags (TagResource,
UntagResource, ListTags). Policies are recorded and shown as Lambda shows them, not enforced: any caller may
invoke any function (as with every other Pipework API until authorization lands)."""

from __future__ import annotations

import dataclasses
import uuid

import orjson

from pipework.jsontypes import JSON
from pipework.services.base import RequestContext

from .errors import conflict, invalid, not_found
from .functions import FunctionOperations
from .model import Function


def statement(function: Function, params: JSON) -> JSON:
    """The policy statement AddPermission's parameters make (Lambda's shape)."""
    principal = params["Principal"]
    found: JSON = {
        "Sid": params["StatementId"],
        "Effect": "Allow",
        "Principal": {"Service": principal}
        if "." in principal and ":" not in principal
        else {"AWS": principal},
        "Action": params["Action"],
        "Resource": function.arn,
    }
    condition: JSON = {}
    if params.get("SourceArn"):
        condition.setdefault("ArnLike", {})["AWS:SourceArn"] = params["SourceArn"]
    if params.get("SourceAccount"):
        condition.setdefault("StringEquals", {})["AWS:SourceAccount"] = params["SourceAccount"]
    if params.get("PrincipalOrgID"):
        condition.setdefault("StringEquals", {})["aws:PrincipalOrgID"] = params["PrincipalOrgID"]
    if params.get("EventSourceToken"):
        condition.setdefault("StringEquals", {})["lambda:EventSourceToken"] = params["EventSourceToken"]
    if condition:
        found["Condition"] = condition
    return found


class PolicyOperations(FunctionOperations):
    """Resource policies and tags of functions (parameters: see `LambdaState`)."""

    async def op_AddPermission(self, params: JSON, ctx: RequestContext) -> JSON:
        async with self.lock:
            function = await self._existing(params, ctx)
            if any(s["Sid"] == params["StatementId"] for s in function.statements):
                raise conflict(
                    f"The statement id ({params['StatementId']}) provided already exists. Please provide a new "
                    "statement id, or remove the existing statement."
                )
            added = statement(function, params)
            changed = dataclasses.replace(
                function, statements=(*function.statements, added), revision=str(uuid.uuid4())
            )
            await self._save(changed)
        return {"Statement": orjson.dumps(added).decode()}

    async def op_RemovePermission(self, params: JSON, ctx: RequestContext) -> JSON:
        async with self.lock:
            function = await self._existing(params, ctx)
            kept = tuple(s for s in function.statements if s["Sid"] != params["StatementId"])
            if len(kept) == len(function.statements):
                raise not_found(f"Statement {params['StatementId']} is not found in resource policy.")
            await self._save(dataclasses.replace(function, statements=kept, revision=str(uuid.uuid4())))
        return {}

    async def op_GetPolicy(self, params: JSON, ctx: RequestContext) -> JSON:
        function = await self.function(params["FunctionName"], ctx, params.get("Qualifier"))
        if not function.statements:
            raise not_found("The resource you requested does not exist.")
        policy = {"Version": "2012-10-17", "Id": "default", "Statement": list(function.statements)}
        return {"Policy": orjson.dumps(policy).decode(), "RevisionId": function.revision}

    async def _tagged(self, params: JSON, ctx: RequestContext) -> Function:
        arn = params["Resource"]
        parts = arn.split(":")
        if len(parts) < 7 or parts[0] != "arn" or parts[5] != "function":
            raise invalid(f"Pipework tags functions only; {arn} is not a function ARN.")
        return await self._existing({"FunctionName": arn}, ctx)

    async def op_TagResource(self, params: JSON, ctx: RequestContext) -> JSON:
        async with self.lock:
            function = await self._tagged(params, ctx)
            tags = {**function.tags, **(params.get("Tags") or {})}
            await self._save(dataclasses.replace(function, tags=tags))
        return {}

    async def op_UntagResource(self, params: JSON, ctx: RequestContext) -> JSON:
        async with self.lock:
            function = await self._tagged(params, ctx)
            removed = set(params.get("TagKeys") or ())
            tags = {k: v for k, v in function.tags.items() if k not in removed}
            await self._save(dataclasses.replace(function, tags=tags))
        return {}

    async def op_ListTags(self, params: JSON, ctx: RequestContext) -> JSON:
        function = await self._tagged(params, ctx)
        return {"Tags": dict(function.tags)}
