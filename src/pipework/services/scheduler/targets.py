"""What a schedule may target, and how its Target is checked at CreateSchedule / UpdateSchedule, in Scheduler's
wording (the target kinds themselves check their ARNs and parameters; see `pipework.connectors.targets`).

Templated targets: a queue, an event bus, a local function, an API destination. Universal targets
(``arn:aws:scheduler:::aws-sdk:<service>:<action>``) call an API that this server serves, in process.
"""

from __future__ import annotations

from pipework.connectors.targets import Message
from pipework.connectors.targets import registry as targets
from pipework.connectors.targets.base import GROUP_ID_REQUIRED, INPUT_NOT_JSON, INPUT_REQUIRED
from pipework.jsontypes import JSON

from .errors import validation

MAX_INPUT_BYTES = 256 * 1024

#: The target kinds a schedule may name, and how CreateSchedule describes them.
SUPPORTED = {
    "queue": "a queue (arn:aws:sqs:<region>:<account>:<name>)",
    "bus": "an event bus (arn:aws:events:<region>:<account>:event-bus/<name>)",
    "api-destination": "an API destination (arn:aws:events:<region>:<account>:api-destination/<name>/<id>)",
    "function": "a Lambda function (arn:aws:lambda:<region>:<account>:function:<name>)",
    "sdk": "a universal target arn:aws:scheduler:::aws-sdk:<service>:<action> of a service this server serves",
}


def validate_target(target: JSON) -> str:
    """The kind of a schedule's target, or `ValidationException`."""
    arn = target["Arn"]
    kind = targets.kind_name(arn)
    if kind not in SUPPORTED:
        raise validation(
            f"Invalid target {arn}. Pipework schedules can target " + "; ".join(SUPPORTED.values()) + "."
        )
    text = target.get("Input")
    if text is not None and len(text.encode()) > MAX_INPUT_BYTES:
        raise validation("Target Input exceeds the maximum size of 256 KB.")
    group = (target.get("SqsParameters") or {}).get("MessageGroupId")
    problem = targets.check(arn, Message(text, group_id=group))
    if problem is not None:
        if problem.code == INPUT_NOT_JSON:
            raise validation("Target Input must be valid JSON for this target type.")
        if problem.code == INPUT_REQUIRED:
            raise validation("Target Input is required for universal targets.")
        if problem.code == GROUP_ID_REQUIRED:
            raise validation("SqsParameters.MessageGroupId is required for FIFO queue targets.")
        raise validation(f"Invalid target {arn}.")
    if kind == "bus" and "EventBridgeParameters" not in target:
        raise validation("EventBridgeParameters is required for EventBridge PutEvents targets.")
    return kind
