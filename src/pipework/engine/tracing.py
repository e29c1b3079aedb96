"""OpenTelemetry spans for an event's way through Pipework (ingest, matching, each delivery attempt, each pipe
stage), exported over OTLP/HTTP when the server is given ``--otlp-endpoint``; and the X-Ray trace header
(``X-Amzn-Trace-Id``, a queue message's ``AWSTraceHeader``) that carries a trace from one hop to the next.

A trace is the X-Ray header's: its ``Root`` (``1-<8 hex>-<24 hex>``) is the W3C trace id (the 32 hex digits, dash
removed) and its ``Parent`` the parent span. Each hop records its span under the header it received and hands the
next hop a header naming its own span as ``Parent`` (as an X-Ray-instrumented service does), so a PutEvents, its
deliveries, the queue message one of them sends, the pipe execution reading it and the event that pipe puts on a
bus are one trace with correct parent links, across nodes and restarts (the header is stored with the deliveries
and messages). Without a header a trace is started at ingest; where no header can exist (a schedule's invocation,
a stream record) the trace id is derived from the invocation's or record's id. ``Sampled=0`` is respected: nothing
is recorded and the header goes on unchanged. Times are the instance clock's (a manual clock in tests).
opentelemetry-sdk is imported only when tracing is on: without it, the hot path only reads one context variable.
"""

from __future__ import annotations

import contextvars
import hashlib
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipework.engine.envelope import Envelope
from pipework.engine.middleware import Middleware, Park, Result

Attributes = Mapping[str, str | int | float | bool]

_ROOT = re.compile(r"1-([0-9a-fA-F]{8})-([0-9a-fA-F]{24})\Z")
_PARENT = re.compile(r"[0-9a-fA-F]{16}\Z")
_random = random.Random()


def new_span_id() -> int:
    return _random.getrandbits(64) or 1


@dataclass(frozen=True, slots=True)
class TraceContext:
    """A position in a trace: the trace id (128 bits) and the span the next span is a child of (0: none, the next
    span is a root of the trace); `sampled` False records nothing."""

    trace_id: int
    span_id: int = 0
    sampled: bool = True

    @classmethod
    def parse(cls, header: str | None) -> TraceContext | None:
        """The context an X-Ray trace header names (``Root=1-5759e988-bd862e3fe1be46a994272793;Parent=
        53995c3f42cd8ad8;Sampled=1``), or None if it has no valid Root. ``Sampled`` missing or ``?`` samples."""
        if not header:
            return None
        fields: dict[str, str] = {}
        for part in header.split(";"):
            key, _, value = part.strip().partition("=")
            fields[key] = value.strip()
        root = _ROOT.match(fields.get("Root", ""))
        if root is None:
            return None
        parent = fields.get("Parent", "")
        return cls(
            int(root.group(1) + root.group(2), 16),
            int(parent, 16) if _PARENT.match(parent) else 0,
            fields.get("Sampled") != "0",
        )

    @classmethod
    def new(cls, now: float) -> TraceContext:
        """A new trace, its id in X-Ray's form (the first 32 bits the epoch second)."""
        return cls(((int(now) & 0xFFFFFFFF) << 96) | _random.getrandbits(96))

    @classmethod
    def derived(cls, key: str) -> TraceContext:
        """The trace of something no header reached (a schedule's invocation, a stream record): its id and a
        synthetic parent span derived from `key`, so every span of it joins without carrying anything."""
        digest = hashlib.sha256(key.encode()).digest()
        return cls(int.from_bytes(digest[:16], "big") or 1, int.from_bytes(digest[16:24], "big") or 1)

    def child(self, span_id: int) -> TraceContext:
        """The context a span `span_id` in this trace gives its children."""
        return TraceContext(self.trace_id, span_id, self.sampled)

    def header(self) -> str:
        """This context as an X-Ray trace header (the next hop's ``X-Amzn-Trace-Id`` / ``AWSTraceHeader``)."""
        digits = f"{self.trace_id:032x}"
        out = f"Root=1-{digits[:8]}-{digits[8:]}"
        if self.span_id:
            out += f";Parent={self.span_id:016x}"
        return out + (";Sampled=1" if self.sampled else ";Sampled=0")


class _PresetIds:
    """The SDK's id generator: the ids Pipework chose for the next span (it hands a span's id downstream before the
    span ends), else random ones. Spans are made on the event loop's thread only."""

    def __init__(self) -> None:
        self.trace_id = 0
        self.span_id = 0

    def generate_span_id(self) -> int:
        return self.span_id or new_span_id()

    def generate_trace_id(self) -> int:
        return self.trace_id or (_random.getrandbits(128) or 1)

    def is_trace_id_random(self) -> bool:
        return True


