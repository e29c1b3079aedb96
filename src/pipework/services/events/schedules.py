"""Scheduled rules: a rule with a ScheduleExpression puts one "Scheduled Event" to its own targets at each
occurrence — rate() counted from when the rule was created, updated by PutRule or enabled; cron() in UTC.

Each enabled scheduled rule has one tick, a work-queue item in `model.RULE_TICKS` due at its next occurrence and
written in the same commit as the rule (`RuleTicks`). The engine's `Ticker` leases due ticks; `ScheduledRules.fire`
enqueues one delivery per target (the deliveries PutEvents makes, so Input/InputPath/InputTransformer, RetryPolicy
and DeadLetterConfig apply as for any rule) and moves the tick to the next occurrence, in one commit. After
downtime the scheduler's catch-up rule applies: only the latest missed occurrence fires, never a burst.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import orjson

from pipework.clock import Clock
from pipework.engine.cluster import Cluster
from pipework.engine.envelope import envelope_attributes
from pipework.engine.retry import RetryPolicy
from pipework.engine.scheduler import Ticker, catch_up
from pipework.ids import random_uuid
from pipework.jsontypes import JSON
from pipework.schedule_expressions import Timing, format_time
from pipework.store.base import Batch, QueueItem, Store
from pipework.store.errors import StoreError

from . import model
from .model import Rule

if TYPE_CHECKING:
    from .state import EventsState

log = logging.getLogger("pipework.events")
RuleKey = tuple[str, str, str, str]  # (account, region, bus, rule name)


def is_scheduled(rule: Rule) -> bool:
    """Whether ``rule`` fires on a schedule now (`Rule.scheduled`)."""
    return rule.scheduled


@functools.lru_cache(maxsize=1024)
def timing(expression: str, anchor: float) -> Timing:
    """When a rule's ``rate()`` / ``cron()`` fires (UTC; rate() counts from ``anchor``). The syntax is the
    Scheduler's minus ``at()`` and time zones, which PutRule rejects."""
    return Timing.of(expression, None, created=anchor)


def tick_key(tick: JSON) -> RuleKey:
    """The rule a tick's payload stands for (migration 0003 gave every tick its rule's account and region)."""
    return (tick["account"], tick["region"], tick["bus"], tick["rule"])


