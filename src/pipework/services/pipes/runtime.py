"""`Pipes`: the served ``pipes`` API and its runners — one `PipeRunner` per running pipe — plus Pipework's own
operations beyond AWS: invoke a pipe with given records, read its metrics, list and redrive its dead letters.

Runners, executions and metrics are kept by pipe key (``<account>/<region>/<name>``, `model.pipe_key`); the
operations beyond AWS name a pipe in the server's default region unless given a region.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from pipework.clock import Clock
from pipework.connectors.ports import ApiClient, LogGroups, TableStreams
from pipework.connectors.sources.base import Source
from pipework.connectors.sources.queue import QueueSource
from pipework.connectors.sources.table_stream import TableStreamSource
from pipework.connectors.targets import Message
from pipework.connectors.targets.registry import Targets
from pipework.engine.breakers import Breakers
from pipework.engine.cluster import Cluster
from pipework.engine.metrics import Recorder
from pipework.engine.middleware import Chain
from pipework.engine.middleware.breaker import CircuitBreaker
from pipework.engine.pipes import (
    DeadLetterReason,
    DeadLetters,
    Execution,
    ExecutionLog,
    PipeDefinition,
    PipeMetrics,
    PipeRunner,
    redrive_queue,
)
from pipework.engine.retry import Backoff
from pipework.engine.tracing import Tracer
from pipework.ids import random_uuid
from pipework.jsontypes import JSON
from pipework.services.base import RequestContext
from pipework.store.base import Store

from . import model
from .api import PipesApi
from .errors import validation
from .model import Pipe
from .stages import PipeStages

log = logging.getLogger("pipework.pipes")

#: The on-failure message's `condition` for each exhausted retry limit (Lambda's stream names); an error no retry
#: can fix has Pipework's own "NonRetryableError".
CONDITIONS = {
    "MaximumRetryAttempts": "RetryAttemptsExhausted",
    "MaximumRecordAgeInSeconds": "RecordAgeExceeded",
}


def _iso(epoch: float, *, milliseconds: bool = False) -> str:
    moment = dt.datetime.fromtimestamp(epoch, dt.UTC)
    if milliseconds:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class Pipes:
    """The ``pipes`` service of an instance.

    Parameters:
        store, clock: the instance's. region, account: the defaults of Pipework's own operations (the AWS
            operations work in the request's account and region).
        targets: where enrichments and targets are called. api: in-process calls (a queue source reads SQS).
        streams: table stream subscriptions (a table source). log_directory: where log groups are written.
        backoff: the delays between retries of failing stream batches (tests pass a small one).
        recorder: where the pipes' AWS/EventBridge/Pipes metrics are recorded durably. logs: the CloudWatch Logs
            groups execution logs go to (None: files). tracer: where execution spans go (``--otlp-endpoint``).
        breakers: the circuit breakers around enrichment and target calls (a pipe stops reading while open).
    """

    name = "pipes"

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        region: str,
        account: str,
        targets: Targets,
        api: ApiClient,
        streams: TableStreams,
        log_directory: Path,
        backoff: Backoff | None = None,
        cluster: Cluster | None = None,
        recorder: Recorder | None = None,
        logs: LogGroups | None = None,
        tracer: Tracer | None = None,
        breakers: Breakers | None = None,
    ) -> None:
        self.recorder = recorder
        self.tracer = tracer
        self.logs = logs
        self._log_writes: set[asyncio.Task[None]] = set()
        self.store = store
        self.cluster = cluster
        self.clock = clock
        self.region = region
        self.account = account
        self.targets = targets
        self.api = api
        self.streams = streams
        self._log_directory = log_directory
        self.backoff = backoff
        self.breakers = breakers
        self.stages = PipeStages(targets)
        self.pipes_api = PipesApi(store, clock, apply=self.apply)
        # By pipe key.
        self.runners: dict[str, PipeRunner] = {}
        self.executions: dict[str, Execution] = {}
        self.metrics: dict[str, PipeMetrics] = {}

    # -- lifecycle -----------------------------------------------------------------------------------------------
    def log_directory(self) -> Path:
        return self._log_directory

    async def start(self) -> None:
        async with self.pipes_api.lock:
            for pipe in await self.pipes_api.load():
                await self.apply(pipe.key, pipe)

    async def stop(self) -> None:
        for key in list(self.runners):
            await self._stop_runner(key)
        await self.stages.close()
        if self._log_writes:  # the last lines of the execution logs
            await asyncio.gather(*self._log_writes, return_exceptions=True)

    async def handle(self, operation: str, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        return await self.pipes_api.handle(operation, params, ctx)

    #: The resource kinds whose changes by other nodes `refresh` follows.
    watched_kinds = frozenset({model.KIND_PIPE})

    async def refresh(self, kind: str, name: str | None) -> None:
        """Follow a change another node made to the pipe stored as `name` (None: every pipe): its runner is
        rebuilt, and its source lane runs on whichever node holds the pipe's lease."""
        async with self.pipes_api.lock:
            names = {name} if name is not None else set(self.pipes_api.pipes)
            if name is None:
                names.update([r.name async for r in self.store.all_resources(model.KIND_PIPE)])
            for key in sorted(names):
                resource = await self.store.get_resource(model.KIND_PIPE, key)
                stored = Pipe.from_store(resource.body) if resource is not None else None
                if stored == self.pipes_api.pipes.get(key) and (stored is None or key in self.runners):
                    continue  # as this node already runs it
                if stored is None:
                    self.pipes_api.pipes.pop(key, None)
                else:
                    self.pipes_api.pipes[key] = stored
                await self.apply(key, stored, remote=True)

    # -- following definitions -----------------------------------------------------------------------------------
    async def apply(self, key: str, stored: Pipe | None, *, remote: bool = False) -> None:
        """Make the runner of the pipe `key` match its stored definition (None: the pipe was deleted); call with
        the API's lock held. `remote`: the change was made by another node, which records the state transitions
        itself (this node only follows: it writes no state, which could overwrite a newer change)."""
        await self._stop_runner(key)
        if stored is None:
            self.executions.pop(key, None)
            self.metrics.pop(key, None)
            return
        pipe = self.definition(stored)
        self.executions[key] = self._execution(key, pipe)
        state, desired = stored.current_state, stored.desired_state
        # A state an interrupted transition left behind settles like the transition would have.
        if state in ("STOPPING", "STOPPED") or (state == "CREATING" and desired == "STOPPED"):
            if state != "STOPPED":
                await self._record(remote, key, "STOPPED", reason=stored.state_reason)
            return
        if state in ("UPDATING", "CREATING") and desired == "STOPPED":
            await self._record(remote, key, "STOPPED", reason=stored.state_reason)
            return
        if state not in ("RUNNING", "CREATING", "UPDATING", "STARTING"):
            return  # a failed state stays until the user acts
        try:
            source = self._source(pipe)
        except LookupError as exc:
            failed = {"CREATING": "CREATE_FAILED", "UPDATING": "UPDATE_FAILED", "STARTING": "START_FAILED"}
            await self._record(remote, key, failed.get(state, "STOPPED"), reason=str(exc))
            return
        runner = PipeRunner(
            pipe,
            source,
            self.executions[key],
            DeadLetters(self.store, key, pipe.arn, self._notify_dead_letters(pipe)),
            store=self.store,
            clock=self.clock,
            on_stopped=lambda reason: self._stopped_itself(key, runner, reason),
            backoff=self.backoff,
            cluster=self.cluster if self.store.shared else None,
            gate=self.breakers,
        )
        self.runners[key] = runner
        if state != "RUNNING":
            await self._record(remote, key, "RUNNING")
        runner.start()

    async def _record(self, remote: bool, key: str, state: str, *, reason: str | None = None) -> None:
        if not remote:
            await self.pipes_api.set_state(key, state, reason=reason)

    def definition(self, pipe: Pipe) -> PipeDefinition:
        """The engine's view of a pipe, compiled when its definition changes (not per record)."""
        return model.compile_definition(pipe.to_store(), log_directory=self.log_directory())

    def _execution(self, key: str, pipe: PipeDefinition) -> Execution:
        metrics = self._metrics_of(key)
        path = Path(pipe.log_group) if pipe.log_group else None
        sink = self._log_sink(pipe) if self.logs is not None and pipe.log_group_arn else None
        log_ = ExecutionLog(pipe.arn, pipe.log_level, pipe.include_execution_data, path, self.clock.now, sink)
        chain = Chain([CircuitBreaker(self.breakers)]) if self.breakers is not None else None
        return Execution(pipe, self.stages, self.clock, metrics, log_, chain, tracer=self.tracer)

    def _log_sink(self, pipe: PipeDefinition) -> Callable[[str], None]:
        """Lines of a pipe's execution log, written to its CloudWatch Logs group in a stream named after the pipe.
        Logs are diagnostics: a line is written in the background and a failed write is logged, never raised."""
        logs, arn = self.logs, pipe.log_group_arn
        assert logs is not None and arn is not None
        parts = arn.split(":", 6)
        account, region = parts[4], parts[3]
        group = arn.split(":log-group:", 1)[-1].removesuffix(":*")
        stream = pipe.arn.rsplit("/", 1)[-1]

        async def write(line: str) -> None:
            try:
                await logs.write(account, region, group, stream, [line])
            except Exception:
                log.exception("cannot write the log of %s to %s", pipe.arn, arn)

        def sink(line: str) -> None:
            task = asyncio.create_task(write(line), name="pipes:log")
            self._log_writes.add(task)
            task.add_done_callback(self._log_writes.discard)

        return sink

    def _metrics_of(self, key: str) -> PipeMetrics:
        metrics = self.metrics.get(key)
        if metrics is None:
            account, region, name = key.split("/", 2)
            metrics = self.metrics[key] = PipeMetrics(
                self.recorder, account=account, region=region, name=name
            )
        return metrics

    def _source(self, pipe: PipeDefinition) -> Source:
        kind = model.source_kind(pipe.source)
        if kind == "sqs":
            return QueueSource(self.api, pipe.source, region=self.region)
        return TableStreamSource(
            self.streams,
            pipe.source,
            consumer=pipe.arn,
            start=pipe.starting_position,
            batch_size=pipe.batch_size,
        )

    async def _stop_runner(self, key: str) -> None:
        runner = self.runners.pop(key, None)
        if runner is not None:
            await runner.stop()

    async def _stopped_itself(self, key: str, runner: PipeRunner, reason: str) -> None:
        async with self.pipes_api.lock:
            if self.runners.get(key) is not runner:
                return  # a change replaced or stopped this runner meanwhile: the pipe is as that change left it
            del self.runners[key]
            await self.pipes_api.set_state(key, "STOPPED", reason=reason)
            if self.recorder is not None:
                # Pipework's own metric: a pipe that stopped itself (a target gone), so an alarm can say so.
                account, region, name = key.split("/", 2)
                self.recorder.add(
                    account, region, "Pipework/Pipes", "StoppedItself", (("PipeName", name),), 1.0
                )
            # Called from one of the runner's tasks, which stop() leaves to end by itself; its other tasks may be
            # waiting for the lock here too: they are cancelled.
            await runner.stop()

    def _notify_dead_letters(self, pipe: PipeDefinition) -> Any:
        arn = pipe.dead_letter_arn
        if not arn:
            return None
        targets = self.targets

        async def notify(records: list[JSON], reason: DeadLetterReason) -> None:
            body = await self._dead_letter_message(pipe, records, reason)
            attributes = {
                k: {"DataType": "String", "StringValue": v}
                for k, v in reason.attributes(pipe.arn).items()
                if v
            }
            try:
                await targets.send_one(arn, Message(orjson.dumps(body).decode(), attributes=attributes))
            except Exception as exc:  # the store keeps the records for redrive whatever happens here
                log.warning("pipe %s: cannot send dead letters to %s: %s", pipe.name, arn, exc)

        return notify

    async def _dead_letter_message(
        self, pipe: PipeDefinition, records: list[JSON], reason: DeadLetterReason
    ) -> JSON:
        """AWS's on-failure message for a stream batch (Lambda's and Pipes' shape: request and response context,
        ISO-8601 times, the shard and sequence range) plus the full records, which AWS does not keep."""
        images = [r.get("dynamodb") or {} for r in records]
        arrivals = [a for i in images if isinstance(a := i.get("ApproximateCreationDateTime"), int | float)]
        batch_info: JSON = {
            "shardId": await self.streams.shard_id(pipe.source),
            "startSequenceNumber": images[0].get("SequenceNumber"),
            "endSequenceNumber": images[-1].get("SequenceNumber"),
            "approximateArrivalOfFirstRecord": _iso(min(arrivals)) if arrivals else None,
            "approximateArrivalOfLastRecord": _iso(max(arrivals)) if arrivals else None,
            "batchSize": len(records),
            "streamArn": pipe.source,
        }
        return {
            "requestContext": {
                "requestId": random_uuid(),
                "pipeArn": pipe.arn,
                "condition": CONDITIONS.get(reason.condition, "NonRetryableError"),
                "approximateInvokeCount": reason.attempts + 1,
            },
            "responseContext": {"errorCode": reason.code, "errorMessage": reason.message},
            "version": "1.0",
            "timestamp": _iso(self.clock.now(), milliseconds=True),
            "DDBStreamBatchInfo": {k: v for k, v in batch_info.items() if v is not None},
            "records": records,
        }

    # -- Pipework extensions (beyond AWS) ------------------------------------------------------------------------
    def _key(self, name: str, region: str | None, account: str | None = None) -> str:
        """The key of the pipe `name` in `region` of `account` (defaults: the server's), or NotFoundException."""
        key = model.pipe_key(account or self.account, region or self.region, name)
        self.pipes_api.pipe(key)
        return key

    async def invoke(
        self, name: str, records: list[Any], *, region: str | None = None, account: str | None = None
    ) -> JSON:
        """Push `records` through the pipe's filter, enrichment and target once (no retries, no dead letters)
        and report each stage. Not counted in the pipe's metrics (see `Execution.detached`)."""
        key = self._key(name, region, account)
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise validation("Records must be a list of JSON objects.")
        execution = self.executions[key].detached()
        outcome = await execution.run(records, trace=True)
        return outcome.to_json()

    def pipe_metrics(self, name: str, *, region: str | None = None, account: str | None = None) -> JSON:
        key = self._key(name, region, account)
        metrics = self._metrics_of(key)
        return {"PipeName": name, "PipeArn": self.pipes_api.pipe(key).arn, "Metrics": metrics.snapshot()}

    async def dead_letters(
        self,
        name: str | None = None,
        *,
        limit: int = 1000,
        region: str | None = None,
        account: str | None = None,
    ) -> list[JSON]:
        """Dead-lettered records (full) of one pipe, or of every pipe of the region (and account), in the order
        they were dead-lettered."""
        if name is not None:
            keys = [self._key(name, region, account)]
        else:
            prefix = model.pipe_key(account or self.account, region or self.region, "")
            keys = sorted(k for k in self.pipes_api.pipes if k.startswith(prefix))
        out: list[JSON] = []
        for key in keys:
            pipe_name = self.pipes_api.pipe(key).name
            after = 0
            while len(out) < limit:
                page = await self.store.list_dead_letters(redrive_queue(key), after_seq=after, limit=500)
                if not page:
                    break
                for dead in page:
                    out.append(
                        {
                            "Id": dead.id,
                            "PipeName": pipe_name,
                            "Error": dead.error,
                            "DeadLetteredAt": dead.dead_lettered_at,
                            "Record": orjson.loads(dead.payload),
                        }
                    )
                after = page[-1].seq
        return out[:limit]

    async def discard(
        self,
        name: str,
        ids: list[str] | None = None,
        *,
        region: str | None = None,
        account: str | None = None,
    ) -> int:
        """Delete dead-lettered records of a pipe (the given ids, or all) for good; how many were deleted."""
        key = self._key(name, region, account)
        return await self.store.delete_dead_letters(redrive_queue(key), ids)

    async def redrive(
        self,
        name: str,
        ids: list[str] | None = None,
        *,
        region: str | None = None,
        account: str | None = None,
    ) -> int:
        """Send dead-lettered records (the given ids, or all) back through the pipe; it retries them anew.
        Counts them as `Redriven` (records redriven, whatever their retries do next)."""
        key = self._key(name, region, account)
        redriven = await self.store.redrive(redrive_queue(key), ids)
        self._metrics_of(key).count("Redriven", redriven)
        return redriven
