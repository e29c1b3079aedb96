"""Metrics of Pipework's own machinery and AWS/Events ThrottledRules, read through CloudWatch (boto3
GetMetricData / ListMetrics) and Prometheus (``GET /metrics``): store commit latency with percentiles, rule
deliveries held back by an API destination's rate limit or parked by an open circuit breaker, and deliveries in
flight per dispatcher queue."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pipework.clock import ManualClock
from pipework.testing import RunningServer
from support.http import Endpoint, wait_for

START = 1_800_000_000.0
FN = "arn:aws:lambda:us-east-1:000000000000:function:"


def at(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def metric_data(
    server: RunningServer,
    namespace: str,
    name: str,
    dimensions: dict[str, str],
    stats: list[str],
    *,
    start: float,
    end: float,
    period: int = 60,
) -> dict[str, list[float]]:
    """GetMetricData of one metric in several statistics: {stat: values, oldest first}."""
    metric = {
        "Namespace": namespace,
        "MetricName": name,
        "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
    }
    found = server.client("cloudwatch").get_metric_data(
        MetricDataQueries=[
            {"Id": f"q{i}", "MetricStat": {"Metric": metric, "Period": period, "Stat": stat}}
            for i, stat in enumerate(stats)
        ],
        StartTime=at(start),
        EndTime=at(end),
        ScanBy="TimestampAscending",
    )
    return {stats[int(r["Id"][1:])]: r["Values"] for r in found["MetricDataResults"]}


def scrape(server: RunningServer) -> str:
    return httpx.get(f"{server.endpoint_url}/metrics").text


def test_store_commit_latency_is_recorded_with_percentiles(make_server: Any) -> None:
    server = make_server(clock=ManualClock(start=START))
    sqs = server.client("sqs")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    for _ in range(5):
        sqs.send_message(QueueUrl=url, MessageBody="x")  # one commit each
    server.advance(60)
    found = metric_data(
        server,
        "Pipework/Store",
        "CommitLatency",
        {"Backend": "memory"},
        ["SampleCount", "p50", "p99", "Maximum"],
        start=START,
        end=START + 60,
    )
    assert found["SampleCount"][0] >= 6  # the queue and its messages (the server commits more besides)
    assert 0 <= found["p50"][0] <= found["p99"][0] <= found["Maximum"][0]
    # The recorder's own flushes are not timed: an idle minute records no commit latency.
    server.advance(120)
    idle = metric_data(
        server,
        "Pipework/Store",
        "CommitLatency",
        {"Backend": "memory"},
        ["SampleCount"],
        start=START + 120,
        end=START + 180,
    )
    assert idle["SampleCount"] == []
    scraped = scrape(server)
    assert 'pipework_store_commit_latency_count{backend="memory",region="us-east-1"}' in scraped
    assert 'pipework_store_commit_latency_sum{backend="memory",region="us-east-1"}' in scraped


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    served = Endpoint()
    yield served
    served.close()


def test_rule_deliveries_held_back_by_an_api_destination_rate_limit_count_as_throttled_rules(
    make_server: Any, endpoint: Endpoint
) -> None:
    clock = ManualClock(start=START)
    server = make_server(clock=clock)
    events = server.client("events")
    connection = events.create_connection(
        Name="hook",
        AuthorizationType="API_KEY",
        AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "secret"}},
    )
    destination = events.create_api_destination(
        Name="hook",
        ConnectionArn=connection["ConnectionArn"],
        InvocationEndpoint=endpoint.url + "/hook",
        HttpMethod="POST",
        InvocationRateLimitPerSecond=1,
    )["ApiDestinationArn"]
    events.put_rule(Name="orders", EventPattern=json.dumps({"source": ["orders"]}))
    events.put_targets(Rule="orders", Targets=[{"Id": "hook", "Arn": destination}])
    events.put_rule(Name="calm", EventPattern=json.dumps({"source": ["orders"]}))
    events.put_targets(Rule="calm", Targets=[{"Id": "f", "Arn": FN + "sink"}])
    server.pipework.functions.register("sink", lambda event, context: None)
    entry = {"Source": "orders", "DetailType": "Order", "Detail": "{}"}
    events.put_events(Entries=[entry, entry, entry])

    async def tick() -> None:
        clock.advance(1.0)

    # One call a second: the first goes at once, the two others wait for their slots.
    for second in range(3):
        wait_for(lambda second=second: len(endpoint.requests) > second)
        server.run(tick())
    server.advance(60)
    found = metric_data(
        server, "AWS/Events", "ThrottledRules", {"RuleName": "orders"}, ["Sum"], start=START, end=START + 60
    )
    assert found["Sum"] == [2.0]
    calm = metric_data(
        server, "AWS/Events", "ThrottledRules", {"RuleName": "calm"}, ["Sum"], start=START, end=START + 60
    )
    assert calm["Sum"] == []
    assert 'pipework_events_throttled_rules_total{region="us-east-1",rule="orders"} 2.0' in scrape(server)


def test_rule_deliveries_parked_by_a_breaker_count_as_throttled_rules(make_server: Any) -> None:
    server = make_server(clock=ManualClock(start=START))
    server.pipework.functions.register("sink", lambda event, context: None)
    events = server.client("events")
    events.put_rule(Name="orders", EventPattern=json.dumps({"source": ["orders"]}))
    events.put_targets(Rule="orders", Targets=[{"Id": "f", "Arn": FN + "sink"}])
    base = f"{server.endpoint_url}/_pipework/breakers/sink"
    created = httpx.put(base, json={"Target": FN + "sink"})
    assert created.status_code == 200, created.text
    paused = httpx.post(f"{base}/pause", json={})
    assert paused.status_code == 200, paused.text
    entry = {"Source": "orders", "DetailType": "Order", "Detail": "{}"}
    events.put_events(Entries=[entry, entry])
    server.advance(60)
    found = metric_data(
        server, "AWS/Events", "ThrottledRules", {"RuleName": "orders"}, ["Sum"], start=START, end=START + 60
    )
    assert found["Sum"] == [2.0]


def test_deliveries_in_flight_are_sampled_per_dispatcher_queue(server: RunningServer) -> None:
    started, release = threading.Event(), threading.Event()

    def slow(event: Any, context: Any) -> None:
        started.set()
        release.wait(30)

    server.pipework.functions.register("slow", slow)
    events = server.client("events")
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["s"]}))
    events.put_targets(Rule="r", Targets=[{"Id": "f", "Arn": FN + "slow"}])
    events.put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}"}])
    try:
        assert started.wait(30)
        server.run(server.pipework.recorder.sample())  # what every minute boundary does
    finally:
        release.set()
    now = time.time()
    found = metric_data(
        server,
        "Pipework/Dispatcher",
        "InFlight",
        {"Queue": "events/deliveries"},
        ["Maximum"],
        start=now - 120,
        end=now + 60,
    )
    assert found["Maximum"] == [1.0]
    queues = {
        m["Dimensions"][0]["Value"]
        for m in server.client("cloudwatch").list_metrics(
            Namespace="Pipework/Dispatcher", MetricName="InFlight"
        )["Metrics"]
    }
    assert {"events/deliveries", "scheduler/invocations", "sns/delivery"} <= queues
    assert len(queues) >= 5  # Lambda's asynchronous invocations and SNS FIFO topics' deliveries too
