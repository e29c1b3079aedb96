"""The X-Ray trace header as a trace context, and spans recorded under it (opentelemetry-sdk's in-memory exporter):
ids chosen before a span ends are the ids it gets, a header without a Parent makes a root span in its trace, and a
delivery attempt's span is what its message carries while its target runs."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from pipework.engine.envelope import Envelope
from pipework.engine.middleware import Chain, Park, Result
from pipework.engine.retry import RetryPolicy
from pipework.engine.tracing import ATTEMPT, DeliveryTracing, TraceContext, Tracer, carried

HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
TRACE_ID = 0x5759E988BD862E3FE1BE46A994272793


@pytest.fixture
def spans() -> tuple[Tracer, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    return Tracer(SimpleSpanProcessor(exporter)), exporter


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (HEADER, TraceContext(TRACE_ID, 0x53995C3F42CD8AD8, True)),
        ("Root=1-5759e988-bd862e3fe1be46a994272793", TraceContext(TRACE_ID, 0, True)),
        ("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0", TraceContext(TRACE_ID, 0, False)),
        ("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=?;Lineage=a:1", TraceContext(TRACE_ID, 0, True)),
        (
            " Parent=53995c3f42cd8ad8 ; Root=1-5759e988-bd862e3fe1be46a994272793",
            TraceContext(TRACE_ID, 0x53995C3F42CD8AD8),
        ),
        ("Root=1-5759e988-bd862e3f", None),
        ("Root=2-5759e988-bd862e3fe1be46a994272793", None),
        ("garbage", None),
        ("", None),
        (None, None),
    ],
)
def test_a_trace_header_parses_to_its_root_parent_and_sampling(header: str | None, expected: Any) -> None:
    assert TraceContext.parse(header) == expected


def test_a_context_writes_back_the_header_it_was_read_from() -> None:
    context = TraceContext.parse(HEADER)
    assert context is not None and context.header() == HEADER
    assert TraceContext(TRACE_ID).header() == "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"


def test_a_new_trace_starts_with_the_epoch_second_as_x_ray_does() -> None:
    context = TraceContext.new(1_800_000_000.5)
    assert context.trace_id >> 96 == 1_800_000_000 and context.span_id == 0
    assert TraceContext.parse(context.header()) == context


def test_a_span_gets_the_ids_chosen_for_it_and_its_parent(spans: Any) -> None:
    tracer, exporter = spans
    parent = TraceContext.parse(HEADER)
    assert parent is not None
    child = tracer.span("hop", parent, 10.0, 11.0, {"k": "v"}, span_id=0xABC)
    assert child == TraceContext(TRACE_ID, 0xABC)
    (span,) = exporter.get_finished_spans()
    assert (span.context.trace_id, span.context.span_id, span.parent.span_id) == (
        TRACE_ID,
        0xABC,
        parent.span_id,
    )
    assert (span.start_time, span.end_time) == (10 * 10**9, 11 * 10**9)


def test_a_header_without_a_parent_makes_a_root_span_in_its_trace(spans: Any) -> None:
    tracer, exporter = spans
    tracer.span("root", TraceContext(TRACE_ID), 0.0, 0.0, {})
    (span,) = exporter.get_finished_spans()
    assert span.context.trace_id == TRACE_ID and span.parent is None


def test_an_unsampled_context_records_nothing(spans: Any) -> None:
    tracer, exporter = spans
    tracer.span("quiet", TraceContext(TRACE_ID, 5, sampled=False), 0.0, 0.0, {})
    assert tracer.ingest("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0", 0.0) is None
    assert exporter.get_finished_spans() == ()


def test_the_message_of_a_traced_attempt_names_the_attempt_span(spans: Any) -> None:
    tracer, exporter = spans
    chain = Chain([DeliveryTracing(tracer, "deliver", lambda delivery: TraceContext.parse(delivery.body))])
    delivery = Envelope("arn:aws:sqs:us-east-1:000000000000:q", 0.0, RetryPolicy(0), HEADER)
    assert carried(HEADER) == HEADER  # no attempt running: the stored header as it is
    assert chain.before(delivery) is None
    sent = carried(HEADER)  # what the target gets while the attempt runs
    chain.after(delivery, Result(at=1.0, duration=0.5))
    assert ATTEMPT.get() is None
    (span,) = exporter.get_finished_spans()
    assert sent == f"Root=1-5759e988-bd862e3fe1be46a994272793;Parent={span.context.span_id:016x};Sampled=1"
    assert span.parent.span_id == 0x53995C3F42CD8AD8


def test_a_parked_attempt_is_no_span(spans: Any) -> None:
    tracer, exporter = spans
    chain = Chain([DeliveryTracing(tracer, "deliver", lambda delivery: TraceContext.parse(delivery.body))])
    delivery = Envelope("t", 0.0, RetryPolicy(0), HEADER)
    chain.before(delivery)
    chain.after(delivery, Result(at=1.0, parked=Park(None)))
    assert exporter.get_finished_spans() == () and ATTEMPT.get() is None
