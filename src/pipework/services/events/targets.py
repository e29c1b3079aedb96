"""PutTargets validation: what Pipework can deliver to, and the input settings of each target."""

from __future__ import annotations

from typing import Any

from .errors import validation

JSON = dict[str, Any]

#: The ARN kinds a rule target may name, and how Pipework delivers to them.
SUPPORTED = {
    "events": "an event bus of this server (arn:aws:events:<region>:<account>:event-bus/<name>) or an API "
    "destination (…:api-destination/<name>/<id>)",
    "sqs": "a queue (arn:aws:sqs:<region>:<account>:<name>)",
    "lambda": "a local function registered with --functions (arn:aws:lambda:<region>:<account>:function:<name>)",
    "logs": "a log group written as JSON lines (arn:aws:logs:<region>:<account>:log-group:<name>)",
}


def target_service(arn: str) -> str:
    parts = arn.split(":", 5)
    return parts[2] if len(parts) == 6 and parts[0] == "arn" else ""


def validate_targets(targets: list[JSON]) -> None:
    from pipework.transform import TransformError, validate_target_input

    seen: set[str] = set()
    for target in targets:
        target_id = target["Id"]
        if target_id in seen:
            raise validation(f"Duplicate target id {target_id} in the request.")
        seen.add(target_id)
        service = target_service(target["Arn"])
        if service not in SUPPORTED:
            raise validation(
                f"Parameter {target['Arn']} is not valid. Reason: Pipework delivers to "
                + "; ".join(SUPPORTED.values())
                + "."
            )
        dead_letter = (target.get("DeadLetterConfig") or {}).get("Arn")
        if dead_letter is not None and (
            target_service(dead_letter) != "sqs" or dead_letter.endswith(".fifo")
        ):
            raise validation("Only standard SQS queues are supported as dead-letter queues.")
        try:
            validate_target_input(target)
        except TransformError as exc:
            raise validation(str(exc)) from None
