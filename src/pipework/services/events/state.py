"""The state every EventBridge operation shares: definitions in memory, kept in step with the store."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from pipework.clock import Clock
from pipework.engine.router import Router
from pipework.store.base import Store

from . import model
from .entries import bus_name
from .errors import not_found
from .schedules import RuleTicks

JSON = dict[str, Any]


class EventsState:
    """Buses, rules, archives, replays, connections and API destinations of one server, and the router.

    Parameters:
        store: where definitions, archives and pending deliveries live.
        clock: the time source (events' ``time``, retention, replays).
        region, account: used in ARNs and in the events' envelope.
    """

    def __init__(self, store: Store, clock: Clock, *, region: str, account: str) -> None:
        self.store = store
        self.clock = clock
        self.region = region
        self.account = account
        self.arns = model.Arns(region, account)
        self.router = Router()
        self.buses: dict[str, JSON] = {}
        self.rules: dict[tuple[str, str], JSON] = {}
        self.archives: dict[str, JSON] = {}
        self.replays: dict[str, JSON] = {}
        self.connections: dict[str, JSON] = {}
        self.api_destinations: dict[str, JSON] = {}
        self.rule_ticks = RuleTicks(store, clock)  # the next occurrence of each enabled scheduled rule
        # `pipework tail`: called after each commit with (bus, event, names of the rules it matched)
        self.listeners: list[Callable[[str, JSON, list[str]], None]] = []
        self.on_replay_started: Callable[[str], Awaitable[None]] | None = None
        # Held by every change to a definition, from reading the current record to updating memory after the store
        # write: a change that awaits the store never overwrites one made meanwhile with a stale copy.
        self.lock = asyncio.Lock()

    @staticmethod
    def archive_log(name: str) -> str:
        """The store log holding an archive's events."""
        return model.archive_log(name)

    async def _save_bus(self, bus: JSON) -> None:
        await self.store.put_resource(model.KIND_BUS, bus["Name"], bus)
        self.buses[bus["Name"]] = bus

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

    async def save_rule(self, rule: JSON, *, restart_schedule: bool = False) -> None:
        """Store ``rule`` with its tick (if it has a schedule) in one commit; ``restart_schedule`` makes rate()
        count from now (PutRule), else an enabled rule keeps the schedule it has."""
        bus, name = rule["EventBusName"], rule["Name"]
        batch = self.store.batch()
        batch.put_resource(model.KIND_RULE, model.rule_key(bus, name), rule)
        settle = await self.rule_ticks.write(batch, (bus, name), rule, restart=restart_schedule)
        await self.store.commit(batch)
        settle()
        self.remember_rule(rule)

    def remember_rule(self, rule: JSON) -> None:
        """Make a stored rule the one PutEvents routes by."""
        self.rules[(rule["EventBusName"], rule["Name"])] = rule
        self.router.set_rule(rule["EventBusName"], rule)

    async def _delete_rule(self, bus: str, name: str) -> None:
        batch = self.store.batch()
        batch.delete_resource(model.KIND_RULE, model.rule_key(bus, name))
        settle = await self.rule_ticks.write(batch, (bus, name), None)
        await self.store.commit(batch)
        settle()
        self.rules.pop((bus, name), None)
        self.router.remove_rule(bus, name)
