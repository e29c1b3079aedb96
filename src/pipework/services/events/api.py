"""The EventBridge API (``AWSEvents.*``): its operations table over the catalogs — buses (`buses.py`), rules
with the router and PutEvents (`rules.py`), archives and replays (`archives.py`), connections and API destinations
(`connections.py`), tags (`tags.py`) — dispatched by `pipework.services.base.dispatch`; `state.py` is what they
share, `runtime.py` the background work (delivery, scheduled rules, replays, archive retention).

Definitions live in the store (resources) and, for routing, in the `Router`; the service keeps both in step.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar

from pipework.jsontypes import JSON
from pipework.services.base import Handler, RequestContext, ServiceError, dispatch

from . import model
from .archives import ArchiveOperations
from .buses import BusOperations
from .connections import ConnectionOperations
from .entries import format_time
from .model import ApiDestination, Archive, Connection, EventBus, Replay, Rule
from .permissions import PermissionOperations
from .rules import TRACE_HEADER, RuleOperations
from .state import EventsRegion
from .tags import TagOperations

#: An operation of a catalog: called with the request's account and region (`EventsRegion`).
_Regional = Callable[["EventsService", JSON, EventsRegion], Awaitable[JSON]]


def _reads(operation: _Regional) -> Handler:
    """An operation that changes no definition (Describe*, List*, PutEvents, TestEventPattern): it runs without
    the definitions' lock."""

    async def handler(service: EventsService, params: JSON, ctx: RequestContext) -> JSON:
        return await operation(service, params, await service.opened(ctx.account, ctx.region))

    return handler


def _traced(operation: _Regional) -> Handler:
    """PutEvents: the request's X-Amzn-Trace-Id goes with the events to their targets (AWS's AWSTraceHeader)."""

    async def handler(service: EventsService, params: JSON, ctx: RequestContext) -> JSON:
        token = TRACE_HEADER.set(ctx.headers.get("x-amzn-trace-id"))
        try:
            return await operation(service, params, await service.opened(ctx.account, ctx.region))
        finally:
            TRACE_HEADER.reset(token)

    return handler


def _changes(operation: _Regional) -> Handler:
    """An operation that changes definitions: it reads, checks, writes and remembers under the service's lock,
    one change at a time (see `EventsState`)."""

    async def handler(service: EventsService, params: JSON, ctx: RequestContext) -> JSON:
        here = await service.opened(ctx.account, ctx.region)
        async with service.lock:
            return await operation(service, params, here)

    return handler


