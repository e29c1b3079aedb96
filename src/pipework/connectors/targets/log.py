"""The log target: appends one JSON line per delivery to ``<dir>/<log group>.jsonl`` (a stand-in for
CloudWatch Logs, addressed as ``arn:aws:logs:<region>:<account>:log-group:<name>``)."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import orjson

from .base import TargetError

_UNSAFE = re.compile(r"[^A-Za-z0-9._\-#]")


def log_group(arn: str) -> str:
    """The log group name of a log-group ARN (a trailing ``:*`` is allowed, as AWS writes them)."""
    rest = arn.split(":log-group:", 1)
    if len(rest) != 2 or not rest[1]:
        raise TargetError("NO_RESOURCE", f"{arn} is not a log group ARN.", retryable=False)
    name = rest[1]
    return name[:-2] if name.endswith(":*") else name


class LogTarget:
    """Writes deliveries to files under ``directory``; one file per log group, appended and fsynced."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = asyncio.Lock()

    def path(self, arn: str) -> Path:
        return self.directory / (_UNSAFE.sub("_", log_group(arn).strip("/")) + ".jsonl")

    async def put(self, arn: str, message: str, *, timestamp: float) -> None:
        line = orjson.dumps({"timestamp": int(timestamp * 1000), "message": message}) + b"\n"
        path = self.path(arn)
        async with self._lock:
            await asyncio.to_thread(self._append, path, line)

    @staticmethod
    def _append(path: Path, line: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
