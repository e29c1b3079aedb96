"""Event source mappings (Create/Get/List/Update/DeleteEventSourceMapping): SQS queues and DynamoDB streams feeding
a function, each run by the pipes engine (`engine.pipes.PipeRunner`: batching window, FilterCriteria, partial batch
failures, bisection, retries until MaximumRetryAttempts / MaximumRecordAgeInSeconds, on-failure records) with
`MappingStages` as its target: the function gets Lambda's event, ``{"Records": [...]}``.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from typing import Any

import orjson

from pipework.clock import Clock
from pipework.connectors.ports import ApiClient, TableStreams
from pipework.connectors.sources.base import Source
from pipework.connectors.sources.queue import QueueSource
from pipework.connectors.sources.table_stream import TableStreamSource
from pipework.connectors.targets import Message, TargetError
from pipework.connectors.targets.function import request_id
from pipework.connectors.targets.registry import kind_name
from pipework.engine.pipes import (
    QUEUE,
    STREAM,
    DeadLetterReason,
    DeadLetters,
    Execution,
    ExecutionLog,
    PipeDefinition,
    PipeMetrics,
    PipeRunner,
    TargetResult,
    batch_item_failures,
)
from pipework.engine.retry import Backoff
from pipework.jsontypes import JSON
from pipework.patterns import InvalidPatternError, compile_pattern
from pipework.services.base import RequestContext, ServiceError
from pipework.services.paging import page

from . import model
from .errors import invalid, not_found
from .invoke import InvokeOperations, iso_now
from .model import Function, FunctionName, Mapping

log = logging.getLogger("pipework.lambda")

REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"
#: The on-failure record's condition for each exhausted limit.
CONDITIONS = {
    "MaximumRetryAttempts": "RetryAttemptsExhausted",
    "MaximumRecordAgeInSeconds": "RecordAgeExceeded",
}
#: Members only a stream source takes.
STREAM_ONLY = (
    "StartingPosition",
    "BisectBatchOnFunctionError",
    "MaximumRetryAttempts",
    "MaximumRecordAgeInSeconds",
    "ParallelizationFactor",
    "DestinationConfig",
)


def source_kind(arn: str) -> str | None:
    """``sqs`` or ``dynamodb`` (a table's stream), or None for a source Pipework does not map."""
    parts = arn.split(":")
    if len(parts) >= 6 and parts[0] == "arn":
        if parts[2] == "sqs":
            return "sqs"
        if parts[2] == "dynamodb" and "/stream/" in parts[5]:
            return "dynamodb"
    return None


class MappingStages:
    """The target side of a mapping's pipe: one invocation of the function per batch, its event Lambda's
    ``{"Records": [...]}``; a function error fails the batch, a partial batch response (when the mapping's
    FunctionResponseTypes has ReportBatchItemFailures) fails the records it names."""

    def __init__(self, service: MappingOperations) -> None:
        self.service = service

    async def enrich(self, pipe: PipeDefinition, payload: list[Any]) -> Any:
        raise TargetError("NO_RESOURCE", "An event source mapping has no enrichment.", retryable=False)

    async def deliver(
        self, pipe: PipeDefinition, items: list[Any], events: list[Any], trace: str | None = None
    ) -> TargetResult:
        results = self.service.last_results
        function = await self.service.function_by_arn(pipe.target)
        if function is None:
            results[pipe.arn] = "PROBLEM: Function not found."
            raise TargetError("NO_RESOURCE", f"Function not found: {pipe.target}", retryable=False)
        result = await self.service.run(function, orjson.dumps({"Records": items}), request_id())
        if result.error is not None:
            document = result.error_document()
            results[pipe.arn] = "PROBLEM: Function call failed"
            raise TargetError(
                "FUNCTION_ERROR", f"{document.get('errorType')}: {document.get('errorMessage')}"
            )
        results[pipe.arn] = "OK"
        if REPORT_BATCH_ITEM_FAILURES not in pipe.target_parameters.get("FunctionResponseTypes", ()):
            return TargetResult()
        response = orjson.loads(result.payload) if result.payload else None
        failed = batch_item_failures(response)
        if failed is not None and pipe.source_kind == STREAM:
            # A stream's partial batch response names records by sequence number; the engine by eventID.
            by_sequence = {(r.get("dynamodb") or {}).get("SequenceNumber"): r.get("eventID") for r in items}
            failed = [by_sequence.get(f, f) if f is not None else None for f in failed]
        return TargetResult(failed_ids=failed, response=response)


#: what a mapping's function role must be allowed on its source (action, resource; "" for the source's ARN)
SQS_ACTIONS = (("sqs:ReceiveMessage", ""), ("sqs:DeleteMessage", ""), ("sqs:GetQueueAttributes", ""))
STREAM_ACTIONS = (
    ("dynamodb:DescribeStream", ""),
    ("dynamodb:GetRecords", ""),
    ("dynamodb:GetShardIterator", ""),
    ("dynamodb:ListStreams", "*"),
)


class MappingOperations(InvokeOperations):
    """The event source mapping operations and their runners (`api`, `streams` and `backoff` are set by
    `LambdaService`)."""

    api: ApiClient
    streams: TableStreams
    backoff: Backoff | None
    clock: Clock
    runners: dict[str, PipeRunner]
    #: LastProcessingResult by mapping ARN, as this node saw it (not stored: each node reports its own batches).
    last_results: dict[str, str]

    # -- running -------------------------------------------------------------------------------------------------
    async def function_by_arn(self, arn: str) -> Function | None:
        parts = arn.split(":")
        account, region, name = parts[4], parts[3], parts[6]
        return self.local(account, region, name) or await self.stored(account, region, name)

    async def start_mappings(self) -> None:
        async for resource in self.store.all_resources(model.KIND_MAPPING):
            mapping = Mapping.from_store(resource.body)
            if mapping.enabled:
                await self._start_runner(mapping)

    async def stop_mappings(self) -> None:
        for name in list(self.runners):
            await self._stop_runner(name)

    def definition(self, mapping: Mapping) -> PipeDefinition:
        queue = mapping.is_queue
        return PipeDefinition(
            name=f"esm-{mapping.uuid}",
            arn=mapping.arn,
            source=mapping.source,
            source_kind=QUEUE if queue else STREAM,
            event_source="aws:sqs" if queue else "aws:dynamodb",
            target=mapping.function_arn,
            filters=tuple(compile_pattern(p) for p in mapping.filters),
            target_parameters={"FunctionResponseTypes": list(mapping.response_types)},
            batch_size=mapping.batch_size,
            batching_window=float(mapping.batching_window),
            starting_position=mapping.starting_position or "TRIM_HORIZON",
            maximum_retry_attempts=mapping.maximum_retry_attempts,
            maximum_record_age=mapping.maximum_record_age,
            bisect=mapping.bisect,
            parallelization=mapping.parallelization,
        )

    async def _start_runner(self, mapping: Mapping) -> None:
        pipe = self.definition(mapping)
        source: Source
        if mapping.is_queue:
            source = QueueSource(self.api, mapping.source, region=mapping.region)
        else:
            source = TableStreamSource(
                self.streams,
                mapping.source,
                consumer=mapping.arn,
                start=pipe.starting_position,
                batch_size=pipe.batch_size,
            )
        execution = Execution(
            pipe,
            MappingStages(self),
            self.clock,
            PipeMetrics(),
            ExecutionLog(mapping.arn, "OFF", False, None, self.clock.now),
        )
        dead_letters = DeadLetters(
            self.store, f"lambda/{mapping.uuid}", mapping.arn, self._on_failure(mapping, pipe)
        )
        runner = PipeRunner(
            pipe,
            source,
            execution,
            dead_letters,
            store=self.store,
            clock=self.clock,
            on_stopped=lambda reason: self._stopped_itself(mapping, reason),
            backoff=self.backoff,
        )
        self.runners[mapping.uuid] = runner
        runner.start()

    async def _stop_runner(self, name: str) -> None:
        runner = self.runners.pop(name, None)
        if runner is not None:
            await runner.stop()

    async def _stopped_itself(self, mapping: Mapping, reason: str) -> None:
        log.warning("event source mapping %s stopped: %s", mapping.uuid, reason)
        self.last_results[mapping.arn] = f"PROBLEM: {reason}"[:512]
        self.runners.pop(mapping.uuid, None)

    def _on_failure(self, mapping: Mapping, pipe: PipeDefinition) -> Any:
        destination = mapping.on_failure
        if not destination:
            return None

        async def notify(records: list[JSON], reason: DeadLetterReason) -> None:
            record = await self._failure_record(mapping, records, reason)
            try:
                await self.targets.send_one(destination, Message(orjson.dumps(record).decode()))
            except TargetError as exc:  # the store keeps the records whatever happens here
                log.warning("mapping %s: cannot reach its on-failure destination: %s", mapping.uuid, exc)

        return notify

    async def _failure_record(self, mapping: Mapping, records: list[JSON], reason: DeadLetterReason) -> JSON:
        """Lambda's on-failure record for a stream batch: what failed, and where the records are in the stream
        (not the records themselves, as on AWS)."""
        images = [r.get("dynamodb") or {} for r in records]
        arrivals = [a for i in images if isinstance(a := i.get("ApproximateCreationDateTime"), int | float)]
        info: JSON = {
            "shardId": await self.streams.shard_id(mapping.source),
            "startSequenceNumber": images[0].get("SequenceNumber") if images else None,
            "endSequenceNumber": images[-1].get("SequenceNumber") if images else None,
            "approximateArrivalOfFirstRecord": iso_now(min(arrivals)) if arrivals else None,
            "approximateArrivalOfLastRecord": iso_now(max(arrivals)) if arrivals else None,
            "batchSize": len(records),
            "streamArn": mapping.source,
        }
        context: JSON = {"statusCode": 200, "executedVersion": model.LATEST}
        if reason.code == "FUNCTION_ERROR":
            context["functionError"] = "Unhandled"
        return {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": mapping.function_arn,
                "condition": CONDITIONS.get(reason.condition, "NonRetryableError"),
                "approximateInvokeCount": reason.attempts + 1,
            },
            "responseContext": context,
            "version": "1.0",
            "timestamp": iso_now(self.clock.now()),
            "DDBStreamBatchInfo": {k: v for k, v in info.items() if v is not None},
        }

    # -- operations ----------------------------------------------------------------------------------------------
    async def _mapping(self, name: str, ctx: RequestContext) -> Mapping:
        resource = await self.store.get_resource(model.KIND_MAPPING, name)
        if resource is None:
            raise not_found(f"The resource you requested does not exist. (Service: Lambda, UUID: {name})")
        mapping = Mapping.from_store(resource.body)
        if (mapping.account, mapping.region) != (ctx.account, ctx.region):
            raise not_found(f"The resource you requested does not exist. (Service: Lambda, UUID: {name})")
        return mapping

    async def _target_function(self, text: str, ctx: RequestContext) -> Function:
        name = FunctionName.parse(text)
        return await self.function(name.name if name.account is None else text, ctx, name.qualifier)

    async def _check_source(self, arn: str, kind: str) -> None:
        if kind == "sqs":
            parts = arn.split(":")
            try:
                await self.api.call(
                    "sqs", "GetQueueUrl", {"QueueName": parts[5]}, region=parts[3], account=parts[4]
                )
            except TargetError:
                raise invalid(
                    f"Error occurred while ReceiveMessage. SQS Error Message: queue {arn} does not exist."
                ) from None
        elif await self.streams.shard_id(arn) is None:
            raise invalid(f"Stream not found: {arn}")

    async def _check_source_access(self, function: Function, source: str, kind: str) -> None:
        """With auth on, Lambda reads the source as the function's execution role: it must be allowed to (Lambda
        checks this when the mapping is made, with these messages)."""
        if self.role_access is None or function.local or not function.role:
            return
        actions = [
            (action, resource or source)
            for action, resource in (SQS_ACTIONS if kind == "sqs" else STREAM_ACTIONS)
        ]
        denied = await self.role_access.role_denied(
            function.role, account=function.account, actions=actions, service="lambda.amazonaws.com"
        )
        if denied is None:
            return
        if kind == "sqs":
            raise invalid(
                f"The provided execution role does not have permissions to call {denied.split(':', 1)[-1]} on SQS"
            )
        raise invalid(
            f"Cannot access stream {source}. Please ensure the role can perform the GetRecords, GetShardIterator, "
            "DescribeStream, and ListStreams Actions on your stream in IAM."
        )

    def _settings(self, params: JSON, base: Mapping) -> Mapping:
        """``base`` changed by the parameters of a Create or Update, validated as Lambda does."""
        queue = base.is_queue
        if queue:
            for member in STREAM_ONLY:
                if member in params:
                    raise invalid(f"Unsupported {member} for the SQS event source.")
        changes: dict[str, Any] = {}
        if "Enabled" in params:
            changes["enabled"] = bool(params["Enabled"])
        if "BatchSize" in params:
            changes["batch_size"] = params["BatchSize"]
        if "MaximumBatchingWindowInSeconds" in params:
            changes["batching_window"] = params["MaximumBatchingWindowInSeconds"]
        if "FilterCriteria" in params:
            patterns = [f.get("Pattern") for f in (params["FilterCriteria"] or {}).get("Filters") or []]
            for pattern in patterns:
                try:
                    compile_pattern(pattern or "")
                except InvalidPatternError as exc:
                    raise invalid(f"Invalid filter pattern definition. {exc}") from None
            changes["filters"] = tuple(p for p in patterns if p)
        if "FunctionResponseTypes" in params:
            changes["response_types"] = tuple(params["FunctionResponseTypes"] or ())
        if "BisectBatchOnFunctionError" in params:
            changes["bisect"] = bool(params["BisectBatchOnFunctionError"])
        if "MaximumRetryAttempts" in params:
            changes["maximum_retry_attempts"] = params["MaximumRetryAttempts"]
        if "MaximumRecordAgeInSeconds" in params:
            changes["maximum_record_age"] = params["MaximumRecordAgeInSeconds"]
        if "ParallelizationFactor" in params:
            changes["parallelization"] = params["ParallelizationFactor"]
        if "DestinationConfig" in params:
            arn = ((params["DestinationConfig"] or {}).get("OnFailure") or {}).get("Destination")
            if arn and kind_name(arn) not in ("queue", "sns"):
                raise invalid(
                    f"The provided destination config DestinationConfig.OnFailure.Destination is invalid: {arn} is "
                    "not an SQS queue or an SNS topic."
                )
            changes["on_failure"] = arn or None
        mapping = dataclasses.replace(base, **changes)
        limit = 10 if queue and mapping.batching_window < 1 else 10000
        if mapping.batch_size > limit:
            raise invalid(
                f"BatchSize {mapping.batch_size} is larger than {limit}"
                + (": set MaximumBatchingWindowInSeconds to at least 1 for a larger batch." if queue else ".")
            )
        if 0 <= mapping.maximum_record_age < 60:
            raise invalid("MaximumRecordAgeInSeconds must be -1 or between 60 and 604800.")
        return mapping

    async def op_CreateEventSourceMapping(self, params: JSON, ctx: RequestContext) -> JSON:
        source = params.get("EventSourceArn")
        kind = source_kind(source or "")
        if kind is None:
            raise invalid(
                f"Unsupported event source {source}: Pipework maps SQS queues and DynamoDB table streams."
            )
        assert source is not None
        if kind == "dynamodb" and not params.get("StartingPosition"):
            raise invalid(
                "1 validation error detected: Value null at 'startingPosition' failed to satisfy constraint: Member must not be null"
            )
        if params.get("StartingPosition") == "AT_TIMESTAMP":
            raise invalid("Unsupported starting position AT_TIMESTAMP for a DynamoDB stream.")
        function = await self._target_function(params["FunctionName"], ctx)
        await self._check_source(source, kind)
        await self._check_source_access(function, source, kind)
        name = str(uuid.uuid4())
        base = Mapping(
            uuid=name,
            arn=f"arn:aws:lambda:{ctx.region}:{ctx.account}:event-source-mapping:{name}",
            region=ctx.region,
            account=ctx.account,
            source=source,
            function_arn=function.arn,
            enabled=True,
            batch_size=10 if kind == "sqs" else 100,
            batching_window=0,
            modified=self.clock.now(),
            tags=dict(params.get("Tags") or {}),
        )
        mapping = self._settings(params, base)
        async with self.lock:
            await self.store.put_resource(model.KIND_MAPPING, name, mapping.to_store())
            if mapping.enabled:
                await self._start_runner(mapping)
        return mapping.to_api("Creating" if mapping.enabled else "Disabled")

    async def op_GetEventSourceMapping(self, params: JSON, ctx: RequestContext) -> JSON:
        mapping = await self._mapping(params["UUID"], ctx)
        return mapping.to_api(last_result=self.last_results.get(mapping.arn))

    async def op_UpdateEventSourceMapping(self, params: JSON, ctx: RequestContext) -> JSON:
        async with self.lock:
            mapping = await self._mapping(params["UUID"], ctx)
            changed = self._settings(params, mapping)
            if params.get("FunctionName"):
                function = await self._target_function(params["FunctionName"], ctx)
                await self._check_source_access(
                    function, mapping.source, "sqs" if mapping.is_queue else "dynamodb"
                )
                changed = dataclasses.replace(changed, function_arn=function.arn)
            changed = dataclasses.replace(changed, modified=self.clock.now())
            await self.store.put_resource(model.KIND_MAPPING, mapping.uuid, changed.to_store())
            await self._stop_runner(mapping.uuid)
            if changed.enabled:
                await self._start_runner(changed)
        return changed.to_api("Updating" if changed.enabled else "Disabled")

    async def op_DeleteEventSourceMapping(self, params: JSON, ctx: RequestContext) -> JSON:
        async with self.lock:
            mapping = await self._mapping(params["UUID"], ctx)
            await self._stop_runner(mapping.uuid)
            await self.store.delete_resource(model.KIND_MAPPING, mapping.uuid)
            self.last_results.pop(mapping.arn, None)
        return mapping.to_api("Deleting")

    async def op_ListEventSourceMappings(self, params: JSON, ctx: RequestContext) -> JSON:
        function_arn = None
        if params.get("FunctionName"):
            name = FunctionName.parse(params["FunctionName"])
            account, region = self.where(name, ctx)
            function_arn = model.function_arn(region, account, name.name)
        found = []
        async for resource in self.store.all_resources(model.KIND_MAPPING):
            mapping = Mapping.from_store(resource.body)
            if (mapping.account, mapping.region) != (ctx.account, ctx.region):
                continue
            if params.get("EventSourceArn") and mapping.source != params["EventSourceArn"]:
                continue
            if function_arn is not None and mapping.function_arn != function_arn:
                continue
            found.append(mapping)
        found.sort(key=lambda m: (m.modified, m.uuid))
        try:
            listed, marker = page(
                "ListEventSourceMappings",
                found,
                params.get("Marker"),
                params.get("MaxItems"),
                default_limit=100,
            )
        except ServiceError:
            raise invalid("Invalid Marker.") from None
        out: JSON = {
            "EventSourceMappings": [m.to_api(last_result=self.last_results.get(m.arn)) for m in listed]
        }
        if marker:
            out["NextMarker"] = marker
        return out