def scheduled_event(rule: Rule, scheduled: float, *, region: str, account: str) -> JSON:
    """The event AWS sends a scheduled rule's targets for the occurrence at ``scheduled``."""
    return {
        "version": "0",
        "id": random_uuid(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": format_time(scheduled),
        "region": region,
        "resources": [rule.arn],
        "detail": {},
    }


class RuleTicks:
    """Which tick is current for each enabled scheduled rule (memory), kept in step with the tick items (store).

    A tick's id is new for every schedule it stands for, so a tick the ticker leased before the rule changed is
    recognisable as stale when it comes back. Call `write` with the definitions' lock held.

    Parameters: store, clock.
    """

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self.current: dict[RuleKey, str] = {}

    async def load(self) -> None:
        """Learn the current ticks from the store (they survive restarts; nothing is rebuilt)."""
        after = 0
        while items := await self.store.peek(model.RULE_TICKS, after_seq=after, limit=1000):
            for item in items:
                self.current[tick_key(orjson.loads(item.payload))] = item.id
            after = items[-1].seq

    async def write(
        self, batch: Batch, key: RuleKey, rule: Rule | None, *, restart: bool = False
    ) -> Callable[[], object]:
        """Add to ``batch`` the tick changes that storing ``rule`` (None: deleting it) makes, and return what to
        apply to memory once the batch is committed. A rule that stays scheduled keeps its tick (targets and tags
        do not move the schedule) unless ``restart`` (PutRule: rate() counts from the update)."""
        current = self.current.get(key)
        wanted = rule is not None and is_scheduled(rule)
        if wanted and current is not None and not restart:
            return _nothing
        if current is not None:
            await self._remove(batch, current)
        now = self.clock.now()
        # AWS: a rate() rule first fires one period after it was created, not at once.
        first = (
            timing(rule.schedule, now).next_after(now)
            if rule is not None and rule.schedule and wanted
            else None
        )
        if first is None:  # not scheduled (or a cron() whose years are all past)
            return functools.partial(self.current.pop, key, None)
        tick_id = random_uuid()
        account, region, bus, name = key
        payload = {"account": account, "region": region, "bus": bus, "rule": name, "anchor": now}
        batch.enqueue(
            model.RULE_TICKS, tick_id, orjson.dumps(payload), due_at=first, attributes={"at": first}
        )
        return functools.partial(self.current.__setitem__, key, tick_id)

    async def _remove(self, batch: Batch, tick: str) -> None:
        # The store has no plain delete: dead-letter the tick and drop the dead letter, in the same batch.
        if await self.store.get_item(model.RULE_TICKS, tick) is not None:
            batch.dead_letter(model.RULE_TICKS, tick)
            batch.delete_dead_letters(model.RULE_TICKS, [tick])


def _nothing() -> None:
    return None


@dataclass(slots=True)
class _Firing:
    """What firing one tick writes and, once committed, what it changes in memory."""

    tick: str
    batch: Batch
    fired: bool = False
    missed: int = 0
    settle: Callable[[], object] = field(default=_nothing)


class ScheduledRules:
    """Fires the scheduled rules of ``events``: a `Ticker` over `model.RULE_TICKS` and its ``fire`` callback.

    Parameters: events — the rules, their ticks, and the lock every change to a rule holds (``fire`` holds it
    too, so a rule and its tick never disagree).
    """

    def __init__(self, events: EventsState, *, cluster: Cluster | None = None) -> None:
        self.events = events
        self.metrics: Counter[str] = Counter()
        self.ticker = Ticker(
            events.store, events.clock, queue=model.RULE_TICKS, fire=self.fire, cluster=cluster
        )

    def start(self) -> None:
        self.ticker.start()

    async def stop(self) -> None:
        await self.ticker.stop()

    async def fire(self, items: list[QueueItem]) -> None:
        """Turn due ticks into deliveries and move each tick to its rule's next occurrence, in one commit, so an
        occurrence is enqueued once (a tick whose commit fails keeps its lease, which expires: it fires later,
        never twice)."""
        events = self.events
        async with events.lock:
            now = events.clock.now()
            firings = [f for item in items if (f := await self._fire_one(item, now)) is not None]
            for firing in await self._commit(firings):
                firing.settle()
                self.metrics["TriggeredRules"] += firing.fired
                self.metrics["MissedOccurrences"] += firing.missed

    async def _commit(self, firings: list[_Firing]) -> list[_Firing]:
        """Commit the firings together if possible, else one by one; return those committed."""
        if not firings:
            return []
        store = self.events.store
        together = store.batch()
        for firing in firings:
            together.writes.extend(firing.batch.writes)
        try:
            await store.commit(together)
            return firings
        except StoreError:
            done = []
            for firing in firings:
                try:
                    await store.commit(firing.batch)
                except StoreError:
                    log.exception(
                        "firing the rule tick %s failed; it comes back when its lease expires", firing.tick
                    )
                else:
                    done.append(firing)
            return done

    async def _fire_one(self, item: QueueItem, now: float) -> _Firing | None:
        """The writes that fire one leased tick (lock held); None if there is nothing to write."""
        assert item.lease_token is not None
        events = self.events
        store = events.store
        batch = store.batch()
        tick = orjson.loads(item.payload)
        key = tick_key(tick)
        here = events.regional(key[0], key[1])
        rule = here.rules.get((key[2], key[3]))
        if rule is None or events.rule_ticks.current.get(key) != item.id or not is_scheduled(rule):
            # A tick that outlived its rule's schedule. The change that did it usually removed it already, though
            # the ticker held it leased (it leases outside the lock): then there is nothing to ack.
            if await store.get_item(model.RULE_TICKS, item.id) is None:
                return None
            batch.ack(model.RULE_TICKS, item.id, item.lease_token)
            return _Firing(item.id, batch)
        targets = rule.targets
        ages = [RetryPolicy.from_api(t.get("RetryPolicy")).maximum_event_age for t in targets]
        when = timing(rule.schedule or "", float(tick["anchor"]))
        # An occurrence older than every target's MaximumEventAgeInSeconds would only be given up: it is missed.
        plan = catch_up(
            when.next_after,
            float(item.attributes["at"]),
            now,
            max(ages, default=RetryPolicy().maximum_event_age),
        )
        if plan.fire is not None:
            event = scheduled_event(rule, plan.fire, region=here.region, account=here.account)
            for target, age in zip(targets, ages, strict=True):
                if now - plan.fire > age:
                    continue  # too old for this target: its retries would already have run out
                payload = {
                    "account": here.account,
                    "region": here.region,
                    "event": event,
                    "bus": key[2],
                    "rule": rule.name,
                    "rule_arn": rule.arn,
                    "target": target,
                    "ingested": plan.fire,  # the event's age counts from its occurrence
                }
                envelope = envelope_attributes(
                    target=target["Arn"],
                    first_seen=plan.fire,
                    policy=RetryPolicy.from_api(target.get("RetryPolicy")),
                )
                # Enqueued in the commit that moves the tick past this occurrence: enqueued once.
                batch.enqueue(model.DELIVERIES, random_uuid(), orjson.dumps(payload), attributes=envelope)
        fired, missed = plan.fire is not None, plan.missed
        if plan.next is not None:
            batch.retry(
                model.RULE_TICKS, item.id, item.lease_token, due_at=plan.next, attributes={"at": plan.next}
            )
            return _Firing(item.id, batch, fired, missed)
        # A cron() whose last year is over: the rule stays, its schedule ends.
        batch.ack(model.RULE_TICKS, item.id, item.lease_token)
        return _Firing(
            item.id, batch, fired, missed, functools.partial(events.rule_ticks.current.pop, key, None)
        )
