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


# ── one trace per event, across a queue, a pipe and a second bus ──────────────────────────────────────────────

ROOT = "1-5759e988-bd862e3fe1be46a994272793"
PARENT = "53995c3f42cd8ad8"
TRACE_ID = bytes.fromhex("5759e988bd862e3fe1be46a994272793")
ROLE = "arn:aws:iam::000000000000:role/r"


def with_trace_header(client: Any, operation: str, header: str) -> Any:
    """`client` sending ``X-Amzn-Trace-Id: header`` on every `operation` request (as an X-Ray SDK would)."""

    def add(request: Any, **_: Any) -> None:
        request.headers["X-Amzn-Trace-Id"] = header

    client.meta.events.register(f"before-sign.{client.meta.service_model.endpoint_prefix}.{operation}", add)
    return client


def relay_through_queue_pipe_and_bus(server: Any) -> list[Any]:
    """PutEvents → rule ``to-queue`` → queue ``relay`` → pipe ``forward`` → bus ``second`` → rule ``final`` →
    function ``sink``; returns the events the sink received."""
    sqs = server.client("sqs")
    url = sqs.create_queue(QueueName="relay")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = server.client("events")
    bus_arn = events.create_event_bus(Name="second")["EventBusArn"]
    events.put_rule(Name="to-queue", EventPattern=json.dumps({"source": ["plant"]}))
    events.put_targets(Rule="to-queue", Targets=[{"Id": "q", "Arn": queue_arn}])
    events.put_rule(
        Name="final", EventBusName="second", EventPattern=json.dumps({"source": ["Pipe forward"]})
    )
    events.put_targets(Rule="final", EventBusName="second", Targets=[{"Id": "f", "Arn": FN + "sink"}])
    server.client("pipes").create_pipe(Name="forward", Source=queue_arn, Target=bus_arn, RoleArn=ROLE)
    return []


def spans_by_name(collector: Collector) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for span in collector.spans:
        found.setdefault(span.name, []).append(span)
    return found


def assert_one_chain(collector: Collector, *, request_parent: bytes) -> bytes:
    """Every span is in one trace and each hop is the child of the one before it; returns the trace id."""
    spans = spans_by_name(collector)
    assert sorted((name, len(found)) for name, found in spans.items()) == [
        ("events.deliver", 2),
        ("events.ingest", 2),
        ("events.match", 2),
        ("pipes.execution", 1),
        ("pipes.target", 1),
    ]
    assert len({span.trace_id for span in collector.spans}) == 1
    by_id = {span.span_id: span for span in collector.spans}
    assert len(by_id) == len(collector.spans)  # every span its own id

    def parent(span: Any) -> Any:
        return by_id[span.parent_span_id]

    def attribute(span: Any, key: str) -> Any:
        return {a.key: a.value.string_value or a.value.int_value for a in span.attributes}[key]

    final = next(s for s in spans["events.deliver"] if attribute(s, "pipework.target").endswith("sink"))
    chain = [final]
    while chain[-1].parent_span_id in by_id:
        chain.append(parent(chain[-1]))
    assert [span.name for span in reversed(chain)] == [
        "events.ingest",  # PutEvents on the default bus
        "events.match",
        "events.deliver",  # to the queue
        "pipes.execution",  # the pipe reading the queue's message
        "pipes.target",
        "events.ingest",  # the pipe's PutEvents on the second bus
        "events.match",
        "events.deliver",  # to the function
    ]
    assert chain[-1].parent_span_id == request_parent
    assert attribute(chain[-1], "pipework.bus").endswith("event-bus/default")
    assert attribute(chain[2], "pipework.bus").endswith("event-bus/second")
    return bytes(chain[0].trace_id)


def test_put_events_with_a_trace_header_is_one_trace_through_a_queue_a_pipe_and_a_second_bus(
    collector: Collector,
) -> None:
    received: list[Any] = []
    endpoint = f"http://127.0.0.1:{collector.server_address[1]}"
    settings = Settings(memory=True, otlp_endpoint=endpoint)
    functions = {"sink": lambda event, context: received.append(event)}
    with serve_in_thread(settings, clock=ManualClock(start=1_800_000_000.0), functions=functions) as server:
        relay_through_queue_pipe_and_bus(server)
        events = with_trace_header(
            server.client("events"), "PutEvents", f"Root={ROOT};Parent={PARENT};Sampled=1"
        )
        events.put_events(Entries=[{"Source": "plant", "DetailType": "reading", "Detail": "{}"}])
        server.advance(5)
        server.advance(5)
        assert len(received) == 1
    # The X-Ray Root is the trace id; its Parent the parent of the ingest span.
    assert assert_one_chain(collector, request_parent=bytes.fromhex(PARENT)) == TRACE_ID


