"""The EventBridge API (``AWSEvents.*``): buses, rules, targets, PutEvents and TestEventPattern.

Definitions live in the store (resources) and, for routing, in the `Router`; the service keeps both in step.
PutEvents commits the events' archive copies and one delivery per matched target in a single store commit before
it answers, so an acknowledged event is never lost (the dispatcher delivers it, at least once).
Archives and replays are in `archives.py`, connections and API destinations in `connections.py`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, ClassVar

import orjson

from pipework.engine.envelope import envelope_attributes
from pipework.engine.retry import RetryPolicy
from pipework.engine.router import Delivery
from pipework.jsontypes import JSON
from pipework.patterns import InvalidEventError, InvalidPatternError, compile_pattern
from pipework.patterns.parse import load_json
from pipework.schedule_expressions import At, parse_expression
from pipework.services import paging
from pipework.services.base import RequestContext, ServiceError
from pipework.store.base import Batch

from . import model
from .archives import ArchiveOperations
from .connections import ConnectionOperations
from .entries import build_event, bus_name, check_request_size, format_time, validate_entry
from .errors import already_exists, invalid_pattern, limit_exceeded, not_found, validation
from .schedules import is_scheduled
from .state import EventsRegion
from .targets import validate_targets

MAX_TARGETS_PER_RULE = 5
#: Operations that change no definition, besides Describe* and List*: they run without the definitions' lock.
_READS = frozenset({"PutEvents", "TestEventPattern"})


def _check_schedule(expression: str) -> None:
    """A rule's ScheduleExpression: ``rate(...)`` or ``cron(...)`` (``at(...)`` is the Scheduler's alone)."""
    try:
        parsed = parse_expression(expression)
    except ValueError:
        parsed = None
    if parsed is None or isinstance(parsed, At):
        raise validation("Parameter ScheduleExpression is not valid.")


class EventsService(ArchiveOperations, ConnectionOperations):
    """EventBridge operations over a store, with the router that PutEvents uses (see `EventsState`)."""

    name = "events"

    # -- lifecycle ---------------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Load the definitions of every account and region from the store and make sure the server's default
        region has its ``default`` bus (other regions get theirs when first used)."""
        for kind, target in (
            (model.KIND_BUS, "buses"),
            (model.KIND_ARCHIVE, "archives"),
            (model.KIND_REPLAY, "replays"),
            (model.KIND_CONNECTION, "connections"),
            (model.KIND_API_DESTINATION, "api_destinations"),
        ):
            for (account, region, names), body in await self._all(kind):
                getattr(self.regional(account, region), target)[names[0]] = body
        for (account, region, _), rule in await self._all(model.KIND_RULE):
            self.remember_rule(self.regional(account, region), rule)
        for here in self.everywhere():
            for archive in here.archives.values():
                # Archives stored by an earlier version have a rule of another shape: write the current one.
                rule = self.archive_rule(here, archive)
                stored = here.rules.get((rule["EventBusName"], rule["Name"]))
                if rule["EventBusName"] in here.buses and stored is not None and stored != rule:
                    await self.save_rule(here, rule)
        await self.opened(self.account, self.region)
        await self.rule_ticks.load()
        for here in self.everywhere():
            for (bus, name), rule in list(here.rules.items()):
                key = (here.account, here.region, bus, name)
                if is_scheduled(rule) and key not in self.rule_ticks.current:
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
        if owner is None:
            return
        here = self.regional(owner[0], owner[1])
        resource = await self.store.get_resource(kind, name)
        if kind == model.KIND_RULE:
            if len(owner[2]) != 2:
                return
            bus, rule = owner[2]
            if resource is None:
                here.rules.pop((bus, rule), None)
                here.router.remove_rule(bus, rule)
            else:
                self.remember_rule(here, resource.body)
            return
        held = getattr(here, self._IN_MEMORY[kind])
        if resource is None:
            held.pop(owner[2][0], None)
            return
        held[owner[2][0]] = resource.body
        active = kind == model.KIND_REPLAY and resource.body.get("State") in (
            "STARTING",
            "RUNNING",
            "CANCELLING",
        )
        if active and self.on_replay_started is not None:
            await self.on_replay_started(here, owner[2][0])  # every node asks to run it; one holds its lease

    async def _all(self, kind: str) -> list[tuple[tuple[str, str, list[str]], JSON]]:
        """Every resource of ``kind``: ((account, region, names), body)."""
        out: list[tuple[tuple[str, str, list[str]], JSON]] = []
        async for resource in self.store.all_resources(kind):
            owner = model.parse_store_key(resource.name)
            if owner is not None:  # else not written by Pipework (migration 0003 renamed every older one)
                out.append((owner, resource.body))
        return out

    async def handle(self, operation: str, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        method = getattr(self, f"op_{operation}", None)
        if method is None:
            raise ServiceError("UnknownOperationException", f"Operation {operation} is not supported.", 400)
        here = await self.opened(ctx.account, ctx.region)
        result: dict[str, Any]
        if operation in _READS or operation.startswith(("Describe", "List")):
            result = await method(params, here)
        else:
            async with self.lock:  # read, check, write and remember one change at a time (see `EventsState`)
                result = await method(params, here)
        return result

    # -- buses -------------------------------------------------------------------------------------------------
    async def op_CreateEventBus(self, params: JSON, here: EventsRegion) -> JSON:
        name = params["Name"]
        if name in here.buses:
            raise already_exists(f"Event bus {name} already exists.")
        if name == "default" or ("/" in name and not params.get("EventSourceName")):
            raise validation(
                "Event bus name must not contain '/'." if "/" in name else "Invalid event bus name."
            )
        bus = self.new_bus(here, name, params)
        await self.save_bus(here, bus)
        out: JSON = {"EventBusArn": bus["Arn"]}
        for key in ("Description", "KmsKeyIdentifier", "DeadLetterConfig", "LogConfig"):
            if key in bus:
                out[key] = bus[key]
        return out

    async def op_DescribeEventBus(self, params: JSON, here: EventsRegion) -> JSON:
        bus = here.bus(params.get("Name"))
        return {k: v for k, v in bus.items() if k != "Tags"}

    async def op_UpdateEventBus(self, params: JSON, here: EventsRegion) -> JSON:
        bus = dict(here.bus(params.get("Name")))
        for key in ("Description", "KmsKeyIdentifier", "DeadLetterConfig", "LogConfig"):
            if key in params:
                bus[key] = params[key]
        bus["LastModifiedTime"] = self.clock.now()
        await self.save_bus(here, bus)
        out: JSON = {k: bus[k] for k in ("Arn", "Name") if k in bus}
        out.update(
            {
                k: bus[k]
                for k in ("Description", "KmsKeyIdentifier", "DeadLetterConfig", "LogConfig")
                if k in bus
            }
        )
        return out

    async def op_ListEventBuses(self, params: JSON, here: EventsRegion) -> JSON:
        prefix = params.get("NamePrefix", "")
        names = sorted(n for n in here.buses if n.startswith(prefix))
        page, token = paging.page("ListEventBuses", names, params.get("NextToken"), params.get("Limit"))
        out: JSON = {
            "EventBuses": [
                {
                    k: v
                    for k, v in here.buses[n].items()
                    if k in ("Name", "Arn", "Description", "CreationTime", "LastModifiedTime")
                }
                for n in page
            ]
        }
        if token:
            out["NextToken"] = token
        return out

    async def op_DeleteEventBus(self, params: JSON, here: EventsRegion) -> JSON:
        name = params["Name"]
        if name == "default":
            raise validation("Cannot delete event bus default.")
        if name not in here.buses:
            return {}  # AWS: deleting a bus that does not exist succeeds
        for bus, rule in list(here.rules):
            if bus == name:
                await self.delete_rule(here, bus, rule)
        await self.store.delete_resource(model.KIND_BUS, here.key(name))
        del here.buses[name]
        here.router.remove_bus(name)
        return {}

    # -- rules -------------------------------------------------------------------------------------------------
    async def op_PutRule(self, params: JSON, here: EventsRegion) -> JSON:
        bus = here.bus(params.get("EventBusName"))["Name"]
        name = params["Name"]
        pattern = params.get("EventPattern")
        schedule = params.get("ScheduleExpression")
        if not pattern and not schedule:
            raise validation("Parameter(s) EventPattern or ScheduleExpression must be specified.")
        if schedule and bus != "default":
            raise validation("ScheduleExpression is supported only on the default event bus.")
        if schedule:
            _check_schedule(schedule)
        if pattern:
            try:
                compile_pattern(pattern)
            except InvalidPatternError as exc:
                raise invalid_pattern(exc.message) from None
        existing = here.rules.get((bus, name))
        if existing is not None and existing.get("ManagedBy"):
            raise ServiceError(
                "ManagedRuleException", f"Rule {name} is managed by {existing['ManagedBy']}.", 400
            )
        # PutRule replaces the rule: omitted fields are reset (AWS); targets and tags are kept.
        rule: JSON = {
            "Name": name,
            "Arn": here.arns.rule(bus, name),
            "EventBusName": bus,
            "State": params.get("State", "ENABLED"),
            "Targets": existing["Targets"] if existing else [],
            "Tags": dict(existing["Tags"]) if existing else {},
            "CreatedBy": here.account,
        }
        for key in ("EventPattern", "ScheduleExpression", "Description", "RoleArn"):
            if params.get(key) is not None:
                rule[key] = params[key]
        rule["Tags"].update({t["Key"]: t["Value"] for t in params.get("Tags", [])})
        await self.save_rule(here, rule, restart_schedule=True)  # rate() counts from the update (AWS)
        return {"RuleArn": rule["Arn"]}

    @staticmethod
    def _describe(rule: JSON) -> JSON:
        return {k: v for k, v in rule.items() if k not in ("Targets", "Tags")}

    async def op_DescribeRule(self, params: JSON, here: EventsRegion) -> JSON:
        bus = here.bus(params.get("EventBusName"))["Name"]
        return self._describe(here.rule(bus, params["Name"]))

    async def op_ListRules(self, params: JSON, here: EventsRegion) -> JSON:
        bus = here.bus(params.get("EventBusName"))["Name"]
        prefix = params.get("NamePrefix", "")
        names = sorted(n for b, n in here.rules if b == bus and n.startswith(prefix))
        page, token = paging.page("ListRules", names, params.get("NextToken"), params.get("Limit"))
        out: JSON = {
            "Rules": [
                {k: v for k, v in self._describe(here.rules[(bus, n)]).items() if k != "CreatedBy"}
                for n in page
            ]
        }
        if token:
            out["NextToken"] = token
        return out

    async def _set_state(self, params: JSON, here: EventsRegion, state: str) -> JSON:
        bus = here.bus(params.get("EventBusName"))["Name"]
        rule = dict(here.rule(bus, params["Name"]))
        rule["State"] = state
        await self.save_rule(here, rule)
        return {}

    async def op_EnableRule(self, params: JSON, here: EventsRegion) -> JSON:
        return await self._set_state(params, here, "ENABLED")

    async def op_DisableRule(self, params: JSON, here: EventsRegion) -> JSON:
        return await self._set_state(params, here, "DISABLED")

    async def op_DeleteRule(self, params: JSON, here: EventsRegion) -> JSON:
        bus = here.bus(params.get("EventBusName"))["Name"]
        rule = here.rules.get((bus, params["Name"]))
        if rule is None:
            return {}  # AWS: deleting a rule that does not exist succeeds
        if rule.get("ManagedBy") and not params.get("Force"):
            raise ServiceError(
                "ManagedRuleException", f"Rule {rule['Name']} is managed by {rule['ManagedBy']}.", 400
            )
        if rule.get("Targets"):
            raise validation("Rule can't be deleted since it has targets.")
        await self.delete_rule(here, bus, rule["Name"])
        return {}

    async def op_ListRuleNamesByTarget(self, params: JSON, here: EventsRegion) -> JSON:
        bus = here.bus(params.get("EventBusName"))["Name"]
        arn = params["TargetArn"]
        names = sorted(
            n
            for (b, n), rule in here.rules.items()
            if b == bus and any(t["Arn"] == arn for t in rule["Targets"])
        )
        page, token = paging.page(
            "ListRuleNamesByTarget", names, params.get("NextToken"), params.get("Limit")
        )
        out: JSON = {"RuleNames": page}
        if token:
            out["NextToken"] = token
        return out

    # -- targets -----------------------------------------------------------------------------------------------
    async def op_PutTargets(self, params: JSON, here: EventsRegion) -> JSON:
        bus = here.bus(params.get("EventBusName"))["Name"]
        rule = dict(here.rule(bus, params["Rule"]))
        if rule.get("ManagedBy"):
            raise ServiceError(
                "ManagedRuleException", f"Rule {rule['Name']} is managed by {rule['ManagedBy']}.", 400
            )
        validate_targets(params["Targets"])
        targets = {t["Id"]: t for t in rule["Targets"]}
        for target in params["Targets"]:
            targets[target["Id"]] = target
        if len(targets) > MAX_TARGETS_PER_RULE:
            raise limit_exceeded()
        rule["Targets"] = list(targets.values())
        await self.save_rule(here, rule)
        return {"FailedEntryCount": 0, "FailedEntries": []}

    async def op_RemoveTargets(self, params: JSON, here: EventsRegion) -> JSON:
        bus = here.bus(params.get("EventBusName"))["Name"]
        rule = dict(here.rule(bus, params["Rule"]))
        ids = set(params["Ids"])
        rule["Targets"] = [t for t in rule["Targets"] if t["Id"] not in ids]
        await self.save_rule(here, rule)
        return {"FailedEntryCount": 0, "FailedEntries": []}

    async def op_ListTargetsByRule(self, params: JSON, here: EventsRegion) -> JSON:
        bus = here.bus(params.get("EventBusName"))["Name"]
        rule = here.rule(bus, params["Rule"])
        page, token = paging.page(
            "ListTargetsByRule", rule["Targets"], params.get("NextToken"), params.get("Limit")
        )
        out: JSON = {"Targets": page}
        if token:
            out["NextToken"] = token
        return out

    # -- events ------------------------------------------------------------------------------------------------
    async def op_PutEvents(self, params: JSON, here: EventsRegion) -> JSON:
        """Events stamped with the request's account and region, each routed on its bus: the request region's,
        or, for an EventBusName given as an ARN, the bus that ARN names."""
        entries = params["Entries"]
        check_request_size(entries)
        now = self.clock.now()
        batch = self.store.batch()
        results: list[JSON] = []
        failed = 0
        routed: list[tuple[str, JSON, list[str]]] = []
        for entry in entries:
            detail, error = validate_entry(entry)
            if error is not None or detail is None:
                failed += 1
                results.append(error.as_result() if error else {"ErrorCode": "InternalFailure"})
                continue
            event = build_event(entry, detail, now=now, region=here.region, account=here.account)
            results.append({"EventId": event["id"]})
            where, bus = await self._bus_of(here, entry.get("EventBusName"))
            if bus not in where.buses:
                continue  # AWS-observed: an entry for a bus that does not exist succeeds and is dropped
            when = entry.get("Time")
            event_time = when.timestamp() if isinstance(when, dt.datetime) else float(when) if when else now
            rules, _ = self.route_into(batch, where, bus, event, ingested=now, event_time=event_time)
            routed.append((where.buses[bus]["Arn"], event, rules))
        if len(batch):
            # The outbox: archive copies and deliveries are durable before the EventIds are returned.
            await self.store.commit(batch)
        for bus_arn, event, rules in routed:
            for listener in self.listeners:
                listener(bus_arn, event, rules)
        return {"FailedEntryCount": failed, "Entries": results}

    async def _bus_of(self, here: EventsRegion, name_or_arn: str | None) -> tuple[EventsRegion, str]:
        """Where an EventBusName is: a name is in ``here``, an ARN in its own account and region."""
        owner = model.arn_owner(name_or_arn) if name_or_arn and name_or_arn.startswith("arn:") else None
        if owner is not None and owner != (here.account, here.region):
            here = await self.opened(*owner)
        return here, bus_name(name_or_arn)

    def route_into(
        self,
        batch: Batch,
        here: EventsRegion,
        bus: str,
        event: JSON,
        *,
        ingested: float,
        event_time: float,
        replay: str | None = None,
        only: frozenset[str] | None = None,
    ) -> tuple[list[str], list[Delivery]]:
        """Add to ``batch`` what routing ``event`` on ``here``'s ``bus`` produces; return the names of the user
        rules it matched (archives' managed rules left out) and the deliveries."""
        rules, deliveries = here.router.route(bus, event, only=only)
        payload_event: bytes | None = None
        for delivery in deliveries:
            archive = delivery.target.get("ArchiveName")
            if archive is not None:
                payload_event = payload_event or orjson.dumps(event)
                batch.append(here.archive_log(archive), payload_event, time=event_time, key=event["id"])
                continue
            payload: JSON = {
                "account": here.account,
                "region": here.region,
                "event": event,
                "bus": bus,
                "rule": delivery.rule_name,
                "rule_arn": delivery.rule_arn,
                "target": delivery.target,
                "ingested": ingested,  # <aws.events.event.ingestion-time> of input transformers
            }
            if replay is not None:
                payload["replay"] = replay
            envelope = envelope_attributes(
                target=delivery.target["Arn"],
                first_seen=ingested,
                policy=RetryPolicy.from_api(delivery.target.get("RetryPolicy")),
            )
            batch.enqueue(model.DELIVERIES, str(uuid.uuid4()), orjson.dumps(payload), attributes=envelope)
        names = sorted(rule["Name"] for rule in rules if not rule.get("ManagedBy"))
        return names, deliveries

    # -- ports for the targets (`pipework.connectors.ports.EventBuses`, `ApiDestinationCatalog`) -----------------
    def _region_of(self, arn: str) -> EventsRegion:
        """The account and region an ARN names (nothing is created for one never used: it is empty)."""
        owner = model.arn_owner(arn) or (self.account, self.region)
        return self.regions.get(owner) or EventsRegion(*owner)

    def has_bus(self, arn: str) -> bool:
        name = bus_name(arn)
        return name == "default" or name in self._region_of(arn).buses  # every region has its default bus

    async def forward(self, arn: str, event: JSON) -> bool:
        """Route an already-built event on the bus ``arn`` names (an event-bus target, in any region), keeping its
        id; False if there is no such bus."""
        here = await self.opened(*(model.arn_owner(arn) or (self.account, self.region)))
        bus = bus_name(arn)
        if bus not in here.buses:
            return False
        batch = self.store.batch()
        now = self.clock.now()
        rules, _ = self.route_into(batch, here, bus, event, ingested=now, event_time=now)
        if len(batch):
            await self.store.commit(batch)
        for listener in self.listeners:
            listener(here.buses[bus]["Arn"], event, rules)
        return True

    def api_destination_by_arn(self, arn: str) -> JSON | None:
        return self._region_of(arn).api_destination_by_arn(arn)

    def connection_by_arn(self, arn: str) -> JSON | None:
        return self._region_of(arn).connection_by_arn(arn)

    async def op_TestEventPattern(self, params: JSON, here: EventsRegion) -> JSON:
        try:
            pattern = compile_pattern(params["EventPattern"])
        except InvalidPatternError as exc:
            raise invalid_pattern(exc.message) from None
        try:
            event = load_json(params["Event"])
        except (ValueError, InvalidEventError):
            raise validation("Parameter Event is not valid.") from None
        required = ("id", "account", "source", "time", "region", "resources", "detail-type")
        if not isinstance(event, dict) or any(k not in event for k in required):
            raise validation("Parameter Event is not valid.")
        return {"Result": pattern.matches(event)}

    # -- tags --------------------------------------------------------------------------------------------------
    @staticmethod
    def _tagged(here: EventsRegion, arn: str) -> tuple[str, JSON]:
        """The resource an ARN names in the request's region, as (kind, body)."""
        for bus in here.buses.values():
            if bus["Arn"] == arn:
                return model.KIND_BUS, bus
        for rule in here.rules.values():
            if rule["Arn"] == arn:
                return model.KIND_RULE, rule
        raise not_found(f"Resource {arn} does not exist.")

    async def _save_tagged(self, here: EventsRegion, kind: str, body: JSON) -> None:
        if kind == model.KIND_BUS:
            await self.save_bus(here, body)
        else:
            await self.save_rule(here, body)

    async def op_TagResource(self, params: JSON, here: EventsRegion) -> JSON:
        kind, body = self._tagged(here, params["ResourceARN"])
        body = dict(body)
        body["Tags"] = {**body.get("Tags", {}), **{t["Key"]: t["Value"] for t in params["Tags"]}}
        await self._save_tagged(here, kind, body)
        return {}

    async def op_UntagResource(self, params: JSON, here: EventsRegion) -> JSON:
        kind, body = self._tagged(here, params["ResourceARN"])
        body = dict(body)
        body["Tags"] = {k: v for k, v in body.get("Tags", {}).items() if k not in set(params["TagKeys"])}
        await self._save_tagged(here, kind, body)
        return {}

    async def op_ListTagsForResource(self, params: JSON, here: EventsRegion) -> JSON:
        _kind, body = self._tagged(here, params["ResourceARN"])
        return {"Tags": [{"Key": k, "Value": v} for k, v in sorted(body.get("Tags", {}).items())]}


__all__ = ["EventsService", "format_time"]
