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
from pipework.engine.breakers import Breakers
from pipework.engine.cluster import Cluster
from pipework.engine.dispatcher import Dispatcher, default_middleware
from pipework.engine.envelope import Envelope
from pipework.engine.metrics import Dimensions, Recorder, dimensions
from pipework.engine.middleware.metrics import EVENTS, DeliveryMetrics
from pipework.engine.tracing import DeliveryTracing, TraceContext, Tracer
from pipework.services.base import RequestContext
from pipework.store.base import Store
from pipework.store.errors import StoreError

from . import model
from .api import EventsService
from .deadletters import DeadLetters
from .delivery import RuleDelivery
from .entries import entry_size
from .replay import Replayer
from .schedules import ScheduledRules

log = logging.getLogger("pipework.events")
#: Seconds of clock time between two trims of the archives to their RetentionDays.
RETENTION_SWEEP = 3600.0


class EventBridge:
    """The ``events`` service of an instance (see `EventsService` for the operations).

    Parameters:
        events: the buses, rules, archives, connections and API destinations (built first: targets reach them).
        store, clock: the instance's. targets: where deliveries go. recorder: where AWS/Events metrics go.
        breakers: the circuit breakers deliveries go through (they park into and resume from this service's
            dispatcher).
    """

    name = "events"

    def __init__(
        self,
        events: EventsService,
        store: Store,
        clock: Clock,
        *,
        targets: Targets,
        recorder: Recorder | None = None,
        tracer: Tracer | None = None,
        cluster: Cluster | None = None,
        breakers: Breakers | None = None,
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
        self.discard = letters.discard
        self.dispatcher = Dispatcher(
            store,
            clock,
            queue=model.DELIVERIES,
            invoke=delivery.invoke,
            dead_letter=delivery.dead_letter,
            middleware=[
                *default_middleware(breakers=breakers),
                *(
                    [DeliveryMetrics(recorder, EVENTS, self._labels, _has_dead_letter)]
                    if recorder is not None
                    else []
                ),
                *([DeliveryTracing(tracer, "events.deliver", _trace_context)] if tracer is not None else []),
            ],
        )
        if breakers is not None:
            breakers.attach(self.dispatcher)
        self._dimensions: dict[tuple[str, str], Dimensions] = {}
        self.recorder = recorder
        self._buses: dict[str, tuple[str, str, str]] = {}
        # With a tracer, each event put gets its ingest and matching spans and its deliveries carry its trace.
        events.tracer = tracer
        if recorder is not None:
            events.listeners.append(self._count_matches)
        self.replayer = Replayer(events, cluster=self.cluster)
        self.schedules = ScheduledRules(events, cluster=self.cluster)

    def _labels(self, delivery: Envelope) -> tuple[str, str, Dimensions] | None:
        """A rule delivery's metric: RuleName on the default bus, EventBusName and RuleName on another."""
        payload = delivery.body
        if not isinstance(payload, dict):
            return None
        bus, rule = payload.get("bus"), payload.get("rule")
        if not isinstance(bus, str) or not isinstance(rule, str):
            return None
        dims = self._dimensions.get((bus, rule))
        if dims is None:
            dims = rule_dimensions(bus, rule)
            if len(self._dimensions) < 100_000:
                self._dimensions[(bus, rule)] = dims
        account, region = model.owner(payload, (self.events.account, self.events.region))
        return account, region, dims

    def _count_matches(self, bus_arn: str, event: dict[str, Any], rules: list[str]) -> None:
        """MatchedEvents and TriggeredRules of each rule an event matched (AWS/Events)."""
        if not rules or self.recorder is None:
            return
        owner = self._buses.get(bus_arn)
        if owner is None:
            parts = bus_arn.split(":", 5)  # arn:aws:events:<region>:<account>:event-bus/<name>
            owner = self._buses[bus_arn] = (parts[4], parts[3], parts[5].partition("/")[2])
        account, region, bus = owner
        count, now = self.recorder.count, self.clock.now()
        for rule in rules:
            dims = self._dimensions.get((bus, rule)) or rule_dimensions(bus, rule)
            count(account, region, "AWS/Events", "MatchedEvents", dims, now)
            count(account, region, "AWS/Events", "TriggeredRules", dims, now)

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
        result = await self.events.handle(operation, params, ctx)
        if operation == "PutEvents" and self.recorder is not None:
            # PutEventsRequestSize (AWS/Events, no dimension): the request's size as AWS counts it, in bytes.
            size = float(sum(entry_size(entry) for entry in params["Entries"]))
            self.recorder.add(
                ctx.account, ctx.region, "AWS/Events", "PutEventsRequestSize", (), size, "Bytes"
            )
        return result

    @property
    def watched_kinds(self) -> frozenset[str]:
        """The resource kinds whose changes by other nodes `refresh` follows."""
        return self.events.watched_kinds

    async def refresh(self, kind: str, name: str | None) -> None:
        """Follow a change another node made (buses, rules and their matchers, archives, replays, connections,
        API destinations)."""
        await self.events.refresh(kind, name)


def rule_dimensions(bus: str, rule: str) -> Dimensions:
    """AWS/Events dimensions of a rule's metrics: RuleName alone on the default bus, with EventBusName on another."""
    if bus == "default":
        return (("RuleName", rule),)
    return dimensions(("EventBusName", bus), ("RuleName", rule))


def _trace_context(delivery: Envelope) -> TraceContext | None:
    """A rule delivery's trace: the one its event was put in (its stored trace header, naming the event's
    matching span), or, for a delivery stored without one (a replay), one derived from the event's id."""
    payload = delivery.body
    if not isinstance(payload, dict):
        return None
    context = TraceContext.parse(payload.get("trace"))
    if context is not None:
        return context
    event = payload.get("event")
    ident = event.get("id") if isinstance(event, dict) else None
    return TraceContext.derived(ident) if isinstance(ident, str) else None


def _has_dead_letter(delivery: Envelope) -> bool:
    """Whether a rule delivery's target has a DeadLetterConfig."""
    payload = delivery.body
    target = payload.get("target") if isinstance(payload, dict) else None
    return isinstance(target, dict) and bool((target.get("DeadLetterConfig") or {}).get("Arn"))
