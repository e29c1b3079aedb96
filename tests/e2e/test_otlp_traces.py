"""``--otlp-endpoint``: OpenTelemetry spans for an event's ingest, matching and every delivery attempt, exported
over OTLP/HTTP to a collector (here a local HTTP server decoding the protobuf requests), all in one trace."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from pipework.app import Settings
from pipework.clock import ManualClock
from pipework.testing import serve_in_thread

FN = "arn:aws:lambda:us-east-1:000000000000:function:"


class Collector(http.server.ThreadingHTTPServer):
    """An OTLP/HTTP receiver: the spans of every ``POST /v1/traces``."""

    def __init__(self) -> None:
        self.spans: list[Any] = []
        self.paths: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.paths.append(self.path)
                request = ExportTraceServiceRequest.FromString(body)
                for resource in request.resource_spans:
                    for scope in resource.scope_spans:
                        outer.spans.extend(scope.spans)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_an_events_ingest_match_and_attempts_are_one_trace(collector: Collector) -> None:
    attempts = {"n": 0}

    def flaky(event: Any, context: Any) -> None:
        attempts["n"] += 1
        if attempts["n"] == 1:
            raise RuntimeError("first attempt fails")

    endpoint = f"http://127.0.0.1:{collector.server_address[1]}"
    settings = Settings(memory=True, otlp_endpoint=endpoint)
    with serve_in_thread(
        settings, clock=ManualClock(start=1_800_000_000.0), functions={"flaky": flaky}
    ) as server:
        events = server.client("events")
        events.put_rule(Name="r", EventPattern=json.dumps({"source": ["s"]}))
        events.put_targets(Rule="r", Targets=[{"Id": "f", "Arn": FN + "flaky"}])
        event_id = events.put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}"}])["Entries"][
            0
        ]["EventId"]
        server.advance(600)  # the retry's backoff
        assert attempts["n"] == 2
    # Closing the server exported what was buffered.
    assert collector.paths and set(collector.paths) == {"/v1/traces"}
    names = sorted(span.name for span in collector.spans)
    assert names == ["events.deliver", "events.deliver", "events.ingest", "events.match"]
    assert len({span.trace_id for span in collector.spans}) == 1
    deliveries = sorted(
        (s for s in collector.spans if s.name == "events.deliver"), key=lambda s: s.start_time_unix_nano
    )
    outcomes = [
        {a.key: a.value.string_value or a.value.int_value for a in s.attributes}["pipework.outcome"]
        for s in deliveries
    ]
    assert outcomes == ["failed", "succeeded"]
    assert deliveries[0].start_time_unix_nano >= (1_800_000_000 - 1) * 10**9  # the clock's time, not the wall
    assert event_id


def test_a_pipe_execution_and_its_stages_are_spans_in_the_trace_of_its_first_record(
    collector: Collector,
) -> None:
    endpoint = f"http://127.0.0.1:{collector.server_address[1]}"
    settings = Settings(memory=True, otlp_endpoint=endpoint)
    delivered: list[Any] = []
    functions = {"target": lambda event, context: delivered.append(event)}
    with serve_in_thread(settings, clock=ManualClock(start=1_800_000_000.0), functions=functions) as server:
        sqs = server.client("sqs")
        url = sqs.create_queue(QueueName="readings")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        server.client("pipes").create_pipe(
            Name="p", Source=arn, Target=FN + "target", RoleArn="arn:aws:iam::000000000000:role/r"
        )
        sqs.send_message(QueueUrl=url, MessageBody="{}")
        server.advance(5)
        assert len(delivered) == 1
    names = sorted(span.name for span in collector.spans)
    assert names == ["pipes.execution", "pipes.target"]
    assert len({span.trace_id for span in collector.spans}) == 1
