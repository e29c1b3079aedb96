"""The ``sns`` target: Publish to a topic of this server, through the in-process API client.

``arn:aws:sns:<region>:<account>:<name>``; a FIFO topic (``.fifo``) needs a message group id.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from pipework.connectors.ports import ApiClient
from pipework.jsontypes import JSON

from .base import GROUP_ID_REQUIRED, NOT_THIS_KIND, Message, Problem, Sent, TargetError, arn_parts

if TYPE_CHECKING:
    from typing import Self

    from pipework.connectors.bundle import Connectors


class SnsTarget:
    """Publishes each message to the topic. A FIFO message without a deduplication id gets a fresh one, so a
    retried delivery may be published twice, as with AWS's at-least-once targets. A retryable failure of one
    message is reported in `Sent.failed`; a failure no retry can fix (no such topic) is raised."""

    kind: ClassVar[str] = "sns"

    def __init__(self, api: ApiClient) -> None:
        self.api = api

    @classmethod
    def build(cls, connectors: Connectors) -> Self:
        return cls(connectors.api)

    @staticmethod
    def matches(arn: str) -> bool:
        parts = arn_parts(arn)
        return parts is not None and parts[2] == "sns" and bool(parts[5]) and ":" not in parts[5]

    @staticmethod
    def check(arn: str, sample: Message) -> Problem | None:
        if not SnsTarget.matches(arn):
            return Problem(NOT_THIS_KIND, arn)
        if arn.endswith(".fifo") and not sample.group_id:
            return Problem(GROUP_ID_REQUIRED, arn)
        return None

    async def send(self, arn: str, messages: Sequence[Message]) -> Sent:
        sent = Sent()
        parts = arn_parts(arn) or ["", "", "", "", "", ""]
        region, account = parts[3] or None, parts[4] or None  # the topic's, wherever the sender is
        for index, message in enumerate(messages):
            params: JSON = {"TopicArn": arn, "Message": message.text()}
            if message.attributes:
                params["MessageAttributes"] = message.attributes
            if message.group_id is not None:
                params["MessageGroupId"] = message.group_id
            if arn.endswith(".fifo"):
                params["MessageDeduplicationId"] = message.deduplication_id or str(uuid.uuid4())
            try:
                response = await self.api.call("sns", "Publish", params, region=region, account=account)
            except TargetError as exc:
                if not exc.retryable:
                    raise  # the topic is gone or the message is invalid: the others would fail alike
                sent.failed[index] = exc
                response = None
            sent.responses.append(response)
        return sent
