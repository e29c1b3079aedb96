"""A fake service for wire-layer tests: records what it was called with and answers what the test scripted."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipework.services.base import RequestContext


@dataclass
class Call:
    operation: str
    params: dict[str, Any]
    ctx: RequestContext


@dataclass
class FakeService:
    """Serves botocore's model `name`; `answers[operation]` is the output (or an exception to raise)."""

    name: str
    answers: dict[str, Any] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)

    async def handle(self, operation: str, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        self.calls.append(Call(operation, params, ctx))
        answer = self.answers.get(operation, {})
        if isinstance(answer, BaseException):
            raise answer
        result: dict[str, Any] = answer
        return result

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    @property
    def last(self) -> Call:
        return self.calls[-1]
