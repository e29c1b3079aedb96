"""A pipe's dead letters: records that exhausted their retries or record age, kept in full (beyond AWS, whose
stream DLQ message holds only pointers to the stream) in the store, one item per record, with the error.

The dead-letter set belongs to the pipe's redrive queue (`redrive_queue`): redriving moves records back into
that queue, and the pipe's runner sends them through the filter, enrichment and target again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import orjson

from pipework.ids import random_uuid
from pipework.jsontypes import JSON
from pipework.store.base import Store


def redrive_queue(pipe_key: str) -> str:
    """The store work queue (and dead-letter set) of a pipe's dead letters and redriven records; `pipe_key` is
    the pipe's ``<account>/<region>/<name>``."""
    return f"pipes/redrive/{pipe_key}"


@dataclass(frozen=True)
class DeadLetterReason:
    """Why records were given up: the error and the exhausted condition (MaximumRetryAttempts,
    MaximumRecordAgeInSeconds, or "" for an error retries cannot fix)."""

    code: str
    message: str
    condition: str
    attempts: int

    def attributes(self, pipe_arn: str) -> dict[str, str]:
        """The error as AWS's dead-letter message attributes; EXHAUSTED_RETRY_CONDITION only when a retry limit
        ran out (an error retries cannot fix exhausts nothing, and SQS has no empty attribute values)."""
        out = {
            "PIPE_ARN": pipe_arn,
            "ERROR_CODE": self.code,
            "ERROR_MESSAGE": self.message[:1024],
            "EXHAUSTED_RETRY_CONDITION": self.condition,
            "RETRY_ATTEMPTS": str(self.attempts),
        }
        if not self.condition:
            del out["EXHAUSTED_RETRY_CONDITION"]
        return out


#: Sends the dead letters to the pipe's DeadLetterConfig queue (the service implements it with the SQS service).
Notify = Callable[[list[JSON], DeadLetterReason], Awaitable[None]]


class DeadLetters:
    """Dead-letters records of one pipe: first into the store (durable, full records), then to the
    DeadLetterConfig queue if any (best effort: the store copy is what redrive uses)."""

    def __init__(self, store: Store, pipe_key: str, pipe_arn: str, notify: Notify | None = None) -> None:
        self.store = store
        self.queue = redrive_queue(pipe_key)
        self.pipe_arn = pipe_arn
        self.notify = notify

    async def add(self, records: list[JSON], reason: DeadLetterReason) -> None:
        if not records:
            return
        batch = self.store.batch()
        error = reason.attributes(self.pipe_arn)
        for record in records:
            item_id = random_uuid()
            batch.enqueue(self.queue, item_id, orjson.dumps(record), attributes={"pipe": self.pipe_arn})
            batch.dead_letter(self.queue, item_id, error=error)
        # One commit: each record appears in the dead-letter set with its error, or none does.
        await self.store.commit(batch)
        await self.notified(records, reason)

    async def notified(self, records: list[JSON], reason: DeadLetterReason) -> None:
        """Tell the DeadLetterConfig queue (if any) about records just dead-lettered, first time or again after a
        redrive."""
        if self.notify is not None and records:
            await self.notify(records, reason)
