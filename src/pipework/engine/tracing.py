"""OpenTelemetry spans for an event's way through Pipework (ingest, matching, each delivery attempt), exported
over OTLP/HTTP when the server is given ``--otlp-endpoint``.

Every span of one event is in one trace, whose id is derived from the event's id (a schedule invocation's: its
execution id), under one synthetic parent span: so the ingest on one node and the delivery attempts on another,
minutes apart and across restarts, still join without carrying a context in the stored payloads. Times are the
instance clock's (a manual clock in tests). opentelemetry-sdk is imported only when tracing is on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from pipework.engine.envelope import Envelope
from pipework.engine.middleware import Middleware, Result

Attributes = Mapping[str, str | int | float | bool]


def _ids(key: str) -> tuple[int, int]:
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:16], "big") or 1, int.from_bytes(digest[16:24], "big") or 1


class Tracer:
    """Records spans through an OpenTelemetry tracer provider; build one with `Tracer.otlp(endpoint)`."""

    def __init__(self, provider: Any) -> None:
        self.provider = provider
        self._tracer = provider.get_tracer("pipework")

    @classmethod
    def otlp(cls, endpoint: str, *, service_name: str = "pipework") -> Tracer:
        """Spans batched and exported to an OTLP/HTTP collector (``http://host:4318``; ``/v1/traces`` is added)."""
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        url = endpoint.rstrip("/")
        if not url.endswith("/v1/traces"):
            url += "/v1/traces"
        provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=url)))
        return cls(provider)

    def span(
        self,
        name: str,
        trace_key: str,
        start: float,
        end: float,
        attributes: Attributes,
        *,
        error: str | None = None,
    ) -> None:
        """One finished span in the trace of `trace_key` (an event id), from `start` to `end` (epoch seconds)."""
        from opentelemetry import trace
        from opentelemetry.trace import NonRecordingSpan, SpanContext, Status, StatusCode, TraceFlags

        trace_id, parent_id = _ids(trace_key)
        parent = SpanContext(trace_id, parent_id, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
        context = trace.set_span_in_context(NonRecordingSpan(parent))
        span = self._tracer.start_span(
            name, context=context, start_time=int(start * 1e9), attributes=dict(attributes)
        )
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, error))
        span.end(end_time=int(max(end, start) * 1e9))

    def shutdown(self) -> None:
        """Export what is buffered and stop."""
        self.provider.shutdown()


class DeliveryTracing(Middleware):
    """A span per delivery attempt, in the trace of the delivery's event (`trace_key` reads it from the body;
    None leaves the delivery untraced). Parameters: `tracer`, `name` (``events.deliver``), `trace_key`."""

    def __init__(self, tracer: Tracer, name: str, trace_key: Callable[[Envelope], str | None]) -> None:
        self.tracer = tracer
        self.name = name
        self.trace_key = trace_key

    def after(self, delivery: Envelope, result: Result) -> None:
        if result.parked is not None:
            return
        key = self.trace_key(delivery)
        if key is None:
            return
        attributes: dict[str, str | int | float | bool] = {
            "pipework.target": delivery.target,
            "pipework.attempt": delivery.attempt,
            "pipework.outcome": "succeeded" if result.error is None else "failed",
        }
        if result.error is not None:
            attributes["pipework.error_code"] = result.error.code
        self.tracer.span(
            self.name,
            key,
            result.at - result.duration,
            result.at,
            attributes,
            error=None if result.error is None else result.error.message,
        )
