"""The Pipes API (restJson1): CreatePipe, DescribePipe, UpdatePipe, DeletePipe, ListPipes, StartPipe, StopPipe and
tags. Definitions are store resources; the runtime (`runtime.Pipes`) starts and stops a runner per pipe.

Create/Update/Delete/Start/Stop answer with the transitional state AWS answers with (CREATING, UPDATING, DELETING,
STARTING, STOPPING); Pipework settles the pipe before answering, so the next Describe shows RUNNING or STOPPED.
Every change (the operations, and the runtime's state changes) reads, saves and applies a pipe under one lock, so
none writes a stale copy of a pipe back over another change made while it awaited the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import ClassVar

from pipework.clock import Clock
from pipework.engine.pipes.dead_letters import redrive_queue
from pipework.jsontypes import JSON
from pipework.services import paging
from pipework.services.base import Handler, RequestContext, ServiceError, dispatch
from pipework.store.base import Store

from . import model
from .errors import conflict, not_found, validation
from .model import Pipe
from .validation import validate_pipe

UPDATABLE = (
    "Description",
    "DesiredState",
    "SourceParameters",
    "Enrichment",
    "EnrichmentParameters",
    "Target",
    "TargetParameters",
    "RoleArn",
    "LogConfiguration",
    "KmsKeyIdentifier",
)
#: Source parameters UpdatePipe may not change (AWS: they are fixed at creation).
FIXED_SOURCE_PARAMETERS = ("StartingPosition",)

#: Operations that change nothing (they run without the lock).
READS = frozenset({"DescribePipe", "ListPipes", "ListTagsForResource"})

#: Called after a definition or state change: (pipe key, the pipe or None when deleted).
Apply = Callable[[str, Pipe | None], Awaitable[None]]


class PipesApi:
    """The operations over the store; `apply` makes the runtime follow each change. Pipes belong to the account
    and region of the request (`model.pipe_key`); another region's pipe of the same name is another pipe."""

    def __init__(self, store: Store, clock: Clock, *, apply: Apply) -> None:
        self.store = store
        self.clock = clock
        self.apply = apply
        #: Pipes by pipe key (``<account>/<region>/<name>``).
        self.pipes: dict[str, Pipe] = {}
        #: Held by every change to a pipe, from reading it to saving and applying it.
        self.lock = asyncio.Lock()

    async def load(self) -> list[Pipe]:
        async for resource in self.store.all_resources(model.KIND_PIPE):
            self.pipes[resource.name] = Pipe.from_store(resource.body)
        return list(self.pipes.values())

    @staticmethod
    def unknown_operation(operation: str) -> ServiceError:
        return ServiceError("UnknownOperationException", f"Operation {operation} is not supported.", 400)

    async def handle(self, operation: str, params: JSON, ctx: RequestContext) -> JSON:
        if operation in READS:
            return await dispatch(self, operation, params, ctx)
        async with self.lock:
            return await dispatch(self, operation, params, ctx)

    def pipe(self, key: str) -> Pipe:
        """The pipe stored under `key`, or NotFoundException."""
        pipe = self.pipes.get(key)
        if pipe is None:
            raise not_found(key.rsplit("/", 1)[-1])
        return pipe

    async def save(self, pipe: Pipe) -> None:
        """Store a pipe (with the lock held)."""
        key = pipe.key
        await self.store.put_resource(model.KIND_PIPE, key, pipe.to_store())
        self.pipes[key] = pipe

    async def set_state(self, key: str, current: str, *, reason: str | None = None) -> Pipe | None:
        """Record a pipe's CurrentState (and StateReason; None clears it), with the lock held."""
        pipe = self.pipes.get(key)
        if pipe is None:
            return None
        pipe = pipe.with_state(current, reason)
        await self.save(pipe)
        return pipe

    def _answer(self, pipe: Pipe, transitional: str) -> JSON:
        out = pipe.state()
        out["CurrentState"] = transitional
        return out

    # -- operations ----------------------------------------------------------------------------------------------
    async def op_CreatePipe(self, params: JSON, ctx: RequestContext) -> JSON:
        name = params["Name"]
        key = model.pipe_key(ctx.account, ctx.region, name)
        if key in self.pipes:
            raise conflict(name, f"Pipe {name} already exists.")
        pipe = Pipe.from_api(params, arn=model.pipe_arn(ctx.region, ctx.account, name), now=self.clock.now())
        validate_pipe(pipe.to_store())
        await self.save(pipe)
        await self.apply(key, pipe)
        return self._answer(pipe, "CREATING")

    async def op_DescribePipe(self, params: JSON, ctx: RequestContext) -> JSON:
        return self.pipe(model.pipe_key(ctx.account, ctx.region, params["Name"])).to_api()

    async def op_UpdatePipe(self, params: JSON, ctx: RequestContext) -> JSON:
        key = model.pipe_key(ctx.account, ctx.region, params["Name"])
        current = self.pipe(key)
        self._check_settled(current)
        body = current.to_store()
        for member in UPDATABLE:
            if member not in params:
                continue
            if member == "SourceParameters":
                body[member] = self._merge_source_parameters(current, params[member])
            else:
                body[member] = params[member]
        if params.get("Enrichment") == "":
            body.pop("Enrichment", None)
        body["LastModifiedTime"] = self.clock.now()
        validate_pipe(body)
        body["CurrentState"] = "UPDATING"
        pipe = Pipe.from_store(body)
        await self.save(pipe)
        await self.apply(key, pipe)
        return self._answer(pipe, "UPDATING")

    @staticmethod
    def _merge_source_parameters(current: Pipe, update: JSON) -> JSON:
        """UpdatePipe's source parameters: given members replace the stored ones, except those fixed at creation;
        FilterCriteria given (even empty) replaces the filters."""
        merged: JSON = dict(current.source_parameters or {})
        for key, value in update.items():
            if key == "FilterCriteria":
                merged[key] = value
                continue
            stored = dict(merged.get(key) or {})
            for fixed in FIXED_SOURCE_PARAMETERS:
                if fixed in value and stored.get(fixed) not in (None, value[fixed]):
                    raise validation(f"{key}.{fixed} cannot be updated.")
            stored.update(value)
            merged[key] = stored
        return merged

    async def op_DeletePipe(self, params: JSON, ctx: RequestContext) -> JSON:
        key = model.pipe_key(ctx.account, ctx.region, params["Name"])
        pipe = self.pipe(key)
        # The runner stops first, so no dead letter it writes can land after the queue is gone.
        await self.apply(key, None)
        # The definition and its redrive queue (dead letters, redriven records) go in one commit: AWS pipes have no
        # immutable id to key the queue by (the ARN is the name), and a pipe created again under the name must
        # not inherit the old pipe's dead letters.
        batch = self.store.batch()
        batch.delete_resource(model.KIND_PIPE, key)
        batch.delete_queue(redrive_queue(key))
        try:
            await self.store.commit(batch)
        except BaseException:
            await self.apply(key, pipe)  # nothing was deleted: the pipe runs as it did
            raise
        del self.pipes[key]
        out = self._answer(pipe, "DELETING")
        out["DesiredState"] = "DELETED"
        return out

    async def op_ListPipes(self, params: JSON, ctx: RequestContext) -> JSON:
        def wanted(pipe: Pipe) -> bool:
            return bool(
                pipe.name.startswith(params.get("NamePrefix", ""))
                and pipe.source.startswith(params.get("SourcePrefix", ""))
                and pipe.target.startswith(params.get("TargetPrefix", ""))
                and params.get("DesiredState", pipe.desired_state) == pipe.desired_state
                and params.get("CurrentState", pipe.current_state) == pipe.current_state
            )

        region = model.pipe_key(ctx.account, ctx.region, "")
        names = sorted(k for k, b in self.pipes.items() if k.startswith(region) and wanted(b))
        page, token = paging.page("ListPipes", names, params.get("NextToken"), params.get("Limit"))
        out: JSON = {"Pipes": [self.pipes[n].summary() for n in page]}
        if token:
            out["NextToken"] = token
        return out

    async def op_StartPipe(self, params: JSON, ctx: RequestContext) -> JSON:
        key = model.pipe_key(ctx.account, ctx.region, params["Name"])
        pipe = self.pipe(key)
        self._check_settled(pipe)
        if pipe.current_state == "RUNNING":
            return pipe.state()
        pipe = replace(pipe, desired_state="RUNNING", modified=self.clock.now()).with_state("STARTING")
        await self.save(pipe)
        await self.apply(key, pipe)
        return self._answer(pipe, "STARTING")

    async def op_StopPipe(self, params: JSON, ctx: RequestContext) -> JSON:
        key = model.pipe_key(ctx.account, ctx.region, params["Name"])
        pipe = self.pipe(key)
        self._check_settled(pipe)
        if pipe.current_state == "STOPPED" and pipe.desired_state == "STOPPED":
            return pipe.state()
        pipe = replace(pipe, desired_state="STOPPED", modified=self.clock.now())
        pipe = pipe.with_state("STOPPING", "USER_INITIATED")
        await self.save(pipe)
        await self.apply(key, pipe)
        return self._answer(pipe, "STOPPING")

    @staticmethod
    def _check_settled(pipe: Pipe) -> None:
        if pipe.current_state not in (
            "RUNNING",
            "STOPPED",
            "CREATE_FAILED",
            "UPDATE_FAILED",
            "START_FAILED",
        ):
            raise conflict(pipe.name, f"Pipe {pipe.name} is {pipe.current_state}; try again when it settles.")

    # -- tags ----------------------------------------------------------------------------------------------------
    def _by_arn(self, arn: str, ctx: RequestContext) -> Pipe:
        """The pipe an ARN names in the request's account and region (another region's ARN names nothing)."""
        key = model.key_of_arn(arn)
        region = model.pipe_key(ctx.account, ctx.region, "")
        pipe = self.pipes.get(key) if key is not None and key.startswith(region) else None
        if pipe is None:
            raise not_found(arn.rsplit("/", 1)[-1])
        return pipe

    async def op_TagResource(self, params: JSON, ctx: RequestContext) -> JSON:
        pipe = self._by_arn(params["resourceArn"], ctx)
        tags = {**pipe.tags, **params["tags"]}
        if len(tags) > 50:
            raise validation("A pipe may have at most 50 tags.")
        await self.save(replace(pipe, tags=tags))
        return {}

    async def op_UntagResource(self, params: JSON, ctx: RequestContext) -> JSON:
        pipe = self._by_arn(params["resourceArn"], ctx)
        removed = set(params["tagKeys"])
        await self.save(replace(pipe, tags={k: v for k, v in pipe.tags.items() if k not in removed}))
        return {}

    async def op_ListTagsForResource(self, params: JSON, ctx: RequestContext) -> JSON:
        return {"tags": dict(self._by_arn(params["resourceArn"], ctx).tags)}

    operations: ClassVar[Mapping[str, Handler]] = {
        "CreatePipe": op_CreatePipe,
        "DescribePipe": op_DescribePipe,
        "UpdatePipe": op_UpdatePipe,
        "DeletePipe": op_DeletePipe,
        "ListPipes": op_ListPipes,
        "StartPipe": op_StartPipe,
        "StopPipe": op_StopPipe,
        "TagResource": op_TagResource,
        "UntagResource": op_UntagResource,
        "ListTagsForResource": op_ListTagsForResource,
    }
