"""Delivering a matched event to a rule target: the input transformation, then the target its ARN names, and the
dead-letter message AWS sends when retries are exhausted. Failures are reported in EventBridge's ERROR_CODE
vocabulary (NO_RESOURCE, NO_PERMISSIONS, ...).
"""

from __future__ import annotations

import orjson

from pipework.connectors.targets import HttpParameters, Message, TargetError
from pipework.connectors.targets.bus import BusTarget
from pipework.connectors.targets.registry import Targets
from pipework.engine.dispatcher import Failure
from pipework.engine.tracing import carried
from pipework.jsontypes import JSON

from .entries import format_time


def http_parameters(target: JSON) -> HttpParameters | None:
    """A rule target's HttpParameters (EventBridge's shape: lists and maps of strings)."""
    given = target.get("HttpParameters")
    if not given:
        return None
    return HttpParameters(
        path_values=tuple(given.get("PathParameterValues") or ()),
        headers=dict(given.get("HeaderParameters") or {}),
        query=dict(given.get("QueryStringParameters") or {}),
    )


class RuleDelivery:
    """What the dispatcher calls for EventBridge deliveries (payloads built by `EventsService.route_into`).

    Parameters: `targets`, the instance's targets.
    """

    def __init__(self, targets: Targets) -> None:
        self.targets = targets

    @staticmethod
    def render(payload: JSON) -> str:
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

    def message(self, payload: JSON) -> Message:
        target = payload["target"]
        # The event's trace goes on (a queue message's AWSTraceHeader), naming this attempt's span when tracing.
        trace = carried(payload.get("trace"))
        if BusTarget.matches(target["Arn"]):
            # An event bus target receives the event itself (input settings do not apply), same id.
            return Message(event=payload["event"], trace=trace)
        return Message(
            self.render(payload),
            group_id=(target.get("SqsParameters") or {}).get("MessageGroupId"),
            http=http_parameters(target),
            trace=trace,
        )

    async def invoke(self, payload: JSON) -> None:
        try:
            await self.targets.send_one(
                payload["target"]["Arn"],
                self.message(payload),
                account=payload.get("account"),
                role_arn=payload["target"].get("RoleArn"),
                service="events.amazonaws.com",
            )
        except TargetError as exc:
            raise exc.as_reason() from None

    async def dead_letter(self, payload: JSON, failure: Failure) -> bool:
        """Send the event to the target's DeadLetterConfig queue with AWS's attributes; False if there is none or
        it cannot be reached (the event is then dropped and counted, as on AWS; Pipework still keeps it for
        redrive)."""
        arn = (payload["target"].get("DeadLetterConfig") or {}).get("Arn")
        if not arn:
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
        body = orjson.dumps(payload["event"]).decode()
        try:
            await self.targets.send_one(arn, Message(body, attributes=message_attributes))
        except TargetError:
            return False
        return True
