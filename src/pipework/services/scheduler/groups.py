"""Schedule group operations (CreateScheduleGroup, GetScheduleGroup, ListScheduleGroups, DeleteScheduleGroup) and
tags, which Scheduler keeps on groups only (TagResource, UntagResource, ListTagsForResource)."""

from __future__ import annotations

import dataclasses

from pipework.jsontypes import JSON
from pipework.services import paging
from pipework.services.base import RequestContext

from . import model
from .errors import conflict, not_found, validation
from .model import ScheduleGroup
from .state import SchedulerState


class GroupOperations(SchedulerState):
    """The operations on schedule groups and their tags."""

    async def op_CreateScheduleGroup(self, params: JSON, ctx: RequestContext) -> JSON:
        name = params["Name"]
        async with self.lock:
            existing = self.groups.get(model.group_key(ctx.account, ctx.region, name))
            if existing is not None:
                if params.get("ClientToken") and existing.create_token == params["ClientToken"]:
                    return {"ScheduleGroupArn": existing.arn}
                raise conflict(f"Schedule group {name} already exists.")
            group = self.new_group(ctx.account, ctx.region, name, params)
            await self.put_group(group)
        return {"ScheduleGroupArn": group.arn}

    async def op_GetScheduleGroup(self, params: JSON, ctx: RequestContext) -> JSON:
        group = self.group(ctx, params["Name"])
        return self.groups[model.group_key(ctx.account, ctx.region, group)].to_api()

    async def op_ListScheduleGroups(self, params: JSON, ctx: RequestContext) -> JSON:
        prefix = model.group_key(ctx.account, ctx.region, params.get("NamePrefix", ""))
        keys = sorted(k for k in self.groups if k.startswith(prefix))
        items, token = paging.page(
            "ListScheduleGroups", keys, params.get("NextToken"), params.get("MaxResults")
        )
        out: JSON = {"ScheduleGroups": [self.groups[k].to_api() for k in items]}
        if token:
            out["NextToken"] = token
        return out

    async def op_DeleteScheduleGroup(self, params: JSON, ctx: RequestContext) -> JSON:
        name = params["Name"]
        if name == model.DEFAULT_GROUP:
            raise validation("You cannot delete the default group.")
        token = params.get("ClientToken")
        group_key = model.group_key(ctx.account, ctx.region, name)
        token_key = model.token_key(ctx.account, ctx.region, token) if token is not None else None
        async with self.lock:
            if group_key not in self.groups and token_key is not None:
                seen = await self.store.kv_get(model.TOKENS, token_key)
                if seen is not None and seen.value == f"group:{name}".encode():
                    return {}
            self.group(ctx, name)
            # AWS deletes a group's schedules with it (eventually; here in the same commit).
            batch = self.store.batch()
            doomed = [k for k in self.schedules if k.startswith(group_key + "/")]
            for key in doomed:
                await self.remove(batch, key, self.schedules[key])
            batch.delete_resource(model.KIND_GROUP, group_key)
            if token_key is not None:
                batch.kv_put(model.TOKENS, token_key, f"group:{name}".encode(), ttl=model.TOKEN_TTL)
            for key in doomed:
                self.withdraw_ahead(batch, key)
            await self.store.commit(batch)
            for key in doomed:
                self.forget(key)
            del self.groups[group_key]
        return {}

    # -- tags (schedule groups are the taggable resource) ------------------------------------------------------
    def _tagged(self, arn: str, ctx: RequestContext) -> ScheduleGroup:
        name = model.Arns(ctx.region, ctx.account).group_name(arn)
        if name is None:
            if ":schedule/" in arn:
                raise validation("Tags are supported for schedule groups only.")
            raise not_found(f"Resource {arn} does not exist.")
        group = self.groups.get(model.group_key(ctx.account, ctx.region, name))
        if group is None:
            raise not_found(f"Schedule group {name} does not exist.")
        return group

    async def op_TagResource(self, params: JSON, ctx: RequestContext) -> JSON:
        async with self.lock:
            group = self._tagged(params["ResourceArn"], ctx)
            tags = {**group.tags, **{t["Key"]: t["Value"] for t in params["Tags"]}}
            await self.put_group(dataclasses.replace(group, tags=tags))
        return {}

    async def op_UntagResource(self, params: JSON, ctx: RequestContext) -> JSON:
        async with self.lock:
            group = self._tagged(params["ResourceArn"], ctx)
            tags = {k: v for k, v in group.tags.items() if k not in set(params["TagKeys"])}
            await self.put_group(dataclasses.replace(group, tags=tags))
        return {}

    async def op_ListTagsForResource(self, params: JSON, ctx: RequestContext) -> JSON:
        group = self._tagged(params["ResourceArn"], ctx)
        return {"Tags": [{"Key": k, "Value": v} for k, v in group.tags.items()]}
