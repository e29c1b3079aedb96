"""What the Scheduler's operations and its firing share: the definitions in memory (a cache of their store
resources), the lock every change holds, and the bookkeeping of ticks, timings and invocations fired ahead.

Every change to a group, a schedule and its tick (the work-queue item due `model.FIRE_AHEAD` seconds before its next
occurrence) is one store commit, made under `lock`, which the ticker's `fire` holds too, so a schedule and its tick
never disagree: an update replaces the tick, a deletion removes it, and either withdraws an invocation fired ahead
for an occurrence that has not come yet.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from pipework.clock import Clock
from pipework.jsontypes import JSON
from pipework.schedule_expressions import Timing
from pipework.services.base import RequestContext
from pipework.store.base import Batch, Store

from . import model
from .errors import not_found
from .model import Schedule, ScheduleGroup


class SchedulerState:
    """The Scheduler's definitions over a store.

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
        self.groups: dict[str, ScheduleGroup] = {}  # by group key
        self.schedules: dict[str, Schedule] = {}  # by schedule key
        self.lock = asyncio.Lock()
        self.metrics: Counter[str] = Counter()
        self._timings: dict[str, tuple[int, Timing]] = {}
        # Invocations enqueued ahead of their occurrence, by schedule key: (execution id, scheduled time).
        self._ahead: dict[str, tuple[str, float]] = {}
        self.on_fired: Callable[[JSON], Awaitable[None]] | None = None  # tests and the bench observe firing

    async def start(self) -> None:
        """Load definitions; create the ``default`` group. Ticks are already in the store (nothing to rebuild)."""
        async for resource in self.store.all_resources(model.KIND_GROUP):
            self.groups[resource.name] = ScheduleGroup.from_store(resource.body)
        async for resource in self.store.all_resources(model.KIND_SCHEDULE):
            self.schedules[resource.name] = Schedule.from_store(resource.body)
        await self.default_group(self.account, self.region)
        # Invocations enqueued ahead of an occurrence before a restart can still be withdrawn by a change.
        now, after = self.clock.now(), 0
        while items := await self.store.peek(model.INVOCATIONS, after_seq=after, limit=1000):
            for item in items:
                invocation = orjson.loads(item.payload)
                if item.attempts == 0 and invocation["scheduled"] > now:
                    self._ahead[model.invocation_key(invocation)] = (item.id, invocation["scheduled"])
            after = items[-1].seq

    async def refresh(self, kind: str, name: str | None) -> None:
        """Follow a change another node made to the group or schedule stored as `name` (None: all of `kind`)."""
        held: dict[str, Any] = self.groups if kind == model.KIND_GROUP else self.schedules
        load = ScheduleGroup.from_store if kind == model.KIND_GROUP else Schedule.from_store
        async with self.lock:
            if name is None:
                loaded = {r.name: load(r.body) async for r in self.store.all_resources(kind)}
                held.clear()
                held.update(loaded)
                return
            resource = await self.store.get_resource(kind, name)
            if resource is None:
                held.pop(name, None)
            else:
                held[name] = load(resource.body)

    # -- groups --------------------------------------------------------------------------------------------------
    async def default_group(self, account: str, region: str) -> None:
        """Create the region's ``default`` group if it does not exist yet (every region has one)."""
        if model.group_key(account, region, model.DEFAULT_GROUP) in self.groups:
            return
        async with self.lock:
            if model.group_key(account, region, model.DEFAULT_GROUP) not in self.groups:
                await self.put_group(self.new_group(account, region, model.DEFAULT_GROUP, {}))

    def new_group(self, account: str, region: str, name: str, params: JSON) -> ScheduleGroup:
        now = self.clock.now()
        return ScheduleGroup(
            arn=model.Arns(region, account).group(name),
            name=name,
            created=now,
            modified=now,
            tags={t["Key"]: t["Value"] for t in params.get("Tags", [])},
            create_token=params.get("ClientToken") or None,
        )

    async def put_group(self, group: ScheduleGroup) -> None:
        """Store a group (call with the lock held: changes read the group, await the store, then write it)."""
        await self.store.put_resource(model.KIND_GROUP, group.key, group.to_store())
        self.groups[group.key] = group

    def group(self, ctx: RequestContext, name: str | None) -> str:
        """The group `name` (default: ``default``) of the request's region, or ResourceNotFoundException."""
        group = name or model.DEFAULT_GROUP
        if model.group_key(ctx.account, ctx.region, group) not in self.groups:
            raise not_found(f"Schedule group {group} does not exist.")
        return group

    # -- schedules and their ticks ---------------------------------------------------------------------------------
    def schedule(self, key: str) -> Schedule:
        schedule = self.schedules.get(key)
        if schedule is None:
            raise not_found(f"Schedule {key.rsplit('/', 1)[1]} does not exist.")
        return schedule

    def timing(self, schedule: Schedule) -> Timing:
        cached = self._timings.get(schedule.arn)
        if cached is not None and cached[0] == schedule.generation:
            return cached[1]
        timing = Timing.of(
            schedule.expression,
            schedule.timezone,
            start=schedule.start,
            end=schedule.end,
            created=schedule.anchor,
        )
        self._timings[schedule.arn] = (schedule.generation, timing)
        return timing

    def first_fire(self, schedule: Schedule, now: float) -> float | None:
        """The first occurrence of a new or changed schedule: a one-time schedule keeps its time even if it
        has passed (the ticker then applies the retry-age rule); a recurring one starts now."""
        timing = self.timing(schedule)
        if timing.one_time:
            return timing.expression.next_after(float("-inf"), timing.tz)
        return timing.next_after(now - 0.001)

    async def remove_tick(self, batch: Batch, key: str, schedule: Schedule) -> None:
        tick = model.tick_id(key, schedule.generation)
        # The store has no plain delete: dead-letter the tick and drop the dead letter, in the same batch.
        if await self.store.get_item(model.TICKS, tick) is not None:
            batch.dead_letter(model.TICKS, tick)
            batch.delete_dead_letters(model.TICKS, [tick])

    async def remove(self, batch: Batch, key: str, schedule: Schedule) -> None:
        batch.delete_resource(model.KIND_SCHEDULE, key)
        await self.remove_tick(batch, key, schedule)

    def withdraw_ahead(self, batch: Batch, key: str) -> None:
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

    def forget(self, key: str) -> None:
        self._ahead.pop(key, None)
        schedule = self.schedules.pop(key, None)
        if schedule is not None:
            self._timings.pop(schedule.arn, None)
