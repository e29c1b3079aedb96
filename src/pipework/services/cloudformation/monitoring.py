"""Resource providers for monitoring: ``AWS::CloudWatch::Alarm``, ``AWS::CloudWatch::CompositeAlarm`` and
``AWS::Logs::LogGroup``, through the served ``cloudwatch`` and ``logs`` APIs (a template's alarm is the same alarm
PutMetricAlarm makes, evaluated on the server's clock)."""

from __future__ import annotations

from typing import Any

from pipework.jsontypes import JSON

from .providers import Made, NeedsReplacement, Provider, Where, _pick, _tags_list, _tags_map

_ALARM_FIELDS = (
    "AlarmDescription",
    "OKActions",
    "AlarmActions",
    "InsufficientDataActions",
    "MetricName",
    "Namespace",
    "Statistic",
    "ExtendedStatistic",
    "Dimensions",
    "Unit",
    "ComparisonOperator",
    "TreatMissingData",
    "EvaluateLowSampleCountPercentile",
    "ThresholdMetricId",
)


def _number(value: Any, kind: type) -> Any:
    """A template's number (often text, as parameters are) as the API's integer or double."""
    return kind(float(value)) if kind is int else kind(value)


def _boolean(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).lower() == "true"


def _alarm_params(name: str, props: JSON) -> JSON:
    params: JSON = {"AlarmName": name, **_pick(props, *_ALARM_FIELDS)}
    for member in ("Period", "EvaluationPeriods", "DatapointsToAlarm"):
        if props.get(member) is not None:
            params[member] = _number(props[member], int)
    if props.get("Threshold") is not None:
        params["Threshold"] = _number(props["Threshold"], float)
    if props.get("ActionsEnabled") is not None:
        params["ActionsEnabled"] = _boolean(props["ActionsEnabled"])
    if props.get("Metrics"):
        metrics = []
        for query in props["Metrics"]:
            query = dict(query)
            if "ReturnData" in query:
                query["ReturnData"] = _boolean(query["ReturnData"])
            if "Period" in query:
                query["Period"] = _number(query["Period"], int)
            if "MetricStat" in query:
                stat = dict(query["MetricStat"])
                stat["Period"] = _number(stat["Period"], int)
                query["MetricStat"] = stat
            metrics.append(query)
        params["Metrics"] = metrics
    return params


class Alarm(Provider):
    type = "AWS::CloudWatch::Alarm"
    replaced_by = frozenset({"AlarmName"})

    async def create(self, logical_id: str, props: JSON, where: Where) -> Made:
        name = props.get("AlarmName") or where.generated_name(logical_id, limit=255)
        params = _alarm_params(name, props)
        if props.get("Tags"):
            params["Tags"] = _tags_list(props["Tags"])
        await self.call("cloudwatch", "PutMetricAlarm", params, where)
        return Made(name, {"Arn": f"arn:aws:cloudwatch:{where.region}:{where.account}:alarm:{name}"})

    async def update(self, logical_id: str, made: Made, old: JSON, new: JSON, where: Where) -> Made:
        if self.must_replace(old, new):
            raise NeedsReplacement
        await self.call("cloudwatch", "PutMetricAlarm", _alarm_params(made.physical_id, new), where)
        return made

    async def delete(self, made: Made, props: JSON, where: Where) -> None:
        await self.quietly("cloudwatch", "DeleteAlarms", {"AlarmNames": [made.physical_id]}, where)


class CompositeAlarm(Provider):
    type = "AWS::CloudWatch::CompositeAlarm"
    replaced_by = frozenset({"AlarmName"})
    _fields = ("AlarmRule", "AlarmDescription", "OKActions", "AlarmActions", "InsufficientDataActions")

    def _params(self, name: str, props: JSON) -> JSON:
        params: JSON = {"AlarmName": name, **_pick(props, *self._fields)}
        if props.get("ActionsEnabled") is not None:
            params["ActionsEnabled"] = _boolean(props["ActionsEnabled"])
        return params

    async def create(self, logical_id: str, props: JSON, where: Where) -> Made:
        name = props.get("AlarmName") or where.generated_name(logical_id, limit=255)
        await self.call("cloudwatch", "PutCompositeAlarm", self._params(name, props), where)
        return Made(name, {"Arn": f"arn:aws:cloudwatch:{where.region}:{where.account}:alarm:{name}"})

    async def update(self, logical_id: str, made: Made, old: JSON, new: JSON, where: Where) -> Made:
        if self.must_replace(old, new):
            raise NeedsReplacement
        await self.call("cloudwatch", "PutCompositeAlarm", self._params(made.physical_id, new), where)
        return made

    async def delete(self, made: Made, props: JSON, where: Where) -> None:
        await self.quietly("cloudwatch", "DeleteAlarms", {"AlarmNames": [made.physical_id]}, where)


class LogGroup(Provider):
    type = "AWS::Logs::LogGroup"
    replaced_by = frozenset({"LogGroupName"})

    async def create(self, logical_id: str, props: JSON, where: Where) -> Made:
        name = props.get("LogGroupName") or where.generated_name(logical_id, limit=512)
        params: JSON = {"logGroupName": name}
        if props.get("Tags"):
            params["tags"] = _tags_map(props["Tags"])
        await self.call("logs", "CreateLogGroup", params, where)
        await self._retention(name, props, {}, where)
        return Made(name, {"Arn": f"arn:aws:logs:{where.region}:{where.account}:log-group:{name}:*"})

    async def _retention(self, name: str, props: JSON, old: JSON, where: Where) -> None:
        days = props.get("RetentionInDays")
        if days is not None:
            params = {"logGroupName": name, "retentionInDays": _number(days, int)}
            await self.call("logs", "PutRetentionPolicy", params, where)
        elif old.get("RetentionInDays") is not None:
            await self.call("logs", "DeleteRetentionPolicy", {"logGroupName": name}, where)

    async def update(self, logical_id: str, made: Made, old: JSON, new: JSON, where: Where) -> Made:
        if self.must_replace(old, new):
            raise NeedsReplacement
        await self._retention(made.physical_id, new, old, where)
        return made

    async def delete(self, made: Made, props: JSON, where: Where) -> None:
        await self.quietly("logs", "DeleteLogGroup", {"logGroupName": made.physical_id}, where)
