"""`EventBridge`: the served ``events`` API and its background work for one instance: the dispatcher (deliveries),
the scheduled rules' ticker, the replays and the archives' retention sweep.

Built by the composition root on the open store; `start()` loads the definitions, resumes replays, and starts the
dispatcher, which also resumes deliveries that were in flight when the process stopped (their leases expire and
they run again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from pipework.clock import Clock
from pipework.connectors.targets.registry import Targets
from pipework.engine.cluster import Cluster
from pipework.engine.dispatcher import Dispatcher
from pipework.services.base import RequestContext
from pipework.store.base import Store
from pipework.store.errors import StoreError

from . import model
from .api import EventsService
from .deadletters import DeadLetters
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
        letters = DeadLetters(events, store, clock)
        # Pipework's extensions (beyond AWS), served by `deadletters.py`: the dead letters and their redrive.
        self.dead_letters = letters.find
        self.redrive = letters.redrive
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
