"""Invoking a schedule's target: context attributes substituted in Input, then the target by kind (queue, bus,
function, API destination, universal aws-sdk call), and the dead-letter message EventBridge Scheduler sends.

Called by the dispatcher (which owns retries with backoff and the age/attempt limits); errors are `TargetError`s
carrying the target service's own error code, as Scheduler reports them.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson

from pipework.connectors.targets import TargetError
from pipework.connectors.targets.http import HttpTarget
from pipework.engine.dispatcher import Failure
from pipework.engine.retry import RetryPolicy
from pipework.services.base import RequestContext, ServiceError

from .expressions import format_time
from .targets import target_kind

if TYPE_CHECKING:
    from pipework.app import Pipework

JSON = dict[str, Any]
ATTEMPT_KEY = "attempt"
Decode = Callable[[JSON], tuple[JSON, list[Any]]]


def render_input(invocation: JSON) -> str:
    """The target's Input with the context attributes substituted (``{}`` when the schedule has no Input)."""
    text: str = invocation["target"].get("Input", "{}")
    if "<aws.scheduler." not in text:
        return text
    for name, value in (
        ("schedule-arn", invocation["arn"]),
        ("scheduled-time", format_time(invocation["scheduled"])),
        ("execution-id", invocation["execution_id"]),
        ("attempt-number", str(invocation.get(ATTEMPT_KEY, 1))),
    ):
        text = text.replace(f"<aws.scheduler.{name}>", value)
    return text


def queue_url(arn: str) -> str:
    parts = arn.split(":")
    return f"http://localhost/{parts[4]}/{parts[5]}"


class ServiceCaller:
    """Calls an API this server serves, in process, with its input validated against botocore's model (as if it
    came over the wire); a `ServiceError` becomes a `TargetError` with the service's error code."""

    def __init__(self, pipework: Pipework) -> None:
        self.pipework = pipework
        self._decoders: dict[tuple[str, str], Decode] = {}

    def _decoder(self, service: str, operation: str) -> Decode:
        found = self._decoders.get((service, operation))
        if found is None:
            # The wire layer's validator: the same checks a request over HTTP gets.
            from pipework.api.app import load_service_model
            from pipework.api.validation import compile_input

            model = load_service_model(service)
            if operation not in model.operation_names:
                raise TargetError(
                    "ValidationException", f"{service} has no operation {operation}.", retryable=False
                )
            found = self._decoders[(service, operation)] = compile_input(
                model.operation_model(operation).input_shape
            )
        return found

    async def call(self, service: str, operation: str, params: JSON) -> JSON:
        served = self.pipework.services.get(service)
        if served is None:
            raise TargetError(
                "ValidationException", f"Service {service} is not served by this server.", retryable=False
            )
        from pipework.api.validation import SerializationError, validation_message

        try:
            decoded, problems = self._decoder(service, operation)(params)
        except SerializationError as exc:
            raise TargetError("SerializationException", str(exc), retryable=False) from None
        if problems:
            raise TargetError("ValidationException", validation_message(problems), retryable=False)
        settings = self.pipework.settings
        ctx = RequestContext(service, operation, settings.region, settings.account, str(uuid.uuid4()))
        try:
            return await served.handle(operation, decoded, ctx)
        except ServiceError as exc:
            retryable = exc.status >= 500 or "Throttl" in exc.code or not exc.sender_fault
            raise TargetError(exc.code, exc.message, retryable=retryable) from None