class Tracer:
    """Records spans through an OpenTelemetry tracer provider whose spans go to `processor` (a span processor);
    `Tracer.otlp(endpoint)` batches them to an OTLP/HTTP collector."""

    def __init__(self, processor: Any, *, service_name: str = "pipework") -> None:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider

        self._ids = _PresetIds()
        self.provider = TracerProvider(
            resource=Resource.create({"service.name": service_name}),
            id_generator=self._ids,  # type: ignore[arg-type]  # duck-typed: the SDK calls its two methods
        )
        self.provider.add_span_processor(processor)
        self._tracer = self.provider.get_tracer("pipework")

    @classmethod
    def otlp(cls, endpoint: str, *, service_name: str = "pipework") -> Tracer:
        """Spans batched and exported to an OTLP/HTTP collector (``http://host:4318``; ``/v1/traces`` is added)."""
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        url = endpoint.rstrip("/")
        if not url.endswith("/v1/traces"):
            url += "/v1/traces"
        return cls(BatchSpanProcessor(OTLPSpanExporter(endpoint=url)), service_name=service_name)

    def span(
        self,
        name: str,
        parent: TraceContext,
        start: float,
        end: float,
        attributes: Attributes,
        *,
        span_id: int = 0,
        error: str | None = None,
        links: Sequence[TraceContext] = (),
    ) -> TraceContext:
        """One finished span, child of `parent` (a root of its trace when `parent.span_id` is 0), from `start` to
        `end` (epoch seconds), with id `span_id` (0: a new one); the context its children take. Nothing is
        recorded when `parent` is not sampled."""
        span_id = span_id or new_span_id()
        if not parent.sampled:
            return parent.child(span_id)
        from opentelemetry import trace
        from opentelemetry.context import Context
        from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, Status, StatusCode, TraceFlags

        sampled = TraceFlags(TraceFlags.SAMPLED)
        if parent.span_id:
            remote = SpanContext(parent.trace_id, parent.span_id, is_remote=True, trace_flags=sampled)
            context = trace.set_span_in_context(NonRecordingSpan(remote))
        else:
            context = Context()  # a root: the id generator gives it the trace id
        linked = [
            Link(SpanContext(other.trace_id, other.span_id or 1, is_remote=True, trace_flags=sampled))
            for other in links
        ]
        self._ids.trace_id, self._ids.span_id = parent.trace_id, span_id
        try:
            span = self._tracer.start_span(
                name, context=context, start_time=int(start * 1e9), attributes=dict(attributes), links=linked
            )
        finally:
            self._ids.trace_id = self._ids.span_id = 0
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, error))
        span.end(end_time=int(max(end, start) * 1e9))
        return parent.child(span_id)

    def ingest(self, header: str | None, now: float) -> Ingest | None:
        """The spans of one event put on a bus, in the trace `header` names (a new trace without one); None when
        that trace is not sampled (the header then goes on as it came)."""
        parent = TraceContext.parse(header) or TraceContext.new(now)
        if not parent.sampled:
            return None
        return Ingest(self, parent, new_span_id(), new_span_id(), now)

    def shutdown(self) -> None:
        """Export what is buffered and stop."""
        self.provider.shutdown()


@dataclass(slots=True)
class Ingest:
    """An event's ``events.ingest`` span (child of the request's parent) and ``events.match`` span (its child),
    their ids chosen up front: the deliveries carry `carried`, naming the match span as their parent."""

    tracer: Tracer
    parent: TraceContext
    ingest_id: int
    match_id: int
    start: float

    @property
    def carried(self) -> str:
        """The trace header stored with the event's deliveries."""
        return self.parent.child(self.match_id).header()

    def finish(self, bus_arn: str, event: Mapping[str, Any], rules: Sequence[str], end: float) -> None:
        """Record both spans once the event is committed (`rules`: the rules it matched)."""
        attributes: dict[str, str | int | float | bool] = {
            "pipework.bus": bus_arn,
            "pipework.source": str(event.get("source")),
            "pipework.event_id": str(event.get("id")),
        }
        ingested = self.tracer.span(
            "events.ingest", self.parent, self.start, end, attributes, span_id=self.ingest_id
        )
        matched = {**attributes, "pipework.rules": ",".join(rules), "pipework.matched": len(rules)}
        self.tracer.span("events.match", ingested, self.start, end, matched, span_id=self.match_id)


#: The delivery attempt running in this task while tracing: (its parent, its own context). Set by
#: `DeliveryTracing.before`, read by `carried` when the delivery's message is built, cleared by `after`.
ATTEMPT: contextvars.ContextVar[tuple[TraceContext, TraceContext] | None] = contextvars.ContextVar(
    "pipework_attempt", default=None
)


def carried(header: str | None) -> str | None:
    """The trace header a delivery's target gets: naming the running attempt's span when tracing, else `header`
    (the one the delivery was stored with) unchanged."""
    running = ATTEMPT.get()
    return header if running is None else running[1].header()


class DeliveryTracing(Middleware):
    """A span per delivery attempt, child of the delivery's trace context (`context` reads it from the delivery;
    None leaves it untraced); while the target runs, `carried` names the attempt's span. Goes last in the chain.
    Parameters: `tracer`, `name` (``events.deliver``), `context`."""

    def __init__(self, tracer: Tracer, name: str, context: Callable[[Envelope], TraceContext | None]) -> None:
        self.tracer = tracer
        self.name = name
        self.context = context

    def before(self, delivery: Envelope) -> Park | None:
        parent = self.context(delivery)
        # Not sampled: no span, and the stored header goes on unchanged.
        ATTEMPT.set(None if parent is None or not parent.sampled else (parent, parent.child(new_span_id())))
        return None

    def after(self, delivery: Envelope, result: Result) -> None:
        running = ATTEMPT.get()
        ATTEMPT.set(None)
        if running is None or result.parked is not None:
            return
        parent, own = running
        attributes: dict[str, str | int | float | bool] = {
            "pipework.target": delivery.target,
            "pipework.attempt": delivery.attempt,
            "pipework.outcome": "succeeded" if result.error is None else "failed",
        }
        if result.error is not None:
            attributes["pipework.error_code"] = result.error.code
        self.tracer.span(
            self.name,
            parent,
            result.at - result.duration,
            result.at,
            attributes,
            span_id=own.span_id,
            error=None if result.error is None else result.error.message,
        )
