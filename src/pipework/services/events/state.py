"""The state every EventBridge operation shares: definitions in memory, per account and region, kept in step with
the store."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator

from pipework.clock import Clock
from pipework.engine.router import Router
from pipework.jsontypes import JSON
from pipework.store.base import Store

from . import model
from .entries import bus_name
from .errors import not_found
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
        self.buses: dict[str, JSON] = {}
        self.rules: dict[tuple[str, str], JSON] = {}
        self.archives: dict[str, JSON] = {}
        self.replays: dict[str, JSON] = {}
        self.connections: dict[str, JSON] = {}
        self.api_destinations: dict[str, JSON] = {}

    def key(self, *names: str) -> str:
        """The store name of a resource of this account and region (`model.store_key`)."""
        return model.store_key(self.account, self.region, *names)

    def archive_log(self, name: str) -> str:
        """The store log holding an archive's events."""
        return model.archive_log(self.account, self.region, name)

    def bus(self, name_or_arn: str | None) -> JSON:
        name = bus_name(name_or_arn)
        bus = self.buses.get(name)
        if bus is None:
            raise not_found(f"Event bus {name} does not exist.")
        return bus

    def rule(self, bus: str, name: str) -> JSON:
        rule = self.rules.get((bus, name))
        if rule is None:
            raise not_found(f"Rule {name} does not exist on EventBus {bus}.")
        return rule

    def api_destination_by_arn(self, arn: str) -> JSON | None:
        for destination in self.api_destinations.values():
            if destination["ApiDestinationArn"] == arn:
                return destination
        return None

    def connection_by_arn(self, arn: str) -> JSON | None:
        for connection in self.connections.values():
            if connection["ConnectionArn"] == arn:
                return connection
        return None


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

    def new_bus(self, here: EventsRegion, name: str, params: JSON) -> JSON:
        now = self.clock.now()
        bus: JSON = {"Name": name, "Arn": here.arns.bus(name), "CreationTime": now, "LastModifiedTime": now}
        for key in ("Description", "KmsKeyIdentifier", "DeadLetterConfig", "LogConfig"):
            if key in params:
                bus[key] = params[key]
        bus["Tags"] = {t["Key"]: t["Value"] for t in params.get("Tags", [])}
        return bus

    async def save_bus(self, here: EventsRegion, bus: JSON) -> None:
        await self.store.put_resource(model.KIND_BUS, here.key(bus["Name"]), bus)
        here.buses[bus["Name"]] = bus

    async def save_rule(self, here: EventsRegion, rule: JSON, *, restart_schedule: bool = False) -> None:
        """Store ``rule`` with its tick (if it has a schedule) in one commit; ``restart_schedule`` makes rate()
        count from now (PutRule), else an enabled rule keeps the schedule it has."""
        bus, name = rule["EventBusName"], rule["Name"]
        batch = self.store.batch()
        batch.put_resource(model.KIND_RULE, here.key(bus, name), rule)
        key = (here.account, here.region, bus, name)
        settle = await self.rule_ticks.write(batch, key, rule, restart=restart_schedule)
        await self.store.commit(batch)
        settle()
        self.remember_rule(here, rule)

    @staticmethod
    def remember_rule(here: EventsRegion, rule: JSON) -> None:
        """Make a stored rule the one PutEvents routes by."""
        here.rules[(rule["EventBusName"], rule["Name"])] = rule
        here.router.set_rule(rule["EventBusName"], rule)

    async def delete_rule(self, here: EventsRegion, bus: str, name: str) -> None:
        batch = self.store.batch()
        batch.delete_resource(model.KIND_RULE, here.key(bus, name))
        settle = await self.rule_ticks.write(batch, (here.account, here.region, bus, name), None)
        await self.store.commit(batch)
        settle()
        here.rules.pop((bus, name), None)
        here.router.remove_rule(bus, name)
