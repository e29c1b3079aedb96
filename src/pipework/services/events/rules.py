"""Rules with the router: rules and their targets, and what routes events by them (PutEvents, the event-bus
target's `forward`, replays' `route_into`), with TestEventPattern.

PutEvents commits the events' archive copies and one delivery per matched target in a single store commit before
it answers, so an acknowledged event is never lost (the dispatcher delivers it, at least once).
"""

from __future__ import annotations

import contextvars
import datetime as dt
from dataclasses import replace

import orjson

from pipework.engine.envelope import envelope_attributes
from pipework.engine.retry import RetryPolicy
from pipework.engine.router import Delivery
from pipework.engine.tracing import Ingest
from pipework.ids import random_uuid
from pipework.jsontypes import JSON
from pipework.patterns import InvalidEventError, InvalidPatternError, compile_pattern
from pipework.patterns.parse import load_json
from pipework.schedule_expressions import At, parse_expression
from pipework.services import paging
from pipework.services.base import ServiceError
from pipework.store.base import Batch

from . import model
from .entries import build_event, bus_name, check_request_size, validate_entry
from .errors import invalid_pattern, limit_exceeded, validation
from .model import Rule
from .state import EventsRegion, EventsState
from .targets import validate_targets

MAX_TARGETS_PER_RULE = 5

#: The X-Amzn-Trace-Id of the PutEvents being routed (None: none was sent), carried to the deliveries.
TRACE_HEADER: contextvars.ContextVar[str | None] = contextvars.ContextVar("trace_header", default=None)


def _check_schedule(expression: str) -> None:
    """A rule's ScheduleExpression: ``rate(...)`` or ``cron(...)`` (``at(...)`` is the Scheduler's alone)."""
    try:
        parsed = parse_expression(expression)
    except ValueError:
        parsed = None
    if parsed is None or isinstance(parsed, At):
        raise validation("Parameter ScheduleExpression is not valid.")


def _not_managed(rule: Rule) -> None:
    """ManagedRuleException for a rule a service manages (an archive's), which only that service changes."""
    if rule.managed_by:
        raise ServiceError("ManagedRuleException", f"Rule {rule.name} is managed by {rule.managed_by}.", 400)


