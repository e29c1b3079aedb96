"""`SqsService`: the served ``sqs`` API (AWS's JSON protocol, ``AmazonSQS.*``) of one Pipework instance.

Queue definitions are store resources (loaded at start); messages are items of one store work queue per SQS queue.
The operations live in `queues.py` (queues as resources), `messaging.py` (messages) and `moves.py` (DLQ redrive).
"""

from __future__ import annotations

from typing import Any

from pipework.services.base import RequestContext, ServiceError

from .messaging import MessageOperations
from .moves import MoveOperations
from .queues import QueueOperations


class SqsService(QueueOperations, MessageOperations, MoveOperations):
    """The SQS operations over the instance's store (parameters: see `SqsState`)."""

    name = "sqs"

    async def start(self) -> None:
        await self.load_queues()
        await self.load_moves()

    async def stop(self) -> None:
        await self.stop_moves()

    async def handle(self, operation: str, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        method = getattr(self, "op_" + operation, None)
        if method is None:
            raise ServiceError("UnsupportedOperation", f"Operation {operation} is not supported.", 400)
        result: dict[str, Any] = await method(params, ctx)
        return result
