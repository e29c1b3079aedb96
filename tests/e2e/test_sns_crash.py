"""No acknowledged SNS message is lost across a SIGKILL: every message whose Publish returned reaches the
subscribed queue once the server runs again on its data directory (duplicates allowed: at-least-once)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError

from support.http import wait_for


def test_no_published_message_is_lost_across_sigkill(server_process: Any, tmp_path: Path) -> None:
    first = server_process(tmp_path)
    sns, sqs = first.client("sns"), first.client("sqs")
    topic = sns.create_topic(Name="crash")["TopicArn"]
    url = sqs.create_queue(QueueName="crash")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue)

    published: set[str] = set()  # Publish returned: the server acknowledged these
    stop = threading.Event()
    lock = threading.Lock()

    def publish() -> None:
        client = first.client("sns")
        n = 0
        while not stop.is_set():
            try:
                answer = client.publish_batch(
                    TopicArn=topic,
                    PublishBatchRequestEntries=[{"Id": str(i), "Message": f"m{n + i}"} for i in range(10)],
                )
            except BotoCoreError:
                return  # the server died mid-call: this batch was not acknowledged
            n += 10
            with lock:
                published.update(s["MessageId"] for s in answer["Successful"])

    workers = [threading.Thread(target=publish) for _ in range(2)]
    for worker in workers:
        worker.start()
    wait_for(lambda: len(published) >= 200, timeout=60)
    first.kill()
    stop.set()
    for worker in workers:
        worker.join(30)

    second = server_process(tmp_path)
    sqs = second.client("sqs")
    received: set[str] = set()

    def all_arrived() -> bool:
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in answer.get("Messages", []):
            received.add(json.loads(message["Body"])["MessageId"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return published <= received

    wait_for(all_arrived, timeout=90)
