"""``GET /metrics``: the instance's metrics in the Prometheus text format (prometheus-client), as labelled series
named ``pipework_<service>_<metric in snake case>``.

The series are the CloudWatch metrics every service records (`pipework.engine.metrics.Recorder`), totalled since
the process started: a count is a counter (``_total``), a duration or size a summary (``_sum``, ``_count``), a
level (queue depths, in-flight deliveries) a gauge of its latest minute (the maximum sampled in it). Dimensions become the labels ``bus``,
``rule``, ``pipe``, ``schedule_group``, ``queue``, ``table``, ``operation`` (others in snake case), plus
``region``. Process metrics (CPU, memory, file descriptors, GC) come from prometheus-client's collectors.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from starlette.requests import Request
from starlette.responses import Response

from pipework.engine.metrics import Recorder

if TYPE_CHECKING:
    from pipework.api.instance import Instance

#: Namespaces and the service part of their series' names.
SERVICES = {
    "AWS/Events": "events",
    "AWS/EventBridge/Pipes": "pipes",
    "AWS/Scheduler": "scheduler",
    "AWS/SQS": "sqs",
    "AWS/DynamoDB": "dynamodb",
}
#: Dimension names and their labels.
LABELS = {
    "EventBusName": "bus",
    "RuleName": "rule",
    "PipeName": "pipe",
    "ScheduleGroup": "schedule_group",
    "QueueName": "queue",
    "TableName": "table",
    "Operation": "operation",
    "BreakerName": "breaker",
}
COUNT_UNITS = frozenset({"Count", "None"})
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_INVALID = re.compile(r"[^a-zA-Z0-9_]")


def snake(name: str) -> str:
    """``ExecutionFailed`` → ``execution_failed``, ``NumberOfMessagesSent`` → ``number_of_messages_sent``."""
    return _INVALID.sub("_", _CAMEL.sub("_", name)).lower()


def series_name(namespace: str, metric: str) -> str:
    service = SERVICES.get(namespace)
    if service is None:
        parts = namespace.split("/")
        service = snake("_".join(parts[1:] if parts[0] == "Pipework" else ["custom", *parts]))
    return f"pipework_{service}_{snake(metric)}"


#: Metrics that are levels, not counts: a gauge of their latest minute.
GAUGES = frozenset({"InFlight", "Concurrency"})
#: Levels in one namespace only (Pipework/Dispatcher's ParkedDeliveries counts parks; a breaker's is a level).
NAMESPACE_GAUGES = frozenset({("Pipework/Breakers", "ParkedDeliveries"), ("Pipework/Breakers", "Open")})


def is_gauge(namespace: str, metric: str) -> bool:
    return metric.startswith("Approximate") or metric in GAUGES or (namespace, metric) in NAMESPACE_GAUGES


class RecorderCollector:
    """A prometheus-client collector reading the recorder's totals at each scrape."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def collect(self) -> Iterator[Metric]:
        families: dict[str, Any] = {}
        latest = self.recorder.live_latest()
        for (account, region, namespace, metric, dims), total in sorted(
            self.recorder.live_totals(), key=lambda item: item[0]
        ):
            name = series_name(namespace, metric)
            labels = {"region": region, **{LABELS.get(k, snake(k)): v for k, v in dims}}
            if namespace not in SERVICES and not namespace.startswith("Pipework/"):
                labels["namespace"] = namespace
            keys, values = list(labels), list(labels.values())
            family = families.get(name)
            if is_gauge(namespace, metric):
                if family is None:
                    family = families[name] = GaugeMetricFamily(name, f"{namespace} {metric}", labels=keys)
                current = latest.get((account, region, namespace, metric, dims), total)
                family.add_metric(values, current.maximum)
            elif total.unit in COUNT_UNITS:
                if family is None:
                    family = families[name] = CounterMetricFamily(name, f"{namespace} {metric}", labels=keys)
                family.add_metric(values, total.total)
            else:
                if family is None:
                    help_text = f"{namespace} {metric} ({total.unit})"
                    family = families[name] = SummaryMetricFamily(name, help_text, labels=keys)
                family.add_metric(values, count_value=int(total.count), sum_value=total.total)
        yield from families.values()


def registry_for(recorder: Recorder) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RecorderCollector(recorder))
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


def endpoint(current: Callable[[], Instance]) -> Callable[[Request], Response]:
    registries: dict[int, CollectorRegistry] = {}

    async def metrics(request: Request) -> Response:
        recorder = current().recorder
        registry = registries.get(id(recorder))
        if registry is None:
            registries.clear()
            registry = registries[id(recorder)] = registry_for(recorder)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return metrics  # type: ignore[return-value]
