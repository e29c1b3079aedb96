"""What a schedule may target, and how its Target is checked at CreateSchedule / UpdateSchedule.

Templated targets: a queue, an event bus, a local function, an API destination. Universal targets
(``arn:aws:scheduler:::aws-sdk:<service>:<action>``) call an API that this server serves, in process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from .errors import validation

JSON = dict[str, Any]
MAX_INPUT_BYTES = 256 * 1024
UNIVERSAL_PREFIX = "arn:aws:scheduler:::aws-sdk:"
#: aws-sdk service names that differ from botocore's.
SDK_SERVICE_NAMES = {"eventbridge": "events"}

SUPPORTED = (
    "a queue (arn:aws:sqs:<region>:<account>:<name>)",
    "an event bus (arn:aws:events:<region>:<account>:event-bus/<name>)",
    "an API destination (arn:aws:events:<region>:<account>:api-destination/<name>/<id>)",
    "a local function (arn:aws:lambda:<region>:<account>:function:<name>)",
    "a universal target arn:aws:scheduler:::aws-sdk:<service>:<action> of a service this server serves",
)


@dataclass(frozen=True, slots=True)
class TargetKind:
    """``kind``: queue | bus | api-destination | function | universal. For universal targets, ``service`` is
    botocore's service name and ``operation`` the API operation (``sqs``, ``SendMessage``)."""

    kind: str
    service: str = ""
    operation: str = ""


def target_kind(arn: str) -> TargetKind | None:
    if arn.startswith(UNIVERSAL_PREFIX):
        service, _, action = arn[len(UNIVERSAL_PREFIX) :].partition(":")
        if not service or not action or ":" in action:
            return None
        return TargetKind(
            "universal", SDK_SERVICE_NAMES.get(service, service), action[0].upper() + action[1:]
        )
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    service, resource = parts[2], parts[5]
    if service == "sqs":
        return TargetKind("queue")
    if service == "events" and resource.startswith("event-bus/"):
        return TargetKind("bus")
    if service == "events" and resource.startswith("api-destination/"):
        return TargetKind("api-destination")
    if service == "lambda" and resource.startswith("function:"):
        return TargetKind("function")
    return None


def _is_json(text: str) -> bool:
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return True


def validate_target(target: JSON) -> TargetKind:
    kind = target_kind(target["Arn"])
    if kind is None:
        raise validation(
            f"Invalid target {target['Arn']}. Pipework schedules can target " + "; ".join(SUPPORTED) + "."
        )
    text = target.get("Input")
    if text is not None:
        if len(text.encode()) > MAX_INPUT_BYTES:
            raise validation("Target Input exceeds the maximum size of 256 KB.")
        if kind.kind in ("universal", "bus", "function") and not _is_json(text):
            raise validation("Target Input must be valid JSON for this target type.")
    if kind.kind == "universal" and text is None:
        raise validation("Target Input is required for universal targets.")
    if kind.kind == "bus" and "EventBridgeParameters" not in target:
        raise validation("EventBridgeParameters is required for EventBridge PutEvents targets.")
    fifo = kind.kind == "queue" and target["Arn"].endswith(".fifo")
    if fifo and not (target.get("SqsParameters") or {}).get("MessageGroupId"):
        raise validation("SqsParameters.MessageGroupId is required for FIFO queue targets.")
    return kind
