"""A pipe's execution log: LogConfiguration levels OFF / ERROR / INFO / TRACE, with IncludeExecutionData ["ALL"]
adding payloads, written as JSON lines (AWS's log record fields) to a file per log group.

Logs are diagnostics, not state: lines are appended without fsync, and a write error never fails an execution.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

log = logging.getLogger("pipework.pipes")

LEVELS = {"OFF": 0, "ERROR": 1, "INFO": 2, "TRACE": 3}

#: The level from which each message type is written (AWS: ERROR = failures, INFO = + stage progress,
#: TRACE = everything, including transformations and each invocation).
MESSAGE_LEVELS: dict[str, int] = {
    **dict.fromkeys(
        (
            "ExecutionFailed",
            "ExecutionTimeout",
            "ExecutionThrottled",
            "EnrichmentStageFailed",
            "EnrichmentInvocationFailed",
            "EnrichmentTransformationFailed",
            "TargetStageFailed",
            "TargetStagePartiallyFailed",
            "TargetInvocationFailed",
            "TargetInvocationPartiallyFailed",
            "TargetTransformationFailed",
            "ExecutionDeadLettered",
            "PipeStopped",
        ),
        1,
    ),
    **dict.fromkeys(
        (
            "ExecutionStarted",
            "ExecutionSucceeded",
            "EnrichmentStageEntered",
            "EnrichmentStageSucceeded",
            "TargetStageEntered",
            "TargetStageSucceeded",
            "TargetStageSkipped",
            "ExecutionRetried",
        ),
        2,
    ),
    **dict.fromkeys(
        (
            "PollingStageSucceeded",
            "EnrichmentTransformationStarted",
            "EnrichmentTransformationSucceeded",
            "EnrichmentInvocationStarted",
            "EnrichmentInvocationSucceeded",
            "TargetTransformationStarted",
            "TargetTransformationSucceeded",
            "TargetInvocationStarted",
            "TargetInvocationSucceeded",
            "TargetInvocationSkipped",
        ),
        3,
    ),
}
_LEVEL_NAMES = {1: "ERROR", 2: "INFO", 3: "TRACE"}


class ExecutionLog:
    """Writes one pipe's log lines to `sink` (a CloudWatch Logs group), else to `path` (neither, or level OFF:
    nothing is written).

    Parameters:
        resource_arn: the pipe ARN every line carries.
        level: OFF, ERROR, INFO or TRACE.
        include_data: IncludeExecutionData ["ALL"]: lines carry ``payload`` / ``awsRequest`` / ``awsResponse``.
        path: the JSON-lines file.
        now: epoch seconds.
        sink: called with each line (JSON text) instead of writing the file.
    """

    def __init__(
        self,
        resource_arn: str,
        level: str,
        include_data: bool,
        path: Path | None,
        now: Callable[[], float],
        sink: Callable[[str], None] | None = None,
    ) -> None:
        self.resource_arn = resource_arn
        self.level = LEVELS.get(level, 0) if path is not None or sink is not None else 0
        self.include_data = include_data
        self.path = path
        self.now = now
        self.sink = sink

    def enabled(self, message_type: str) -> bool:
        return self.level > 0 and MESSAGE_LEVELS.get(message_type, 3) <= self.level

    def write(
        self,
        execution_id: str,
        message_type: str,
        *,
        error: dict[str, Any] | None = None,
        payload: Any = None,
        aws_request: Any = None,
        aws_response: Any = None,
    ) -> None:
        if not self.enabled(message_type):
            return
        line: dict[str, Any] = {
            "resourceArn": self.resource_arn,
            "timestamp": int(self.now() * 1000),
            "executionId": execution_id,
            "messageType": message_type,
            "logLevel": _LEVEL_NAMES[MESSAGE_LEVELS.get(message_type, 3)],
        }
        if error is not None:
            line["error"] = error
        if self.include_data:
            if payload is not None:
                line["payload"] = _text(payload)
            if aws_request is not None:
                line["awsRequest"] = _text(aws_request)
            if aws_response is not None:
                line["awsResponse"] = _text(aws_response)
        if self.sink is not None:
            self.sink(orjson.dumps(line).decode())
            return
        assert self.path is not None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "ab") as handle:
                handle.write(orjson.dumps(line) + b"\n")
        except OSError:
            log.exception("cannot write the log of %s to %s", self.resource_arn, self.path)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value, default=str).decode()
