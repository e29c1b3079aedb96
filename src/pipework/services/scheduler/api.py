"""The Scheduler API (restJson1): schedules, schedule groups and tags, and the schedule state machine behind them.

Definitions live in the store (resources) and in memory. Every change to a group, a schedule and its tick (the
work-queue item due `model.FIRE_AHEAD` seconds before its next occurrence) is one store commit, made under one lock
shared with the ticker's `fire`, so a schedule and its tick never disagree: an update replaces the tick, a deletion
removes it, and either withdraws an invocation fired ahead for an occurrence that has not come yet.

Groups and schedules belong to the account and region of the request (`model.group_key`, `model.key`); each
region has its own ``default`` group, created when the region is first used.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

import orjson

from pipework.clock import Clock
from pipework.engine.envelope import envelope_attributes
from pipework.engine.retry import RetryPolicy
from pipework.engine.scheduler import catch_up
from pipework.schedule_expressions import ExpressionError, Timing
from pipework.services.base import Handler, RequestContext, ServiceError, dispatch
from pipework.store.base import Batch, QueueItem, Store
from pipework.store.errors import StoreError

from . import model
from .errors import conflict, not_found, validation
from .targets import validate_target

log = logging.getLogger("pipework.scheduler")
JSON = dict[str, Any]

#: AWS: a StartDate may lie at most 5 minutes in the past.
START_DATE_GRACE = 300.0
DEFAULT_RETRY_POLICY = {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}


@dataclass(slots=True)
class _Firing:
    """What firing one tick writes (`batch`) and, once committed, what it did."""

    tick: str
    batch: Batch
    invocation: JSON | None = None
    missed: int = 0
    finished: str | None = None  # a schedule deleted with its tick (its last occurrence was missed)


def _epoch(value: Any) -> float | None:
    if value is None:
        return None
    return value.timestamp() if isinstance(value, datetime) else float(value)


class SchedulerService:
    """Scheduler operations over a store.

    Parameters:
        store, clock: where definitions, ticks and invocations live, and time.
        region, account: the server's defaults (its region's ``default`` group exists from the start; requests
            work in their own region). rng: the flexible windows' randomness (seeded in tests).
    """

    def __init__(
        self, store: Store, clock: Clock, *, region: str, account: str, rng: random.Random | None = None
    ) -> None:
        self.store = store
        self.clock = clock
        self.region = region
        self.account = account
        self.rng = rng or random.Random()
        self.groups: dict[str, JSON] = {}  # group key -> stored body
        self.schedules: dict[str, JSON] = {}  # schedule key -> stored body
        self.lock = asyncio.Lock()
        self.metrics: Counter[str] = Counter()
        self._timings: dict[str, tuple[int, Timing]] = {}
        # Invocations enqueued ahead of their occurrence, by schedule key: (execution id, scheduled time).
        self._ahead: dict[str, tuple[str, float]] = {}
        self.on_fired: Callable[[JSON], Awaitable[None]] | None = None  # tests and the bench observe firing

    # -- lifecycle ---------------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Load definitions; create the ``default`` group. Ticks are already in the store (nothing to rebuild)."""
        for kind, target in ((model.KIND_GROUP, self.groups), (model.KIND_SCHEDULE, self.schedules)):
            token: str | None = None
            while True:
                page = await self.store.list_resources(kind, limit=1000, next_token=token)
                for resource in page.items:
                    target[resource.name] = resource.body
                token = page.next_token
                if token is None:
                    break
        await self._default_group(self.account, self.region)
        # Invocations enqueued ahead of an occurrence before a restart can still be withdrawn by a change.
        now, after = self.clock.now(), 0
        while items := await self.store.peek(model.INVOCATIONS, after_seq=after, limit=1000):
            for item in items:
                invocation = orjson.loads(item.payload)
                if item.attempts == 0 and invocation["scheduled"] > now:
                    self._ahead[model.invocation_key(invocation)] = (item.id, invocation["scheduled"])
            after = items[-1].seq

    @staticmethod
    def unknown_operation(operation: str) -> ServiceError:
        return ServiceError("UnknownOperationException", f"Operation {operation} is not supported.", 400)

    async def handle(self, operation: str, params: JSON, ctx: RequestContext) -> JSON:
        if operation in self.operations:  # an unknown operation creates nothing
            await self._default_group(ctx.account, ctx.region)
        return await dispatch(self, operation, params, ctx)

    async def _default_group(self, account: str, region: str) -> None:
        """Create the region's ``default`` group if it does not exist yet (every region has one)."""
        if model.group_key(account, region, model.DEFAULT_GROUP) in self.groups:
            return
        async with self.lock:
            if model.group_key(account, region, model.DEFAULT_GROUP) not in self.groups:
                await self._put_group(self._new_group(account, region, model.DEFAULT_GROUP, {}))

    # -- timing ------------------------------------------------------------------------------------------------
    def timing(self, body: JSON) -> Timing:
        cached = self._timings.get(body["Arn"])
        if cached is not None and cached[0] == body["_generation"]:
            return cached[1]
        timing = Timing.of(
            body["ScheduleExpression"],
            body.get("ScheduleExpressionTimezone"),
            start=body.get("StartDate"),
            end=body.get("EndDate"),
            created=body["_anchor"],
        )
        self._timings[body["Arn"]] = (body["_generation"], timing)
        return timing

    def first_fire(self, body: JSON, now: float) -> float | None:
        """The first occurrence of a new or changed schedule: a one-time schedule keeps its time even if it
        has passed (the ticker then applies the retry-age rule); a recurring one starts now."""
        timing = self.timing(body)
        if timing.one_time:
            return timing.expression.next_after(float("-inf"), timing.tz)
        return timing.next_after(now - 0.001)

    # -- validation --------------------------------------------------------------------------------------------
    def _group(self, ctx: RequestContext, name: str | None) -> str:
        """The group `name` (default: ``default``) of the request's region, or ResourceNotFoundException."""
        group = name or model.DEFAULT_GROUP
        if model.group_key(ctx.account, ctx.region, group) not in self.groups:
            raise not_found(f"Schedule group {group} does not exist.")
        return group

    def _build(self, ctx: RequestContext, params: JSON, group: str, now: float, created: float) -> JSON:
        name = params["Name"]
        start, end = _epoch(params.get("StartDate")), _epoch(params.get("EndDate"))
        timezone = params.get("ScheduleExpressionTimezone", "UTC")
        try:
            timing = Timing.of(params["ScheduleExpression"], timezone, start=start, end=end, created=now)
        except ExpressionError as exc:
            raise validation(str(exc)) from None
        if not timing.one_time:
            if start is not None and start < now - START_DATE_GRACE:
                raise validation(
                    "The StartDate you specify cannot be earlier than 5 minutes prior to the current time."
                )
            if end is not None and end <= now:
                raise validation("The EndDate you specify cannot be earlier than the current time.")
            if start is not None and end is not None and end <= start:
                raise validation("The StartDate must be before the EndDate.")
        window = params["FlexibleTimeWindow"]
        if window["Mode"] == "FLEXIBLE" and "MaximumWindowInMinutes" not in window:
            raise validation("MaximumWindowInMinutes must be provided when Mode is FLEXIBLE.")
        if window["Mode"] == "OFF" and "MaximumWindowInMinutes" in window:
            raise validation("MaximumWindowInMinutes must not be provided when Mode is OFF.")
        target = dict(params["Target"])
        validate_target(target)
        target["RetryPolicy"] = {**DEFAULT_RETRY_POLICY, **target.get("RetryPolicy", {})}
        body: JSON = {
            "Arn": model.Arns(ctx.region, ctx.account).schedule(group, name),
            "Name": name,
            "GroupName": group,
            "ScheduleExpression": params["ScheduleExpression"],
            "ScheduleExpressionTimezone": timezone,
            "State": params.get("State", "ENABLED"),
            "Target": target,
            "FlexibleTimeWindow": window,
            "ActionAfterCompletion": params.get("ActionAfterCompletion", "NONE"),
            "CreationDate": created,
            "LastModificationDate": now,
            "_anchor": now,
        }
        for field in ("Description", "KmsKeyArn"):
            if field in params:
                body[field] = params[field]
        if start is not None:
            body["StartDate"] = start
        if end is not None:
            body["EndDate"] = end
        return body

    # -- schedules ---------------------------------------------------------------------------------------------
    async def op_CreateSchedule(self, params: JSON, ctx: RequestContext) -> JSON:
        token = params.get("ClientToken")
        async with self.lock:
            group = self._group(
                ctx, params.get("GroupName")
            )  # under the lock: a group deletion may be under way
            key = model.key(ctx.account, ctx.region, group, params["Name"])
            existing = self.schedules.get(key)
            if existing is not None:
                if token is not None and existing.get("_create_token") == token:
                    return {"ScheduleArn": existing["Arn"]}  # a retried request: same answer
                raise conflict(f"Schedule {params['Name']} already exists.")
            now = self.clock.now()
            body = self._build(ctx, params, group, now, now)
            body["_generation"] = 1
            if token is not None:
                body["_create_token"] = token
            await self._save(key, body, now)
        return {"ScheduleArn": body["Arn"]}

    async def op_UpdateSchedule(self, params: JSON, ctx: RequestContext) -> JSON:
        token = params.get("ClientToken")
        async with self.lock:
            group = self._group(ctx, params.get("GroupName"))
            key = model.key(ctx.account, ctx.region, group, params["Name"])
            existing = self._schedule(key)
            if token is not None and existing.get("_update_token") == token:
                return {"ScheduleArn": existing["Arn"]}
            now = self.clock.now()
            # UpdateSchedule replaces the definition: omitted optional fields return to their defaults (AWS).
            body = self._build(ctx, params, group, now, existing["CreationDate"])
            body["_generation"] = existing["_generation"] + 1
            if "_create_token" in existing:
                body["_create_token"] = existing["_create_token"]
            if token is not None:
                body["_update_token"] = token
            await self._save(key, body, now, previous=existing)
        return {"ScheduleArn": body["Arn"]}

    async def op_GetSchedule(self, params: JSON, ctx: RequestContext) -> JSON:
        group = self._group(ctx, params.get("GroupName"))
        return model.public(self._schedule(model.key(ctx.account, ctx.region, group, params["Name"])))

    async def op_DeleteSchedule(self, params: JSON, ctx: RequestContext) -> JSON:
        token = params.get("ClientToken")
        async with self.lock:
            group = self._group(ctx, params.get("GroupName"))
            key = model.key(ctx.account, ctx.region, group, params["Name"])
            deleted = f"{group}/{params['Name']}".encode()  # what the token records, in its region
            token_key = model.token_key(ctx.account, ctx.region, token) if token is not None else None
            if key not in self.schedules and token_key is not None:
                seen = await self.store.kv_get(model.TOKENS, token_key)
                if seen is not None and seen.value == deleted:
                    return {}  # a retried deletion
            body = self._schedule(key)
            batch = self.store.batch()
            await self._remove(batch, key, body)
            if token_key is not None:
                batch.kv_put(model.TOKENS, token_key, deleted, ttl=model.TOKEN_TTL)
            self._withdraw_ahead(batch, key)
            await self.store.commit(batch)
            self._forget(key)
        return {}

    async def op_ListSchedules(self, params: JSON, ctx: RequestContext) -> JSON:
        group = params.get("GroupName")
        if group is not None:
            self._group(ctx, group)
        prefix = params.get("NamePrefix", "")
        state = params.get("State")
        region = model.group_key(ctx.account, ctx.region, "")
        chosen = sorted(
            (
                b
                for k, b in self.schedules.items()
                if k.startswith(region) and (group is None or b["GroupName"] == group)
            ),
            key=lambda b: (b["GroupName"], b["Name"]),
        )
        chosen = [
            b for b in chosen if b["Name"].startswith(prefix) and (state is None or b["State"] == state)
        ]
        items, token = model.page(chosen, params.get("NextToken"), params.get("MaxResults"))
        out: JSON = {"Schedules": [model.summary(b) for b in items]}
        if token:
            out["NextToken"] = token
        return out

    def _schedule(self, key: str) -> JSON:
        body = self.schedules.get(key)
        if body is None:
            raise not_found(f"Schedule {key.rsplit('/', 1)[1]} does not exist.")
        return body

    async def _save(self, key: str, body: JSON, now: float, *, previous: JSON | None = None) -> None:
        """Store the schedule and replace its tick, in one commit (call with the lock held)."""
        batch = self.store.batch()
        batch.put_resource(model.KIND_SCHEDULE, key, body)
        if previous is not None:
            await self._remove_tick(batch, key, previous)
        if body["State"] == "ENABLED":
            first = self.first_fire(body, now)
            if first is not None:
                batch.enqueue(
                    model.TICKS,
                    model.tick_id(key, body["_generation"]),
                    orjson.dumps({"key": key, "generation": body["_generation"]}),
                    due_at=first - model.FIRE_AHEAD,
                    attributes={"at": first},
                )
        if previous is not None:
            self._withdraw_ahead(batch, key)
        await self.store.commit(batch)
        self._ahead.pop(key, None)
        self.schedules[key] = body

    async def _remove_tick(self, batch: Batch, key: str, body: JSON) -> None:
        tick = model.tick_id(key, body["_generation"])
        # The store has no plain delete: dead-letter the tick and drop the dead letter, in the same batch.
        if await self.store.get_item(model.TICKS, tick) is not None:
            batch.dead_letter(model.TICKS, tick)
            batch.delete_dead_letters(model.TICKS, [tick])

    async def _remove(self, batch: Batch, key: str, body: JSON) -> None:
        batch.delete_resource(model.KIND_SCHEDULE, key)
        await self._remove_tick(batch, key, body)

    def _withdraw_ahead(self, batch: Batch, key: str) -> None:
        """Remove the invocation a schedule's tick enqueued ahead of an occurrence that has not come yet: the
        changed (or deleted) schedule decides about that occurrence now. Call right before the commit, with no
        await in between: an invocation whose occurrence is still ahead of this `now` is not due, so no lease can
        have taken it before this commit (leases read their `now` earlier and commit in order) — the occurrence is
        then fired once by the new definition (its first fire is the next occurrence after now), never twice.
        An occurrence that has come already stays enqueued, and the new definition starts after it."""
        ahead = self._ahead.get(key)
        if ahead is not None and ahead[1] > self.clock.now():
            batch.dead_letter(model.INVOCATIONS, ahead[0])
            batch.delete_dead_letters(model.INVOCATIONS, [ahead[0]])

    def _forget(self, key: str) -> None:
        self._ahead.pop(key, None)
        body = self.schedules.pop(key, None)
        if body is not None:
            self._timings.pop(body["Arn"], None)

    # -- groups ------------------------------------------------------------------------------------------------
    def _new_group(self, account: str, region: str, name: str, params: JSON) -> JSON:
        now = self.clock.now()
        group: JSON = {
            "Arn": model.Arns(region, account).group(name),
            "Name": name,
            "State": "ACTIVE",
            "CreationDate": now,
            "LastModificationDate": now,
            "Tags": {t["Key"]: t["Value"] for t in params.get("Tags", [])},
        }
        if params.get("ClientToken"):
            group["_create_token"] = params["ClientToken"]
        return group

    async def _put_group(self, group: JSON) -> None:
        """Store a group (call with the lock held: changes read the group, await the store, then write it)."""
        key = model.group_key_of_arn(group["Arn"])
        await self.store.put_resource(model.KIND_GROUP, key, group)
        self.groups[key] = group

    async def op_CreateScheduleGroup(self, params: JSON, ctx: RequestContext) -> JSON:
        name = params["Name"]
        async with self.lock:
            existing = self.groups.get(model.group_key(ctx.account, ctx.region, name))
            if existing is not None:
                if params.get("ClientToken") and existing.get("_create_token") == params["ClientToken"]:
                    return {"ScheduleGroupArn": existing["Arn"]}
                raise conflict(f"Schedule group {name} already exists.")
            group = self._new_group(ctx.account, ctx.region, name, params)
            await self._put_group(group)
        return {"ScheduleGroupArn": group["Arn"]}

    async def op_GetScheduleGroup(self, params: JSON, ctx: RequestContext) -> JSON:
        group = self._group(ctx, params["Name"])
        return model.public(self.groups[model.group_key(ctx.account, ctx.region, group)])

    async def op_ListScheduleGroups(self, params: JSON, ctx: RequestContext) -> JSON:
        prefix = model.group_key(ctx.account, ctx.region, params.get("NamePrefix", ""))
        keys = sorted(k for k in self.groups if k.startswith(prefix))
        items, token = model.page(keys, params.get("NextToken"), params.get("MaxResults"))
        out: JSON = {"ScheduleGroups": [model.public(self.groups[k]) for k in items]}
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
            self._group(ctx, name)
            # AWS deletes a group's schedules with it (eventually; here in the same commit).
            batch = self.store.batch()
            doomed = [k for k in self.schedules if k.startswith(group_key + "/")]
            for key in doomed:
                await self._remove(batch, key, self.schedules[key])
            batch.delete_resource(model.KIND_GROUP, group_key)
            if token_key is not None:
                batch.kv_put(model.TOKENS, token_key, f"group:{name}".encode(), ttl=model.TOKEN_TTL)
            for key in doomed:
                self._withdraw_ahead(batch, key)
            await self.store.commit(batch)
            for key in doomed:
                self._forget(key)
            del self.groups[group_key]
        return {}

    # -- tags (schedule groups are the taggable resource) ------------------------------------------------------
    def _tagged(self, arn: str, ctx: RequestContext) -> JSON:
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
            group = dict(self._tagged(params["ResourceArn"], ctx))
            group["Tags"] = {**group["Tags"], **{t["Key"]: t["Value"] for t in params["Tags"]}}
            await self._put_group(group)
        return {}

    async def op_UntagResource(self, params: JSON, ctx: RequestContext) -> JSON:
        async with self.lock:
            group = dict(self._tagged(params["ResourceArn"], ctx))
            group["Tags"] = {k: v for k, v in group["Tags"].items() if k not in set(params["TagKeys"])}
            await self._put_group(group)
        return {}

    async def op_ListTagsForResource(self, params: JSON, ctx: RequestContext) -> JSON:
        group = self._tagged(params["ResourceArn"], ctx)
        return {"Tags": [{"Key": k, "Value": v} for k, v in group["Tags"].items()]}

    # -- the engine side: firing ticks and completing one-time schedules ----------------------------------------
    async def fire(self, items: list[QueueItem]) -> None:
        """Turn due ticks into invocations: for each, enqueue the occurrence (catch-up rules applied) and move the
        tick to the next occurrence in the same commit, so each occurrence is enqueued once.

        The ticks are committed together; if that commit fails, each tick is committed on its own, so a tick whose
        writes fail (its lease went stale, or it vanished) stays behind alone, to come back when its lease expires,
        and never delays the others."""
        async with self.lock:
            now = self.clock.now()
            firings = [f for item in items if (f := await self._fire_one(item, now)) is not None]
            done = await self._commit_firings(firings, now)
        self.metrics["InvocationsEnqueued"] += sum(f.invocation is not None for f in done)
        if self.on_fired is not None:
            for firing in done:
                if firing.invocation is not None:
                    await self.on_fired(firing.invocation)

    async def _commit_firings(self, firings: list[_Firing], now: float) -> list[_Firing]:
        """Commit the firings (call with the lock held), together if possible, else one by one; return those
        committed, with their effects on memory applied."""
        if not firings:
            return []
        together = self.store.batch()
        for firing in firings:
            together.writes.extend(firing.batch.writes)
        try:
            await self.store.commit(together)
            done = firings
        except StoreError:
            done = []
            for firing in firings:
                try:
                    await self.store.commit(firing.batch)
                except StoreError:
                    # Its lease expires and the tick is handled again: nothing is lost (an occurrence may fire late).
                    log.exception("firing the tick %s failed", firing.tick)
                else:
                    done.append(firing)
        for firing in done:
            self.metrics["MissedInvocations"] += firing.missed
            if firing.finished is not None:
                self._forget(firing.finished)
            invocation = firing.invocation
            if invocation is not None and invocation["scheduled"] > now:
                self._ahead[invocation["schedule"]] = (invocation["execution_id"], invocation["scheduled"])
        return done

    async def _fire_one(self, item: QueueItem, now: float) -> _Firing | None:
        """The writes that fire one leased tick (call with the lock held); None if there is nothing to write."""
        assert item.lease_token is not None
        batch = self.store.batch()
        tick = orjson.loads(item.payload)
        key = tick["key"]
        body = self.schedules.get(key)
        if body is None or body["_generation"] != tick["generation"] or body["State"] != "ENABLED":
            # A tick that outlived its schedule. The change that did it usually removed the tick already, even
            # though the ticker held it leased (the ticker leases outside the lock): then there is nothing to ack.
            if await self.store.get_item(model.TICKS, item.id) is None:
                return None
            batch.ack(model.TICKS, item.id, item.lease_token)
            return _Firing(item.id, batch)
        timing = self.timing(body)
        target = body["Target"]
        policy = RetryPolicy.from_api(target.get("RetryPolicy"))
        plan = catch_up(timing.next_after, float(item.attributes["at"]), now, policy.maximum_event_age)
        delete_after = body.get("ActionAfterCompletion") == "DELETE" and plan.next is None
        invocation: JSON | None = None
        if plan.fire is not None:
            due = plan.fire
            window = body["FlexibleTimeWindow"]
            if window["Mode"] == "FLEXIBLE":
                due += self.rng.uniform(0, window["MaximumWindowInMinutes"] * 60)
            execution_id = str(uuid.uuid4())
            account, region, _ = key.split("/", 2)
            invocation = {
                "schedule": key,
                "account": account,
                "region": region,
                "arn": body["Arn"],
                "generation": body["_generation"],
                "target": target,
                "scheduled": plan.fire,
                "execution_id": execution_id,
                "delete_after": delete_after,
            }
            # The event age of retries counts from the intended invocation time.
            envelope = envelope_attributes(target=target["Arn"], first_seen=due, policy=policy)
            # Due at the occurrence (the tick comes FIRE_AHEAD earlier): the dispatcher leases it on time.
            batch.enqueue(
                model.INVOCATIONS, execution_id, orjson.dumps(invocation), due_at=due, attributes=envelope
            )
        if plan.next is not None:
            batch.retry(
                model.TICKS,
                item.id,
                item.lease_token,
                due_at=plan.next - model.FIRE_AHEAD,
                attributes={"at": plan.next},
            )
            return _Firing(item.id, batch, invocation, missed=plan.missed)
        batch.ack(model.TICKS, item.id, item.lease_token)
        if delete_after and invocation is None:
            # Its last occurrence was missed: nothing to wait for.
            batch.delete_resource(model.KIND_SCHEDULE, key)
            return _Firing(item.id, batch, None, missed=plan.missed, finished=key)
        return _Firing(item.id, batch, invocation, missed=plan.missed)

    async def completed(self, invocation: JSON) -> None:
        """The last invocation of a DELETE-after-completion schedule ended (delivered or dead-lettered): delete
        the schedule, unless it was changed since (then it lives on as updated)."""
        key = model.invocation_key(invocation)
        async with self.lock:
            body = self.schedules.get(key)
            if body is None or body["_generation"] != invocation["generation"]:
                return
            batch = self.store.batch()
            await self._remove(batch, key, body)
            await self.store.commit(batch)
            self._forget(key)

    operations: ClassVar[Mapping[str, Handler]] = {
        "CreateSchedule": op_CreateSchedule,
        "UpdateSchedule": op_UpdateSchedule,
        "GetSchedule": op_GetSchedule,
        "DeleteSchedule": op_DeleteSchedule,
        "ListSchedules": op_ListSchedules,
        "CreateScheduleGroup": op_CreateScheduleGroup,
        "GetScheduleGroup": op_GetScheduleGroup,
        "ListScheduleGroups": op_ListScheduleGroups,
        "DeleteScheduleGroup": op_DeleteScheduleGroup,
        "TagResource": op_TagResource,
        "UntagResource": op_UntagResource,
        "ListTagsForResource": op_ListTagsForResource,
    }
