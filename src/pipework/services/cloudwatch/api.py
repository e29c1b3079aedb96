"""`CloudWatch`: the served ``cloudwatch`` API (smithy-rpc-v2-cbor, as current SDKs speak it): metrics
(PutMetricData, ListMetrics, GetMetricStatistics, GetMetricData), alarms (`alarms.py`) and their evaluation
(`runtime.py`), over the instance's metric `Recorder`, which the other services record AWS's metrics into.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

from pipework.clock import Clock
from pipework.connectors.targets.registry import Targets
from pipework.engine.metrics import Aggregate, Recorder, sorted_dimensions
from pipework.services.base import Handler, RequestContext, ServiceError, dispatch
from pipework.store.base import Store

from . import queries
from .alarms import Alarms
from .errors import invalid_combination, invalid_token, invalid_value
from .runtime import Evaluator

#: CloudWatch rejects values whose magnitude is beyond 2^360 (and NaN / infinity).
MAX_VALUE = 2.0**360
MIN_MAGNITUDE = 2.0**-260
#: ListMetrics' page size.
LIST_PAGE = 500


class CloudWatch:
    """The ``cloudwatch`` service of an instance.

    Parameters: `store`, `clock`, the instance's; `recorder`, where every service records its metrics (read here);
    `targets`, where alarm actions and state-change events go.
    """

    name = "cloudwatch"

    def __init__(self, store: Store, clock: Clock, *, recorder: Recorder, targets: Targets) -> None:
        self.store = store
        self.clock = clock
        self.recorder = recorder
        self.alarms = Alarms(store, clock, recorder, targets)
        self.evaluator = Evaluator(self.alarms, recorder)

    async def start(self) -> None:
        """Load the alarms and start evaluating them (the recorder is the instance's: it starts and stops it)."""
        await self.alarms.load()
        self.evaluator.start()

    async def stop(self) -> None:
        await self.evaluator.stop()

    @staticmethod
    def unknown_operation(operation: str) -> ServiceError:
        return ServiceError(
            "InvalidParameterValueException",
            f"Pipework does not serve the CloudWatch operation {operation}.",
            400,
        )

    async def handle(self, operation: str, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        return await dispatch(self, operation, params, ctx)

    # -- metrics ---------------------------------------------------------------------------------------------------
    async def op_PutMetricData(self, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        namespace = params["Namespace"]
        if namespace.startswith("AWS/"):
            raise invalid_value(f"The value {namespace} for parameter Namespace is invalid.")
        data = params.get("MetricData") or []
        if not data and not params.get("EntityMetricData"):
            raise ServiceError(
                "MissingRequiredParameterException", "The parameter MetricData is required.", 400
            )
        now = self.clock.now()
        accepted: list[tuple[Any, float, Aggregate]] = []
        for index, datum in enumerate(data, 1):
            where = f"MetricData.member.{index}"
            at = datum["Timestamp"].timestamp() if "Timestamp" in datum else now
            if at < now - 14 * 86_400 or at > now + 2 * 3600:
                raise invalid_value(
                    f"The parameter {where}.Timestamp must specify a time no more than two weeks in the past "
                    "and no more than two hours in the future."
                )
            aggregate = Aggregate(datum.get("Unit", "None"))
            given = [k for k in ("Value", "Values", "StatisticValues") if k in datum]
            if len(given) > 1:
                raise invalid_combination(
                    f"The parameters {where}.{given[0]} and {where}.{given[1]} are mutually exclusive and you "
                    "have specified both."
                )
            if "Value" in datum:
                aggregate.add(_value(datum["Value"], f"{where}.Value"))
            elif "Values" in datum:
                values = datum["Values"]
                counts = datum.get("Counts") or [1.0] * len(values)
                if len(counts) != len(values):
                    raise invalid_value(
                        f"The parameters {where}.Values and {where}.Counts must be of the same size."
                    )
                for value, times in zip(values, counts):
                    if times < 0:
                        raise invalid_value(f"The parameter {where}.Counts must not hold negative numbers.")
                    aggregate.add(_value(value, f"{where}.Values"), float(times))
            elif "StatisticValues" in datum:
                stats = datum["StatisticValues"]
                for name in ("SampleCount", "Sum", "Minimum", "Maximum"):
                    _value(stats[name], f"{where}.StatisticValues.{name}")
                if stats["Minimum"] > stats["Maximum"]:
                    raise invalid_value(
                        f"The parameter {where}.StatisticValues.Maximum must be greater than "
                        f"{where}.StatisticValues.Minimum."
                    )
                aggregate.add_set(stats["SampleCount"], stats["Sum"], stats["Minimum"], stats["Maximum"])
            else:
                raise ServiceError(
                    "MissingRequiredParameterException",
                    f"The parameter {where}.Value is required.",
                    400,
                )
            dims = sorted_dimensions(datum.get("Dimensions"))
            if len({k for k, _ in dims}) != len(dims):
                raise invalid_value(f"The parameter {where}.Dimensions has a dimension name twice.")
            series = (ctx.account, ctx.region, namespace, datum["MetricName"], dims)
            accepted.append((series, at, aggregate))
        for series, at, aggregate in accepted:
            if aggregate.count:
                self.recorder.add_aggregate(series, at, aggregate)
        return {}

    async def op_ListMetrics(self, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        metrics = await self.recorder.metrics(ctx.account, ctx.region)
        namespace, name = params.get("Namespace"), params.get("MetricName")
        filters = params.get("Dimensions") or []
        selected = []
        for metric in metrics:
            if namespace is not None and metric.namespace != namespace:
                continue
            if name is not None and metric.name != name:
                continue
            dims = dict(metric.dimensions)
            if any(
                f["Name"] not in dims or ("Value" in f and dims[f["Name"]] != f["Value"]) for f in filters
            ):
                continue
            selected.append(metric)
        if params.get("RecentlyActive"):
            # Every metric with datapoints flushed in the last three hours.
            cutoff = self.clock.now() - 3 * 3600
            recent = []
            for metric in selected:
                if await self.recorder.read(ctx.account, ctx.region, metric, cutoff, self.clock.now() + 60):
                    recent.append(metric)
            selected = recent
        selected.sort(key=lambda m: (m.namespace, m.name, m.dimensions))
        start = 0
        token = params.get("NextToken")
        if token:
            if not token.startswith("ListMetrics:") or not token[12:].isdigit():
                raise invalid_token()
            start = int(token[12:])
        page = selected[start : start + LIST_PAGE]
        out: dict[str, Any] = {"Metrics": [m.to_api() for m in page]}
        if start + LIST_PAGE < len(selected):
            out["NextToken"] = f"ListMetrics:{start + LIST_PAGE}"
        return out

    async def op_GetMetricStatistics(self, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        result: dict[str, Any] = await queries.get_metric_statistics(
            self.recorder, ctx.account, ctx.region, params
        )
        return result

    async def op_GetMetricData(self, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        result: dict[str, Any] = await queries.get_metric_data(self.recorder, ctx.account, ctx.region, params)
        return result

    # -- alarms ----------------------------------------------------------------------------------------------------
    async def op_PutMetricAlarm(self, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        await self.alarms.put_metric_alarm(params, ctx.account, ctx.region)
        return {}

    async def op_PutCompositeAlarm(self, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        await self.alarms.put_composite_alarm(params, ctx.account, ctx.region)
        return {}

    async def op_DescribeAlarms(self, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        return self.alarms.describe(params, ctx.account, ctx.region)

    async def op_DescribeAlarmsForMetric(self, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        return self.alarms.describe_for_metric(params, ctx.account, ctx.region)

    async def op_DescribeAlarmHistory(self, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        return await self.alarms.history(params, ctx.account, ctx.region)

    async def op_DeleteAlarms(self, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        await self.alarms.delete(params["AlarmNames"], ctx.account, ctx.region)
        return {}

    async def op_SetAlarmState(self, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        await self.alarms.set_state(params, ctx.account, ctx.region)
        return {}

    async def op_EnableAlarmActions(self, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        await self.alarms.set_actions_enabled(params["AlarmNames"], True, ctx.account, ctx.region)
        return {}

    async def op_DisableAlarmActions(self, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        await self.alarms.set_actions_enabled(params["AlarmNames"], False, ctx.account, ctx.region)
        return {}

    async def op_TagResource(self, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        await self.alarms.tag(params["ResourceARN"], params["Tags"])
        return {}

    async def op_UntagResource(self, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        await self.alarms.untag(params["ResourceARN"], params["TagKeys"])
        return {}

    async def op_ListTagsForResource(self, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        alarm = self.alarms.alarm_of_arn(params["ResourceARN"])
        return {"Tags": list(alarm.get("Tags") or ())}

    operations: ClassVar[Mapping[str, Handler]] = {
        "PutMetricData": op_PutMetricData,
        "ListMetrics": op_ListMetrics,
        "GetMetricStatistics": op_GetMetricStatistics,
        "GetMetricData": op_GetMetricData,
        "PutMetricAlarm": op_PutMetricAlarm,
        "PutCompositeAlarm": op_PutCompositeAlarm,
        "DescribeAlarms": op_DescribeAlarms,
        "DescribeAlarmsForMetric": op_DescribeAlarmsForMetric,
        "DescribeAlarmHistory": op_DescribeAlarmHistory,
        "DeleteAlarms": op_DeleteAlarms,
        "SetAlarmState": op_SetAlarmState,
        "EnableAlarmActions": op_EnableAlarmActions,
        "DisableAlarmActions": op_DisableAlarmActions,
        "TagResource": op_TagResource,
        "UntagResource": op_UntagResource,
        "ListTagsForResource": op_ListTagsForResource,
    }


def _value(value: float, where: str) -> float:
    if not math.isfinite(value) or abs(value) > MAX_VALUE or (value != 0 and abs(value) < MIN_MAGNITUDE):
        raise invalid_value(f"The value {value} for parameter {where} is invalid.")
    return float(value)
