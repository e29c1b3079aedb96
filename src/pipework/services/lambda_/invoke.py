"""Invocations: Invoke (RequestResponse, Event, DryRun), and the asynchronous side — Event invocations are store
work-queue items delivered by the engine's dispatcher with the function's EventInvokeConfig as retry policy
(MaximumRetryAttempts, MaximumEventAgeInSeconds), then reported to its OnSuccess / OnFailure destination (a queue,
a bus, a function, or a topic where SNS is served) — and the Put/Get/Update/Delete/ListFunctionEventInvokeConfig
operations.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
from typing import Any

import orjson

from pipework.connectors.runtime import InvocationResult
from pipework.connectors.targets import Message, TargetError
from pipework.connectors.targets.function import request_id
from pipework.connectors.targets.registry import Targets, kind_name
from pipework.engine.dispatcher import Failure
from pipework.engine.envelope import envelope_attributes
from pipework.engine.retry import RetryPolicy
from pipework.jsontypes import JSON
from pipework.services.base import RequestContext

from . import model
from .errors import bad_content, invalid, not_found, too_large
from .functions import FunctionOperations
from .model import EventInvokeConfig, Function

log = logging.getLogger("pipework.lambda")

#: Lambda's payload limits: 6 MB for a synchronous invocation, 1 MB for an asynchronous one.
MAX_SYNC_PAYLOAD = 6 * 1024 * 1024
MAX_ASYNC_PAYLOAD = 1024 * 1024
#: LogResult holds the last 4 KB of the invocation's log.
LOG_TAIL = 4096
#: Destination kinds (the targets registry's names); ``sns`` counts only where the registry has that kind.
DESTINATION_KINDS = ("queue", "bus", "function", "sns")
ATTEMPT_KEY = "attempt"


def iso_now(epoch: float) -> str:
    moment = dt.datetime.fromtimestamp(epoch, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def log_tail(result: InvocationResult, rid: str) -> str:
    text = f"{result.logs}END RequestId: {rid}\nREPORT RequestId: {rid}\tDuration: {result.duration * 1000:.2f} ms\n"
    data = text.encode("utf-8", "replace")[-LOG_TAIL:]
    return base64.b64encode(data).decode()


class InvokeOperations(FunctionOperations):
    """Invoke and the asynchronous invocation configuration (parameters: see `LambdaState`; `targets` is set by
    `LambdaService`)."""

    targets: Targets

    async def run(
        self, function: Function, payload: bytes, rid: str, client_context: Any = None
    ) -> InvocationResult:
        """One invocation, deployed or local; its error (if any) is in the result."""
        if function.local:
            event = orjson.loads(payload) if payload else {}
            return await self.functions.run_local(function.name, function.arn, event)
        spec = await self.spec(function)
        if spec is None:
            document = {
                "errorType": "Runtime.InvalidEntrypoint",
                "errorMessage": "The function's code is missing.",
            }
            return InvocationResult(orjson.dumps(document), "Unhandled")
        return await self.functions.run(spec, payload, request=rid, client_context=client_context)

    # -- Invoke --------------------------------------------------------------------------------------------------
    async def op_Invoke(self, params: JSON, ctx: RequestContext) -> JSON:
        function = await self.function(params["FunctionName"], ctx, params.get("Qualifier"))
        kind = params.get("InvocationType") or "RequestResponse"
        payload: bytes = params.get("Payload") or b""
        limit = MAX_ASYNC_PAYLOAD if kind == "Event" else MAX_SYNC_PAYLOAD
        if len(payload) > limit:
            raise too_large(
                f"{len(payload)} byte payload is too large for the {kind} invocation type (limit {limit} bytes)"
            )
        if payload.strip():
            try:
                orjson.loads(payload)
            except orjson.JSONDecodeError as exc:
                raise bad_content(f"Could not parse request body into json: {exc}") from None
        else:
            payload = b"{}"
        client_context = None
        if params.get("ClientContext"):
            try:
                client_context = orjson.loads(base64.b64decode(params["ClientContext"], validate=True))
            except (binascii.Error, ValueError, orjson.JSONDecodeError):
                raise invalid("Client context must be a valid Base64-encoded JSON object.") from None
        if kind == "DryRun":
            return {"StatusCode": 204}
        if kind == "Event":
            await self.enqueue(function, payload)
            return {"StatusCode": 202}
        rid = request_id()
        result = await self.run(function, payload, rid, client_context)
        if len(result.payload) > MAX_SYNC_PAYLOAD:
            document = {
                "errorType": "Function.ResponseSizeTooLarge",
                "errorMessage": f"Response payload size ({len(result.payload)} bytes) exceeded maximum allowed "
                f"payload size ({MAX_SYNC_PAYLOAD} bytes).",
            }
            result = InvocationResult(orjson.dumps(document), "Unhandled", result.logs, result.duration)
        out: JSON = {"StatusCode": 200, "Payload": result.payload, "ExecutedVersion": model.LATEST}
        if result.error is not None:
            out["FunctionError"] = result.error
        if params.get("LogType") == "Tail":
            out["LogResult"] = log_tail(result, rid)
        return out

    async def op_InvokeAsync(self, params: JSON, ctx: RequestContext) -> JSON:
        """The deprecated InvokeAsync: an Event invocation."""
        function = await self.function(params["FunctionName"], ctx)
        payload: bytes = params.get("InvokeArgs") or b"{}"
        try:
            orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            raise bad_content(f"Could not parse request body into json: {exc}") from None
        await self.enqueue(function, payload)
        return {"Status": 202}

    # -- asynchronous invocations -----------------------------------------------------------------------------------
    async def invoke_config(self, function: Function) -> EventInvokeConfig:
        resource = await self.store.get_resource(model.KIND_INVOKE_CONFIG, function.key)
        if resource is None:
            return EventInvokeConfig(function.arn, 0.0)
        return EventInvokeConfig.from_store(resource.body)

    async def enqueue(self, function: Function, payload: bytes) -> None:
        """Accept an Event invocation: one work-queue item, committed before Invoke answers 202 (nothing accepted
        is lost); its retry policy is the function's EventInvokeConfig at this moment."""
        config = await self.invoke_config(function)
        now = self.clock.now()
        rid = request_id()
        body = {
            "arn": function.arn,
            "payload": payload.decode("utf-8", "replace"),
            "request_id": rid,
            "function": {"account": function.account, "region": function.region, "name": function.name},
        }
        batch = self.store.batch()
        batch.enqueue(
            model.ASYNC_QUEUE,
            rid,
            orjson.dumps(body),
            attributes=envelope_attributes(
                target=function.arn, first_seen=now, policy=RetryPolicy(config.retries, config.age)
            ),
        )
        await self.store.commit(batch)

    async def _async_function(self, body: JSON) -> Function:
        where = body["function"]
        function = self.local(where["account"], where["region"], where["name"]) or await self.stored(
            where["account"], where["region"], where["name"]
        )
        if function is None:
            raise TargetError("NO_RESOURCE", f"Function not found: {body['arn']}", retryable=False)
        return function

    async def deliver_async(self, body: JSON) -> None:
        """The dispatcher's `invoke`: run an Event invocation; a function error raises `TargetError` (retried by
        the engine's rule); success goes to the OnSuccess destination."""
        function = await self._async_function(body)
        result = await self.run(function, body["payload"].encode(), body["request_id"])
        if result.error is not None:
            body["response"] = result.error_document()
            document = body["response"]
            raise TargetError(
                "FUNCTION_ERROR", f"{document.get('errorType')}: {document.get('errorMessage')}"
            )
        config = await self.invoke_config(function)
        if config.on_success:
            record = self._record(body, function, "Success", result.payload, None)
            # The invocation succeeded: a destination that cannot be reached is logged, the function not re-run.
            await self._send_destination(config.on_success, record, success=True)

    async def async_failed(self, body: JSON, failure: Failure) -> bool:
        """The dispatcher's `dead_letter`: an Event invocation given up — to the OnFailure destination, else
        the function's DeadLetterConfig (its event as the message). Whether it reached one."""
        try:
            function = await self._async_function(body)
        except TargetError:
            return False
        config = await self.invoke_config(function)
        condition = (
            "EventAgeExceeded" if failure.condition == "MaximumEventAgeInSeconds" else "RetriesExhausted"
        )
        if config.on_failure:
            response = body.get("response") or {"errorType": failure.code, "errorMessage": failure.message}
            record = self._record(body, function, condition, orjson.dumps(response), "Unhandled")
            return await self._send_destination(config.on_failure, record, success=False)
        if function.dead_letter_arn:
            attributes = {
                "RequestID": body["request_id"],
                "ErrorCode": "200",
                "ErrorMessage": failure.message[:256] or failure.code,
            }
            message = Message(
                body["payload"],
                attributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
            )
            try:
                await self.targets.send_one(function.dead_letter_arn, message)
            except TargetError as exc:
                log.warning("function %s: cannot reach its dead-letter queue: %s", function.name, exc)
                return False
            return True
        return False

    def _record(
        self, body: JSON, function: Function, condition: str, response: bytes, error: str | None
    ) -> JSON:
        """AWS's invocation record, as a destination receives it."""
        try:
            request_payload: Any = orjson.loads(body["payload"])
        except orjson.JSONDecodeError:
            request_payload = body["payload"]
        try:
            response_payload: Any = orjson.loads(response) if response else None
        except orjson.JSONDecodeError:
            response_payload = response.decode("utf-8", "replace")
        context: JSON = {"statusCode": 200, "executedVersion": model.LATEST}
        if error is not None:
            context["functionError"] = error
        return {
            "version": "1.0",
            "timestamp": iso_now(self.clock.now()),
            "requestContext": {
                "requestId": body["request_id"],
                "functionArn": f"{function.arn}:{model.LATEST}",
                "condition": condition,
                "approximateInvokeCount": int(body.get(ATTEMPT_KEY, 1)),
            },
            "requestPayload": request_payload,
            "responseContext": context,
            "responsePayload": response_payload,
        }

    async def _send_destination(self, arn: str, record: JSON, *, success: bool) -> bool:
        kind = kind_name(arn)
        if kind == "bus":
            outcome = "Success" if success else "Failure"
            message = Message(
                orjson.dumps(record).decode(),
                source="lambda",
                detail_type=f"Lambda Function Invocation Result - {outcome}",
                resources=(arn, record["requestContext"]["functionArn"]),
            )
        elif kind == "function":
            message = Message(record)
        else:
            message = Message(orjson.dumps(record).decode())
        try:
            await self.targets.send_one(arn, message)
        except TargetError as exc:
            log.warning("cannot send an invocation record to %s: %s", arn, exc)
            return False
        return True

    # -- EventInvokeConfig -----------------------------------------------------------------------------------------
    def _destination(self, config: JSON, which: str) -> str | None:
        arn = ((config or {}).get(which) or {}).get("Destination")
        if not arn:
            return None
        kind = kind_name(arn)
        if kind not in DESTINATION_KINDS:
            raise invalid(
                f"The provided destination config DestinationConfig.{which}.Destination is invalid: {arn} is not "
                "an SQS queue, an SNS topic, an event bus or a function."
            )
        return str(arn)

    async def _config_function(self, params: JSON, ctx: RequestContext) -> Function:
        function = await self.function(params["FunctionName"], ctx, params.get("Qualifier"))
        return function

    async def _put_config(self, params: JSON, ctx: RequestContext, *, merge: bool) -> JSON:
        async with self.lock:
            function = await self._config_function(params, ctx)
            current = await self.invoke_config(function) if merge else EventInvokeConfig(function.arn, 0.0)
            destinations = params.get("DestinationConfig")
            config = EventInvokeConfig(
                function_arn=function.arn,
                modified=self.clock.now(),
                maximum_retry_attempts=params.get("MaximumRetryAttempts", current.maximum_retry_attempts),
                maximum_event_age=params.get("MaximumEventAgeInSeconds", current.maximum_event_age),
                on_success=self._destination(destinations, "OnSuccess")
                if destinations is not None and "OnSuccess" in destinations
                else current.on_success,
                on_failure=self._destination(destinations, "OnFailure")
                if destinations is not None and "OnFailure" in destinations
                else current.on_failure,
            )
            await self.store.put_resource(model.KIND_INVOKE_CONFIG, function.key, config.to_store())
        return config.to_api()

    async def op_PutFunctionEventInvokeConfig(self, params: JSON, ctx: RequestContext) -> JSON:
        return await self._put_config(params, ctx, merge=False)

    async def op_UpdateFunctionEventInvokeConfig(self, params: JSON, ctx: RequestContext) -> JSON:
        return await self._put_config(params, ctx, merge=True)

    async def op_GetFunctionEventInvokeConfig(self, params: JSON, ctx: RequestContext) -> JSON:
        function = await self._config_function(params, ctx)
        resource = await self.store.get_resource(model.KIND_INVOKE_CONFIG, function.key)
        if resource is None:
            raise not_found(f"The function {function.arn} doesn't have an EventInvokeConfig")
        return EventInvokeConfig.from_store(resource.body).to_api()

    async def op_DeleteFunctionEventInvokeConfig(self, params: JSON, ctx: RequestContext) -> JSON:
        async with self.lock:
            function = await self._config_function(params, ctx)
            if not await self.store.delete_resource(model.KIND_INVOKE_CONFIG, function.key):
                raise not_found(f"The function {function.arn} doesn't have an EventInvokeConfig")
        return {}

    async def op_ListFunctionEventInvokeConfigs(self, params: JSON, ctx: RequestContext) -> JSON:
        function = await self._config_function(params, ctx)
        resource = await self.store.get_resource(model.KIND_INVOKE_CONFIG, function.key)
        configs = [EventInvokeConfig.from_store(resource.body).to_api()] if resource is not None else []
        return {"FunctionEventInvokeConfigs": configs}
