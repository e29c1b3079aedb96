"""How a pipe reaches its enrichment and its target, through the connectors the EventBridge service uses: event
buses (PutEvents, 10 entries a call), queues (the SQS service), local functions, API destinations and log groups.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

import httpx
import orjson

from pipework.connectors.targets import TargetError
from pipework.connectors.targets.function import Functions
from pipework.connectors.targets.http import HttpTarget
from pipework.connectors.targets.log import LogTarget
from pipework.engine.pipes import PipeDefinition, TargetResult
from pipework.services.base import ServiceError
from pipework.transform import resolve_parameters

from . import model

if TYPE_CHECKING:
    from pipework.services.events.delivery import QueueSender
    from pipework.services.events.runtime import EventBridge

log = logging.getLogger("pipework.pipes")
JSON = dict[str, Any]
PUT_EVENTS_MAX = 10


class PipeStages:
    """The enrichment and target callers of every pipe of an instance (implements `engine.pipes.Stages`).

    Parameters:
        events: the EventBridge service (buses, API destinations and connections), or None if not served.
        queues: sends to queues through the SQS service, or None.
        functions, http, logs: the shared connectors.
    """

    def __init__(
        self,
        events: EventBridge | None,
        queues: QueueSender | None,
        *,
        functions: Functions,
        http: HttpTarget,
        logs: LogTarget,
        now: Any,
    ) -> None:
        self.events = events
        self.queues = queues
        self.functions = functions
        self.http = http
        self.logs = logs
        self.now = now
        self._background: set[asyncio.Task[Any]] = set()

    # -- enrichment ----------------------------------------------------------------------------------------------
    async def enrich(self, pipe: PipeDefinition, payload: list[Any]) -> Any:
        arn = pipe.enrichment
        assert arn is not None
        if model.enrichment_kind(arn) == "lambda":
            return await self.functions.invoke(arn, payload)
        # An API destination enrichment takes one record (BatchSize 1) and answers with the enriched item(s).
        body = payload[0] if len(payload) == 1 else payload
        params = resolve_parameters(pipe.enrichment_parameters.get("HttpParameters") or {}, body)
        response = await self._http_call(arn, _text(body), _http_parameters(params))
        try:
            return response.json()
        except ValueError:
            return response.text

    # -- targets -------------------------------------------------------------------------------------------------
    async def deliver(self, pipe: PipeDefinition, items: list[Any], events: list[Any]) -> TargetResult:
        kind = model.target_kind(pipe.target)
        if kind == "event-bus":
            return await self._put_events(pipe, items, events)
        if kind == "sqs":
            return await self._send_messages(pipe, items, events)
        if kind == "lambda":
            return await self._invoke_function(pipe, items)
        if kind == "api-destination":
            params = pipe.target_parameters.get("HttpParameters") or {}
            for item, event in zip(items, events, strict=True):
                await self._http_call(
                    pipe.target, _text(item), _http_parameters(resolve_parameters(params, event))
                )
            return TargetResult()
        if kind == "logs":
            for item in items:
                await self.logs.put(pipe.target, _text(item), timestamp=self.now())
            return TargetResult()
        raise TargetError("NO_RESOURCE", f"Unsupported target {pipe.target}.", retryable=False)

    async def _put_events(self, pipe: PipeDefinition, items: list[Any], events: list[Any]) -> TargetResult:
        if self.events is None or self.events.service is None:
            raise TargetError("NO_RESOURCE", "Event buses are not served by this server.", retryable=False)
        service = self.events.service
        bus = pipe.target.rsplit("/", 1)[-1]
        if bus not in service.buses:
            raise TargetError("NO_RESOURCE", f"Event bus {bus} does not exist.", retryable=False)
        params = pipe.target_parameters.get("EventBridgeEventBusParameters") or {}
        entries = []
        for item, event in zip(items, events, strict=True):
            resolved = resolve_parameters(params, event)
            entry: JSON = {
                "EventBusName": pipe.target,
                "Source": _string(resolved.get("Source")) or f"Pipe {pipe.name}",
                "DetailType": _string(resolved.get("DetailType")) or f"Event from {pipe.event_source}",
                "Detail": _detail(item),
                "Resources": [r for r in resolved.get("Resources") or [] if isinstance(r, str)],
            }
            when = _time(resolved.get("Time"))
            if when is not None:
                entry["Time"] = when
            entries.append(entry)
        failed: list[int] = []
        responses: list[JSON] = []
        for start in range(0, len(entries), PUT_EVENTS_MAX):
            try:
                result = await service.op_PutEvents({"Entries": entries[start : start + PUT_EVENTS_MAX]})
            except ServiceError as exc:
                raise TargetError(exc.code, exc.message, retryable=exc.status >= 500) from None
            for offset, entry_result in enumerate(result["Entries"]):
                responses.append(entry_result)
                if "ErrorCode" in entry_result:
                    failed.append(start + offset)
        return TargetResult(failed_indices=failed, response={"Entries": responses})

    async def _send_messages(self, pipe: PipeDefinition, items: list[Any], events: list[Any]) -> TargetResult:
        if self.queues is None:
            raise TargetError("NO_RESOURCE", "Queues are not served by this server.", retryable=False)
        params = pipe.target_parameters.get("SqsQueueParameters") or {}
        failed: list[int] = []
        last_error: TargetError | None = None
        for index, (item, event) in enumerate(zip(items, events, strict=True)):
            resolved = resolve_parameters(params, event)
            try:
                await self.queues.send(
                    pipe.target,
                    _text(item),
                    group_id=_string(resolved.get("MessageGroupId")),
                    deduplication_id=_string(resolved.get("MessageDeduplicationId")),
                )
            except TargetError as exc:
                if not exc.retryable:
                    raise
                failed.append(index)
                last_error = exc
        if failed and len(failed) == len(items) and last_error is not None:
            raise last_error
        return TargetResult(failed_indices=failed)

    async def _invoke_function(self, pipe: PipeDefinition, items: list[Any]) -> TargetResult:
        params = pipe.target_parameters.get("LambdaFunctionParameters") or {}
        if params.get("InvocationType") == "FIRE_AND_FORGET":
            task = asyncio.create_task(self._fire_and_forget(pipe.target, items))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            return TargetResult()
        response = await self.functions.invoke(pipe.target, items)
        return TargetResult(failed_ids=batch_item_failures(response), response=response)

    async def _fire_and_forget(self, arn: str, items: list[Any]) -> None:
        try:
            await self.functions.invoke(arn, items)
        except TargetError as exc:
            log.warning("asynchronous invocation of %s failed: %s", arn, exc)

    async def _http_call(self, arn: str, body: str, http_parameters: JSON) -> httpx.Response:
        if self.events is None or self.events.service is None:
            raise TargetError(
                "NO_RESOURCE", "API destinations are not served by this server.", retryable=False
            )
        service = self.events.service
        destination = service.api_destination_by_arn(arn)
        if destination is None:
            raise TargetError("NO_RESOURCE", f"API destination {arn} does not exist.", retryable=False)
        connection = service.connection_by_arn(destination["ConnectionArn"])
        if connection is None or connection["ConnectionState"] == "DEAUTHORIZED":
            raise TargetError("NO_PERMISSIONS", "The connection is not authorized.", retryable=False)
        return await self.http.invoke(destination, connection, body, http_parameters)

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()


def batch_item_failures(response: Any) -> list[str | None] | None:
    """The ids of a partial batch response ``{"batchItemFailures": [{"itemIdentifier": id}]}``; None when the
    response is not one (success). An entry without an id stands for the whole batch (None)."""
    if isinstance(response, str):
        try:
            response = orjson.loads(response)
        except orjson.JSONDecodeError:
            return None
    if not isinstance(response, dict) or not response.get("batchItemFailures"):
        return None
    failures = response["batchItemFailures"]
    if not isinstance(failures, list):
        return [None]
    out: list[str | None] = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        out.append(identifier if isinstance(identifier, str) and identifier else None)
    return out


def _http_parameters(params: JSON) -> JSON:
    """Pipes' HttpParameters (maps) in the shape the HTTP connector takes (EventBridge's; the same members)."""
    return {
        "PathParameterValues": [str(v) for v in params.get("PathParameterValues") or []],
        "HeaderParameters": {k: str(v) for k, v in (params.get("HeaderParameters") or {}).items()},
        "QueryStringParameters": {k: str(v) for k, v in (params.get("QueryStringParameters") or {}).items()},
    }


def _text(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _string(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _detail(item: Any) -> str:
    """The Detail of the event a pipe puts on a bus: the item when it is a JSON object (or a text holding one)."""
    if isinstance(item, str):
        return item
    return orjson.dumps(item).decode()


def _time(value: Any) -> dt.datetime | None:
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return None
