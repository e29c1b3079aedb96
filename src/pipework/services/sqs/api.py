"""`SqsService`: the served ``sqs`` API (AWS's JSON protocol, ``AmazonSQS.*``) of one Pipework instance.

Queue definitions are store resources (loaded at start); messages are items of one store work queue per SQS queue.
The operations live in `queues.py` (queues as resources), `messaging.py` (messages) and `moves.py` (DLQ redrive).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pipework.services.base import Handler, RequestContext, ServiceError, dispatch

from .messaging import MessageOperations
from .model import KIND_QUEUE
from .moves import KIND_MOVE_TASK, MoveOperations
from .queues import QueueOperations

NAMESPACE = "AWS/SQS"
_COUNTED = frozenset(
    {"SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessage", "DeleteMessageBatch"}
)


class SqsService(QueueOperations, MessageOperations, MoveOperations):
    """The SQS operations over the instance's store (parameters: see `SqsState`)."""

    name = "sqs"
    operations: ClassVar[Mapping[str, Handler]] = {
        "CreateQueue": QueueOperations.op_CreateQueue,
        "GetQueueUrl": QueueOperations.op_GetQueueUrl,
        "ListQueues": QueueOperations.op_ListQueues,
        "DeleteQueue": QueueOperations.op_DeleteQueue,
        "PurgeQueue": QueueOperations.op_PurgeQueue,
        "GetQueueAttributes": QueueOperations.op_GetQueueAttributes,
        "SetQueueAttributes": QueueOperations.op_SetQueueAttributes,
        "ListDeadLetterSourceQueues": QueueOperations.op_ListDeadLetterSourceQueues,
        "TagQueue": QueueOperations.op_TagQueue,
        "UntagQueue": QueueOperations.op_UntagQueue,
        "ListQueueTags": QueueOperations.op_ListQueueTags,
        "AddPermission": QueueOperations.op_AddPermission,
        "RemovePermission": QueueOperations.op_RemovePermission,
        "SendMessage": MessageOperations.op_SendMessage,
        "SendMessageBatch": MessageOperations.op_SendMessageBatch,
        "ReceiveMessage": MessageOperations.op_ReceiveMessage,
        "DeleteMessage": MessageOperations.op_DeleteMessage,
        "DeleteMessageBatch": MessageOperations.op_DeleteMessageBatch,
        "ChangeMessageVisibility": MessageOperations.op_ChangeMessageVisibility,
        "ChangeMessageVisibilityBatch": MessageOperations.op_ChangeMessageVisibilityBatch,
        "StartMessageMoveTask": MoveOperations.op_StartMessageMoveTask,
        "ListMessageMoveTasks": MoveOperations.op_ListMessageMoveTasks,
        "CancelMessageMoveTask": MoveOperations.op_CancelMessageMoveTask,
    }

    async def start(self) -> None:
        await self.load_queues()
        await self.load_moves()

    async def stop(self) -> None:
        await self.stop_moves()

    #: The resource kinds whose changes by other nodes `refresh` follows.
    watched_kinds = frozenset({KIND_QUEUE, KIND_MOVE_TASK})

    async def refresh(self, kind: str, name: str | None) -> None:
        """Follow a change another node made (`name` None: reload every resource of `kind`)."""
        if kind == KIND_QUEUE:
            if name is None:
                await self.load_queues()
            else:
                await self.refresh_queue(name)
        elif kind == KIND_MOVE_TASK:
            names = [name] if name is not None else [r.name async for r in self.store.all_resources(kind)]
            for each in names:
                await self.refresh_move(each)

    @staticmethod
    def unknown_operation(operation: str) -> ServiceError:
        return ServiceError("UnsupportedOperation", f"Operation {operation} is not supported.", 400)

    async def handle(self, operation: str, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        result = await dispatch(self, operation, params, ctx)
        if self.recorder is not None and operation in _COUNTED:
            self._record(operation, params, result, ctx)
        return result

    # -- metrics (AWS/SQS, dimension QueueName) -----------------------------------------------------------------
    def _record(
        self, operation: str, params: dict[str, Any], result: dict[str, Any], ctx: RequestContext
    ) -> None:
        assert self.recorder is not None
        queue = self.queue_for_url(params["QueueUrl"], ctx)
        dims = (("QueueName", queue.name),)
        add, count = self.recorder.add, self.recorder.count
        if operation == "SendMessage":
            count(queue.account, queue.region, NAMESPACE, "NumberOfMessagesSent", dims)
            size = float(len(params["MessageBody"].encode()))
            add(queue.account, queue.region, NAMESPACE, "SentMessageSize", dims, size, "Bytes")
        elif operation == "SendMessageBatch":
            sent = len(result.get("Successful") or ())
            for entry in params["Entries"][:sent]:
                count(queue.account, queue.region, NAMESPACE, "NumberOfMessagesSent", dims)
                size = float(len(entry["MessageBody"].encode()))
                add(queue.account, queue.region, NAMESPACE, "SentMessageSize", dims, size, "Bytes")
        elif operation == "ReceiveMessage":
            received = len(result.get("Messages") or ())
            if received:
                for _ in range(received):
                    count(queue.account, queue.region, NAMESPACE, "NumberOfMessagesReceived", dims)
            else:
                count(queue.account, queue.region, NAMESPACE, "NumberOfEmptyReceives", dims)
        elif operation == "DeleteMessage":
            count(queue.account, queue.region, NAMESPACE, "NumberOfMessagesDeleted", dims)
        elif operation == "DeleteMessageBatch":
            for _ in result.get("Successful") or ():
                count(queue.account, queue.region, NAMESPACE, "NumberOfMessagesDeleted", dims)

    async def sample_gauges(self) -> None:
        """The queue-depth gauges of every queue (ApproximateNumberOfMessages*, ApproximateAgeOfOldestMessage)."""
        if self.recorder is None:
            return
        add, now = self.recorder.add, self.clock.now()
        for queue in list(self.queues.values()):
            counts = await self.store.counts(queue.store_queue, now=now)
            dims = (("QueueName", queue.name),)
            for name, value in (
                ("ApproximateNumberOfMessagesVisible", counts.visible),
                ("ApproximateNumberOfMessagesNotVisible", counts.in_flight),
                ("ApproximateNumberOfMessagesDelayed", counts.delayed),
            ):
                add(queue.account, queue.region, NAMESPACE, name, dims, float(value), "Count", now)
            oldest = await self.store.peek(queue.store_queue, limit=1)
            age = max(0.0, now - oldest[0].enqueued_at) if oldest else 0.0
            add(
                queue.account,
                queue.region,
                NAMESPACE,
                "ApproximateAgeOfOldestMessage",
                dims,
                age,
                "Seconds",
                now,
            )
