"""Schedule operations: CreateSchedule, UpdateSchedule, GetSchedule, DeleteSchedule, ListSchedules.

Each change stores the schedule and replaces its tick in one commit, under the state's lock (see `state.py`).
"""

from __future__ import annotations

import orjson

from pipework.jsontypes import JSON
from pipework.schedule_expressions import ExpressionError, Timing
from pipework.services import paging
from pipework.services.base import RequestContext

from . import model
from .errors import conflict, validation
from .model import Schedule
from .state import SchedulerState
from .targets import validate_target

#: AWS: a StartDate may lie at most 5 minutes in the past.
START_DATE_GRACE = 300.0


def check(params: JSON, now: float) -> None:
    """Raise ValidationException, in AWS's words, for a schedule definition AWS refuses."""
    start, end = model.epoch(params.get("StartDate")), model.epoch(params.get("EndDate"))
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
    validate_target(dict(params["Target"]))


class ScheduleOperations(SchedulerState):
    """The operations on schedules."""

    async def op_CreateSchedule(self, params: JSON, ctx: RequestContext) -> JSON:
        token = params.get("ClientToken")
        async with self.lock:
            group = self.group(
                ctx, params.get("GroupName")
            )  # under the lock: a group deletion may be under way
            key = model.key(ctx.account, ctx.region, group, params["Name"])
            existing = self.schedules.get(key)
            if existing is not None:
                if token is not None and existing.create_token == token:
                    return {"ScheduleArn": existing.arn}  # a retried request: same answer
                raise conflict(f"Schedule {params['Name']} already exists.")
            now = self.clock.now()
            check(params, now)
            schedule = Schedule.from_api(
                params,
                arn=model.Arns(ctx.region, ctx.account).schedule(group, params["Name"]),
                group=group,
                now=now,
                created=now,
                generation=1,
                create_token=token,
            )
            await self._save(key, schedule, now)
        return {"ScheduleArn": schedule.arn}

    async def op_UpdateSchedule(self, params: JSON, ctx: RequestContext) -> JSON:
        token = params.get("ClientToken")
        async with self.lock:
            group = self.group(ctx, params.get("GroupName"))
            key = model.key(ctx.account, ctx.region, group, params["Name"])
            existing = self.schedule(key)
            if token is not None and existing.update_token == token:
                return {"ScheduleArn": existing.arn}
            now = self.clock.now()
            check(params, now)
            # UpdateSchedule replaces the definition: omitted optional fields return to their defaults (AWS).
            schedule = Schedule.from_api(
                params,
                arn=model.Arns(ctx.region, ctx.account).schedule(group, params["Name"]),
                group=group,
                now=now,
                created=existing.created,
                generation=existing.generation + 1,
                create_token=existing.create_token,
                update_token=token,
            )
            await self._save(key, schedule, now, previous=existing)
        return {"ScheduleArn": schedule.arn}

    async def op_GetSchedule(self, params: JSON, ctx: RequestContext) -> JSON:
        group = self.group(ctx, params.get("GroupName"))
        return self.schedule(model.key(ctx.account, ctx.region, group, params["Name"])).to_api()

    async def op_DeleteSchedule(self, params: JSON, ctx: RequestContext) -> JSON:
        token = params.get("ClientToken")
        async with self.lock:
            group = self.group(ctx, params.get("GroupName"))
            key = model.key(ctx.account, ctx.region, group, params["Name"])
            deleted = f"{group}/{params['Name']}".encode()  # what the token records, in its region
            token_key = model.token_key(ctx.account, ctx.region, token) if token is not None else None
            if key not in self.schedules and token_key is not None:
                seen = await self.store.kv_get(model.TOKENS, token_key)
                if seen is not None and seen.value == deleted:
                    return {}  # a retried deletion
            schedule = self.schedule(key)
            batch = self.store.batch()
            await self.remove(batch, key, schedule)
            if token_key is not None:
                batch.kv_put(model.TOKENS, token_key, deleted, ttl=model.TOKEN_TTL)
            self.withdraw_ahead(batch, key)
            await self.store.commit(batch)
            self.forget(key)
        return {}

    async def op_ListSchedules(self, params: JSON, ctx: RequestContext) -> JSON:
        group = params.get("GroupName")
        if group is not None:
            self.group(ctx, group)
        prefix = params.get("NamePrefix", "")
        state = params.get("State")
        region = model.group_key(ctx.account, ctx.region, "")
        chosen = sorted(
            (
                s
                for k, s in self.schedules.items()
                if k.startswith(region) and (group is None or s.group == group)
            ),
            key=lambda s: (s.group, s.name),
        )
        chosen = [s for s in chosen if s.name.startswith(prefix) and (state is None or s.state == state)]
        items, token = paging.page("ListSchedules", chosen, params.get("NextToken"), params.get("MaxResults"))
        out: JSON = {"Schedules": [s.summary() for s in items]}
        if token:
            out["NextToken"] = token
        return out

    async def _save(
        self, key: str, schedule: Schedule, now: float, *, previous: Schedule | None = None
    ) -> None:
        """Store the schedule and replace its tick, in one commit (call with the lock held)."""
        batch = self.store.batch()
        batch.put_resource(model.KIND_SCHEDULE, key, schedule.to_store())
        if previous is not None:
            await self.remove_tick(batch, key, previous)
        if schedule.state == "ENABLED":
            first = self.first_fire(schedule, now)
            if first is not None:
                batch.enqueue(
                    model.TICKS,
                    model.tick_id(key, schedule.generation),
                    orjson.dumps({"key": key, "generation": schedule.generation}),
                    due_at=first - model.FIRE_AHEAD,
                    attributes={"at": first},
                )
        if previous is not None:
            self.withdraw_ahead(batch, key)
        await self.store.commit(batch)
        self._ahead.pop(key, None)
        self.schedules[key] = schedule
