"""How a pipe reaches its enrichment and its target, through the instance's targets (the same ones rules and
schedules use): event buses (PutEvents, 10 entries a call), queues, local functions, API destinations and log
groups. Failures are reported in EventBridge's vocabulary (NO_RESOURCE, NO_PERMISSIONS, ...).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

import orjson

from pipework.connectors.targets import HttpParameters, Message, TargetError
from pipework.connectors.targets.base import arn_parts
from pipework.connectors.targets.registry import Targets
from pipework.engine.pipes import PipeDefinition, TargetResult, batch_item_failures
from pipework.jsontypes import JSON
from pipework.transform import resolve_parameters

from . import model

log = logging.getLogger("pipework.pipes")
#: the service principal a pipe's role is assumed by (its trust policy must name it)
PRINCIPAL = "pipes.amazonaws.com"


class PipeStages:
    """The enrichment and target callers of every pipe of an instance (implements `engine.pipes.Stages`).

    Parameters: `targets`, the instance's targets.
    """

    def __init__(self, targets: Targets) -> None:
        self.targets = targets
        self._background: set[asyncio.Task[Any]] = set()

    # -- enrichment ----------------------------------------------------------------------------------------------
    async def enrich(self, pipe: PipeDefinition, payload: list[Any]) -> Any:
        arn = pipe.enrichment
        assert arn is not None
        try:
            await self.targets.check_access(
                arn, account=_account(pipe), role_arn=pipe.role_arn, service=PRINCIPAL
            )
            if model.enrichment_kind(arn) == "function":
                return await self.targets.send_one(arn, Message(payload))
            # An API destination enrichment takes one record (BatchSize 1) and answers with the enriched item(s).
            body = payload[0] if len(payload) == 1 else payload
            params = resolve_parameters(pipe.enrichment_parameters.get("HttpParameters") or {}, body)
            return await self.targets.send_one(arn, Message(_text(body), http=_http_parameters(params)))
        except TargetError as exc:
            raise exc.as_reason() from None

    # -- targets -------------------------------------------------------------------------------------------------
    async def deliver(
        self, pipe: PipeDefinition, items: list[Any], events: list[Any], trace: str | None = None
    ) -> TargetResult:
        try:
            await self.targets.check_access(
                pipe.target, account=_account(pipe), role_arn=pipe.role_arn, service=PRINCIPAL
            )
            return await self._deliver(pipe, items, events, trace)
        except TargetError as exc:
            raise exc.as_reason() from None

    async def _deliver(
        self, pipe: PipeDefinition, items: list[Any], events: list[Any], trace: str | None
    ) -> TargetResult:
        kind = model.target_kind(pipe.target)
        if kind == "bus":
            return await self._put_events(pipe, items, events, trace)
        if kind == "queue":
            return await self._send_messages(pipe, items, events, trace)
        if kind == "function":
            return await self._invoke_function(pipe, items)
        if kind == "api-destination":
            params = pipe.target_parameters.get("HttpParameters") or {}
            messages = [
                Message(_text(item), http=_http_parameters(resolve_parameters(params, event)))
                for item, event in zip(items, events, strict=True)
            ]
            await self.targets.send(pipe.target, messages)
            return TargetResult()
        if kind == "log-group":
            await self.targets.send(pipe.target, [Message(_text(item)) for item in items])
            return TargetResult()
        if kind == "sns":
            sent = await self.targets.send(pipe.target, [Message(_text(item)) for item in items])
            return TargetResult(failed_indices=sorted(sent.failed))
        raise TargetError("NO_RESOURCE", f"Unsupported target {pipe.target}.", retryable=False)

    async def _put_events(
        self, pipe: PipeDefinition, items: list[Any], events: list[Any], trace: str | None
    ) -> TargetResult:
        params = pipe.target_parameters.get("EventBridgeEventBusParameters") or {}
        parts = arn_parts(pipe.arn)  # the events are the pipe's: its account and region
        account, region = (parts[4] or None, parts[3] or None) if parts else (None, None)
        messages = []
        for item, event in zip(items, events, strict=True):
            resolved = resolve_parameters(params, event)
            messages.append(
                Message(
                    _detail(item),
                    source=_string(resolved.get("Source")) or f"Pipe {pipe.name}",
                    detail_type=_string(resolved.get("DetailType")) or f"Event from {pipe.event_source}",
                    resources=tuple(r for r in resolved.get("Resources") or [] if isinstance(r, str)),
                    time=_time(resolved.get("Time")),
                    account=account,
                    region=region,
                    trace=trace,
                )
            )
        sent = await self.targets.send(pipe.target, messages)
        return TargetResult(failed_indices=sorted(sent.failed), response={"Entries": sent.responses})

    async def _send_messages(
        self, pipe: PipeDefinition, items: list[Any], events: list[Any], trace: str | None
    ) -> TargetResult:
        params = pipe.target_parameters.get("SqsQueueParameters") or {}
        messages = []
        for item, event in zip(items, events, strict=True):
            resolved = resolve_parameters(params, event)
            messages.append(
                Message(
                    _text(item),
                    group_id=_string(resolved.get("MessageGroupId")),
                    deduplication_id=_string(resolved.get("MessageDeduplicationId")),
                    trace=trace,
                )
            )
        sent = await self.targets.send(pipe.target, messages)
        if sent.failed and len(sent.failed) == len(items):
            raise sent.failed[max(sent.failed)]
        return TargetResult(failed_indices=sorted(sent.failed))

    async def _invoke_function(self, pipe: PipeDefinition, items: list[Any]) -> TargetResult:
        params = pipe.target_parameters.get("LambdaFunctionParameters") or {}
        if params.get("InvocationType") == "FIRE_AND_FORGET":
            task = asyncio.create_task(self._fire_and_forget(pipe.target, items))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            return TargetResult()
        # The whole batch is one invocation, its event the array of items.
        response = await self.targets.send_one(pipe.target, Message(items))
        return TargetResult(failed_ids=batch_item_failures(response), response=response)

    async def _fire_and_forget(self, arn: str, items: list[Any]) -> None:
        try:
            await self.targets.send_one(arn, Message(items))
        except TargetError as exc:
            log.warning("asynchronous invocation of %s failed: %s", arn, exc)

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()


def _http_parameters(params: JSON) -> HttpParameters:
    """Pipes' HttpParameters (with dynamic values resolved) as an API destination call takes them."""
    return HttpParameters(
        path_values=tuple(str(v) for v in params.get("PathParameterValues") or []),
        headers={k: str(v) for k, v in (params.get("HeaderParameters") or {}).items()},
        query={k: str(v) for k, v in (params.get("QueryStringParameters") or {}).items()},
    )


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


def _account(pipe: PipeDefinition) -> str | None:
    """The pipe's account (its ARN's): what its enrichment and target are invoked as, with its role."""
    parts = arn_parts(pipe.arn)
    return parts[4] or None if parts else None
