"""PostgreSQL restarted under load (a private server of the test's own, never the machine's shared one): two
`pipework serve` nodes keep answering — requests made while the database is away get an AWS-shaped 5xx
(ServiceUnavailable or InternalFailure, which SDKs retry), never a hang or a crash — they reconnect by themselves,
wake each other again once the database is back, and nothing acknowledged is lost (SQS messages, and events whose
PutEvents returned, delivered by a rule to a queue)."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from support.private_postgres import PrivatePostgres

RETRYABLE = {"ServiceUnavailable", "InternalFailure"}


@pytest.fixture
def database() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    yield server
    server.destroy()


@pytest.mark.slow
def test_nodes_ride_out_a_database_restart_under_load(
    server_process: Any, tmp_path: Path, database: PrivatePostgres
) -> None:
    args = ("--store", database.url, "--auth", "off", "--lease-time", "3", "--log-level", "error")
    a, b = server_process(tmp_path / "a", *args), server_process(tmp_path / "b", *args)
    setup = a.client("sqs")
    messages_url = setup.create_queue(QueueName="messages")["QueueUrl"]
    events_url = setup.create_queue(QueueName="events")["QueueUrl"]
    events_arn = setup.get_queue_attributes(QueueUrl=events_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    a.client("events").put_rule(Name="all", EventPattern=json.dumps({"source": ["load"]}))
    a.client("events").put_targets(Rule="all", Targets=[{"Id": "q", "Arn": events_arn}])
    time.sleep(1)  # both nodes know the queues and the rule

    sent: set[str] = set()  # SendMessage returned: acknowledged
    put: set[str] = set()  # PutEvents returned the event's id: acknowledged
    failures: Counter[str] = Counter()  # error codes seen
    latest: list[float] = []  # the longest any call took
    lock = threading.Lock()
    stop = threading.Event()
    config = {"retries": {"max_attempts": 1}, "read_timeout": 20, "connect_timeout": 5}

    def call(fn: Any, **kwargs: Any) -> Any:
        started = time.monotonic()
        try:
            return fn(**kwargs)
        except ClientError as error:
            code = error.response["Error"]["Code"]
            status = error.response["ResponseMetadata"]["HTTPStatusCode"]
            with lock:
                failures[f"{status} {code}"] += 1
            return None
        finally:
            with lock:
                latest.append(time.monotonic() - started)

    def send(node: Any) -> None:
        client = node.client("sqs", **config)
        n = 0
        while not stop.is_set():
            answer = call(client.send_message, QueueUrl=messages_url, MessageBody=f"{n}")
            n += 1
            if answer is not None:
                with lock:
                    sent.add(answer["MessageId"])

    def put_events(node: Any) -> None:
        client = node.client("events", **config)
        while not stop.is_set():
            answer = call(client.put_events, Entries=[{"Source": "load", "DetailType": "t", "Detail": "{}"}])
            if answer is not None and answer["FailedEntryCount"] == 0:
                with lock:
                    put.add(answer["Entries"][0]["EventId"])

    crashed: list[
        BaseException
    ] = []  # anything but an AWS error (a timeout, a dropped connection) fails the test

    def guarded(work: Any, node: Any) -> None:
        try:
            work(node)
        except BaseException as error:
            crashed.append(error)

    workers = [
        threading.Thread(target=guarded, args=(f, node)) for node in (a, b) for f in (send, put_events)
    ]
    for worker in workers:
        worker.start()
    time.sleep(1.5)
    before = (len(sent), len(put))
    database.stop("fast")  # terminates every connection, as a restart does
    time.sleep(1.5)  # requests meet the outage
    during = sum(failures.values())
    database.start()
    time.sleep(3)  # the nodes reconnect by themselves
    after = (len(sent), len(put))
    stop.set()
    for worker in workers:
        worker.join(30)
    assert all(not worker.is_alive() for worker in workers)  # no call hung
    assert crashed == []
    assert a.process.poll() is None and b.process.poll() is None  # no node crashed

    print(
        f"acknowledged before the restart {before}, after {after}; errors {dict(failures)}; slowest call "
        f"{max(latest):.2f} s"
    )
    assert during > 0  # the outage was met
    assert {code.split(" ", 1)[1] for code in failures} <= RETRYABLE, failures
    assert {int(code.split(" ", 1)[0]) >= 500 for code in failures} == {True}
    assert after[0] > before[0] and after[1] > before[1]  # served again after the restart

    # Both nodes wake each other again (their LISTEN connections are back).
    got: dict[str, Any] = {}
    poller = threading.Thread(
        target=lambda: got.update(
            b.client("sqs").receive_message(QueueUrl=events_url + "-wake", WaitTimeSeconds=10)
        )
    )
    setup.create_queue(QueueName="events-wake")
    time.sleep(0.5)
    poller.start()
    time.sleep(0.5)
    woken = time.monotonic()
    setup.send_message(QueueUrl=events_url + "-wake", MessageBody="again")
    poller.join(15)
    assert [m["Body"] for m in got["Messages"]] == ["again"]
    assert time.monotonic() - woken < 5  # a wake-up, not the 10 s timeout

    # Nothing acknowledged is lost.
    def drain(url: str) -> list[dict[str, Any]]:
        client = b.client("sqs")
        out: list[dict[str, Any]] = []
        idle = 0
        while idle < 3:
            batch = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
                "Messages", []
            )
            idle = 0 if batch else idle + 1
            out += batch
            if batch:
                client.delete_message_batch(
                    QueueUrl=url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)
                    ],
                )
        return out

    assert sent <= {m["MessageId"] for m in drain(messages_url)}
    assert put <= {json.loads(m["Body"])["id"] for m in drain(events_url)}
