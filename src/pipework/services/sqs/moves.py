"""Dead-letter queue redrive: StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask.

A task moves the messages of a dead-letter queue to a destination queue (by default each message's original
source queue) in store batches; each batch is one commit, so a message is always in exactly one of the two queues.
Tasks live in memory: a restart ends them (messages already moved stay moved; the rest stay in the DLQ).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson

from pipework.services.base import RequestContext
from pipework.store.errors import StoreError

from . import errors
from .model import Queue
from .state import SqsState

JSON = dict[str, Any]
MOVE_BATCH = 100
RUNNING, COMPLETED, CANCELLING, CANCELLED, FAILED = (
    "RUNNING",
    "COMPLETED",
    "CANCELLING",
    "CANCELLED",
    "FAILED",
)


@dataclass
class MoveTask:
    """One message move task and its progress."""

    handle: str
    source_arn: str
    destination_arn: str | None
    rate: int | None
    started: float
    to_move: int
    moved: int = 0
    status: str = RUNNING
    failure: str | None = None
    runner: asyncio.Task[None] | None = field(default=None, repr=False)

    def describe(self) -> JSON:
        out: JSON = {
            "Status": self.status,
            "SourceArn": self.source_arn,
            "ApproximateNumberOfMessagesMoved": self.moved,
            "ApproximateNumberOfMessagesToMove": self.to_move,
            "StartedTimestamp": int(self.started * 1000),
        }
        if self.status == RUNNING:
            out["TaskHandle"] = self.handle
        if self.destination_arn is not None:
            out["DestinationArn"] = self.destination_arn
        if self.rate is not None:
            out["MaxNumberOfMessagesPerSecond"] = self.rate
        if self.failure is not None:
            out["FailureReason"] = self.failure
        return out


class MoveOperations(SqsState):
    """Message move tasks, newest last per source queue ARN."""

    async def op_StartMessageMoveTask(self, params: JSON, ctx: RequestContext) -> JSON:
        source_arn: str = params["SourceArn"]
        source = self.queue_for_arn(source_arn)
        if source is None:
            raise errors.resource_not_found(
                "The resource that you specified for the SourceArn parameter doesn't exist."
            )
        if not any(
            (policy := q.redrive_policy) is not None and policy.dead_letter_target_arn == source.arn
            for q in self.queues.values()
        ):
            raise errors.invalid_parameter("Source queue must be configured as a Dead Letter Queue.")
        destination_arn = params.get("DestinationArn")
        if destination_arn is not None and self.queue_for_arn(destination_arn) is None:
            raise errors.resource_not_found(
                "The resource that you specified for the DestinationArn parameter doesn't exist."
            )
        rate = params.get("MaxNumberOfMessagesPerSecond")
        if rate is not None and not 1 <= rate <= 500:
            raise errors.invalid_value(
                "MaxNumberOfMessagesPerSecond", rate, "Must be between 1 and 500, if provided."
            )
        history = self.move_tasks.setdefault(source.arn, [])
        if any(t.status in (RUNNING, CANCELLING) for t in history):
            raise errors.invalid_parameter(
                "There is already a task running. Only one active task is allowed for a source queue arn at a "
                "given time."
            )
        counts = await self.store.counts(source.store_queue)
        handle = base64.b64encode(
            orjson.dumps({"taskId": str(uuid.uuid4()), "sourceArn": source.arn})
        ).decode("ascii")
        task = MoveTask(
            handle, source.arn, destination_arn, rate, self.clock.now(), counts.visible + counts.delayed
        )
        history.append(task)
        task.runner = asyncio.get_running_loop().create_task(self._run_move(task, source))
        return {"TaskHandle": handle}

    async def op_ListMessageMoveTasks(self, params: JSON, ctx: RequestContext) -> JSON:
        source = self.queue_for_arn(params["SourceArn"])
        if source is None:
            raise errors.resource_not_found(
                "The resource that you specified for the SourceArn parameter doesn't exist."
            )
        limit = params.get("MaxResults", 1)
        if not 1 <= limit <= 10:
            raise errors.invalid_value("MaxResults", limit, "Must be between 1 and 10, if provided.")
        history = self.move_tasks.get(source.arn, [])
        return {"Results": [t.describe() for t in reversed(history[-limit:])]}

    async def op_CancelMessageMoveTask(self, params: JSON, ctx: RequestContext) -> JSON:
        handle = params["TaskHandle"]
        for history in self.move_tasks.values():
            for task in history:
                if task.handle == handle and task.status == RUNNING:
                    task.status = CANCELLING
                    return {"ApproximateNumberOfMessagesMoved": task.moved}
        raise errors.resource_not_found("Task does not exist.")

    async def stop_moves(self) -> None:
        runners = [t.runner for h in self.move_tasks.values() for t in h if t.runner and not t.runner.done()]
        for runner in runners:
            runner.cancel()
        for runner in runners:
            with contextlib.suppress(asyncio.CancelledError):
                await runner

    async def _run_move(self, task: MoveTask, source: Queue) -> None:
        try:
            await self._move_messages(task, source)
        except StoreError as error:
            task.status, task.failure = FAILED, f"{type(error).__name__}: {error}"

    async def _move_messages(self, task: MoveTask, source: Queue) -> None:
        after = 0
        while task.moved < task.to_move:
            if task.status == CANCELLING:
                task.status = CANCELLED
                return
            if self.queues.get(source.key) is None:
                task.status, task.failure = FAILED, "AWS.SimpleQueueService.NonExistentQueue"
                return
            items = await self.store.peek(source.store_queue, after_seq=after, limit=MOVE_BATCH)
            if not items:
                break
            after = items[-1].seq
            batch = self.store.batch()
            for item in items[: task.to_move - task.moved]:
                if item.in_flight:
                    continue  # being processed by a consumer: left where it is
                arn = task.destination_arn or item.attributes.get("src")
                destination = self.queue_for_arn(arn) if arn else None
                if destination is None or destination.key == source.key:
                    task.status = FAILED
                    task.failure = "AWS.SimpleQueueService.NonExistentQueue"
                    break
                # One commit moves the batch: each message is in the source or the destination, never both.
                batch.move(source.store_queue, item.id, destination.store_queue, reset_attempts=True)
            if len(batch):
                await self.store.commit(batch)
                task.moved += len(batch)
            if task.status == FAILED:
                return
            if task.rate is not None and len(batch):
                await self.clock.sleep(len(batch) / task.rate)
            else:
                await asyncio.sleep(0)
        if task.status == CANCELLING:
            task.status = CANCELLED
        elif task.status == RUNNING:
            task.status = COMPLETED
