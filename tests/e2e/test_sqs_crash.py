"""Crash safety of queues: SIGKILL `pipework serve` while producers send and consumers receive and delete, restart
it on the same data directory, and check that every message whose SendMessageBatch returned was either deleted
(its DeleteMessageBatch returned) before the kill or is still in the queue after the restart."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError

VISIBILITY = 3  # seconds: messages received before the kill but not deleted come back this long after it


@pytest.mark.slow
def test_no_acknowledged_message_is_lost_across_sigkill(server_process: Any, tmp_path: Path) -> None:
    first = server_process(tmp_path)
    url = first.client("sqs").create_queue(QueueName="crash")["QueueUrl"]

    sent: set[str] = set()  # SendMessageBatch returned: the server acknowledged these
    deleted: set[str] = set()  # DeleteMessageBatch returned: these are gone for good
    maybe_deleted: set[str] = set()  # a delete was on the wire when the server died: gone or not
    failures: list[Any] = []
    lock = threading.Lock()
    stop = threading.Event()

    def produce(worker: int) -> None:
        client = first.client("sqs")
        n = 0
        while not stop.is_set():
            entries = [{"Id": str(i), "MessageBody": f"{worker}-{n + i}"} for i in range(10)]
            n += 10
            try:
                answer = client.send_message_batch(QueueUrl=url, Entries=entries)
            except BotoCoreError:
                return  # the server died mid-call (no answer): this batch was not acknowledged
            with lock:
                sent.update(e["MessageId"] for e in answer["Successful"])

    def consume() -> None:
        client = first.client("sqs")
        while not stop.is_set():
            try:
                messages = client.receive_message(
                    QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=VISIBILITY
                ).get("Messages", [])
            except BotoCoreError:
                return  # the server died
            if not messages:
                continue
            ids = {m["MessageId"] for m in messages}
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
            try:
                answer = client.delete_message_batch(QueueUrl=url, Entries=entries)
            except BotoCoreError:  # the server died mid-call: deleted or not
                with lock:
                    maybe_deleted.update(ids)
                return
            with lock:
                failures.extend(answer.get("Failed", []))
                deleted.update(ids)

    unexpected: list[BaseException] = []  # an error answer (not a dead server) would end a thread silently

    def recording(work: Any, *args: Any) -> None:
        try:
            work(*args)
        except BaseException as error:
            unexpected.append(error)

    threads = [threading.Thread(target=recording, args=(produce, w)) for w in range(2)]
    threads += [threading.Thread(target=recording, args=(consume,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 20
    while (len(sent) < 1000 or len(deleted) < 300) and time.monotonic() < deadline:
        time.sleep(0.02)
    first.kill()
    stop.set()
    for thread in threads:
        thread.join(10)
    assert len(sent) >= 1000 and len(deleted) >= 300, "too little traffic before the kill to test anything"
    assert not failures and not unexpected
    expected = sent - deleted - maybe_deleted
    assert expected, "everything sent was deleted before the kill: nothing was tested"

    second = server_process(tmp_path)
    client = second.client("sqs")
    url = client.get_queue_url(QueueName="crash")["QueueUrl"]
    found: set[str] = set()
    deadline = time.monotonic() + VISIBILITY + 15
    while not expected <= found and time.monotonic() < deadline:
        messages = client.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=300
        ).get("Messages", [])
        found.update(m["MessageId"] for m in messages)
    lost = expected - found
    assert not lost, f"{len(lost)} of {len(sent)} acknowledged messages were lost"
    # And a delete that returned is durable too: none of those messages came back.
    assert not (deleted & found), f"{len(deleted & found)} deleted messages came back after the restart"
    second.stop()


@pytest.mark.slow
def test_a_message_move_task_resumes_after_sigkill(server_process: Any, tmp_path: Path) -> None:
    first = server_process(tmp_path)
    sqs = first.client("sqs")
    dlq = sqs.create_queue(QueueName="dead")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = f'{{"deadLetterTargetArn": "{dlq_arn}", "maxReceiveCount": 1}}'
    source = sqs.create_queue(QueueName="work", Attributes={"RedrivePolicy": policy})["QueueUrl"]
    bodies = ["a", "b", "c"]
    for body in bodies:
        sqs.send_message(QueueUrl=source, MessageBody=body)
    assert (
        len(sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"])
        == 3
    )
    assert "Messages" not in sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10)  # all dead-lettered
    sqs.start_message_move_task(SourceArn=dlq_arn, MaxNumberOfMessagesPerSecond=1)

    def moved(client: Any) -> int:
        (task,) = client.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
        return int(task["ApproximateNumberOfMessagesMoved"])

    deadline = time.monotonic() + 10
    while moved(sqs) == 0:  # one message a second: the first moves at once, the next a second later
        assert time.monotonic() < deadline, "the task did not start moving"
        time.sleep(0.01)
    first.kill()

    second = server_process(tmp_path)
    client = second.client("sqs")
    deadline = time.monotonic() + 15
    while (task := client.list_message_move_tasks(SourceArn=dlq_arn)["Results"][0])["Status"] == "RUNNING":
        assert time.monotonic() < deadline, "the resumed task did not complete"
        time.sleep(0.05)
    assert (task["Status"], task["ApproximateNumberOfMessagesMoved"]) == ("COMPLETED", 3)
    received = client.receive_message(QueueUrl=source, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in received) == bodies
    assert "Messages" not in client.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)
    second.stop()
