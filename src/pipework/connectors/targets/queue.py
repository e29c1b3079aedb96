"""The ``queue`` target: SendMessage to a queue of this server, through the in-process API client.

``arn:aws:sqs:<region>:<account>:<name>``; a FIFO queue (``.fifo``) needs a message group id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from pipework.connectors.ports import ApiClient
from pipework.ids import random_uuid
from pipework.jsontypes import JSON

from .base import GROUP_ID_REQUIRED, NOT_THIS_KIND, Message, Problem, Sent, TargetError, arn_parts

if TYPE_CHECKING:
    from typing import Self

    from pipework.connectors.bundle import Connectors


def queue_url(arn: str) -> str:
    """The QueueUrl of a queue ARN (SQS finds a queue by the URL's ``/<account>/<name>`` path, whatever the host)."""
    parts = arn.split(":")
    return f"http://localhost/{parts[4]}/{parts[5]}"


def is_standard_queue(arn: str) -> bool:
    """Whether ``arn`` names a standard (not FIFO) queue: what a dead-letter queue must be."""
    return QueueTarget.matches(arn) and not arn.endswith(".fifo")


class QueueTarget:
    """Sends each message as one SendMessage. A FIFO message without a deduplication id gets a fresh one, so a
    retried delivery may arrive twice, as with AWS's at-least-once targets. A retryable failure of one message is
    reported in `Sent.failed`; a failure no retry can fix (no such queue) is raised."""

    kind: ClassVar[str] = "queue"

    def __init__(self, api: ApiClient) -> None:
        self.api = api

    @classmethod
    def build(cls, connectors: Connectors) -> Self:
        return cls(connectors.api)

    @staticmethod
    def matches(arn: str) -> bool:
        parts = arn_parts(arn)
        return parts is not None and parts[2] == "sqs" and bool(parts[5]) and ":" not in parts[5]

    @staticmethod
    def check(arn: str, sample: Message) -> Problem | None:
        if not QueueTarget.matches(arn):
            return Problem(NOT_THIS_KIND, arn)
        if arn.endswith(".fifo") and not sample.group_id:
            return Problem(GROUP_ID_REQUIRED, arn)
        return None

    async def send(self, arn: str, messages: Sequence[Message]) -> Sent:
        sent = Sent()
        url = queue_url(arn)
        parts = arn_parts(arn) or ["", "", "", "", "", ""]
        region, account = parts[3] or None, parts[4] or None  # the queue's, wherever the sender is
        for index, message in enumerate(messages):
            params: JSON = {"QueueUrl": url, "MessageBody": message.text()}
            if message.attributes:
                params["MessageAttributes"] = message.attributes
            if message.group_id is not None:
                params["MessageGroupId"] = message.group_id
            if message.trace:
                params["MessageSystemAttributes"] = {
                    "AWSTraceHeader": {"DataType": "String", "StringValue": message.trace}
                }
            if arn.endswith(".fifo"):
                params["MessageDeduplicationId"] = message.deduplication_id or random_uuid()
            try:
                await self.api.call("sqs", "SendMessage", params, region=region, account=account)
            except TargetError as exc:
                if not exc.retryable:
                    raise  # the queue is gone or the message is invalid: the others would fail alike
                sent.failed[index] = exc
            sent.responses.append(None)
        return sent
