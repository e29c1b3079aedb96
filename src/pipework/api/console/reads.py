"""What the console's pages show, read from a running instance: plain dicts and lists for the templates, in the
server's default region, in the account each function is given (default: the server's). Nothing here changes
state."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import orjson

from pipework.connectors.targets import TargetError
from pipework.connectors.targets.log_group import log_group
from pipework.jsontypes import JSON
from pipework.schedule_expressions import zone as tz_of
from pipework.services.events.runtime import rule_dimensions

from .charts import Chart, Wanted, charts, number, summed

if TYPE_CHECKING:
    from pipework.api.instance import Instance
    from pipework.services.events.state import EventsRegion

#: Rows per page of the long lists (rules, items).
PAGE_SIZE = 50
#: Upcoming fire times shown per schedule.
UPCOMING = 3
#: Lines of a pipe's execution log shown.
LOG_LINES = 50


def iso(epoch: float | None) -> str:
    """A time for people: ISO 8601 in UTC to the millisecond (empty for None)."""
    if epoch is None:
        return ""
    return (
        dt.datetime.fromtimestamp(float(epoch), dt.UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def pretty(value: Any) -> str:
    """JSON indented for reading (text that holds JSON is shown as that JSON)."""
    if isinstance(value, str):
        text = value
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            return text
    text = orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()
    return text


async def call(
    pipework: Instance, service: str, operation: str, params: JSON, *, account: str | None = None
) -> JSON:
    """An AWS operation in process, in `account` (default: the server's); a failure becomes a `ConsoleError`
    carrying AWS's code and message."""
    try:
        return await pipework.api.call(service, operation, params, account=account)
    except TargetError as exc:
        raise ConsoleError(exc.code, exc.message) from None


class ConsoleError(Exception):
    """An operation the console ran failed: AWS's error code and message, shown to the user."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


# -- events ----------------------------------------------------------------------------------------------------
def _region(pipework: Instance, account: str | None = None) -> EventsRegion:
    service = pipework.events.events
    return service.regional(account or service.account, service.region)


async def _opened(pipework: Instance, account: str | None) -> EventsRegion:
    service = pipework.events.events
    return await service.opened(account or service.account, service.region)


async def buses(pipework: Instance, *, account: str | None = None) -> list[JSON]:
    here = await _opened(pipework, account)
    counts: dict[str, int] = {}
    for bus, _ in here.rules:
        counts[bus] = counts.get(bus, 0) + 1
    return [
        {
            "Name": name,
            "Arn": bus.arn,
            "Rules": counts.get(name, 0),
            "Description": bus.to_api().get("Description", ""),
        }
        for name, bus in sorted(here.buses.items())
    ]


def _rule_view(rule: JSON) -> JSON:
    return {
        "Name": rule["Name"],
        "EventBusName": rule["EventBusName"],
        "Arn": rule["Arn"],
        "State": rule.get("State", "ENABLED"),
        "EventPattern": rule.get("EventPattern"),
        "ScheduleExpression": rule.get("ScheduleExpression"),
        "Description": rule.get("Description", ""),
        "ManagedBy": rule.get("ManagedBy"),
        "Targets": [
            {
                "Id": t["Id"],
                "Arn": t["Arn"],
                "RetryPolicy": t.get("RetryPolicy"),
                "DeadLetterArn": (t.get("DeadLetterConfig") or {}).get("Arn"),
                "Input": t.get("Input") or t.get("InputPath") or t.get("InputTransformer"),
            }
            for t in rule.get("Targets", [])
        ],
    }


async def bus(
    pipework: Instance, name: str, *, search: str = "", page: int = 1, account: str | None = None
) -> JSON | None:
    """A bus and one page of its rules (those whose name or pattern contains `search`)."""
    here = await _opened(pipework, account)
    found = here.buses.get(name)
    if found is None:
        return None
    chosen = await rules(pipework, search=search, page=page, bus=name, account=account)
    names = [n for (b, n) in here.rules if b == name]
    drawn = await _rules_charts(
        pipework, [(name, n) for n in names], _rules_scope("of the bus's", len(names)), account
    )
    return {"Name": name, "Arn": found.arn, **chosen, "Charts": drawn}


#: Rules whose metrics a bus's or the overview's charts add up, at most (one GetMetricData call of 3 queries
#: per rule: AWS takes 500 queries a call).
CHARTED_RULES = 100
#: The rule metrics those charts add up.
SUMMED_RULE_METRICS = (Wanted("MatchedEvents"), Wanted("Invocations"), Wanted("FailedInvocations"))


def _rules_scope(prefix: str, count: int) -> str:
    return f"{prefix} {count} rule{'' if count == 1 else 's'}"


async def _rules_charts(
    pipework: Instance, chosen: list[tuple[str, str]], scope: str, account: str | None
) -> list[Chart] | None:
    """The rules' delivery counts added up minute by minute (None: too many rules to add up; [] none)."""
    if len(chosen) > CHARTED_RULES:
        return None
    if not chosen:
        return []
    every = [rule_dimensions(b, n) for b, n in chosen]
    return await summed(pipework, "AWS/Events", every, SUMMED_RULE_METRICS, account=account, scope=scope)


async def rules(
    pipework: Instance,
    *,
    search: str = "",
    page: int = 1,
    bus: str | None = None,
    account: str | None = None,
) -> JSON:
    """One page of the rules of every bus (or of `bus`) whose name, bus or pattern contains `search`
    (case-insensitive)."""
    here = await _opened(pipework, account)
    needle = search.lower()
    matching = [
        r
        for (b, n), r in sorted(here.rules.items())
        if (bus is None or b == bus)
        and (not needle or needle in n.lower() or needle in b.lower() or needle in (r.pattern or "").lower())
    ]
    pages = max(1, -(-len(matching) // PAGE_SIZE))
    page = min(max(page, 1), pages)
    start = (page - 1) * PAGE_SIZE
    shown = [_rule_view(r.to_store()) for r in matching[start : start + PAGE_SIZE]]
    return {"Rules": shown, "Total": len(matching), "Page": page, "Pages": pages}


async def rule(pipework: Instance, bus_name: str, name: str, *, account: str | None = None) -> JSON | None:
    here = await _opened(pipework, account)
    found = here.rules.get((bus_name, name))
    if found is None:
        return None
    view = _rule_view(found.to_store())
    dead = await pipework.events.dead_letters(rule=name, bus=bus_name, limit=None, account=account)
    view["DeadLetters"] = len(dead)
    dimensions = rule_dimensions(bus_name, name)
    drawn = await charts(pipework, "AWS/Events", dimensions, RULE_METRICS, account=account)
    view["Metrics"] = [_total(c) for c in drawn]
    view["Charts"] = _worth_drawing(drawn, always=("MatchedEvents", "Invocations", "FailedInvocations"))
    return view


#: A rule's delivery metrics (AWS/Events, RuleName [+ EventBusName]), as the rule page shows them.
RULE_METRICS = (
    Wanted("MatchedEvents"),
    Wanted("TriggeredRules"),
    Wanted("Invocations"),
    Wanted("FailedInvocations"),
    Wanted("RetryInvocationAttempts"),
    Wanted("DeadLetterInvocations"),
    Wanted("InvocationsSentToDlq"),
    Wanted("InvocationsFailedToBeSentToDlq"),
    Wanted("IngestionToInvocationSuccessLatency", "Average", " ms"),
)
#: A pipe's (AWS/EventBridge/Pipes, PipeName).
PIPE_METRICS = (
    Wanted("Invocations"),
    Wanted("EventCount"),
    Wanted("FilteredOut"),
    Wanted("ExecutionFailed"),
    Wanted("ExecutionPartiallyFailed"),
    Wanted("TargetStageFailed"),
    Wanted("EnrichmentStageFailed"),
    Wanted("DeadLettered"),
    Wanted("Duration", "Average", " ms"),
)
#: A queue's (AWS/SQS, QueueName).
QUEUE_METRICS = (
    Wanted("NumberOfMessagesSent"),
    Wanted("NumberOfMessagesReceived"),
    Wanted("NumberOfMessagesDeleted"),
    Wanted("ApproximateNumberOfMessagesVisible", "Maximum"),
    Wanted("ApproximateAgeOfOldestMessage", "Maximum", " s"),
)


def _total(chart: Chart) -> JSON:
    """A metric's last hour in one figure: the total of a count, the highest minute of a gauge."""
    if chart.counted:
        return {"Name": chart.name, "Figure": number(chart.total), "How": "total"}
    peak = chart.peak
    figure = "no data" if peak is None else number(peak[1]) + chart.unit
    return {"Name": chart.name, "Figure": figure, "How": f"highest per-minute {chart.stat.lower()}"}


def _worth_drawing(drawn: list[Chart], always: tuple[str, ...]) -> list[Chart]:
    """The charts to show: the main ones always, the others when they recorded something in the hour."""
    return [c for c in drawn if c.name in always or c.any]


async def rule_dead_letters(
    pipework: Instance, limit: int = 200, *, account: str | None = None
) -> list[JSON]:
    items = await pipework.events.dead_letters(limit=None, account=account)
    return [{**d, "When": iso(d["DeadLetteredAt"])} for d in items[-limit:]]


async def archives(pipework: Instance, *, account: str | None = None) -> JSON:
    here = await _opened(pipework, account)
    found = []
    for name, archive in sorted(here.archives.items()):
        stats = await pipework.events.store.log_stats(here.archive_log(name))
        found.append(
            {
                "ArchiveName": name,
                "ArchiveArn": archive.arn,
                "EventSourceArn": archive.source_arn,
                "Bus": archive.source_arn.rsplit("/", 1)[-1],
                "EventCount": stats.count,
                "State": archive.state,
            }
        )
    rules_by_bus: dict[str, list[str]] = {}
    for (bus_name, name), found_rule in sorted(here.rules.items()):
        if not found_rule.managed_by:
            rules_by_bus.setdefault(bus_name, []).append(name)
    now = pipework.clock.now()
    return {
        "Archives": found,
        "Replays": replays(pipework, account=account),
        "Rules": rules_by_bus,
        "WindowStart": iso(now - 3600),
        "WindowEnd": iso(now),
    }


def replays(pipework: Instance, *, account: str | None = None) -> list[JSON]:
    here = _region(pipework, account)
    out = []
    for name, replay in sorted(here.replays.items(), key=lambda kv: -kv[1].started):
        start, end, last = replay.start, replay.end, replay.last_replayed
        done = 0.0 if last is None else min(1.0, max(0.0, (last - start) / (end - start)))
        if replay.state == "COMPLETED":
            done = 1.0
        out.append(
            {
                "ReplayName": name,
                "Archive": replay.source_arn.rsplit("/", 1)[-1],
                "State": replay.state,
                "StateReason": replay.state_reason or "",
                "EventStartTime": iso(start),
                "EventEndTime": iso(end),
                "EventLastReplayedTime": iso(last),
                "Progress": round(done * 100),
                "Active": replay.active and replay.state != "CANCELLING",
            }
        )
    return out


# -- pipes -----------------------------------------------------------------------------------------------------
def _pipes_here(pipework: Instance, account: str | None) -> list[JSON]:
    pipes = pipework.pipes
    prefix = f"{account or pipes.account}/{pipes.region}/"
    return [pipe.to_api() for key, pipe in sorted(pipes.pipes_api.pipes.items()) if key.startswith(prefix)]


def pipes(pipework: Instance, *, account: str | None = None) -> list[JSON]:
    return [
        {
            "Name": p["Name"],
            "CurrentState": p["CurrentState"],
            "DesiredState": p.get("DesiredState", ""),
            "StateReason": p.get("StateReason", ""),
            "Source": p["Source"],
            "Target": p["Target"],
            "Enrichment": p.get("Enrichment", ""),
        }
        for p in _pipes_here(pipework, account)
    ]


async def _log_tail(pipework: Instance, group_arn: str, account: str | None) -> list[str]:
    """The latest lines of a log group, oldest first (the logs service keeps them)."""
    params: JSON = {"logGroupName": log_group(group_arn), "limit": 10_000}
    try:
        found = await call(pipework, "logs", "FilterLogEvents", params, account=account)
    except ConsoleError as exc:
        return [f"({exc.code}: {exc.message})"]
    return [str(event.get("message", "")) for event in found.get("events", [])][-LOG_LINES:]


async def pipe(pipework: Instance, name: str, *, account: str | None = None) -> JSON | None:
    found = next((p for p in _pipes_here(pipework, account) if p["Name"] == name), None)
    if found is None:
        return None
    source_parameters = found.get("SourceParameters") or {}
    stages = [
        {"Stage": "SOURCE", "Arn": found["Source"], "Parameters": pretty(source_parameters)},
        {"Stage": "FILTER", "Arn": "", "Parameters": pretty(source_parameters.get("FilterCriteria") or {})},
    ]
    if found.get("Enrichment"):
        stages.append(
            {
                "Stage": "ENRICHMENT",
                "Arn": found["Enrichment"],
                "Parameters": pretty(found.get("EnrichmentParameters") or {}),
            }
        )
    stages.append(
        {"Stage": "TARGET", "Arn": found["Target"], "Parameters": pretty(found.get("TargetParameters") or {})}
    )
    group = ((found.get("LogConfiguration") or {}).get("CloudwatchLogsLogDestination") or {}).get(
        "LogGroupArn"
    )
    logs = await _log_tail(pipework, group, account) if group else None
    metrics = pipework.pipes.pipe_metrics(name, account=account)["Metrics"]
    dead = await pipework.pipes.dead_letters(name, account=account)
    dimensions = (("PipeName", name),)
    drawn = await charts(pipework, "AWS/EventBridge/Pipes", dimensions, PIPE_METRICS, account=account)
    return {
        "Name": name,
        "Arn": found["Arn"],
        "CurrentState": found["CurrentState"],
        "DesiredState": found.get("DesiredState", ""),
        "StateReason": found.get("StateReason", ""),
        "Stages": stages,
        "Metrics": {k: v for k, v in metrics.items() if _counted(v)},
        "LastHour": [_total(c) for c in drawn],
        "Charts": _worth_drawing(drawn, always=("Invocations", "EventCount", "ExecutionFailed")),
        "LogGroup": group,
        "Logs": logs,
        "DeadLetters": len(dead),
        "SampleRecord": pretty(_sample_record(found)),
    }


def _counted(statistics: JSON) -> bool:
    """Whether a metric has counted anything (a page of zeros says nothing)."""
    return any(value for key, value in statistics.items() if key not in ("Average", "Minimum", "Maximum"))


def _sample_record(pipe: JSON) -> JSON:
    """A record shaped like the pipe's source would deliver it, to start the invoke form from."""
    if ":sqs:" in pipe["Source"]:
        return {"messageId": "console-1", "body": "{}", "attributes": {}, "eventSource": "aws:sqs"}
    return {
        "eventID": "console-1",
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "dynamodb": {"Keys": {"id": {"S": "example"}}, "NewImage": {"id": {"S": "example"}}},
    }


async def pipe_dead_letters(
    pipework: Instance, limit: int = 200, *, account: str | None = None
) -> list[JSON]:
    items = await pipework.pipes.dead_letters(limit=limit, account=account)
    return [{**d, "When": iso(d["DeadLetteredAt"])} for d in items]


# -- schedules -------------------------------------------------------------------------------------------------
def schedules(pipework: Instance, *, account: str | None = None) -> list[JSON]:
    scheduler = pipework.scheduler
    state = scheduler.schedules
    now = pipework.clock.now()
    prefix = f"{account or state.account}/{state.region}/"
    out = []
    for key, schedule in sorted(state.schedules.items()):
        if not key.startswith(prefix):
            continue
        upcoming: list[str] = []
        if schedule.state == "ENABLED":
            timing = state.timing(schedule)
            upcoming = [_in_zone(t, schedule.timezone) for t in timing.upcoming(now, UPCOMING)]
        results = [
            {**r, "Scheduled": _in_zone(r["Scheduled"], schedule.timezone)}
            for r in scheduler.invoker.last_results(schedule.arn)
        ]
        out.append(
            {
                "Name": schedule.name,
                "GroupName": schedule.group,
                "State": schedule.state,
                "Expression": schedule.expression,
                "Timezone": schedule.timezone or "UTC",
                "Target": schedule.target["Arn"],
                "Upcoming": upcoming,
                "Results": results,
            }
        )
    return out


def _in_zone(epoch: float, zone: str | None) -> str:
    local = dt.datetime.fromtimestamp(float(epoch), tz_of(zone))
    return local.isoformat(timespec="seconds") + f" {zone or 'UTC'}"


# -- queues ----------------------------------------------------------------------------------------------------
async def queues(pipework: Instance, *, account: str | None = None) -> list[JSON]:
    listed = await call(pipework, "sqs", "ListQueues", {"MaxResults": 1000}, account=account)
    urls = listed.get("QueueUrls", [])
    out = []
    for url in urls:
        params = {"QueueUrl": url, "AttributeNames": ["All"]}
        attributes = (await call(pipework, "sqs", "GetQueueAttributes", params, account=account))[
            "Attributes"
        ]
        peeked = await pipework.sqs.peek(attributes["QueueArn"], limit=0)
        age = None if peeked is None else peeked["AgeOfOldestMessage"]
        redrive = orjson.loads(attributes["RedrivePolicy"]) if attributes.get("RedrivePolicy") else None
        out.append(
            {
                "Name": url.rsplit("/", 1)[-1],
                "Url": url,
                "Arn": attributes["QueueArn"],
                "Visible": int(attributes.get("ApproximateNumberOfMessages", 0)),
                "InFlight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
                "Delayed": int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
                "OldestAge": "" if age is None else f"{age:.0f} s",
                "DeadLetterTarget": redrive["deadLetterTargetArn"] if redrive else "",
            }
        )
    sources = {q["DeadLetterTarget"] for q in out if q["DeadLetterTarget"]}
    for q in out:
        q["IsDeadLetterQueue"] = q["Arn"] in sources
    return out


async def queue(pipework: Instance, name: str, *, account: str | None = None) -> JSON | None:
    """One queue: its counts (as the queues page shows them), attributes and the last hour of its metrics."""
    every = await queues(pipework, account=account)
    found = next((q for q in every if q["Name"] == name), None)
    if found is None:
        return None
    params = {"QueueUrl": found["Url"], "AttributeNames": ["All"]}
    attributes = (await call(pipework, "sqs", "GetQueueAttributes", params, account=account))["Attributes"]
    drawn = await charts(pipework, "AWS/SQS", (("QueueName", name),), QUEUE_METRICS, account=account)
    sources = [q["Name"] for q in every if q["DeadLetterTarget"] == found["Arn"]]
    return {
        **found,
        "Attributes": sorted(attributes.items()),
        "LastHour": [_total(c) for c in drawn],
        "Charts": _worth_drawing(drawn, always=("NumberOfMessagesSent", "NumberOfMessagesReceived")),
        "Sources": sources,
    }


# -- tables ----------------------------------------------------------------------------------------------------
async def tables(pipework: Instance, *, account: str | None = None) -> list[JSON]:
    names = (await call(pipework, "dynamodb", "ListTables", {}, account=account)).get("TableNames", [])
    out = []
    for name in names:
        described = await call(pipework, "dynamodb", "DescribeTable", {"TableName": name}, account=account)
        table = described["Table"]
        out.append(
            {
                "Name": name,
                "Items": table.get("ItemCount", 0),
                "Status": table.get("TableStatus", ""),
                "Stream": table.get("LatestStreamArn", ""),
                "Lag": await stream_lag(pipework, table.get("LatestStreamArn"), account=account),
            }
        )
    return out


async def stream_lag(pipework: Instance, stream_arn: str | None, *, account: str | None = None) -> list[JSON]:
    """How far behind each pipe reading the stream is."""
    if not stream_arn:
        return []
    out = []
    now = pipework.clock.now()
    for p in _pipes_here(pipework, account):
        if p["Source"] != stream_arn:
            continue
        lag = await pipework.dynamodbstreams.lag(stream_arn, p["Arn"])
        if lag is None:
            continue
        behind, oldest = lag
        out.append(
            {
                "Pipe": p["Name"],
                "Behind": behind,
                "Age": "" if oldest is None else f"{max(0.0, now - oldest):.0f} s",
            }
        )
    return out


async def table_items(
    pipework: Instance, name: str, start: str | None, *, account: str | None = None
) -> JSON:
    params: JSON = {"TableName": name, "Limit": PAGE_SIZE}
    if start:
        try:
            params["ExclusiveStartKey"] = orjson.loads(start)
        except orjson.JSONDecodeError:
            raise ConsoleError("ValidationException", "The start key is not JSON.") from None
    page = await call(pipework, "dynamodb", "Scan", params, account=account)
    last = page.get("LastEvaluatedKey")
    return {
        "Items": [pretty(item) for item in page.get("Items", [])],
        "Next": orjson.dumps(last).decode() if last else None,
    }


# -- breakers --------------------------------------------------------------------------------------------------
async def breakers(pipework: Instance) -> list[JSON]:
    """Every circuit breaker as `GET /_pipework/breakers` describes it (state, parked count, since, reason)."""
    every = pipework.breakers
    out = []
    for _, breaker in sorted(every.breakers.items()):
        described = await every.describe(breaker)
        since = described.get("Since")
        out.append({**described, "Since": iso(since) if isinstance(since, int | float) else since or ""})
    return out


# -- alarms ----------------------------------------------------------------------------------------------------
async def alarms(pipework: Instance, *, account: str | None = None) -> list[JSON]:
    """Every metric and composite alarm with its state, reason and latest state changes (newest first)."""
    found = await call(pipework, "cloudwatch", "DescribeAlarms", {"MaxRecords": 100}, account=account)
    out = []
    for kind, alarm in [("metric", a) for a in found.get("MetricAlarms", [])] + [
        ("composite", a) for a in found.get("CompositeAlarms", [])
    ]:
        history = await call(
            pipework,
            "cloudwatch",
            "DescribeAlarmHistory",
            {"AlarmName": alarm["AlarmName"], "HistoryItemType": "StateUpdate", "MaxRecords": 5},
            account=account,
        )
        if kind == "metric":
            watched = alarm.get("MetricName") or "metric math"
            rule = f"{watched} {alarm.get('ComparisonOperator', '')} {alarm.get('Threshold', '')}"
        else:
            rule = alarm.get("AlarmRule", "")
        out.append(
            {
                "Name": alarm["AlarmName"],
                "Kind": kind,
                "State": alarm.get("StateValue", ""),
                "Reason": alarm.get("StateReason", ""),
                "Updated": _when(alarm.get("StateUpdatedTimestamp")),
                "Rule": rule,
                "History": [
                    {"When": _when(h.get("Timestamp")), "Summary": h.get("HistorySummary", "")}
                    for h in history.get("AlarmHistoryItems", [])
                ],
            }
        )
    return out


def _when(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return iso(value.timestamp())
    return iso(float(value)) if isinstance(value, int | float) else str(value or "")


# -- overview --------------------------------------------------------------------------------------------------
async def overview(pipework: Instance, *, account: str | None = None) -> JSON:
    all_pipes = pipes(pipework, account=account)
    all_queues = await queues(pipework, account=account)
    all_schedules = schedules(pipework, account=account)
    listed = await call(pipework, "dynamodb", "ListTables", {}, account=account)
    all_tables = listed.get("TableNames", [])
    rule_letters = await pipework.events.dead_letters(limit=None, account=account)
    pipe_letters = await pipework.pipes.dead_letters(limit=1000, account=account)
    failures = [
        {"Kind": "rule", "Name": f"{d['EventBusName']}/{d['Rule']}", "Target": d["TargetId"], **d}
        for d in rule_letters
    ] + [{"Kind": "pipe", "Name": d["PipeName"], "Target": "", **d} for d in pipe_letters]
    failures.sort(key=lambda d: -float(d["DeadLetteredAt"]))
    bus_list = await buses(pipework, account=account)
    described = await call(pipework, "cloudwatch", "DescribeAlarms", {"MaxRecords": 100}, account=account)
    every_alarm = described.get("MetricAlarms", []) + described.get("CompositeAlarms", [])
    firing = sum(1 for a in every_alarm if a.get("StateValue") == "ALARM")
    here = _region(pipework, account)
    every_rule = sorted(here.rules)
    requests = (Wanted("PutEventsRequestSize", "SampleCount"),)
    flowing = await summed(
        pipework, "AWS/Events", [()], requests, account=account, scope="– PutEvents requests"
    )
    delivered = await _rules_charts(
        pipework, every_rule, _rules_scope("of the account's", len(every_rule)), account
    )
    unhealthy_pipes = [p for p in all_pipes if p["CurrentState"] not in ("RUNNING", "STOPPED")]
    return {
        "Counts": [
            ("Buses", len(bus_list), "/console/buses", ""),
            ("Rules", len(here.rules), "/console/rules", ""),
            (
                "Pipes",
                len(all_pipes),
                "/console/pipes",
                f"{len(unhealthy_pipes)} not running or stopped" if unhealthy_pipes else "",
            ),
            ("Schedules", len(all_schedules), "/console/schedules", ""),
            ("Queues", len(all_queues), "/console/queues", ""),
            ("Tables", len(all_tables), "/console/tables", ""),
            ("Alarms", len(every_alarm), "/console/alarms", f"{firing} in ALARM" if firing else ""),
            (
                "Dead letters",
                len(rule_letters) + len(pipe_letters),
                "/console/dead-letters",
                "needs attention" if rule_letters or pipe_letters else "",
            ),
        ],
        "Failures": [{**f, "When": iso(f["DeadLetteredAt"])} for f in failures[:10]],
        "Pipes": unhealthy_pipes,
        "Charts": flowing + (delivered or []),
        "TooManyRules": delivered is None,
    }
