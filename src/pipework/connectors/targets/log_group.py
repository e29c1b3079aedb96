"""The ``log-group`` target: each message becomes a log event of the CloudWatch Logs group the ARN names, in the
store, readable through the ``logs`` API (GetLogEvents, FilterLogEvents, ``aws logs tail``); the group and a stream
named after the event's id are created when missing. Without the logs port (a bare connectors bundle), one JSON
line per message is appended to ``<dir>/<log group>.jsonl`` instead. Stamped with the clock's time.
``arn:aws:logs:<region>:<account>:log-group:<name>`` (a trailing ``:*`` is allowed, as AWS writes them).
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
    from pipework.connectors.ports import LogGroups

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

    def __init__(self, directory: Path, clock: Clock, logs: LogGroups | None = None) -> None:
        self.directory = directory
        self.clock = clock
        self.logs = logs
        self._lock = asyncio.Lock()

    @classmethod
    def build(cls, connectors: Connectors) -> Self:
        return cls(connectors.log_directory, connectors.clock, connectors.logs)

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
        if self.logs is not None:
            parts = arn_parts(arn)
            assert parts is not None
            group = log_group(arn)
            by_stream: dict[str, list[str]] = {}
            for message in messages:
                text = message.text()
                by_stream.setdefault(_stream_of(message, text), []).append(text)
            for stream, texts in by_stream.items():
                await self.logs.write(parts[4], parts[3], group, stream, texts)
            return Sent(responses=[None] * len(messages))
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


def _stream_of(message: Message, text: str) -> str:
    """The log stream of a message: its event's id (EventBridge writes each event to a stream of that name), or
    ``pipework`` for a message that is not an event."""
    event = message.event
    if event is None and text.startswith("{"):
        try:
            event = orjson.loads(text)
        except orjson.JSONDecodeError:
            event = None
    ident = event.get("id") if isinstance(event, dict) else None
    return ident if isinstance(ident, str) and ident and ":" not in ident and "*" not in ident else "pipework"
