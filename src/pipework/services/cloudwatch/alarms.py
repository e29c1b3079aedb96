"""Alarms: PutMetricAlarm, PutCompositeAlarm, DescribeAlarms, DescribeAlarmsForMetric, DescribeAlarmHistory,
DeleteAlarms, SetAlarmState, Enable/DisableAlarmActions and alarm tags, over the alarms of every account and region
(what a state change does is `changes.py`).

An action ARN is checked for its syntax only, as CloudWatch does: one that names nothing is accepted, and each
failed run is an ``Action`` history item saying why. SNS topics are delivered through the instance's targets; an
event bus or a local function is a Pipework extension.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from typing import Any

import orjson

from pipework.clock import Clock
from pipework.connectors.targets.registry import Targets
from pipework.engine.metrics import Recorder
from pipework.store.base import Store

from . import composite, model
from .changes import AlarmChanges
from .errors import invalid_combination, invalid_token, invalid_value, missing, resource_not_found, validation
from .evaluation import ANOMALY_COMPARISONS, COMPARISONS

log = logging.getLogger("pipework.cloudwatch")

_ACTION = re.compile(
    r"arn:aws[a-z-]*:(sns|lambda|events|sqs|automate|autoscaling|ssm|ssm-incidents|swf|ec2):[a-z0-9-]*:[0-9]*:.+"
)
_METRIC_ONLY = ("MetricName", "Namespace", "Statistic", "ExtendedStatistic", "Dimensions", "Period", "Unit")
_KEPT = (
    "AlarmDescription",
    "OKActions",
    "AlarmActions",
    "InsufficientDataActions",
    "MetricName",
    "Namespace",
    "Statistic",
    "ExtendedStatistic",
    "Dimensions",
    "Period",
    "Unit",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
    "EvaluateLowSampleCountPercentile",
    "Metrics",
    "ThresholdMetricId",
)


class Alarms(AlarmChanges):
    """The alarms of every account and region, loaded from the store at start and written through.

    Parameters: `store`, `clock`, `recorder` (the metrics alarms read), `targets` (where actions and state-change
    events go).
    """

    def __init__(self, store: Store, clock: Clock, recorder: Recorder, targets: Targets) -> None:
        self.store = store
        self.clock = clock
        self.recorder = recorder
        self.targets = targets
        self.by_region: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
        # One writer at a time: operations and evaluations read, decide and write an alarm.
        self.lock = asyncio.Lock()
        #: Called when the set of alarms changes (the evaluator wakes to re-plan its timers).
        self.changed: list[Any] = []

    async def load(self) -> None:
        async for resource in self.store.all_resources(model.ALARMS):
            body = resource.body
            self.here(body["Account"], body["Region"])[body["AlarmName"]] = body

    def count(self) -> int:
        return sum(len(alarms) for alarms in self.by_region.values())

    def _notify(self) -> None:
        for listener in self.changed:
            listener()

    # -- operations ------------------------------------------------------------------------------------------------
    async def put_metric_alarm(self, params: dict[str, Any], account: str, region: str) -> None:
        _check_metric_alarm(params)
        now = self.clock.now()
        name = params["AlarmName"]
        async with self.lock:
            alarms = self.here(account, region)
            old = alarms.get(name)
            if old is not None and old["AlarmType"] != "MetricAlarm":
                raise invalid_value(
                    f"The alarm {name} is a composite alarm; a metric alarm cannot replace it."
                )
            body: dict[str, Any] = {
                "AlarmName": name,
                "AlarmArn": model.alarm_arn(region, account, name),
                "AlarmConfigurationUpdatedTimestamp": now,
                "ActionsEnabled": params.get("ActionsEnabled", True),
                "OKActions": [],
                "AlarmActions": [],
                "InsufficientDataActions": [],
                "Dimensions": [],
                "TreatMissingData": "missing",
            }
            body.update({k: params[k] for k in _KEPT if k in params})
            if "Metrics" in params:
                body.pop("Dimensions", None)
            body.setdefault("DatapointsToAlarm", params["EvaluationPeriods"])
            body.update(_state_of(old, now))
            body.update(
                AlarmType="MetricAlarm",
                Account=account,
                Region=region,
                Tags=_merge_tags(old.get("Tags") if old else None, params.get("Tags")),
            )
            await self.store.put_resource(model.ALARMS, model.alarm_key(account, region, name), body)
            alarms[name] = body
            await self._configuration_history(body, created=old is None)
        self._notify()

    async def put_composite_alarm(self, params: dict[str, Any], account: str, region: str) -> None:
        name = params["AlarmName"]
        try:
            rule = composite.parse(params["AlarmRule"])
        except composite.RuleError as exc:
            raise validation(str(exc)) from None
        for arn in _actions(params):
            _check_action(arn)
        now = self.clock.now()
        async with self.lock:
            alarms = self.here(account, region)
            if name in composite.alarms_of(rule):
                raise validation(f"The alarm rule of {name} cannot reference the alarm itself.")
            old = alarms.get(name)
            if old is not None and old["AlarmType"] != "CompositeAlarm":
                raise invalid_value(
                    f"The alarm {name} is a metric alarm; a composite alarm cannot replace it."
                )
            body: dict[str, Any] = {
                "AlarmName": name,
                "AlarmArn": model.alarm_arn(region, account, name),
                "AlarmRule": params["AlarmRule"],
                "AlarmConfigurationUpdatedTimestamp": now,
                "ActionsEnabled": params.get("ActionsEnabled", True),
                "OKActions": params.get("OKActions", []),
                "AlarmActions": params.get("AlarmActions", []),
                "InsufficientDataActions": params.get("InsufficientDataActions", []),
            }
            if "AlarmDescription" in params:
                body["AlarmDescription"] = params["AlarmDescription"]
            body.update(_state_of(old, now))
            body.update(
                AlarmType="CompositeAlarm",
                Account=account,
                Region=region,
                Tags=_merge_tags(old.get("Tags") if old else None, params.get("Tags")),
            )
            await self.store.put_resource(model.ALARMS, model.alarm_key(account, region, name), body)
            alarms[name] = body
            await self._configuration_history(body, created=old is None)
            await self.evaluate_composites(account, region)
        self._notify()

    def describe(self, params: dict[str, Any], account: str, region: str) -> dict[str, Any]:
        alarms = self.here(account, region)
        types = params.get("AlarmTypes") or ["MetricAlarm"]
        names = params.get("AlarmNames")
        prefix = params.get("AlarmNamePrefix")
        if names and prefix:
            raise invalid_combination("AlarmNames and AlarmNamePrefix cannot be specified together.")
        children_of, parents_of = params.get("ChildrenOfAlarmName"), params.get("ParentsOfAlarmName")
        if (children_of or parents_of) and (
            names or prefix or params.get("StateValue") or params.get("ActionPrefix")
        ):
            raise invalid_combination(
                "ChildrenOfAlarmName and ParentsOfAlarmName cannot be combined with other filters."
            )
        selected = sorted(alarms.values(), key=lambda a: a["AlarmName"])
        if children_of:
            parent = alarms.get(children_of)
            wanted = (
                composite.alarms_of(composite.parse(parent["AlarmRule"]))
                if parent and "AlarmRule" in parent
                else set()
            )
            selected = [a for a in selected if a["AlarmName"] in wanted]
        if parents_of:
            selected = [
                a
                for a in selected
                if "AlarmRule" in a and parents_of in composite.alarms_of(composite.parse(a["AlarmRule"]))
            ]
        if names:
            selected = [a for a in selected if a["AlarmName"] in names]
        if prefix:
            selected = [a for a in selected if a["AlarmName"].startswith(prefix)]
        if params.get("StateValue"):
            selected = [a for a in selected if a["StateValue"] == params["StateValue"]]
        if params.get("ActionPrefix"):
            action_prefix = params["ActionPrefix"]
            selected = [a for a in selected if any(arn.startswith(action_prefix) for arn in _actions(a))]
        if not (children_of or parents_of):
            selected = [a for a in selected if a["AlarmType"] in types]
        page, token = _page(
            "DescribeAlarms", selected, params.get("NextToken"), params.get("MaxRecords") or 50
        )
        out: dict[str, Any] = {
            "MetricAlarms": [model.to_api(a) for a in page if a["AlarmType"] == "MetricAlarm"],
            "CompositeAlarms": [model.to_api(a) for a in page if a["AlarmType"] == "CompositeAlarm"],
        }
        if token:
            out["NextToken"] = token
        return out

    def describe_for_metric(self, params: dict[str, Any], account: str, region: str) -> dict[str, Any]:
        wanted_dims = sorted((d["Name"], d["Value"]) for d in params.get("Dimensions") or ())
        out = []
        for alarm in sorted(self.here(account, region).values(), key=lambda a: a["AlarmName"]):
            if alarm["AlarmType"] != "MetricAlarm":
                continue
            metrics = (
                [alarm]
                if "MetricName" in alarm
                else [
                    q["MetricStat"]["Metric"]
                    | {"Period": q["MetricStat"]["Period"], "Statistic": q["MetricStat"]["Stat"]}
                    for q in alarm.get("Metrics") or ()
                    if "MetricStat" in q
                ]
            )
            for metric in metrics:
                if (
                    metric.get("MetricName") != params["MetricName"]
                    or metric.get("Namespace") != params["Namespace"]
                ):
                    continue
                if (
                    "Dimensions" in params
                    and sorted((d["Name"], d["Value"]) for d in metric.get("Dimensions") or ()) != wanted_dims
                ):
                    continue
                if any(
                    k in params and metric.get(k) != params[k]
                    for k in ("Statistic", "ExtendedStatistic", "Period", "Unit")
                ):
                    continue
                out.append(model.to_api(alarm))
                break
        return {"MetricAlarms": out}

    async def delete(self, names: list[str], account: str, region: str) -> None:
        async with self.lock:
            alarms = self.here(account, region)
            absent = [n for n in names if n not in alarms]
            if absent:
                raise resource_not_found(
                    f"Alarm{'s' if len(absent) > 1 else ''} {', '.join(absent)} not found.",
                    "Alarm",
                    absent[0],
                )
            for name in names:
                rule_users = [
                    a["AlarmName"]
                    for a in alarms.values()
                    if "AlarmRule" in a
                    and a["AlarmName"] not in names
                    and name in composite.alarms_of(composite.parse(a["AlarmRule"]))
                ]
                if rule_users:
                    raise validation(
                        f"The alarm {name} cannot be deleted: the composite alarm {rule_users[0]} uses it."
                    )
            batch = self.store.batch()
            for name in names:
                batch.delete_resource(model.ALARMS, model.alarm_key(account, region, name))
            await self.store.commit(batch)
            for name in names:
                del alarms[name]
        self._notify()

    def require(self, name: str, account: str, region: str) -> dict[str, Any]:
        alarm = self.here(account, region).get(name)
        if alarm is None:
            raise resource_not_found(f"Alarm {name} not found", "Alarm", name)
        return alarm

    async def set_state(self, params: dict[str, Any], account: str, region: str) -> None:
        data = params.get("StateReasonData")
        if data is not None:
            try:
                parsed = orjson.loads(data)
            except orjson.JSONDecodeError:
                parsed = None
            if not isinstance(parsed, dict):
                raise invalid_value("The value for parameter StateReasonData is not valid JSON.")
        async with self.lock:
            alarm = self.require(params["AlarmName"], account, region)
            await self.transition(alarm, params["StateValue"], params["StateReason"], data)

    async def set_actions_enabled(self, names: list[str], enabled: bool, account: str, region: str) -> None:
        async with self.lock:
            alarms = self.here(account, region)
            for name in names:
                alarm = alarms.get(name)
                if alarm is None or alarm["ActionsEnabled"] == enabled:
                    continue  # as CloudWatch: unknown names are skipped
                alarm["ActionsEnabled"] = enabled
                await self.store.put_resource(model.ALARMS, model.alarm_key(account, region, name), alarm)

    async def history(self, params: dict[str, Any], account: str, region: str) -> dict[str, Any]:
        start = params["StartDate"].timestamp() if params.get("StartDate") else 0.0
        end = params["EndDate"].timestamp() if params.get("EndDate") else self.clock.now() + 1
        types = params.get("AlarmTypes") or ["MetricAlarm"]
        items: list[dict[str, Any]] = []
        after: tuple[float, int] | None = None
        log_name = model.history_log(account, region)
        while True:
            records = await self.store.read_log_window(log_name, start, end, after=after, limit=1000)
            for record in records:
                item = orjson.loads(record.payload)
                if params.get("AlarmName") and item["AlarmName"] != params["AlarmName"]:
                    continue
                if params.get("HistoryItemType") and item["HistoryItemType"] != params["HistoryItemType"]:
                    continue
                if item["AlarmType"] not in types:
                    continue
                items.append(item)
            if len(records) < 1000:
                break
            after = (records[-1].time, records[-1].position)
        if params.get("ScanBy", "TimestampDescending") == "TimestampDescending":
            items.reverse()
        page, token = _page(
            "DescribeAlarmHistory", items, params.get("NextToken"), params.get("MaxRecords") or 100
        )
        out: dict[str, Any] = {
            "AlarmHistoryItems": [
                item | {"Timestamp": dt.datetime.fromtimestamp(item["Timestamp"], dt.UTC)} for item in page
            ]
        }
        if token:
            out["NextToken"] = token
        return out

    # -- tags ------------------------------------------------------------------------------------------------------
    def alarm_of_arn(self, arn: str) -> dict[str, Any]:
        parts = arn.split(":", 6)
        if len(parts) != 7 or parts[2] != "cloudwatch" or parts[5] != "alarm":
            raise invalid_value(f"The ARN {arn} is not an alarm ARN.")
        alarm = self.here(parts[4], parts[3]).get(parts[6])
        if alarm is None:
            raise resource_not_found(f"Alarm {parts[6]} not found", "Alarm", parts[6])
        return alarm

    async def tag(self, arn: str, tags: list[dict[str, str]]) -> None:
        async with self.lock:
            alarm = self.alarm_of_arn(arn)
            alarm["Tags"] = _merge_tags(alarm.get("Tags"), tags)
            await self._save(alarm)

    async def untag(self, arn: str, keys: list[str]) -> None:
        async with self.lock:
            alarm = self.alarm_of_arn(arn)
            alarm["Tags"] = [t for t in alarm.get("Tags") or () if t["Key"] not in keys]
            await self._save(alarm)


def _state_of(old: dict[str, Any] | None, now: float) -> dict[str, Any]:
    """A new alarm starts in INSUFFICIENT_DATA; an updated one keeps its state (as CloudWatch does)."""
    if old is None:
        return {
            "StateValue": "INSUFFICIENT_DATA",
            "StateReason": "Unchecked: Initial alarm creation",
            "StateUpdatedTimestamp": now,
            "StateTransitionedTimestamp": now,
        }
    kept = (
        "StateValue",
        "StateReason",
        "StateReasonData",
        "StateUpdatedTimestamp",
        "StateTransitionedTimestamp",
    )
    return {k: old[k] for k in kept if k in old}


def _merge_tags(old: list[dict[str, str]] | None, new: list[dict[str, str]] | None) -> list[dict[str, str]]:
    merged = {t["Key"]: t["Value"] for t in old or ()}
    merged.update({t["Key"]: t["Value"] for t in new or ()})
    return [{"Key": k, "Value": v} for k, v in merged.items()]


def _actions(params: dict[str, Any]) -> list[str]:
    return [
        *(params.get("AlarmActions") or ()),
        *(params.get("OKActions") or ()),
        *(params.get("InsufficientDataActions") or ()),
    ]


def _check_action(arn: str) -> None:
    if not _ACTION.fullmatch(arn):
        raise validation(f"Invalid arn syntax: {arn}")


def _check_metric_alarm(params: dict[str, Any]) -> None:
    for arn in _actions(params):
        _check_action(arn)
    if "EvaluationPeriods" not in params:
        raise missing("The parameter EvaluationPeriods is required.")
    if "ComparisonOperator" not in params:
        raise missing("The parameter ComparisonOperator is required.")
    comparison = params["ComparisonOperator"]
    if comparison in ANOMALY_COMPARISONS or "ThresholdMetricId" in params:
        raise invalid_value("Pipework does not evaluate anomaly detection bands (ThresholdMetricId).")
    if comparison not in COMPARISONS:
        raise invalid_value(f"The value {comparison} for parameter ComparisonOperator is invalid.")
    if "Threshold" not in params:
        raise missing("The parameter Threshold is required.")
    treat = params.get("TreatMissingData", "missing")
    if treat not in ("breaching", "notBreaching", "ignore", "missing"):
        raise validation(
            f"Invalid value {treat!r} for TreatMissingData: use breaching, notBreaching, ignore or missing."
        )
    periods, m = params["EvaluationPeriods"], params.get("DatapointsToAlarm", params["EvaluationPeriods"])
    if m > periods:
        raise validation("DatapointsToAlarm must be less than or equal to EvaluationPeriods.")
    if "Metrics" in params:
        if any(k in params for k in _METRIC_ONLY):
            raise invalid_combination(
                "Metrics cannot be specified together with MetricName, Namespace, Statistic, ExtendedStatistic, "
                "Dimensions, Period or Unit."
            )
        from .queries import parse_queries

        queries = parse_queries(params["Metrics"])
        returned = [q for q in queries if q.return_data]
        if len(returned) != 1:
            raise validation("Exactly one element of the Metrics list must have ReturnData set to true.")
        period = returned[0].period or min((q.period for q in queries if q.metric), default=60)
    else:
        for name in ("MetricName", "Namespace", "Period"):
            if name not in params:
                raise missing(f"The parameter {name} is required.")
        if ("Statistic" in params) == ("ExtendedStatistic" in params):
            raise invalid_combination("Exactly one of Statistic and ExtendedStatistic must be specified.")
        if "ExtendedStatistic" in params:
            from .queries import check_statistic

            check_statistic(params["ExtendedStatistic"])
        from .queries import check_period

        period = params["Period"]
        check_period(period)
    if period * periods > 7 * 86_400:
        raise validation("The evaluation period (Period * EvaluationPeriods) must not exceed 7 days.")


def _page(operation: str, items: list[Any], token: str | None, limit: int) -> tuple[list[Any], str | None]:
    start = 0
    if token:
        head, _, position = token.partition(":")
        if head != operation or not position.isdigit():
            raise invalid_token()
        start = int(position)
    end = start + limit
    return items[start:end], (f"{operation}:{end}" if end < len(items) else None)
