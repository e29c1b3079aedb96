"""One execution of a pipe: a batch of source records through the filter, the enrichment and the target.

Pure of any source concern (no acks, checkpoints or retries: see `runner.py`): it reports which records failed
and why, stage by stage, which is also what ``pipework pipes invoke`` shows. Enrichment and target calls go
through a `Stages` object the service provides (it knows the connectors), each wrapped in the engine's middleware
chain (keyed by the enrichment / target ARN): a `before` hook may park the execution (`Outcome.parked`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from pipework.clock import Clock
from pipework.connectors.targets import TargetError
from pipework.engine.envelope import Envelope
from pipework.engine.middleware import Chain, Park, Result
from pipework.engine.retry import RetryPolicy
from pipework.engine.tracing import TraceContext, Tracer, new_span_id
from pipework.ids import random_uuid
from pipework.jsontypes import JSON
from pipework.transform import TransformError, parse_record_data, render_pipe_input

from .definition import PipeDefinition, record_id
from .execution_log import ExecutionLog
from .metrics import PipeMetrics


@dataclass
class TargetResult:
    """What a target reported: failed item positions (e.g. PutEvents entries that failed), ids from a
    partial batch response (``batchItemFailures``; an empty/None id = the whole batch), and the response."""

    failed_indices: list[int] = field(default_factory=list)
    failed_ids: list[str | None] | None = None
    response: Any = None


class Stages(Protocol):
    """How the engine reaches enrichments and targets (implemented by the pipes service with the connectors)."""

    async def enrich(self, pipe: PipeDefinition, payload: list[Any]) -> Any:
        """Call the enrichment with the batch array; its response, or `TargetError`."""
        ...

    async def deliver(
        self, pipe: PipeDefinition, items: list[Any], events: list[Any], trace: str | None = None
    ) -> TargetResult:
        """Send the transformed `items` to the target (`events` are the items before the target template, for
        dynamic parameters), carrying the X-Ray trace header `trace` where the target takes one (a queue
        message's AWSTraceHeader, a bus's PutEvents); raise `TargetError` when the whole batch failed."""
        ...


@dataclass
class Stage:
    """A stage's report: SUCCEEDED, FAILED, PARTIALLY_FAILED or SKIPPED, what it got and gave, how long."""

    name: str
    status: str
    input: Any = None
    output: Any = None
    error: JSON | None = None
    duration_ms: float = 0.0

    def to_json(self) -> JSON:
        out: JSON = {"Stage": self.name, "Status": self.status, "DurationMs": round(self.duration_ms, 3)}
        if self.input is not None:
            out["Input"] = self.input
        if self.output is not None:
            out["Output"] = self.output
        if self.error is not None:
            out["Error"] = self.error
        return out


@dataclass
class Outcome:
    """The result of one execution. `failed` holds the records to retry (in source order); `error` is the
    failure that made them fail (None for a partial batch response without an error)."""

    execution_id: str
    records: list[JSON]
    matched: list[JSON] = field(default_factory=list)
    failed: list[JSON] = field(default_factory=list)
    error: TargetError | None = None
    failed_stage: str | None = None
    stages: list[Stage] = field(default_factory=list)
    parked: Park | None = (
        None  # a middleware kept a stage from being called: nothing failed, run it again later
    )

    @property
    def succeeded(self) -> bool:
        return not self.failed and self.parked is None

    @property
    def status(self) -> str:
        if self.parked is not None:
            return "PARKED"
        if not self.matched:
            return "FILTERED"
        if not self.failed:
            return "SUCCEEDED"
        return "FAILED" if len(self.failed) == len(self.matched) else "PARTIALLY_FAILED"

    def to_json(self) -> JSON:
        out: JSON = {
            "ExecutionId": self.execution_id,
            "Status": self.status,
            "Stages": [stage.to_json() for stage in self.stages],
            "FailedRecords": self.failed,
        }
        if self.error is not None:
            out["Error"] = error_json(self.error)
        return out


def error_json(error: TargetError) -> JSON:
    return {"Code": error.code, "Message": error.message, "Retryable": error.retryable}