class EventsService(
    BusOperations,
    RuleOperations,
    ArchiveOperations,
    ConnectionOperations,
    TagOperations,
    PermissionOperations,
):
    """EventBridge operations over a store, with the router that PutEvents uses (see `EventsState`)."""

    name = "events"

    operations: ClassVar[Mapping[str, Handler]] = {
        "CreateEventBus": _changes(BusOperations.op_CreateEventBus),
        "DescribeEventBus": _reads(BusOperations.op_DescribeEventBus),
        "UpdateEventBus": _changes(BusOperations.op_UpdateEventBus),
        "ListEventBuses": _reads(BusOperations.op_ListEventBuses),
        "DeleteEventBus": _changes(BusOperations.op_DeleteEventBus),
        "PutPermission": _changes(PermissionOperations.op_PutPermission),
        "RemovePermission": _changes(PermissionOperations.op_RemovePermission),
        "PutRule": _changes(RuleOperations.op_PutRule),
        "DescribeRule": _reads(RuleOperations.op_DescribeRule),
        "ListRules": _reads(RuleOperations.op_ListRules),
        "EnableRule": _changes(RuleOperations.op_EnableRule),
        "DisableRule": _changes(RuleOperations.op_DisableRule),
        "DeleteRule": _changes(RuleOperations.op_DeleteRule),
        "ListRuleNamesByTarget": _reads(RuleOperations.op_ListRuleNamesByTarget),
        "PutTargets": _changes(RuleOperations.op_PutTargets),
        "RemoveTargets": _changes(RuleOperations.op_RemoveTargets),
        "ListTargetsByRule": _reads(RuleOperations.op_ListTargetsByRule),
        "PutEvents": _traced(RuleOperations.op_PutEvents),
        "TestEventPattern": _reads(RuleOperations.op_TestEventPattern),
        "TagResource": _changes(TagOperations.op_TagResource),
        "UntagResource": _changes(TagOperations.op_UntagResource),
        "ListTagsForResource": _reads(TagOperations.op_ListTagsForResource),
        "CreateArchive": _changes(ArchiveOperations.op_CreateArchive),
        "DescribeArchive": _reads(ArchiveOperations.op_DescribeArchive),
        "UpdateArchive": _changes(ArchiveOperations.op_UpdateArchive),
        "ListArchives": _reads(ArchiveOperations.op_ListArchives),
        "DeleteArchive": _changes(ArchiveOperations.op_DeleteArchive),
        "StartReplay": _changes(ArchiveOperations.op_StartReplay),
        "DescribeReplay": _reads(ArchiveOperations.op_DescribeReplay),
        "ListReplays": _reads(ArchiveOperations.op_ListReplays),
        "CancelReplay": _changes(ArchiveOperations.op_CancelReplay),
        "CreateConnection": _changes(ConnectionOperations.op_CreateConnection),
        "DescribeConnection": _reads(ConnectionOperations.op_DescribeConnection),
        "UpdateConnection": _changes(ConnectionOperations.op_UpdateConnection),
        "ListConnections": _reads(ConnectionOperations.op_ListConnections),
        "DeleteConnection": _changes(ConnectionOperations.op_DeleteConnection),
        "DeauthorizeConnection": _changes(ConnectionOperations.op_DeauthorizeConnection),
        "CreateApiDestination": _changes(ConnectionOperations.op_CreateApiDestination),
        "DescribeApiDestination": _reads(ConnectionOperations.op_DescribeApiDestination),
        "UpdateApiDestination": _changes(ConnectionOperations.op_UpdateApiDestination),
        "ListApiDestinations": _reads(ConnectionOperations.op_ListApiDestinations),
        "DeleteApiDestination": _changes(ConnectionOperations.op_DeleteApiDestination),
    }

    @staticmethod
    def unknown_operation(operation: str) -> ServiceError:
        return ServiceError("UnknownOperationException", f"Operation {operation} is not supported.", 400)

    async def handle(self, operation: str, params: JSON, ctx: RequestContext) -> JSON:
        return await dispatch(self, operation, params, ctx)

    # -- lifecycle ---------------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Load the definitions of every account and region from the store and make sure the server's default
        region has its ``default`` bus (other regions get theirs when first used)."""
        for (account, region, _), body in await self._all(model.KIND_BUS):
            bus = EventBus.from_store(body)
            self.regional(account, region).buses[bus.name] = bus
        for (account, region, _), body in await self._all(model.KIND_ARCHIVE):
            archive = Archive.from_store(body)
            self.regional(account, region).archives[archive.name] = archive
        for (account, region, _), body in await self._all(model.KIND_REPLAY):
            replay = Replay.from_store(body)
            self.regional(account, region).replays[replay.name] = replay
        for (account, region, _), body in await self._all(model.KIND_CONNECTION):
            self.regional(account, region).remember_connection(Connection.from_store(body))
        for (account, region, _), body in await self._all(model.KIND_API_DESTINATION):
            self.regional(account, region).remember_api_destination(ApiDestination.from_store(body))
        for (account, region, _), body in await self._all(model.KIND_RULE):
            self.remember_rule(self.regional(account, region), Rule.from_store(body))
        for here in self.everywhere():
            for archive in here.archives.values():
                # Archives stored by an earlier version have a rule of another shape: write the current one.
                rule = self.archive_rule(here, archive)
                stored = here.rules.get(rule.key)
                if rule.bus in here.buses and stored is not None and stored != rule:
                    await self.save_rule(here, rule)
        await self.opened(self.account, self.region)
        await self.rule_ticks.load()
        for here in self.everywhere():
            for (bus_name, name), rule in list(here.rules.items()):
                key = (here.account, here.region, bus_name, name)
                if rule.scheduled and key not in self.rule_ticks.current:
                    # Stored by a version that did not fire scheduled rules: its schedule starts now.
                    await self.save_rule(here, rule)

    #: The resource kinds whose changes by other nodes `refresh` follows, and where each lives in memory.
    _IN_MEMORY: ClassVar[dict[str, str]] = {
        model.KIND_BUS: "buses",
        model.KIND_ARCHIVE: "archives",
        model.KIND_REPLAY: "replays",
        model.KIND_CONNECTION: "connections",
        model.KIND_API_DESTINATION: "api_destinations",
    }
    watched_kinds = frozenset({*_IN_MEMORY, model.KIND_RULE})

    async def refresh(self, kind: str, name: str | None) -> None:
        """Follow a change another node made to the resource `name` of `kind` (None: every one of the kind)."""
        async with self.lock:
            if name is not None:
                await self._refresh_one(kind, name)
            else:
                names = {r.name async for r in self.store.all_resources(kind)}
                for here in self.everywhere():
                    if kind == model.KIND_RULE:
                        names.update(here.key(bus, rule) for bus, rule in here.rules)
                    else:
                        names.update(here.key(n) for n in getattr(here, self._IN_MEMORY[kind]))
                for each in sorted(names):
                    await self._refresh_one(kind, each)
            if kind == model.KIND_RULE:  # its tick may have changed with it
                self.rule_ticks.current.clear()
                await self.rule_ticks.load()

    async def _refresh_one(self, kind: str, name: str) -> None:
        owner = model.parse_store_key(name)
        if owner is None or not owner[2]:
            return
        here = self.regional(owner[0], owner[1])
        resource = await self.store.get_resource(kind, name)
        body = resource.body if resource is not None else None
        if kind == model.KIND_RULE:
            if len(owner[2]) != 2:
                return
            bus, rule_name = owner[2]
            if body is None:
                here.rules.pop((bus, rule_name), None)
                here.router.remove_rule(bus, rule_name)
            else:
                self.remember_rule(here, Rule.from_store(body))
            return
        short = owner[2][0]
        if kind == model.KIND_CONNECTION:
            if short in here.connections:
                here.forget_connection(here.connections[short])
            if body is not None:
                here.remember_connection(Connection.from_store(body))
        elif kind == model.KIND_API_DESTINATION:
            if short in here.api_destinations:
                here.forget_api_destination(here.api_destinations[short])
            if body is not None:
                here.remember_api_destination(ApiDestination.from_store(body))
        elif kind == model.KIND_BUS:
            _follow(here.buses, short, None if body is None else EventBus.from_store(body))
        elif kind == model.KIND_ARCHIVE:
            _follow(here.archives, short, None if body is None else Archive.from_store(body))
        elif kind == model.KIND_REPLAY:
            replay = None if body is None else Replay.from_store(body)
            _follow(here.replays, short, replay)
            if replay is not None and replay.active and self.on_replay_started is not None:
                await self.on_replay_started(here, short)  # every node asks to run it; one holds its lease

    async def _all(self, kind: str) -> list[tuple[tuple[str, str, list[str]], JSON]]:
        """Every resource of ``kind``: ((account, region, names), body)."""
        out: list[tuple[tuple[str, str, list[str]], JSON]] = []
        async for resource in self.store.all_resources(kind):
            owner = model.parse_store_key(resource.name)
            if owner is not None:  # else not written by Pipework (migration 0003 renamed every older one)
                out.append((owner, resource.body))
        return out


def _follow(held: dict[str, Any], name: str, value: object | None) -> None:
    """Put `value` in `held` under `name`, or remove it (None)."""
    if value is None:
        held.pop(name, None)
    else:
        held[name] = value


__all__ = ["EventsService", "format_time"]
