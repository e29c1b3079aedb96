"""Firing: due ticks become invocations (catch-up rules applied, flexible windows drawn), and a one-time schedule
that asks for it is deleted once its last invocation ended. The ticker (`engine/scheduler.py`) calls `fire`; the
schedule invoker calls `completed`."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import orjson

from pipework.engine.envelope import envelope_attributes
from pipework.engine.retry import RetryPolicy
from pipework.engine.scheduler import catch_up
from pipework.ids import random_uuid
from pipework.jsontypes import JSON
from pipework.store.base import Batch, QueueItem
from pipework.store.errors import StoreError

from . import model
from .state import SchedulerState

log = logging.getLogger("pipework.scheduler")


@dataclass(slots=True)
class _Firing:
    """What firing one tick writes (`batch`) and, once committed, what it did."""

    tick: str
    batch: Batch
    invocation: JSON | None = None
    missed: int = 0
    finished: str | None = None  # a schedule deleted with its tick (its last occurrence was missed)


class Firing(SchedulerState):
    """The engine's side of the schedules: firing ticks and completing one-time schedules."""

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
                self.forget(firing.finished)
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
        schedule = self.schedules.get(key)
        if schedule is None or schedule.generation != tick["generation"] or schedule.state != "ENABLED":
            # A tick that outlived its schedule. The change that did it usually removed the tick already, even
            # though the ticker held it leased (the ticker leases outside the lock): then there is nothing to ack.
            if await self.store.get_item(model.TICKS, item.id) is None:
                return None
            batch.ack(model.TICKS, item.id, item.lease_token)
            return _Firing(item.id, batch)
        timing = self.timing(schedule)
        target = schedule.target
        policy = RetryPolicy.from_api(target.get("RetryPolicy"))
        plan = catch_up(timing.next_after, float(item.attributes["at"]), now, policy.maximum_event_age)
        delete_after = schedule.action_after_completion == "DELETE" and plan.next is None
        invocation: JSON | None = None
        if plan.fire is not None:
            due = plan.fire
            window = schedule.window
            if window["Mode"] == "FLEXIBLE":
                due += self.rng.uniform(0, window["MaximumWindowInMinutes"] * 60)
            execution_id = random_uuid()
            account, region, _ = key.split("/", 2)
            invocation = {
                "schedule": key,
                "account": account,
                "region": region,
                "arn": schedule.arn,
                "generation": schedule.generation,
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
            schedule = self.schedules.get(key)
            if schedule is None or schedule.generation != invocation["generation"]:
                return
            batch = self.store.batch()
            await self.remove(batch, key, schedule)
            await self.store.commit(batch)
            self.forget(key)