def test_put_events_without_a_header_starts_one_trace_at_ingest_that_the_queue_and_pipe_carry(
    collector: Collector,
) -> None:
    received: list[Any] = []
    endpoint = f"http://127.0.0.1:{collector.server_address[1]}"
    settings = Settings(memory=True, otlp_endpoint=endpoint)
    functions = {"sink": lambda event, context: received.append(event)}
    with serve_in_thread(settings, clock=ManualClock(start=1_800_000_000.0), functions=functions) as server:
        relay_through_queue_pipe_and_bus(server)
        server.client("events").put_events(
            Entries=[{"Source": "plant", "DetailType": "reading", "Detail": "{}"}]
        )
        server.advance(5)
        server.advance(5)
        assert len(received) == 1
    trace_id = assert_one_chain(collector, request_parent=b"")  # the ingest span is the trace's root
    assert trace_id[:4] == (1_800_000_000).to_bytes(4, "big")  # an X-Ray style id: the epoch second first


def test_the_queue_message_carries_the_delivering_attempt_as_its_trace_header_parent(
    collector: Collector,
) -> None:
    endpoint = f"http://127.0.0.1:{collector.server_address[1]}"
    with serve_in_thread(Settings(memory=True, otlp_endpoint=endpoint), clock=ManualClock()) as server:
        sqs = server.client("sqs")
        url = sqs.create_queue(QueueName="q")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events = server.client("events")
        events.put_rule(Name="r", EventPattern=json.dumps({"source": ["plant"]}))
        events.put_targets(Rule="r", Targets=[{"Id": "q", "Arn": arn}])
        with_trace_header(events, "PutEvents", f"Root={ROOT};Parent={PARENT};Sampled=1")
        events.put_events(Entries=[{"Source": "plant", "DetailType": "d", "Detail": "{}"}])
        server.advance(1)
        message = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["AWSTraceHeader"])[
            "Messages"
        ][0]
    deliver = spans_by_name(collector)["events.deliver"][0]
    assert message["Attributes"]["AWSTraceHeader"] == f"Root={ROOT};Parent={deliver.span_id.hex()};Sampled=1"


def test_a_message_sent_with_a_trace_header_puts_the_pipe_execution_under_its_parent(
    collector: Collector,
) -> None:
    endpoint = f"http://127.0.0.1:{collector.server_address[1]}"
    functions = {"target": lambda event, context: None}
    with serve_in_thread(
        Settings(memory=True, otlp_endpoint=endpoint), clock=ManualClock(), functions=functions
    ) as server:
        sqs = with_trace_header(server.client("sqs"), "SendMessage", f"Root={ROOT};Parent={PARENT};Sampled=1")
        url = sqs.create_queue(QueueName="readings")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        server.client("pipes").create_pipe(Name="p", Source=arn, Target=FN + "target", RoleArn=ROLE)
        sqs.send_message(QueueUrl=url, MessageBody="{}")
        server.advance(5)
    spans = spans_by_name(collector)
    execution, target = spans["pipes.execution"][0], spans["pipes.target"][0]
    assert bytes(execution.trace_id) == TRACE_ID and bytes(target.trace_id) == TRACE_ID
    assert execution.parent_span_id == bytes.fromhex(PARENT)
    assert target.parent_span_id == execution.span_id


def test_an_unsampled_trace_header_records_nothing_and_goes_on_unchanged(collector: Collector) -> None:
    endpoint = f"http://127.0.0.1:{collector.server_address[1]}"
    header = f"Root={ROOT};Parent={PARENT};Sampled=0"
    with serve_in_thread(Settings(memory=True, otlp_endpoint=endpoint), clock=ManualClock()) as server:
        sqs = server.client("sqs")
        url = sqs.create_queue(QueueName="q")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events = server.client("events")
        events.put_rule(Name="r", EventPattern=json.dumps({"source": ["plant"]}))
        events.put_targets(Rule="r", Targets=[{"Id": "q", "Arn": arn}])
        with_trace_header(events, "PutEvents", header)
        events.put_events(Entries=[{"Source": "plant", "DetailType": "d", "Detail": "{}"}])
        server.advance(1)
        message = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["AWSTraceHeader"])[
            "Messages"
        ][0]
    assert message["Attributes"]["AWSTraceHeader"] == header
    assert collector.spans == []
