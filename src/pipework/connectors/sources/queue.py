"""A queue as a pipe source, read in process through the SQS API (ReceiveMessage with long polling,
DeleteMessageBatch): SQS semantics. Delivered and filtered-out messages are deleted; failed ones are left to the
visibility timeout, so they come back and, after the queue's maxReceiveCount, move to its dead-letter queue.

At-least-once: a message is deleted only after its delivery succeeded; if the process stops in between, the
message becomes visible again and is delivered twice.
"""

from __future__ import annotations

import contextlib
from typing import Any

from pipework.connectors.ports import ApiClient
from pipework.connectors.targets import TargetError
from pipework.connectors.targets.queue import queue_url
from pipework.jsontypes import JSON

from .base import SourceBatch

MAX_RECEIVE = 10  # SQS's per-call maximum
MAX_WAIT = 20  # seconds of long polling SQS allows


class QueueSourceError(LookupError):
    """The queue cannot be read (it does not exist, or SQS is not served)."""


class QueueSource:
    """Reads the queue `arn` through `api` (the in-process client of the same instance)."""

    kind = "queue"
    event_source = "aws:sqs"

    def __init__(self, api: ApiClient, arn: str, *, region: str) -> None:
        self.api = api
        self.arn = arn
        parts = arn.split(":")
        self.account, self.name = parts[4], parts[5]
        self.region = parts[3] or region
        self.url = queue_url(arn)

    async def _call(self, operation: str, params: JSON) -> JSON:
        try:
            return await self.api.call("sqs", operation, params, region=self.region, account=self.account)
        except TargetError as exc:
            if exc.reason == "NO_RESOURCE":
                raise QueueSourceError(f"Queue {self.arn} does not exist.") from None
            raise

    async def receive(self, max_records: int, wait: float) -> SourceBatch | None:
        result = await self._call(
            "ReceiveMessage",
            {
                "QueueUrl": self.url,
                "MaxNumberOfMessages": max(1, min(MAX_RECEIVE, max_records)),
                "WaitTimeSeconds": int(max(0, min(MAX_WAIT, wait))),
                "MessageSystemAttributeNames": ["All"],
                "AttributeNames": ["All"],
                "MessageAttributeNames": ["All"],
            },
        )
        messages = result.get("Messages") or []
        if not messages:
            return None
        return SourceBatch([self.record(m) for m in messages])

    def record(self, message: JSON) -> JSON:
        """A received message as Pipes (and Lambda) present an SQS record."""
        attributes = {k: str(v) for k, v in (message.get("Attributes") or {}).items()}
        record: JSON = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message.get("Body", ""),
            "attributes": attributes,
            "messageAttributes": {
                name: _attribute(value) for name, value in (message.get("MessageAttributes") or {}).items()
            },
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.arn,
            "awsRegion": self.region,
        }
        if message.get("MD5OfMessageAttributes"):
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        return record

    async def complete(self, batch: SourceBatch, done: list[JSON]) -> None:
        handles = [r["receiptHandle"] for r in done if r.get("receiptHandle")]
        for start in range(0, len(handles), MAX_RECEIVE):
            entries = [
                {"Id": str(i), "ReceiptHandle": handle}
                for i, handle in enumerate(handles[start : start + MAX_RECEIVE])
            ]
            # A delete that fails (an expired receipt handle) leaves the message to come back: a duplicate.
            await self._call("DeleteMessageBatch", {"QueueUrl": self.url, "Entries": entries})

    async def keep(self, batch: SourceBatch, seconds: float) -> None:
        """Keep a held batch's messages invisible for `seconds` more (ChangeMessageVisibility): a batch the pipe
        holds while its target's breaker is open is not received again meanwhile, nor counted as received again."""
        handles = [r["receiptHandle"] for r in batch.records if r.get("receiptHandle")]
        for start in range(0, len(handles), MAX_RECEIVE):
            entries = [
                {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": int(seconds)}
                for i, handle in enumerate(handles[start : start + MAX_RECEIVE])
            ]
            # Not kept (an error): a message may then come back and be delivered twice (at-least-once).
            with contextlib.suppress(TargetError):
                await self._call("ChangeMessageVisibilityBatch", {"QueueUrl": self.url, "Entries": entries})

    def arrival(self, record: JSON) -> float | None:
        sent = (record.get("attributes") or {}).get("SentTimestamp")
        try:
            return int(sent) / 1000.0 if sent is not None else None
        except ValueError:
            return None

    async def close(self) -> None:
        return None


def _attribute(value: Any) -> JSON:
    """An SQS message attribute in the record's lower-camel shape (Lambda's)."""
    out: JSON = {"dataType": value.get("DataType", "String"), "stringListValues": [], "binaryListValues": []}
    if "StringValue" in value:
        out["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        binary = value["BinaryValue"]
        if isinstance(binary, bytes):
            import base64

            binary = base64.b64encode(binary).decode()
        out["binaryValue"] = binary
    return out
