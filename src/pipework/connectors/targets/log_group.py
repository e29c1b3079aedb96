"""The ``log-group`` target: one JSON line per message appended to ``<dir>/<log group>.jsonl`` (a stand-in for
CloudWatch Logs), stamped with the clock's time. ``arn:aws:logs:<region>:<account>:log-group:<name>`` (a trailing
``:*`` is allowed, as AWS writes them).
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import orjson

from pipework.clock import Clock

from .base import NOT_THIS_KIND, Message, Problem, Sent, TargetError, arn_parts

if TYPE_CHECKING:
    from typing import Self

    from pipework.connectors.bundle import Connectors

_UNSAFE = re.compile(r"[^A-Za-z0-9._\-#]")


def log_group(arn: str) -> str:
    """The log group name of a log-group ARN."""
    rest = arn.split(":log-group:", 1)
    if len(rest) != 2 or not rest[1]:
        raise TargetError("NO_RESOURCE", f"{arn} is not a log group ARN.", retryable=False)
    name = rest[1]
    return name[:-2] if name.endswith(":*") else name


def log_file(directory: Path, arn: str) -> Path:
    """The file a log group's lines go to."""
    return directory / (_UNSAFE.sub("_", log_group(arn).strip("/")) + ".jsonl")


class LogGroupTarget:
    """Writes messages to files under ``directory``; one file per log group, appended and fsynced."""

    kind: ClassVar[str] = "log-group"

    def __init__(self, directory: Path, clock: Clock) -> None:
        self.directory = directory
        self.clock = clock
        self._lock = asyncio.Lock()

    @classmethod
    def build(cls, connectors: Connectors) -> Self:
        return cls(connectors.log_directory, connectors.clock)

    @staticmethod
    def matches(arn: str) -> bool:
        parts = arn_parts(arn)
        return (
            parts is not None
            and parts[2] == "logs"
            and parts[5].startswith("log-group:")
            and len(parts[5]) > 10
        )

    @staticmethod
    def check(arn: str, sample: Message) -> Problem | None:
        return None if LogGroupTarget.matches(arn) else Problem(NOT_THIS_KIND, arn)

    def path(self, arn: str) -> Path:
        return log_file(self.directory, arn)

    async def send(self, arn: str, messages: Sequence[Message]) -> Sent:
        timestamp = int(self.clock.now() * 1000)
        lines = b"".join(
            orjson.dumps({"timestamp": timestamp, "message": message.text()}) + b"\n" for message in messages
        )
        path = self.path(arn)
        async with self._lock:
            await asyncio.to_thread(self._append, path, lines)
        return Sent(responses=[None] * len(messages))

    @staticmethod
    def _append(path: Path, lines: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab") as handle:
            handle.write(lines)
            handle.flush()
            os.fsync(handle.fileno())
