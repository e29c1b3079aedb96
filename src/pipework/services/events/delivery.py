"""Delivering a matched event to a rule target: the input transformation, then the target by ARN kind (bus,
queue, API destination, function, log), and the dead-letter message AWS sends when retries are exhausted.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import orjson

from pipework.connectors.targets import TargetError
from pipework.connectors.targets.function import Functions
from pipework.connectors.targets.http import HttpTarget
from pipework.connectors.targets.log import LogTarget
from pipework.engine.dispatcher import Failure
from pipework.engine.retry import RetryPolicy
from pipework.services.base import RequestContext, Service, ServiceError

from .entries import format_time
from .model import name_from_arn
from .targets import target_service

if TYPE_CHECKING:
    from .api import EventsService

JSON = dict[str, Any]
_SQS_MISSING = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")


class QueueSender:
    """Sends messages to queues through the SQS service of the same server."""

    def __init__(self, sqs: Service, *, region: str, account: str) -> None:
        self.sqs = sqs
        self.region = region
        self.account = account

    async def send(
        self,
        arn: str,
        body: str,
        *,
        attributes: JSON | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
    ) -> None:
        name = arn.rsplit(":", 1)[-1]
        params: JSON = {"QueueUrl": f"http://localhost/{arn.split(':')[4]}/{name}", "MessageBody": body}
        if attributes:
            params["MessageAttributes"] = attributes
        if group_id is not None:
            params["MessageGroupId"] = group_id
        if name.endswith(".fifo"):
            # Without an explicit id each delivery is its own message: a retried delivery may then arrive twice,
            # as with AWS's at-least-once targets.
            params["MessageDeduplicationId"] = deduplication_id or str(uuid.uuid4())
        ctx = RequestContext("sqs", "SendMessage", self.region, self.account, str(uuid.uuid4()))
        try:
            await self.sqs.handle("SendMessage", params, ctx)
        except ServiceError as exc:
            if exc.code in _SQS_MISSING:
                raise TargetError("NO_RESOURCE", f"Queue {arn} does not exist.", retryable=False) from None
            retryable = exc.status >= 500 or "Throttl" in exc.code
            raise TargetError(exc.code, exc.message, retryable=retryable) from None


class RuleDelivery:
    """What the dispatcher calls for EventBridge deliveries (payloads built by `EventsService.route_into`)."""

    def __init__(
        self,
        events: EventsService,
        queues: QueueSender | None,
        *,
        functions: Functions,
        logs: LogTarget,
        http: HttpTarget,
    ) -> None:
        self.events = events
        self.queues = queues
        self.functions = functions
        self.logs = logs
        self.http = http

    @staticmethod
    def policy_of(payload: JSON) -> RetryPolicy:
        return RetryPolicy.from_api(payload["target"].get("RetryPolicy"))

    def render(self, payload: JSON) -> str:
        """The text the target receives (the event as JSON, or its Input / InputPath / InputTransformer)."""
        from pipework.transform import TransformError, render_target_input

        try:
            return render_target_input(
                payload["target"],
                payload["event"],
                rule_arn=payload["rule_arn"],
                rule_name=payload["rule"],
                ingestion_time=format_time(payload["ingested"]),
            )
        except TransformError as exc:
            # AWS delivers nothing when a template renders invalid JSON; retrying would not change that.
            raise TargetError("INVALID_JSON", str(exc), retryable=False) from None

    async def invoke(self, payload: JSON) -> None:
        target = payload["target"]
        arn: str = target["Arn"]
        service = target_service(arn)
        if service == "events" and ":event-bus/" in arn:
            # An event bus target receives the event itself (input settings do not apply), same id.
            try:
                await self.events.put_event_on_bus(name_from_arn(arn), payload["event"])
            except ServiceError as exc:
                raise TargetError("NO_RESOURCE", exc.message, retryable=False) from None
            return
        body = self.render(payload)
        if service == "sqs":
            if self.queues is None:
                raise TargetError("NO_RESOURCE", "Queues are not served by this server.", retryable=False)
            group = (target.get("SqsParameters") or {}).get("MessageGroupId")
            await self.queues.send(arn, body, group_id=group)
        elif service == "events":
            destination = self.events.api_destination_by_arn(arn)
            if destination is None:
                raise TargetError("NO_RESOURCE", f"API destination {arn} does not exist.", retryable=False)
            connection = self.events.connection_by_arn(destination["ConnectionArn"])
            if connection is None or connection["ConnectionState"] == "DEAUTHORIZED":
                raise TargetError("NO_PERMISSIONS", "The connection is not authorized.", retryable=False)
            await self.http.invoke(destination, connection, body, target.get("HttpParameters"))
        elif service == "lambda":
            event: Any
            try:
                event = orjson.loads(body)
            except orjson.JSONDecodeError:
                event = body
            await self.functions.invoke(arn, event)
        elif service == "logs":
            await self.logs.put(arn, body, timestamp=self.events.clock.now())
        else:
            raise TargetError("NO_RESOURCE", f"Unsupported target {arn}.", retryable=False)

    async def dead_letter(self, payload: JSON, failure: Failure) -> bool:
        """Send the event to the target's DeadLetterConfig queue with AWS's attributes; False if there is none or
        it cannot be reached (the event is then dropped and counted, as on AWS; Pipework still keeps it for
        redrive)."""
        arn = (payload["target"].get("DeadLetterConfig") or {}).get("Arn")
        if not arn or self.queues is None:
            return False
        attributes = {
            "RULE_ARN": payload["rule_arn"],
            "TARGET_ARN": payload["target"]["Arn"],
            "ERROR_CODE": failure.code,
            "ERROR_MESSAGE": failure.message[:256],
            # Empty (left out below) for an error no retry can fix: no retry limit was exhausted.
            "EXHAUSTED_RETRY_CONDITION": failure.condition,
            "RETRY_ATTEMPTS": str(failure.attempts),
        }
        message_attributes = {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items() if v}
        try:
            await self.queues.send(
                arn, orjson.dumps(payload["event"]).decode(), attributes=message_attributes
            )
        except TargetError:
            return False
        return True
