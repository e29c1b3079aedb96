"""PutTargets validation: what Pipework can deliver to, and the input settings of each target, in PutTargets'
wording (the target kinds themselves check their ARNs and parameters; see `pipework.connectors.targets`)."""

from __future__ import annotations

from pipework.connectors.targets import Message
from pipework.connectors.targets import registry as targets
from pipework.connectors.targets.base import GROUP_ID_REQUIRED
from pipework.connectors.targets.queue import is_standard_queue
from pipework.jsontypes import JSON

from .errors import validation

#: The target kinds a rule may name, and how PutTargets describes them.
SUPPORTED = {
    "bus": "an event bus of this server (arn:aws:events:<region>:<account>:event-bus/<name>)",
    "api-destination": "an API destination (arn:aws:events:<region>:<account>:api-destination/<name>/<id>)",
    "queue": "a queue (arn:aws:sqs:<region>:<account>:<name>)",
    "function": "a Lambda function, created through the Lambda API or registered with --functions (arn:aws:lambda:<region>:<account>:function:<name>)",
    "log-group": "a log group written as JSON lines (arn:aws:logs:<region>:<account>:log-group:<name>)",
}


def validate_targets(given: list[JSON]) -> None:
    from pipework.transform import TransformError, validate_target_input

    seen: set[str] = set()
    for target in given:
        target_id = target["Id"]
        if target_id in seen:
            raise validation(f"Duplicate target id {target_id} in the request.")
        seen.add(target_id)
        arn = target["Arn"]
        if targets.kind_name(arn) not in SUPPORTED:
            raise validation(
                f"Parameter {arn} is not valid. Reason: Pipework delivers to "
                + "; ".join(SUPPORTED.values())
                + "."
            )
        group = (target.get("SqsParameters") or {}).get("MessageGroupId")
        problem = targets.check(arn, Message(group_id=group))
        if problem is not None and problem.code == GROUP_ID_REQUIRED:
            raise validation(f"Parameter(s) SqsParameters must be specified for target: {target_id}.")
        dead_letter = (target.get("DeadLetterConfig") or {}).get("Arn")
        if dead_letter is not None and not is_standard_queue(dead_letter):
            raise validation("Only standard SQS queues are supported as dead-letter queues.")
        try:
            validate_target_input(target)
        except TransformError as exc:
            raise validation(str(exc)) from None