class RuleOperations(EventsState):
    """Mixed into `EventsService`."""

    async def op_PutRule(self, params: JSON, here: EventsRegion) -> JSON:
        bus = here.bus(params.get("EventBusName")).name
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
        if existing is not None:
            _not_managed(existing)
        # PutRule replaces the rule: omitted fields are reset (AWS); targets and tags are kept.
        rule = Rule(
            name=name,
            arn=here.arns.rule(bus, name),
            bus=bus,
            state=params.get("State", "ENABLED"),
            pattern=pattern,
            schedule=schedule,
            description=params.get("Description"),
            role_arn=params.get("RoleArn"),
            created_by=here.account,
            targets=existing.targets if existing else (),
            tags={
                **(existing.tags if existing else {}),
                **{t["Key"]: t["Value"] for t in params.get("Tags", [])},
            },
        )
        await self.save_rule(here, rule, restart_schedule=True)  # rate() counts from the update (AWS)
        return {"RuleArn": rule.arn}

    async def op_DescribeRule(self, params: JSON, here: EventsRegion) -> JSON:
        bus = here.bus(params.get("EventBusName")).name
        return here.rule(bus, params["Name"]).to_api()

    async def op_ListRules(self, params: JSON, here: EventsRegion) -> JSON:
        bus = here.bus(params.get("EventBusName")).name
        prefix = params.get("NamePrefix", "")
        names = sorted(n for b, n in here.rules if b == bus and n.startswith(prefix))
        page, token = paging.page("ListRules", names, params.get("NextToken"), params.get("Limit"))
        out: JSON = {"Rules": [here.rules[(bus, n)].summary() for n in page]}
        if token:
            out["NextToken"] = token
        return out

    async def _set_state(self, params: JSON, here: EventsRegion, state: str) -> JSON:
        bus = here.bus(params.get("EventBusName")).name
        await self.save_rule(here, replace(here.rule(bus, params["Name"]), state=state))
        return {}

    async def op_EnableRule(self, params: JSON, here: EventsRegion) -> JSON:
        return await self._set_state(params, here, "ENABLED")

    async def op_DisableRule(self, params: JSON, here: EventsRegion) -> JSON:
        return await self._set_state(params, here, "DISABLED")

    async def op_DeleteRule(self, params: JSON, here: EventsRegion) -> JSON:
        bus = here.bus(params.get("EventBusName")).name
        rule = here.rules.get((bus, params["Name"]))
        if rule is None:
            return {}  # AWS: deleting a rule that does not exist succeeds
        if not params.get("Force"):
            _not_managed(rule)
        if rule.targets:
            raise validation("Rule can't be deleted since it has targets.")
        await self.delete_rule(here, bus, rule.name)
        return {}

    async def op_ListRuleNamesByTarget(self, params: JSON, here: EventsRegion) -> JSON:
        bus = here.bus(params.get("EventBusName")).name
        arn = params["TargetArn"]
        names = sorted(
            n
            for (b, n), rule in here.rules.items()
            if b == bus and any(t["Arn"] == arn for t in rule.targets)
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
        bus = here.bus(params.get("EventBusName")).name
        rule = here.rule(bus, params["Rule"])
        _not_managed(rule)
        validate_targets(params["Targets"])
        targets = {t["Id"]: t for t in rule.targets}
        for target in params["Targets"]:
            targets[target["Id"]] = target
        if len(targets) > MAX_TARGETS_PER_RULE:
            raise limit_exceeded()
        await self.save_rule(here, replace(rule, targets=tuple(targets.values())))
        return {"FailedEntryCount": 0, "FailedEntries": []}

    async def op_RemoveTargets(self, params: JSON, here: EventsRegion) -> JSON:
        bus = here.bus(params.get("EventBusName")).name
        rule = here.rule(bus, params["Rule"])
        ids = set(params["Ids"])
        await self.save_rule(
            here, replace(rule, targets=tuple(t for t in rule.targets if t["Id"] not in ids))
        )
        return {"FailedEntryCount": 0, "FailedEntries": []}

    async def op_ListTargetsByRule(self, params: JSON, here: EventsRegion) -> JSON:
        bus = here.bus(params.get("EventBusName")).name
        rule = here.rule(bus, params["Rule"])
        page, token = paging.page(
            "ListTargetsByRule", list(rule.targets), params.get("NextToken"), params.get("Limit")
        )
        out: JSON = {"Targets": page}
        if token:
            out["NextToken"] = token
        return out

    async def op_PutEvents(self, params: JSON, here: EventsRegion) -> JSON:
        """Events stamped with the request's account and region, each routed on its bus: the request region's,
        or, for an EventBusName given as an ARN, the bus that ARN names."""
        entries = params["Entries"]
        check_request_size(entries)
        now = self.clock.now()
        batch = self.store.batch()
        results: list[JSON] = []
        failed = 0
        routed: list[tuple[str, JSON, list[str], Ingest | None]] = []
        header, tracer = TRACE_HEADER.get(), self.tracer
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
            # Tracing: each event is its own span in the request's trace (or starts one); its deliveries carry it.
            ingest = tracer.ingest(header, now) if tracer is not None else None
            trace = header if ingest is None else ingest.carried
            rules, _ = self.route_into(
                batch, where, bus, event, ingested=now, event_time=event_time, trace=trace
            )
            routed.append((where.buses[bus].arn, event, rules, ingest))
        if len(batch):
            # The outbox: archive copies and deliveries are durable before the EventIds are returned.
            await self.store.commit(batch)
        end = self.clock.now()
        for bus_arn, event, rules, ingest in routed:
            for listener in self.listeners:
                listener(bus_arn, event, rules)
            if ingest is not None:
                ingest.finish(bus_arn, event, rules, end)
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
        trace: str | None = None,
    ) -> tuple[list[str], list[Delivery]]:
        """Add to ``batch`` what routing ``event`` on ``here``'s ``bus`` produces; return the names of the user
        rules it matched (archives' managed rules left out) and the deliveries. ``trace``: the X-Ray trace header
        the deliveries carry (their targets' AWSTraceHeader; their spans' parent when tracing)."""
        rules, deliveries = here.router.route(bus, event, only=only)
        names: list[str] = []
        payload_event: bytes | None = None
        for rule in rules:
            if rule.get("ManagedBy") is None:
                names.append(rule["Name"])
                continue
            # An archive's managed rule: the router delivers it nowhere; its event is appended to the archive.
            archive = here.rules[(bus, rule["Name"])].archive
            if archive is not None:
                payload_event = payload_event or orjson.dumps(event)
                batch.append(here.archive_log(archive), payload_event, time=event_time, key=event["id"])
        for delivery in deliveries:
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
            if trace is not None:
                payload["trace"] = trace  # X-Amzn-Trace-Id of the PutEvents: the targets' AWSTraceHeader
            envelope = envelope_attributes(
                target=delivery.target["Arn"],
                first_seen=ingested,
                policy=RetryPolicy.from_api(delivery.target.get("RetryPolicy")),
            )
            batch.enqueue(model.DELIVERIES, random_uuid(), orjson.dumps(payload), attributes=envelope)
        names.sort()
        return names, deliveries

    # -- ports for the targets (`pipework.connectors.ports.EventBuses`, `ApiDestinationCatalog`) -----------------
    def _region_of(self, arn: str) -> EventsRegion:
        """The account and region an ARN names (nothing is created for one never used: it is empty)."""
        owner = model.arn_owner(arn) or (self.account, self.region)
        return self.regions.get(owner) or EventsRegion(*owner)

    def has_bus(self, arn: str) -> bool:
        name = bus_name(arn)
        return name == "default" or name in self._region_of(arn).buses  # every region has its default bus

    async def forward(self, arn: str, event: JSON, *, trace: str | None = None) -> bool:
        """Route an already-built event on the bus ``arn`` names (an event-bus target, in any region), keeping its
        id, in the trace ``trace`` names; False if there is no such bus."""
        here = await self.opened(*(model.arn_owner(arn) or (self.account, self.region)))
        bus = bus_name(arn)
        if bus not in here.buses:
            return False
        batch = self.store.batch()
        now = self.clock.now()
        ingest = self.tracer.ingest(trace, now) if self.tracer is not None else None
        carried = trace if ingest is None else ingest.carried
        rules, _ = self.route_into(batch, here, bus, event, ingested=now, event_time=now, trace=carried)
        if len(batch):
            await self.store.commit(batch)
        bus_arn = here.buses[bus].arn
        for listener in self.listeners:
            listener(bus_arn, event, rules)
        if ingest is not None:
            ingest.finish(bus_arn, event, rules, self.clock.now())
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
