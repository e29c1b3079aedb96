"""The ``sdk`` target (Scheduler's universal target): one call of an API this server serves per message, the
message's body being the call's parameters (a JSON object), through the in-process API client.

``arn:aws:scheduler:::aws-sdk:<service>:<action>``, e.g. ``...:aws-sdk:sqs:sendMessage``; the service is the
AWS SDK's name (``eventbridge`` is botocore's ``events``) and the action its operation in lower camel case.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from pipework.connectors.ports import ApiClient

from .base import (
    INPUT_NOT_JSON,
    INPUT_REQUIRED,
    NOT_THIS_KIND,
    Message,
    Problem,
    Sent,
    TargetError,
    is_json,
)

if TYPE_CHECKING:
    from typing import Self

    from pipework.connectors.bundle import Connectors

PREFIX = "arn:aws:scheduler:::aws-sdk:"
#: AWS SDK service names that differ from botocore's.
SDK_SERVICE_NAMES = {"eventbridge": "events"}


def operation_of(arn: str) -> tuple[str, str] | None:
    """(botocore service name, operation name) of a universal target ARN, or None."""
    if not arn.startswith(PREFIX):
        return None
    service, _, action = arn[len(PREFIX) :].partition(":")
    if not service or not action or ":" in action:
        return None
    return SDK_SERVICE_NAMES.get(service, service), action[0].upper() + action[1:]


class SdkTarget:
    """Calls the served API an ARN names with each message's body as its parameters; the output is the
    message's response."""

    kind: ClassVar[str] = "sdk"

    def __init__(self, api: ApiClient) -> None:
        self.api = api

    @classmethod
    def build(cls, connectors: Connectors) -> Self:
        return cls(connectors.api)

    @staticmethod
    def matches(arn: str) -> bool:
        return operation_of(arn) is not None

    @staticmethod
    def check(arn: str, sample: Message) -> Problem | None:
        if not SdkTarget.matches(arn):
            return Problem(NOT_THIS_KIND, arn)
        if sample.body is None:
            return Problem(INPUT_REQUIRED, arn)
        if isinstance(sample.body, str) and not is_json(sample.body):
            return Problem(INPUT_NOT_JSON, arn)
        return None

    async def send(self, arn: str, messages: Sequence[Message]) -> Sent:
        found = operation_of(arn)
        if found is None:
            raise TargetError("ValidationException", f"Unsupported target {arn}.", retryable=False)
        service, operation = found
        sent = Sent()
        for message in messages:
            params = message.json()
            if isinstance(message.body, str) and params is message.body:
                raise TargetError("ValidationException", "Input is not valid JSON.", retryable=False)
            if not isinstance(params, dict):
                raise TargetError("ValidationException", "Input must be a JSON object.", retryable=False)
            sent.responses.append(
                await self.api.call(
                    service, operation, params, region=message.region, account=message.account
                )
            )
        return sent
