"""Message move tasks are durable (SQLite store, ManualClock): a task running when the server stops resumes when it
starts again and completes; finished and cancelled tasks stay listed; a cancel during a batch is not lost."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from pipework.store.batch import Move
from support.http import wait_for

from .conftest import Sqs
from .test_redrive import dead_letter, with_dlq


def task_of(sqs: Sqs, dlq: str) -> dict[str, Any]:
    results: list[dict[str, Any]] = sqs.client.list_message_move_tasks(SourceArn=sqs.arn(dlq), MaxResults=10)[
        "Results"
    ]
    assert len(results) == 1
    return results[0]


def run_to_completion(sqs: Sqs, dlq: str) -> dict[str, Any]:
    """Advance the clock one second at a time (the task moves one message a second) until the task completes."""
    for _ in range(20):
        sqs.advance(1)
        sqs.settle()
        task = task_of(sqs, dlq)
        if task["Status"] != "RUNNING":
            return task
    raise AssertionError("the task did not complete")


def test_a_running_move_task_resumes_after_a_restart_and_completes(durable_sqs: Callable[[], Sqs]) -> None:
    sqs = durable_sqs()
    source, dlq = with_dlq(sqs)
    bodies = [str(i) for i in range(5)]
    dead_letter(sqs, source, bodies)
    handle = sqs.client.start_message_move_task(SourceArn=sqs.arn(dlq), MaxNumberOfMessagesPerSecond=1)[
        "TaskHandle"
    ]
    sqs.settle()  # one message moved; the next waits for the clock
    assert task_of(sqs, dlq)["ApproximateNumberOfMessagesMoved"] == 1
    sqs.server.stop()

    sqs = durable_sqs()
    sqs.settle()  # resumed: a second message moved
    task = task_of(sqs, dlq)
    assert task["Status"] == "RUNNING" and task["TaskHandle"] == handle
    assert (task["ApproximateNumberOfMessagesMoved"], task["ApproximateNumberOfMessagesToMove"]) == (2, 5)
    assert task["MaxNumberOfMessagesPerSecond"] == 1

    done = run_to_completion(sqs, dlq)
    assert done["Status"] == "COMPLETED" and done["ApproximateNumberOfMessagesMoved"] == 5
    assert sorted(sqs.bodies(source, MaxNumberOfMessages=10)) == bodies  # each moved once
    assert sqs.attributes(dlq, "ApproximateNumberOfMessages") == {"ApproximateNumberOfMessages": "0"}
    sqs.server.stop()

    sqs = durable_sqs()
    assert task_of(sqs, dlq) == done  # still listed after another restart


def test_a_cancel_while_a_batch_commits_is_not_overwritten(durable_sqs: Callable[[], Sqs]) -> None:
    sqs = durable_sqs()
    source, dlq = with_dlq(sqs)
    dead_letter(sqs, source, [str(i) for i in range(5)])
    service: Any = sqs.server.pipework.sqs
    store = sqs.server.pipework.store
    commit, cancel = store.commit, service.operations["CancelMessageMoveTask"]
    gate = asyncio.Event()
    batch_held, cancel_arrived = threading.Event(), threading.Event()

    async def held_commit(batch: Any) -> Any:
        if any(isinstance(w, Move) for w in batch.writes):  # the task's first batch waits for the gate
            batch_held.set()
            await gate.wait()
        return await commit(batch)

    async def arriving_cancel(svc: Any, params: Any, ctx: Any) -> Any:
        cancel_arrived.set()
        return await cancel(svc, params, ctx)

    store.commit = held_commit
    service.operations = {**service.operations, "CancelMessageMoveTask": arriving_cancel}
    handle = sqs.client.start_message_move_task(SourceArn=sqs.arn(dlq), MaxNumberOfMessagesPerSecond=1)[
        "TaskHandle"
    ]
    assert batch_held.wait(10)
    answers: list[dict[str, Any]] = []
    client = sqs.server.client("sqs", read_timeout=30)  # its own client: used from another thread
    thread = threading.Thread(
        target=lambda: answers.append(client.cancel_message_move_task(TaskHandle=handle))
    )
    thread.start()
    assert cancel_arrived.wait(10)  # the cancel is in the server while the batch is still being committed

    async def open_gate() -> None:
        gate.set()

    sqs.server.run(open_gate())
    thread.join(10)
    assert answers and answers[0]["ApproximateNumberOfMessagesMoved"] == 1  # answered after the batch
    sqs.settle()  # the batch committed; the runner waits for the clock
    sqs.server.stop()  # before the runner saw the cancel: what the store holds must say CANCELLING

    sqs = durable_sqs()
    # The task comes back CANCELLING; its resumed runner then records CANCELLED.
    wait_for(lambda: task_of(sqs, dlq)["Status"] not in ("RUNNING", "CANCELLING"))
    task = task_of(sqs, dlq)
    assert (task["Status"], task["ApproximateNumberOfMessagesMoved"]) == ("CANCELLED", 1)
    assert "TaskHandle" not in task
    assert sqs.attributes(dlq, "ApproximateNumberOfMessages") == {"ApproximateNumberOfMessages": "4"}


def test_only_the_last_ten_tasks_of_a_source_are_listed_for_fourteen_days(
    durable_sqs: Callable[[], Sqs],
) -> None:
    sqs = durable_sqs()
    _, dlq = with_dlq(sqs)
    arn = sqs.arn(dlq)
    started = []
    for _ in range(12):
        sqs.client.start_message_move_task(SourceArn=arn)  # an empty DLQ: completes at once
        wait_for(
            lambda: sqs.client.list_message_move_tasks(SourceArn=arn)["Results"][0]["Status"] == "COMPLETED"
        )
        started.append(sqs.clock.now())
        sqs.advance(60)
    listed = sqs.client.list_message_move_tasks(SourceArn=arn, MaxResults=10)["Results"]
    assert [t["StartedTimestamp"] for t in listed] == [int(s * 1000) for s in reversed(started[2:])]
    sqs.server.stop()

    sqs = durable_sqs()
    again = sqs.client.list_message_move_tasks(SourceArn=arn, MaxResults=10)["Results"]
    assert again == listed
    sqs.advance(
        started[2] + 14 * 86_400 + 1 - sqs.clock.now()
    )  # the oldest listed one is 14 days and 1 s old
    assert len(sqs.client.list_message_move_tasks(SourceArn=arn, MaxResults=10)["Results"]) == 9
