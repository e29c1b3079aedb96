"""`EventBridge`: the served ``events`` API and its background work (delivery and replays) for one instance.

Built by the composition root on the open store; `start()` loads the definitions, resumes replays, and starts the
dispatcher, which also resumes deliveries that were in flight when the process stopped (their leases expire and
they run again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

import orjson

from pipework.clock import Clock
from pipework.connectors.targets.registry import Targets
from pipework.engine.cluster import Cluster
from pipework.engine.dispatcher import Dispatcher
from pipework.engine.envelope import envelope_attributes
from pipework.engine.retry import RetryPolicy
from pipework.services.base import RequestContext
from pipework.store.base import Store
from pipework.store.errors import StoreError

from . import model
from .api import EventsService
from .delivery import RuleDelivery
from .replay import Replayer
from .schedules import ScheduledRules

log = logging.getLogger("pipework.events")
#: Seconds of clock time between two trims of the archives to their RetentionDays.
RETENTION_SWEEP = 3600.0


class EventBridge:
    """The ``events`` service of an instance (see `EventsService` for the operations).

    Parameters:
        events: the buses, rules, archives, connections and API destinations (built first: targets reach them).
        store, clock: the instance's. targets: where deliveries go.
    """

    name = "events"

    def __init__(
        self,
        events: EventsService,
        store: Store,
        clock: Clock,
        *,
        targets: Targets,
        cluster: Cluster | None = None,
    ) -> None:
        self.events = events
        self.cluster = cluster or Cluster(store)
        self.store = store
        self.clock = clock
        delivery = RuleDelivery(targets)
        self._retention: asyncio.Task[None] | None = None
        # One redrive at a time: each reads the dead letters, then commits; two overlapping would both send them.
        self._redriving = asyncio.Lock()
        self.dispatcher = Dispatcher(
            store,
            clock,
            queue=model.DELIVERIES,
            invoke=delivery.invoke,
            dead_letter=delivery.dead_letter,
        )
        self.replayer = Replayer(events, cluster=self.cluster)
        self.schedules = ScheduledRules(events, cluster=self.cluster)

    async def start(self) -> None:
        await self.events.start()
        await self.replayer.start()
        self.dispatcher.start()
        self.schedules.start()
        # One node at a time trims the archives.
        self._retention = self.cluster.singleton("events/archive-retention", self._keep_retention)

    async def _keep_retention(self) -> None:
        """Trim the archives to their RetentionDays now and every `RETENTION_SWEEP` seconds of clock time."""
        while True:
            try:
                await self.events.trim_archives()
            except StoreError:
                log.exception("trimming the archives failed; trying again at the next sweep")
            await self.clock.sleep(RETENTION_SWEEP)

    async def stop(self) -> None:
        if self._retention is not None:
            self._retention.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retention
        await self.schedules.stop()
        await self.dispatcher.stop()
        await self.replayer.stop()

    async def handle(self, operation: str, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        return await self.events.handle(operation, params, ctx)

    @property
    def watched_kinds(self) -> frozenset[str]:
        """The resource kinds whose changes by other nodes `refresh` follows."""
        return self.events.watched_kinds

    async def refresh(self, kind: str, name: str | None) -> None:
        """Follow a change another node made (buses, rules and their matchers, archives, replays, connections,
        API destinations)."""
        await self.events.refresh(kind, name)

    # -- Pipework extensions (beyond AWS): dead letters kept with their full payload, and redrive ------------------
    async def dead_letters(
        self,
        *,
        rule: str | None = None,
        target: str | None = None,
        bus: str | None = None,
        limit: int | None = 1000,
        region: str | None = None,
        account: str | None = None,
    ) -> list[dict[str, Any]]:
        """Deliveries of one account and region (default: the server's) that exhausted their retries, newest
        last: the full event, the rule, target and error; the first `limit` of them (None: all)."""
        store = self.store
        default = (self.events.account, self.events.region)
        wanted = (account or default[0], region or default[1])
        out: list[dict[str, Any]] = []
        after = 0
        while limit is None or len(out) < limit:
            page = await store.list_dead_letters(model.DELIVERIES, after_seq=after, limit=500)
            if not page:
                break
            for dead in page:
                payload = orjson.loads(dead.payload)
                if model.owner(payload, default) != wanted:
                    continue
                if rule is not None and payload["rule"] != rule:
                    continue
                if target is not None and payload["target"]["Id"] != target:
                    continue
                if bus is not None and payload["bus"] != bus:
                    continue
                out.append(
                    {
                        "Id": dead.id,
                        "EventBusName": payload["bus"],
                        "Rule": payload["rule"],
                        "TargetId": payload["target"]["Id"],
                        "TargetArn": payload["target"]["Arn"],
                        "Error": dead.error,
                        "DeadLetteredAt": dead.dead_lettered_at,
                        "Attempts": dead.attempts,
                        "Event": payload["event"],
                    }
                )
            after = page[-1].seq
        return out if limit is None else out[:limit]

    async def redrive(
        self,
        ids: list[str] | None = None,
        *,
        rule: str | None = None,
        target: str | None = None,
        region: str | None = None,
        account: str | None = None,
    ) -> int:
        """Send dead-lettered deliveries of one account and region (default: the server's) back to the one target
        each failed on, with fresh retries (a new event age and attempt count); other targets of the rule do not
        get the event again."""
        async with self._redriving:
            chosen = [
                d
                # Every dead letter the filters choose, however many: the store is paged through to its end.
                for d in await self.dead_letters(
                    rule=rule, target=target, region=region, account=account, limit=None
                )
                if ids is None or d["Id"] in ids
            ]
            return await self._redrive({d["Id"] for d in chosen})

    async def _redrive(self, wanted: set[str]) -> int:
        store = self.store
        default = (self.events.account, self.events.region)
        if not wanted:
            return 0
        batch = store.batch()
        now = self.clock.now()
        after = 0
        while True:
            page = await store.list_dead_letters(model.DELIVERIES, after_seq=after, limit=500)
            if not page:
                break
            for dead in page:
                if dead.id in wanted:
                    payload = orjson.loads(dead.payload)
                    # A dead letter written before payloads named their account and region: name them now.
                    payload["account"], payload["region"] = model.owner(payload, default)
                    payload["ingested"] = now
                    payload["redrives"] = payload.get("redrives", 0) + 1
                    rule_target = payload["target"]
                    envelope = envelope_attributes(  # a new event age, counted from the redrive
                        target=rule_target["Arn"],
                        first_seen=now,
                        policy=RetryPolicy.from_api(rule_target.get("RetryPolicy")),
                    )
                    batch.enqueue(
                        model.DELIVERIES, str(uuid.uuid4()), orjson.dumps(payload), attributes=envelope
                    )
            after = page[-1].seq
        # One commit: the new deliveries appear exactly when the dead letters disappear.
        batch.delete_dead_letters(model.DELIVERIES, sorted(wanted))
        await store.commit(batch)
        return len(wanted)
