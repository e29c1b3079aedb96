"""The state every EventBridge operation shares: definitions in memory, per account and region, kept in step with
the store."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator

from pipework.clock import Clock
from pipework.engine.router import Router
from pipework.engine.tracing import Tracer
from pipework.jsontypes import JSON
from pipework.store.base import Store

from . import model
from .entries import bus_name
from .errors import not_found
from .model import ApiDestination, Archive, Connection, EventBus, Replay, Rule
from .schedules import RuleTicks


class EventsRegion:
    """The EventBridge resources of one account in one region: buses, rules (and the router that matches them),
    archives, replays, connections and API destinations, each by name (rules by (bus, name)).

    Parameters: account, region.
    """

    def __init__(self, account: str, region: str) -> None:
        self.account = account
        self.region = region
        self.arns = model.Arns(region, account)
        self.router = Router()
        self.buses: dict[str, EventBus] = {}
        self.rules: dict[tuple[str, str], Rule] = {}
        self.archives: dict[str, Archive] = {}
        self.replays: dict[str, Replay] = {}
        self.connections: dict[str, Connection] = {}
        self.api_destinations: dict[str, ApiDestination] = {}
        # What API-destination targets read through the port (`ApiDestinationCatalog`), by ARN: the stored
        # bodies, made when a resource is remembered, not per delivery.
        self._connection_bodies: dict[str, JSON] = {}
        self._api_destination_bodies: dict[str, JSON] = {}

    def key(self, *names: str) -> str:
        """The store name of a resource of this account and region (`model.store_key`)."""
        return model.store_key(self.account, self.region, *names)

    def archive_log(self, name: str) -> str:
        """The store log holding an archive's events."""
        return model.archive_log(self.account, self.region, name)

    def bus(self, name_or_arn: str | None) -> EventBus:
        name = bus_name(name_or_arn)
        bus = self.buses.get(name)
        if bus is None:
            raise not_found(f"Event bus {name} does not exist.")
        return bus

    def rule(self, bus: str, name: str) -> Rule:
        rule = self.rules.get((bus, name))
        if rule is None:
            raise not_found(f"Rule {name} does not exist on EventBus {bus}.")
        return rule

    def api_destination_by_arn(self, arn: str) -> JSON | None:
        return self._api_destination_bodies.get(arn)

    def connection_by_arn(self, arn: str) -> JSON | None:
        return self._connection_bodies.get(arn)

    def remember_connection(self, connection: Connection) -> None:
        self.connections[connection.name] = connection
        self._connection_bodies[connection.arn] = connection.to_store()

    def forget_connection(self, connection: Connection) -> None:
        del self.connections[connection.name]
        self._connection_bodies.pop(connection.arn, None)

    def remember_api_destination(self, destination: ApiDestination) -> None:
        self.api_destinations[destination.name] = destination
        self._api_destination_bodies[destination.arn] = destination.to_store()

    def forget_api_destination(self, destination: ApiDestination) -> None:
        del self.api_destinations[destination.name]
        self._api_destination_bodies.pop(destination.arn, None)


class EventsState:
    """The EventBridge resources of one server, of every account and region (`EventsRegion` each), and the ticks
    of its scheduled rules. A request sees those of its account and region only; the ``default`` bus of a region
    is created the first time the region is used.

    Parameters:
        store: where definitions, archives and pending deliveries live.
        clock: the time source (events' ``time``, retention, replays).
        region, account: the server's defaults: the region whose default bus exists from the start, and the
            owner of work an older version stored without naming one.
    """

    def __init__(self, store: Store, clock: Clock, *, region: str, account: str) -> None:
        self.store = store
        self.clock = clock
        self.region = region
        self.account = account
        self.regions: dict[tuple[str, str], EventsRegion] = {}
        self.rule_ticks = RuleTicks(store, clock)  # the next occurrence of each enabled scheduled rule
        # `pipework tail`: called after each commit with (the bus's ARN, event, names of the rules it matched)
        self.listeners: list[Callable[[str, JSON, list[str]], None]] = []
        # With ``--otlp-endpoint``: each event put gets its ingest and matching spans (set by `EventBridge`).
        self.tracer: Tracer | None = None
        self.on_replay_started: Callable[[EventsRegion, str], Awaitable[None]] | None = None
        # Held by every change to a definition, from reading the current record to updating memory after the store
        # write: a change that awaits the store never overwrites one made meanwhile with a stale copy.
        self.lock = asyncio.Lock()
        # Held while a region's default bus is created (apart from `lock`: operations holding it open regions too).
        self._opening = asyncio.Lock()

    def regional(self, account: str, region: str) -> EventsRegion:
        """The resources of ``account`` in ``region`` as loaded (no default bus is created: see `opened`)."""
        here = self.regions.get((account, region))
        if here is None:
            here = self.regions[(account, region)] = EventsRegion(account, region)
        return here

    async def opened(self, account: str, region: str) -> EventsRegion:
        """The resources of ``account`` in ``region``, its ``default`` bus created (and stored) if it is not yet."""
        here = self.regional(account, region)
        if "default" not in here.buses:
            async with self._opening:
                if "default" not in here.buses:
                    await self.save_bus(here, self.new_bus(here, "default", {}))
        return here

    def everywhere(self) -> Iterator[EventsRegion]:
        """Every account and region that has resources in memory."""
        return iter(list(self.regions.values()))

    def new_bus(self, here: EventsRegion, name: str, params: JSON) -> EventBus:
        return EventBus.from_api(params, name=name, arn=here.arns.bus(name), now=self.clock.now())

    async def save_bus(self, here: EventsRegion, bus: EventBus) -> None:
        await self.store.put_resource(model.KIND_BUS, here.key(bus.name), bus.to_store())
        here.buses[bus.name] = bus

    async def save_rule(self, here: EventsRegion, rule: Rule, *, restart_schedule: bool = False) -> None:
        """Store ``rule`` with its tick (if it has a schedule) in one commit; ``restart_schedule`` makes rate()
        count from now (PutRule), else an enabled rule keeps the schedule it has."""
        bus, name = rule.key
        batch = self.store.batch()
        batch.put_resource(model.KIND_RULE, here.key(bus, name), rule.to_store())
        key = (here.account, here.region, bus, name)
        settle = await self.rule_ticks.write(batch, key, rule, restart=restart_schedule)
        await self.store.commit(batch)
        settle()
        self.remember_rule(here, rule)

    @staticmethod
    def remember_rule(here: EventsRegion, rule: Rule) -> None:
        """Make a stored rule the one PutEvents routes by (the router gets its view of it now, once)."""
        here.rules[rule.key] = rule
        here.router.set_rule(rule.bus, rule.to_router())

    async def delete_rule(self, here: EventsRegion, bus: str, name: str) -> None:
        batch = self.store.batch()
        batch.delete_resource(model.KIND_RULE, here.key(bus, name))
        settle = await self.rule_ticks.write(batch, (here.account, here.region, bus, name), None)
        await self.store.commit(batch)
        settle()
        here.rules.pop((bus, name), None)
        here.router.remove_rule(bus, name)