class Execution:
    """Runs batches of one pipe (see the module docstring).

    Parameters:
        pipe: the definition; stages: the enrichment and target callers; clock: time (ingestion time, logs).
        metrics: where counts go; log: the pipe's execution log.
        middleware: the chain around each enrichment and target call (default: none).
        tracer: where each execution's spans go (its stages, in the trace of its first record), or None.

    A record's trace is its X-Ray header (an SQS record's ``AWSTraceHeader``); the target gets the first record's
    (naming the target stage's span when tracing), so an event the pipe puts on a bus continues that trace.
    """

    def __init__(
        self,
        pipe: PipeDefinition,
        stages: Stages,
        clock: Clock,
        metrics: PipeMetrics,
        log: ExecutionLog,
        middleware: Chain | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        self.pipe = pipe
        self.stages = stages
        self.clock = clock
        self.metrics = metrics
        self.log = log
        self.chain = middleware or Chain()
        self.tracer = tracer

    def detached(self) -> Execution:
        """The same pipe, stages and log, counting into metrics of its own: a manual invocation (``pipes invoke``)
        is not one of the pipe's executions, so it stays out of the pipe's metrics."""
        return Execution(self.pipe, self.stages, self.clock, PipeMetrics(), self.log)

    def filter(self, records: list[JSON]) -> list[JSON]:
        """The records that pass the FilterCriteria (the others are dropped: deleted / checkpointed)."""
        if not self.pipe.filters:
            return records
        return [r for r in records if self.pipe.matches(r, parse_record_data(r))]

    async def run(
        self, records: list[JSON], *, trace: bool = False, delivery: Envelope | None = None
    ) -> Outcome:
        """Filter, enrich and deliver `records`. `trace` keeps every stage's input and output in the outcome
        (``pipes invoke``); otherwise only the failures are described. `delivery` is the envelope the stage
        calls go through the middleware with (first-seen time, policy, attempt, time parked; the runner's), its
        target and body set per stage; without one, a first attempt with no retry policy."""
        outcome = Outcome(random_uuid(), records)
        matched = self.filter(records)
        outcome.matched = matched
        filtered_out = len(records) - len(matched)
        if filtered_out:
            self.metrics.count("FilteredOut", filtered_out)
        outcome.stages.append(
            Stage(
                "FILTER",
                "SUCCEEDED",
                output={"Matched": len(matched), "FilteredOut": filtered_out} if trace else None,
            )
        )
        if not matched:
            return outcome
        started = time.perf_counter()
        self.metrics.enter()
        self.metrics.count("Invocations")
        self._log(outcome, "ExecutionStarted", payload=matched)
        envelope = delivery or Envelope("", self.clock.now(), RetryPolicy(0), None)
        spans = _Spans.plan(matched, outcome.execution_id) if self.tracer is not None else None
        header = _record_trace(matched[0]) if spans is None else spans.target_header
        try:
            await self._execute(outcome, matched, trace, envelope, header)
        finally:
            self.metrics.leave()
            self.metrics.timing("Duration", (time.perf_counter() - started) * 1000)
        self._finish(outcome)
        if spans is not None:
            self._spans(outcome, spans, time.perf_counter() - started)
        return outcome

    def _spans(self, outcome: Outcome, spans: _Spans, seconds: float) -> None:
        """The execution's spans: ``pipes.execution`` and one per stage that ran (``pipes.enrichment``,
        ``pipes.target``) as its children, in the trace of its first record, linked to the other records'."""
        assert self.tracer is not None
        end = self.clock.now()
        base = {"pipework.pipe": self.pipe.arn, "pipework.execution_id": outcome.execution_id}
        execution = self.tracer.span(
            "pipes.execution",
            spans.parent,
            end - seconds,
            end,
            {**base, "pipework.status": outcome.status, "pipework.records": len(outcome.matched)},
            span_id=spans.execution,
            links=spans.links,
        )
        for stage in outcome.stages:
            if stage.name == "FILTER":
                continue
            attributes = {**base, "pipework.status": stage.status}
            error = (stage.error or {}).get("Message") if stage.status == "FAILED" else None
            start = end - stage.duration_ms / 1000
            span_id = spans.target if stage.name == "TARGET" else spans.enrichment
            self.tracer.span(
                f"pipes.{stage.name.lower()}", execution, start, end, attributes, span_id=span_id, error=error
            )

    async def _call(self, delivery: Envelope, call: Callable[[], Awaitable[Any]]) -> tuple[Park | None, Any]:
        """One stage call through the middleware chain: (the `Park` that kept it from running, None) or (None, its
        response); a `TargetError` or any exception the call raises is reported to the chain, then raised."""
        park = self.chain.before(delivery)
        if park is not None:
            self.chain.after(delivery, Result(self.clock.now(), parked=park))
            return park, None
        begun = time.perf_counter()
        try:
            response = await call()
        except TargetError as exc:
            result = Result(self.clock.now(), time.perf_counter() - begun, exc)
            self.chain.after(delivery, result)
            if result.parked is not None:  # a breaker that just opened parks the failure instead
                return result.parked, None
            raise
        except Exception as exc:
            internal = TargetError("INTERNAL_FAILURE", f"{type(exc).__name__}: {exc}")
            result = Result(self.clock.now(), time.perf_counter() - begun, internal, exc)
            self.chain.after(delivery, result)
            if result.parked is not None:
                return result.parked, None
            raise
        self.chain.after(delivery, Result(self.clock.now(), time.perf_counter() - begun))
        return None, response

    def _parked(self, outcome: Outcome, stage: Stage, park: Park) -> None:
        stage.status = "PARKED"
        stage.error = {"Reason": park.reason} if park.reason else None
        outcome.parked = park

    async def _execute(
        self, outcome: Outcome, matched: list[JSON], trace: bool, delivery: Envelope, header: str | None
    ) -> None:
        pipe = self.pipe
        context = pipe.context(_format_time(self.clock.now()))
        events: list[Any] = matched
        item_records: list[JSON] | None = matched  # which record each item stands for, while 1:1
        if pipe.enrichment:
            stage = Stage("ENRICHMENT", "SUCCEEDED")
            outcome.stages.append(stage)
            self._log(outcome, "EnrichmentStageEntered")
            begun = time.perf_counter()
            try:
                payload = [render_pipe_input(pipe.enrichment_template, r, context) for r in matched]
            except TransformError as exc:
                self._fail(
                    outcome,
                    stage,
                    "ENRICHMENT",
                    matched,
                    TargetError("INVALID_JSON", str(exc), retryable=False),
                )
                self._log(outcome, "EnrichmentTransformationFailed", error=error_json(outcome.error))  # type: ignore[arg-type]
                return
            if trace:
                stage.input = payload
            self._log(outcome, "EnrichmentInvocationStarted", aws_request=payload)
            enrichment = dataclasses.replace(delivery, target=pipe.enrichment, body=payload)
            try:
                park, response = await self._call(enrichment, lambda: self.stages.enrich(pipe, payload))
            except TargetError as exc:
                stage.duration_ms = (time.perf_counter() - begun) * 1000
                self.metrics.timing("EnrichmentStageDuration", stage.duration_ms)
                self.metrics.count("EnrichmentStageFailed")
                self._fail(outcome, stage, "ENRICHMENT", matched, exc)
                self._log(outcome, "EnrichmentStageFailed", error=error_json(exc))
                return
            if park is not None:
                self._parked(outcome, stage, park)
                return
            stage.duration_ms = (time.perf_counter() - begun) * 1000
            self.metrics.timing("EnrichmentStageDuration", stage.duration_ms)
            if trace:
                stage.output = response
            self._log(outcome, "EnrichmentStageSucceeded", aws_response=response)
            events = enrichment_items(response)
            if len(events) != len(matched):
                item_records = None
            if not events:
                # An empty enrichment result skips the target: the batch is done (AWS).
                outcome.stages.append(Stage("TARGET", "SKIPPED"))
                self.metrics.count("TargetStageSkipped")
                self._log(outcome, "TargetStageSkipped")
                return
        stage = Stage("TARGET", "SUCCEEDED")
        outcome.stages.append(stage)
        self._log(outcome, "TargetStageEntered")
        try:
            items = [render_pipe_input(pipe.target_template, event, context) for event in events]
        except TransformError as exc:
            error = TargetError("INVALID_JSON", str(exc), retryable=False)
            self.metrics.count("TargetStageFailed")
            self._fail(outcome, stage, "TARGET", matched, error)
            self._log(outcome, "TargetTransformationFailed", error=error_json(error))
            return
        if trace:
            stage.input = items
        self._log(outcome, "TargetInvocationStarted", aws_request=items)
        begun = time.perf_counter()
        target = dataclasses.replace(delivery, target=pipe.target, body=items)
        try:
            park, result = await self._call(
                target, lambda: self.stages.deliver(pipe, items, events, trace=header)
            )
        except TargetError as exc:
            stage.duration_ms = (time.perf_counter() - begun) * 1000
            self.metrics.timing("TargetStageDuration", stage.duration_ms)
            self.metrics.count("TargetStageFailed")
            self._fail(outcome, stage, "TARGET", matched, exc)
            self._log(outcome, "TargetStageFailed", error=error_json(exc))
            return
        if park is not None:
            self._parked(outcome, stage, park)
            return
        stage.duration_ms = (time.perf_counter() - begun) * 1000
        self.metrics.timing("TargetStageDuration", stage.duration_ms)
        if trace:
            stage.output = result.response
        failed = self._partial_failures(matched, item_records, result)
        if failed:
            stage.status = "FAILED" if len(failed) == len(matched) else "PARTIALLY_FAILED"
            stage.error = {"FailedRecordIds": [record_id(r) for r in failed]}
            outcome.failed = failed
            outcome.failed_stage = "TARGET"
            self.metrics.count("TargetStagePartiallyFailed")
            self._log(outcome, "TargetStagePartiallyFailed", aws_response=result.response)
        else:
            self._log(outcome, "TargetStageSucceeded", aws_response=result.response)

    @staticmethod
    def _partial_failures(
        matched: list[JSON], item_records: list[JSON] | None, result: TargetResult
    ) -> list[JSON]:
        """The records a target reported as failed. An id that names no record of the batch (or is empty)
        fails the whole batch, as Lambda's partial batch responses do; so do failed items when enrichment
        changed the number of items (they no longer map to records)."""
        failed_ids: set[str] = set()
        if result.failed_ids:
            known = {record_id(r) for r in matched}
            for item in result.failed_ids:
                if not item or item not in known:
                    return list(matched)
                failed_ids.add(item)
        if result.failed_indices:
            if item_records is None:
                return list(matched)
            failed_ids.update(
                rid for i in result.failed_indices if (rid := record_id(item_records[i])) is not None
            )
            positions = set(result.failed_indices)
            chosen = [r for i, r in enumerate(item_records) if i in positions]
            if any(record_id(r) is None for r in chosen):
                return list(matched)
        return [r for r in matched if record_id(r) in failed_ids]

    def _fail(
        self, outcome: Outcome, stage: Stage, name: str, records: list[JSON], error: TargetError
    ) -> None:
        stage.status = "FAILED"
        stage.error = error_json(error)
        outcome.failed = list(records)
        outcome.error = error
        outcome.failed_stage = name

    def _finish(self, outcome: Outcome) -> None:
        if outcome.parked is not None:
            return  # nothing was decided: the runner runs the records again once the park is over
        if outcome.succeeded:
            self._log(outcome, "ExecutionSucceeded")
            return
        error = outcome.error
        if error is not None and error.code == "THROTTLING":
            self.metrics.count("ExecutionThrottled")
            self._log(outcome, "ExecutionThrottled", error=error_json(error))
        elif error is not None and error.code == "TIMEOUT":
            self.metrics.count("ExecutionTimeout")
            self._log(outcome, "ExecutionTimeout", error=error_json(error))
        elif len(outcome.failed) < len(outcome.matched):
            self.metrics.count("ExecutionPartiallyFailed")
            self._log(outcome, "ExecutionFailed", error={"message": "partially failed"})
        else:
            self.metrics.count("ExecutionFailed")
            self._log(outcome, "ExecutionFailed", error=error_json(error) if error else None)

    def _log(self, outcome: Outcome, message_type: str, **data: Any) -> None:
        if self.log.enabled(message_type):
            self.log.write(outcome.execution_id, message_type, **data)


def _record_trace(record: JSON) -> str | None:
    """A source record's X-Ray trace header: an SQS record's AWSTraceHeader attribute (None: it has none)."""
    attributes = record.get("attributes")
    header = attributes.get("AWSTraceHeader") if isinstance(attributes, dict) else None
    return header if isinstance(header, str) else None


#: At most this many other records' traces are linked from an execution span.
MAX_LINKS = 32


@dataclass(frozen=True, slots=True)
class _Spans:
    """The spans of one traced execution, their ids chosen before it runs (the target gets the target stage's):
    `parent`, the first record's trace (from its header; derived from its id when it has none); `links`, the
    other records' traces."""

    parent: TraceContext
    execution: int
    enrichment: int
    target: int
    links: tuple[TraceContext, ...]

    @classmethod
    def plan(cls, records: list[JSON], execution_id: str) -> _Spans | None:
        """None when the first record's trace is not sampled (no spans; its header goes on unchanged)."""
        first = records[0]
        parent = TraceContext.parse(_record_trace(first))
        if parent is not None and not parent.sampled:
            return None
        if parent is None:
            key = first.get("eventID") or first.get("messageId") or execution_id
            parent = TraceContext.derived(str(key))
        links: dict[tuple[int, int], TraceContext] = {}
        for record in records[1:]:
            other = TraceContext.parse(_record_trace(record))
            if other is not None and other.trace_id != parent.trace_id and len(links) < MAX_LINKS:
                links.setdefault((other.trace_id, other.span_id), other)
        return cls(parent, new_span_id(), new_span_id(), new_span_id(), tuple(links.values()))

    @property
    def target_header(self) -> str:
        """The trace header the target gets: the target stage's span as the parent."""
        return TraceContext(self.parent.trace_id, self.target).header()


def enrichment_items(response: Any) -> list[Any]:
    """The items an enrichment returned: a list as is; ``""``, ``{}``, ``[]`` and null mean none (the target is
    skipped); any other value is one item. A JSON text is parsed first."""
    if isinstance(response, bytes | str):
        text = response.decode() if isinstance(response, bytes) else response
        if not text.strip():
            return []
        try:
            response = orjson.loads(text)
        except orjson.JSONDecodeError:
            return [text]
    if response is None or response == {} or response == []:
        return []
    return list(response) if isinstance(response, list) else [response]


def _format_time(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