class ScheduleInvoker:
    """What the dispatcher calls for schedule invocations (payloads built by `SchedulerService.fire`).

    Parameters:
        pipework: the instance (its services, functions and settings).
        http: the API-destination connector. completed: called when the last invocation of a
            DELETE-after-completion schedule ends, delivered or dead-lettered.
    """

    def __init__(
        self, pipework: Pipework, http: HttpTarget, completed: Callable[[JSON], Awaitable[None]]
    ) -> None:
        self.pipework = pipework
        self.http = http
        self.completed = completed
        self.caller = ServiceCaller(pipework)

    @staticmethod
    def policy_of(invocation: JSON) -> RetryPolicy:
        return RetryPolicy.from_api(invocation["target"].get("RetryPolicy"))

    async def invoke(self, invocation: JSON) -> None:
        await self._invoke(invocation)
        if invocation.get("delete_after"):
            # If the process dies here the invocation runs again (at-least-once) and the deletion follows then.
            await self.completed(invocation)

    async def _invoke(self, invocation: JSON) -> None:
        target = invocation["target"]
        arn: str = target["Arn"]
        kind = target_kind(arn)
        body = render_input(invocation)
        if kind is None:
            raise TargetError("ValidationException", f"Unsupported target {arn}.", retryable=False)
        if kind.kind == "queue":
            params: JSON = {"QueueUrl": queue_url(arn), "MessageBody": body}
            group = (target.get("SqsParameters") or {}).get("MessageGroupId")
            if group is not None:
                params["MessageGroupId"] = group
                # One execution is one message, however often it is retried.
                params["MessageDeduplicationId"] = invocation["execution_id"]
            await self.caller.call("sqs", "SendMessage", params)
        elif kind.kind == "bus":
            parameters = target.get("EventBridgeParameters") or {}
            entry = {
                "EventBusName": arn,
                "Source": parameters.get("Source", "aws.scheduler"),
                "DetailType": parameters.get("DetailType", "Scheduled Event"),
                "Detail": body,
                "Resources": [invocation["arn"]],
            }
            result = await self.caller.call("events", "PutEvents", {"Entries": [entry]})
            if result.get("FailedEntryCount"):
                failed = result["Entries"][0]
                raise TargetError(failed.get("ErrorCode", "InternalFailure"), failed.get("ErrorMessage", ""))
        elif kind.kind == "function":
            event: Any
            try:
                event = orjson.loads(body)
            except orjson.JSONDecodeError:
                event = body
            await self.pipework.functions.invoke(arn, event)
        elif kind.kind == "api-destination":
            await self._api_destination(arn, body)
        else:
            try:
                params = orjson.loads(body)
            except orjson.JSONDecodeError:
                raise TargetError(
                    "ValidationException", "Input is not valid JSON.", retryable=False
                ) from None
            if not isinstance(params, dict):
                raise TargetError("ValidationException", "Input must be a JSON object.", retryable=False)
            await self.caller.call(kind.service, kind.operation, params)

    async def _api_destination(self, arn: str, body: str) -> None:
        runtime = self.pipework.services.get("events")
        events = getattr(runtime, "service", None)
        destination = events.api_destination_by_arn(arn) if events is not None else None
        if events is None or destination is None:
            raise TargetError(
                "ResourceNotFoundException", f"API destination {arn} does not exist.", retryable=False
            )
        connection = events.connection_by_arn(destination["ConnectionArn"])
        if connection is None or connection["ConnectionState"] == "DEAUTHORIZED":
            raise TargetError("AccessDeniedException", "The connection is not authorized.", retryable=False)
        await self.http.invoke(destination, connection, body, None)

    async def dead_letter(self, invocation: JSON, failure: Failure) -> bool:
        """Send the invocation to the target's DeadLetterConfig queue: the body is the Input the target would
        have received; the attributes name the error, the execution, the schedule and the target (as AWS's)."""
        if invocation.get("delete_after"):
            await self.completed(invocation)
        arn = (invocation["target"].get("DeadLetterConfig") or {}).get("Arn")
        if not arn:
            return False
        attributes = {
            "ERROR_CODE": failure.code,
            "ERROR_MESSAGE": failure.message[:256] or failure.code,
            "EXECUTION_ID": invocation["execution_id"],
            "SCHEDULE_ARN": invocation["arn"],
            "TARGET_ARN": invocation["target"]["Arn"],
        }
        params: JSON = {
            "QueueUrl": queue_url(arn),
            "MessageBody": render_input(invocation),
            "MessageAttributes": {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
        }
        try:
            await self.caller.call("sqs", "SendMessage", params)
        except TargetError:
            return False
        return True
