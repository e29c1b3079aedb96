"""Several `pipework serve` processes on one PostgreSQL store behave as one server: a long poll on one node wakes
on a send through another (LISTEN/NOTIFY, not its timeout), a rule created through one node routes events put
through another within a second, singleton jobs run on exactly one node and move to the survivor when their node
is killed (-9), and nothing acknowledged is lost.

The bounds are generous for a loaded machine but far below what a poll would take: the long poll waits up to
10 s, so an answer within 2 s can only be a wake-up; the measured values are printed (`-s`)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.postgres import drop_schema, new_schema, require_postgres

LEASE_TIME = 2.0


@pytest.fixture
def store_url() -> Iterator[str]:
    url = require_postgres()
    schema = new_schema()
    yield f"{url}?schema={schema}&pool_min=1&pool_max=5"
    asyncio.run(drop_schema(schema))


def health(node: Any) -> dict[str, Any]:
    with urllib.request.urlopen(node.endpoint_url + "/_pipework/health", timeout=10) as answer:
        out: dict[str, Any] = json.load(answer)
    return out


def two_nodes(server_process: Any, tmp_path: Path, store_url: str) -> tuple[Any, Any]:
    args = ("--store", store_url, "--lease-time", str(LEASE_TIME), "--log-level", "warning")
    return server_process(tmp_path / "a", *args), server_process(tmp_path / "b", *args)


def test_a_long_poll_on_one_node_wakes_on_a_send_through_another(
    server_process: Any, tmp_path: Path, store_url: str
) -> None:
    a, b = two_nodes(server_process, tmp_path, store_url)
    url = a.client("sqs").create_queue(QueueName="wake")["QueueUrl"]
    sqs_b = b.client("sqs")
    deadline = time.monotonic() + 10
    while "wake" not in str(sqs_b.list_queues().get("QueueUrls")):  # the queue reached B's cache
        assert time.monotonic() < deadline
        time.sleep(0.05)
    sqs_a = a.client("sqs")
    latencies = []
    for round_ in range(3):
        got: dict[str, Any] = {}

        def poll(got: dict[str, Any] = got) -> None:
            got["answer"] = sqs_b.receive_message(QueueUrl=url, WaitTimeSeconds=10)
            got["at"] = time.monotonic()

        poller = threading.Thread(target=poll)
        poller.start()
        time.sleep(0.5)  # the poll is waiting on B
        sent = time.monotonic()
        sqs_a.send_message(QueueUrl=url, MessageBody=f"m{round_}")
        poller.join(15)
        (message,) = got["answer"]["Messages"]
        assert message["Body"] == f"m{round_}"
        sqs_b.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        latencies.append(got["at"] - sent)
    print(
        f"cross-node long-poll wake-up after SendMessage returned: {[round(x * 1000) for x in latencies]} ms"
    )
    assert min(latencies) < 2.0  # a wake-up: the poll would otherwise end at its 10 s timeout


def test_a_rule_created_on_one_node_routes_events_put_on_another_within_a_second(
    server_process: Any, tmp_path: Path, store_url: str
) -> None:
    a, b = two_nodes(server_process, tmp_path, store_url)
    sqs = a.client("sqs")
    url = sqs.create_queue(QueueName="routed")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events_a, events_b = a.client("events"), b.client("events")
    events_a.put_rule(Name="r", EventPattern=json.dumps({"source": ["cluster.test"]}))
    events_a.put_targets(Rule="r", Targets=[{"Id": "q", "Arn": arn}])
    created = time.monotonic()
    put_at: dict[str, float] = {}
    n = 0
    while time.monotonic() - created < 1.5:
        n += 1
        put_at[str(n)] = time.monotonic() - created
        events_b.put_events(
            Entries=[{"Source": "cluster.test", "DetailType": "t", "Detail": json.dumps({"n": n})}]
        )
        time.sleep(0.05)
    routed = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not routed:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            routed.append(put_at[str(json.loads(message["Body"])["detail"]["n"])])
    first = min(routed)
    print(f"first event put on node B that matched the rule created on node A: {first * 1000:.0f} ms after")
    assert first < 1.0


def test_killing_a_node_moves_its_singletons_to_the_survivor_and_loses_no_acknowledged_message(
    server_process: Any, tmp_path: Path, store_url: str
) -> None:
    a, b = two_nodes(server_process, tmp_path, store_url)
    url = a.client("sqs").create_queue(QueueName="survive")["QueueUrl"]
    singletons = {"dynamodb/sweeper", "events/archive-retention", "ticker/scheduler/ticks"}

    def held(node: Any) -> set[str]:
        return {lease["name"] for lease in health(node)["leases"]}

    deadline = time.monotonic() + 15
    while not singletons <= held(a) | held(b):
        assert time.monotonic() < deadline, (held(a), held(b))
        time.sleep(0.1)
    assert not (held(a) & held(b)) - {f"node/{health(a)['node']}", f"node/{health(b)['node']}"}
    holder, survivor = (a, b) if "dynamodb/sweeper" in held(a) else (b, a)
    assert health(holder)["store"].startswith("postgresql://pipework:***@")

    sent: set[str] = set()
    stop = threading.Event()

    def produce(node: Any) -> None:
        client = node.client("sqs", retries={"max_attempts": 1})
        n = 0
        while not stop.is_set():
            try:
                answer = client.send_message(QueueUrl=url, MessageBody=f"{node.endpoint_url}-{n}")
            except Exception:
                if node is holder:
                    return  # it died mid-call: not acknowledged
                raise
            sent.add(answer["MessageId"])
            n += 1

    producers = [threading.Thread(target=produce, args=(node,)) for node in (a, b)]
    for producer in producers:
        producer.start()
    time.sleep(1.0)
    killed = time.monotonic()
    holder.kill()
    time.sleep(0.5)
    stop.set()
    for producer in producers:
        producer.join(15)

    while not singletons <= held(survivor):
        assert time.monotonic() - killed < LEASE_TIME * 3 + 5, held(survivor)
        time.sleep(0.1)
    print(
        f"singletons moved to the survivor {time.monotonic() - killed:.2f} s after the kill (lease {LEASE_TIME} s)"
    )

    received: set[str] = set()
    client = survivor.client("sqs")
    while True:
        messages = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        )
        if not messages:
            break
        received.update(m["MessageId"] for m in messages)
        client.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )
    assert sent and sent <= received
