"""``GET /metrics`` in the Prometheus text format: AWS's metrics as labelled series, counters with ``_total``,
durations as summaries, queue depths as gauges, and process metrics; parsed with prometheus-client's parser."""

from __future__ import annotations

import json
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from pipework.clock import ManualClock

START = 1_800_000_000.0
FN = "arn:aws:lambda:us-east-1:000000000000:function:"


def scrape(server: Any) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    response = httpx.get(server.endpoint_url + "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def test_prometheus_scrapes_pipe_rule_queue_and_table_series(make_server: Any) -> None:
    server = make_server(clock=ManualClock(start=START))
    server.pipework.functions.register("broken", lambda event, context: 1 / 0)
    server.pipework.functions.register("ok", lambda event, context: None)
    sqs = server.client("sqs")
    url = sqs.create_queue(QueueName="readings", Attributes={"VisibilityTimeout": "3600"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    server.client("pipes").create_pipe(
        Name="P", Source=arn, Target=FN + "broken", RoleArn="arn:aws:iam::000000000000:role/r"
    )
    events = server.client("events")
    events.put_rule(Name="R", EventPattern=json.dumps({"source": ["s"]}))
    events.put_targets(Rule="R", Targets=[{"Id": "t", "Arn": FN + "ok"}])
    events.put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}"}])
    sqs.send_message(QueueUrl=url, MessageBody="{}")
    server.advance(60)
    series = scrape(server)
    assert series["pipework_pipes_execution_failed_total"][(("pipe", "P"), ("region", "us-east-1"))] >= 1
    assert series["pipework_events_invocations_total"][(("region", "us-east-1"), ("rule", "R"))] == 1
    assert (
        series["pipework_sqs_number_of_messages_sent_total"][(("queue", "readings"), ("region", "us-east-1"))]
        == 1
    )
    assert (
        series["pipework_sqs_approximate_number_of_messages_not_visible"][
            (("queue", "readings"), ("region", "us-east-1"))
        ]
        == 1
    )
    assert "pipework_events_ingestion_to_invocation_start_latency_count" in series
    assert "process_cpu_seconds_total" in series or "python_gc_objects_collected_total" in series


def test_the_grafana_dashboard_reads_series_pipework_exports() -> None:
    import re
    from pathlib import Path

    from pipework.api.prometheus import series_name

    dashboard = json.loads((Path(__file__).parents[2] / "docs" / "grafana-dashboard.json").read_text())
    used = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\bpipework_[a-z_]+", target["expr"])
    }
    exported = {
        series_name(namespace, metric) + suffix
        for namespace, metric in [
            ("AWS/EventBridge/Pipes", "ExecutionFailed"),
            ("AWS/EventBridge/Pipes", "ExecutionThrottled"),
            ("AWS/EventBridge/Pipes", "ExecutionTimeout"),
            ("AWS/EventBridge/Pipes", "Invocations"),
            ("AWS/Events", "Invocations"),
            ("AWS/Events", "FailedInvocations"),
            ("AWS/Events", "IngestionToInvocationStartLatency"),
            ("AWS/Scheduler", "InvocationAttemptCount"),
            ("AWS/Scheduler", "TargetErrorCount"),
            ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
            ("AWS/SQS", "ApproximateNumberOfMessagesNotVisible"),
            ("AWS/SQS", "ApproximateAgeOfOldestMessage"),
            ("AWS/DynamoDB", "SuccessfulRequestLatency"),
            ("Pipework/Dispatcher", "InFlight"),
            ("AWS/Events", "ThrottledRules"),
            ("Pipework/Store", "CommitLatency"),
        ]
        for suffix in ("", "_total", "_sum", "_count")
    }
    assert used and used <= exported, used - exported
