"""Invoking a schedule's target: context attributes substituted in Input, then the target its ARN names (queue,
bus, function, API destination, universal aws-sdk call), and the dead-letter message EventBridge Scheduler sends.

Called by the dispatcher (which owns retries with backoff and the age/attempt limits); errors are `TargetError`s
carrying the target's own error code, as Scheduler reports them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable

from pipework.connectors.targets import Message, TargetError
from pipework.connectors.targets.registry import Targets
from pipework.engine.dispatcher import Failure
from pipework.jsontypes import JSON
from pipework.schedule_expressions import format_time

ATTEMPT_KEY = "attempt"
#: Outcomes kept per schedule for the console (in memory: diagnostics, not state).
RESULTS_KEPT = 5


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


def message(invocation: JSON) -> Message:
    """What the schedule's target receives: the Input, and the target's parameters."""
    target = invocation["target"]
    group = (target.get("SqsParameters") or {}).get("MessageGroupId")
    bus = target.get("EventBridgeParameters") or {}
    return Message(
        render_input(invocation),
        group_id=group,
        # One execution is one message, however often it is retried.
        deduplication_id=invocation["execution_id"] if group is not None else None,
        source=bus.get("Source", "aws.scheduler"),
        detail_type=bus.get("DetailType", "Scheduled Event"),
        resources=(invocation["arn"],),
        # A universal target's call acts in the schedule's account and region (older invocations: the server's).
        account=invocation.get("account"),
        region=invocation.get("region"),
    )


class ScheduleInvoker:
    """What the dispatcher calls for schedule invocations (payloads built by `SchedulerService.fire`).

    Parameters:
        targets: the instance's targets. completed: called when the last invocation of a DELETE-after-completion
            schedule ends, delivered or dead-lettered.
    """

    def __init__(self, targets: Targets, completed: Callable[[JSON], Awaitable[None]]) -> None:
        self.targets = targets
        self.completed = completed
        # By schedule ARN, newest last: what each attempt did (`last_results`).
        self.results: dict[str, deque[JSON]] = {}

    def last_results(self, schedule_arn: str) -> list[JSON]:
        """The latest attempts of a schedule's target since this process started, newest last: the time it
        was due, the attempt, and SUCCEEDED or FAILED with the target's error code and message."""
        return list(self.results.get(schedule_arn, ()))

    def _record(self, invocation: JSON, status: str, error: TargetError | None = None) -> None:
        arn = invocation["arn"]
        kept = self.results.get(arn)
        if kept is None:  # not setdefault: that would build a deque on every invocation
            kept = self.results[arn] = deque(maxlen=RESULTS_KEPT)
        result: JSON = {
            "Scheduled": invocation["scheduled"],
            "Attempt": invocation.get(ATTEMPT_KEY, 1),
            "Status": status,
        }
        if error is not None:
            result["ErrorCode"], result["ErrorMessage"] = error.code, error.message
        kept.append(result)

    async def invoke(self, invocation: JSON) -> None:
        target = invocation["target"]
        try:
            # With auth on, the target is invoked as the schedule's role (its policies must allow the action).
            await self.targets.send_one(
                target["Arn"],
                message(invocation),
                account=invocation.get("account"),
                role_arn=target.get("RoleArn"),
                service="scheduler.amazonaws.com",
            )
        except TargetError as exc:
            self._record(invocation, "FAILED", exc)
            raise
        self._record(invocation, "SUCCEEDED")
        if invocation.get("delete_after"):
            # If the process dies here the invocation runs again (at-least-once) and the deletion follows then.
            await self.completed(invocation)

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
        body = Message(
            render_input(invocation),
            attributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
        )
        try:
            await self.targets.send_one(arn, body)
        except TargetError:
            return False
        return True
