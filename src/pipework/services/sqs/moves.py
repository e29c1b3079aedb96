"""Dead-letter queue redrive: StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask.

A task moves the messages of a dead-letter queue to a destination queue (by default each message's original
source queue) in store batches. Tasks are store resources: each batch of moves commits together with the task's
progress, so a message is always in exactly one of the two queues and the count moved matches what moved, and a
task running (or cancelling) when the server stopped resumes when it starts again. As on AWS, the last 10 tasks of a
source queue stay listed for 14 days.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson

from pipework.jsontypes import JSON
from pipework.services.base import RequestContext
from pipework.store.base import Batch
from pipework.store.errors import StoreError

from . import errors
from .model import Queue
from .state import SqsState

log = logging.getLogger(__name__)

KIND_MOVE_TASK = "sqs/move-task"  # store resources: one per task, named "<source queue key>/<task id>"
MOVE_BATCH = 100
TASKS_KEPT = 10  # per source queue, newest first (AWS lists at most the last 10)
TASK_RETENTION = 14 * 86_400.0  # seconds a task stays listed after it started
RUNNING, COMPLETED, CANCELLING, CANCELLED, FAILED = (
    "RUNNING",
    "COMPLETED",
    "CANCELLING",
    "CANCELLED",
    "FAILED",
)
ACTIVE = (RUNNING, CANCELLING)


@dataclass(eq=False)
class MoveTask:
    """One message move task and its progress. `after` is the source queue position the task has walked to.

    Its state changes only through `MoveOperations._save`, under `lock`, which writes the task as it is at commit
    time: a change made while another write awaits the store (a cancel during a batch) is never overwritten.
    """

    name: str  # the store resource's name
    handle: str
    source_arn: str
    destination_arn: str | None
    rate: int | None
    started: float
    to_move: int
    moved: int = 0
    status: str = RUNNING
    failure: str | None = None
    after: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
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

    def to_store(self, **changes: Any) -> JSON:
        body: JSON = {
            "handle": self.handle,
            "sourceArn": self.source_arn,
            "destinationArn": self.destination_arn,
            "rate": self.rate,
            "started": self.started,
            "toMove": self.to_move,
            "moved": self.moved,
            "status": self.status,
            "failure": self.failure,
            "after": self.after,
        }
        body.update(changes)  # moved, status, failure, after: named alike in both
        return body

    @classmethod
    def from_store(cls, name: str, body: JSON) -> MoveTask:
        return cls(
            name,
            body["handle"],
            body["sourceArn"],
            body.get("destinationArn"),
            body.get("rate"),
            body["started"],
            body["toMove"],
            body.get("moved", 0),
            body.get("status", RUNNING),
            body.get("failure"),
            body.get("after", 0),
        )


class MoveOperations(SqsState):
    """Message move tasks, oldest first per source queue ARN (`SqsState.move_tasks`)."""

    async def op_StartMessageMoveTask(self, params: JSON, ctx: RequestContext) -> JSON:
        source_arn: str = params["SourceArn"]
        source = self.queue_for_arn(source_arn, ctx.region)
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
        if destination_arn is not None and self.queue_for_arn(destination_arn, ctx.region) is None:
            raise errors.resource_not_found(
                "The resource that you specified for the DestinationArn parameter doesn't exist."
            )
        rate = params.get("MaxNumberOfMessagesPerSecond")
        if rate is not None and not 1 <= rate <= 500:
            raise errors.invalid_value(
                "MaxNumberOfMessagesPerSecond", rate, "Must be between 1 and 500, if provided."
            )
        counts = await self.store.counts(source.store_queue)
        # Checked and claimed with no await in between: two concurrent starts cannot both pass the check.
        history = self.move_tasks.setdefault(source.arn, [])
        if any(t.status in ACTIVE for t in history):
            raise errors.invalid_parameter(
                "There is already a task running. Only one active task is allowed for a source queue arn at a "
                "given time."
            )
        task_id = str(uuid.uuid4())
        handle = base64.b64encode(orjson.dumps({"taskId": task_id, "sourceArn": source.arn})).decode("ascii")
        task = MoveTask(
            f"{source.key}/{task_id}",
            handle,
            source.arn,
            destination_arn,
            rate,
            self.clock.now(),
            counts.visible + counts.delayed,
        )
        history.append(task)
        dropped = self._prune(history)
        batch = self.store.batch()
        batch.put_resource(KIND_MOVE_TASK, task.name, task.to_store())
        for old in dropped:
            batch.delete_resource(KIND_MOVE_TASK, old.name)
        try:
            await self.store.commit(batch)
        except BaseException:
            history.remove(task)
            history[:0] = dropped
            raise
        self._launch(task)
        return {"TaskHandle": handle}

    async def op_ListMessageMoveTasks(self, params: JSON, ctx: RequestContext) -> JSON:
        source = self.queue_for_arn(params["SourceArn"], ctx.region)
        if source is None:
            raise errors.resource_not_found(
                "The resource that you specified for the SourceArn parameter doesn't exist."
            )
        limit = params.get("MaxResults", 1)
        if not 1 <= limit <= 10:
            raise errors.invalid_value("MaxResults", limit, "Must be between 1 and 10, if provided.")
        oldest = self.clock.now() - TASK_RETENTION
        listed = [t for t in self.move_tasks.get(source.arn, []) if t.started >= oldest]
        return {"Results": [t.describe() for t in reversed(listed[-limit:])]}

    async def op_CancelMessageMoveTask(self, params: JSON, ctx: RequestContext) -> JSON:
        handle = params["TaskHandle"]
        task = next((t for h in self.move_tasks.values() for t in h if t.handle == handle), None)
        if task is None or task.source_arn.split(":")[3] != ctx.region:  # a task of another region
            raise errors.resource_not_found("Task does not exist.")
        async with task.lock:  # after any batch in flight: the CANCELLING written cannot be overwritten by it
            if task.status != RUNNING:
                raise errors.resource_not_found("Task does not exist.")
            await self._save_locked(task, status=CANCELLING)
            return {"ApproximateNumberOfMessagesMoved": task.moved}

    # ── lifecycle ──

    async def load_moves(self) -> None:
        """Read the stored tasks (after the queues), forget those past retention, and resume the active ones."""
        loaded = [MoveTask.from_store(r.name, r.body) async for r in self.store.all_resources(KIND_MOVE_TASK)]
        loaded.sort(key=lambda t: t.started)
        for task in loaded:
            self.move_tasks.setdefault(task.source_arn, []).append(task)
        batch = self.store.batch()
        for history in self.move_tasks.values():
            for old in self._prune(history):
                batch.delete_resource(KIND_MOVE_TASK, old.name)
        if len(batch):
            await self.store.commit(batch)
        for history in self.move_tasks.values():
            for task in history:
                if task.status in ACTIVE:
                    self._launch(task)

    def _launch(self, task: MoveTask) -> None:
        """Run the task on one node at a time (its lease: "sqs/move-task/<handle>")."""
        if task.runner is None or task.runner.done():
            task.runner = self.cluster.singleton(f"sqs/move-task/{task.handle}", lambda: self._run_move(task))

    async def refresh_move(self, name: str) -> None:
        """Follow a change another node made to the move task stored as `name` (and take it over if its node
        dies: every node asks for the lease of every active task)."""
        resource = await self.store.get_resource(KIND_MOVE_TASK, name)
        known = next((t for h in self.move_tasks.values() for t in h if t.name == name), None)
        if resource is None:
            if known is not None:
                self.move_tasks[known.source_arn].remove(known)
            return
        fresh = MoveTask.from_store(name, resource.body)
        if known is None:
            self.move_tasks.setdefault(fresh.source_arn, []).append(fresh)
            known = fresh
        else:
            _copy_progress(fresh, known)
        if known.status in ACTIVE:
            self._launch(known)

    def _prune(self, history: list[MoveTask]) -> list[MoveTask]:
        """Drop (and return) the tasks of one source that are no longer listed: past the last `TASKS_KEPT`, or
        started more than `TASK_RETENTION` ago. Active tasks stay."""
        oldest = self.clock.now() - TASK_RETENTION
        keep = [
            t
            for i, t in enumerate(history)
            if t.status in ACTIVE or (i >= len(history) - TASKS_KEPT and t.started >= oldest)
        ]
        kept = set(map(id, keep))
        dropped = [t for t in history if id(t) not in kept]
        history[:] = keep
        return dropped

    async def stop_moves(self) -> None:
        """Stop the runners; the tasks stay active in the store and resume at the next start."""
        runners = [t.runner for h in self.move_tasks.values() for t in h if t.runner and not t.runner.done()]
        for runner in runners:
            runner.cancel()
        for runner in runners:
            with contextlib.suppress(asyncio.CancelledError):
                await runner

    # ── the runner ──

    async def _save_locked(self, task: MoveTask, batch: Batch | None = None, **changes: Any) -> None:
        """Commit `batch` (if any) with the task as it is now plus `changes`, then apply them in memory. The
        caller holds `task.lock`."""
        batch = batch if batch is not None else self.store.batch()
        batch.put_resource(KIND_MOVE_TASK, task.name, task.to_store(**changes))
        await self.store.commit(batch)
        for name, value in changes.items():
            setattr(task, name, value)

    async def _save(self, task: MoveTask, batch: Batch | None = None, **changes: Any) -> None:
        async with task.lock:
            await self._save_locked(task, batch, **changes)

    async def _run_move(self, task: MoveTask) -> None:
        if self.store.shared:  # another node may have moved some before it died: go on from its progress
            resource = await self.store.get_resource(KIND_MOVE_TASK, task.name)
            if resource is None:
                return
            _copy_progress(MoveTask.from_store(task.name, resource.body), task)
            if task.status not in ACTIVE:
                return
        try:
            await self._move_messages(task)
        except StoreError as error:
            log.warning("message move task %s failed: %s", task.name, error)
            with contextlib.suppress(StoreError):
                await self._save(task, status=FAILED, failure=f"{type(error).__name__}: {error}")

    async def _move_messages(self, task: MoveTask) -> None:
        batch_size = min(MOVE_BATCH, task.rate) if task.rate is not None else MOVE_BATCH
        while True:
            if task.status == CANCELLING:
                await self._save(task, status=CANCELLED)
                return
            if task.moved >= task.to_move:
                break
            source = self.queue_for_arn(task.source_arn)
            if source is None:
                await self._save(task, status=FAILED, failure="AWS.SimpleQueueService.NonExistentQueue")
                return
            items = await self.store.peek(
                source.store_queue, after_seq=task.after, limit=min(batch_size, task.to_move - task.moved)
            )
            if not items:
                break
            batch = self.store.batch()
            failure = None
            for item in items:
                if item.in_flight:
                    continue  # being processed by a consumer: left where it is
                destination = self._destination(task, item.attributes.get("src"), source)
                if destination is None:
                    failure = "AWS.SimpleQueueService.NonExistentQueue"
                    break
                # One commit moves the batch and records it: each message is in the source or the destination,
                # never both, and the task's count says what moved even after a crash.
                batch.move(source.store_queue, item.id, destination.store_queue, reset_attempts=True)
            moved = len(batch)
            changes: JSON = {"moved": task.moved + moved, "after": items[-1].seq}
            if failure is not None:
                changes.update(status=FAILED, failure=failure)
            await self._save(task, batch, **changes)
            if failure is not None:
                return
            if task.rate is not None and moved:
                await self.clock.sleep(moved / task.rate)
            else:
                await asyncio.sleep(0)
        async with task.lock:
            await self._save_locked(task, status=CANCELLED if task.status == CANCELLING else COMPLETED)

    def _destination(self, task: MoveTask, origin: str | None, source: Queue) -> Queue | None:
        arn = task.destination_arn or origin
        destination = self.queue_for_arn(arn) if arn else None
        return None if destination is None or destination.key == source.key else destination


def _copy_progress(source: MoveTask, into: MoveTask) -> None:
    """Copy a task's stored progress into the object this node keeps."""
    for name in ("moved", "status", "failure", "after", "to_move"):
        setattr(into, name, getattr(source, name))
