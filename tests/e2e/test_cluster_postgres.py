"""Several `pipework serve` processes on one PostgreSQL store behave as one server: a long poll on one node wakes
on a send through another (LISTEN/NOTIFY, not its timeout), a rule created through one node routes events put
through another within a second, singleton jobs run on exactly one node and move to the survivor when their node
is killed (-9), and nothing acknowledged is lost.

The bounds are generous for a loaded machine but far below what a poll would take: the long poll waits up to
10 s, so an answer within 2 s can only be a wake-up; the measured values are printed (`-s`)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
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
    args = ("--store", store_url, "--auth", "off", "--lease-time", str(LEASE_TIME), "--log-level", "warning")
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


def test_cluster_status_lists_the_nodes_and_who_holds_what(
    server_process: Any, tmp_path: Path, store_url: str
) -> None:
    a, b = two_nodes(server_process, tmp_path, store_url)
    ids = {health(a)["node"], health(b)["node"]}
    command = [sys.executable, "-m", "pipework.cli.main", "cluster", "status", "--store", store_url]
    singletons = {
        "dynamodb/sweeper",
        "events/archive-retention",
        "ticker/scheduler/ticks",
        "store/maintenance",
    }
    deadline = time.monotonic() + 15
    while True:
        report = json.loads(
            subprocess.run([*command, "--json"], capture_output=True, text=True, check=True).stdout
        )
        listed = {lease["name"]: node["node"] for node in report["nodes"] for lease in node["leases"]}
        if singletons <= set(listed):
            break
        assert time.monotonic() < deadline, report
        time.sleep(0.2)
    assert report["store"].startswith("postgresql://pipework:***@")
    assert {node["node"] for node in report["nodes"]} == ids
    for node in (a, b):  # each node's health names the leases the status gives it
        mine = {lease["name"] for lease in health(node)["leases"]} - {f"node/{health(node)['node']}"}
        assert {name for name, holder in listed.items() if holder == health(node)["node"]} <= mine
    text = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    assert "2 node(s)" in text and "dynamodb/sweeper" in text
    a.stop()  # a graceful stop gives up the node's leases at once: the other takes them without waiting
    deadline = time.monotonic() + LEASE_TIME * 3
    while not singletons <= {lease["name"] for lease in health(b)["leases"]}:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    report = json.loads(
        subprocess.run([*command, "--json"], capture_output=True, text=True, check=True).stdout
    )
    assert [node["node"] for node in report["nodes"]] == [health(b)["node"]]


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


@pytest.mark.slow
def test_kill_9_of_a_node_under_load_loses_nothing_acknowledged_and_the_survivor_takes_over_its_work(
    server_process: Any, tmp_path: Path, store_url: str
) -> None:
    """Producers send to both nodes — SQS messages, PutEvents matched by a rule to a queue, table writes feeding a
    pipe whose target is a queue — and the node holding the pipe's source lane is killed with SIGKILL: every
    acknowledged message, event and item arrives, the survivor holds every singleton within the lease time."""
    a, b = two_nodes(server_process, tmp_path, store_url)
    sqs = a.client("sqs")
    url = sqs.create_queue(QueueName="survive")["QueueUrl"]

    def queue_arn(name: str) -> tuple[str, str]:
        queue = sqs.create_queue(QueueName=name)["QueueUrl"]
        return queue, sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]

    routed_url, routed_arn = queue_arn("routed")
    piped_url, piped_arn = queue_arn("piped")
    a.client("events").put_rule(Name="all", EventPattern=json.dumps({"source": ["load"]}))
    a.client("events").put_targets(Rule="all", Targets=[{"Id": "q", "Arn": routed_arn}])
    stream = a.client("dynamodb").create_table(
        TableName="powers",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]["LatestStreamArn"]
    pipe = a.client("pipes").create_pipe(
        Name="p",
        Source=stream,
        Target=piped_arn,
        RoleArn="arn:aws:iam::000000000000:role/pipe",
        SourceParameters={"DynamoDBStreamParameters": {"StartingPosition": "TRIM_HORIZON", "BatchSize": 10}},
    )
    singletons = {
        "dynamodb/sweeper",
        "events/archive-retention",
        "ticker/scheduler/ticks",
        f"pipe/{pipe['Arn']}",
    }

    def held(node: Any) -> set[str]:
        return {lease["name"] for lease in health(node)["leases"]}

    deadline = time.monotonic() + 20
    while not singletons <= held(a) | held(b):
        assert time.monotonic() < deadline, (held(a), held(b))
        time.sleep(0.1)
    nodes = {f"node/{health(a)['node']}", f"node/{health(b)['node']}"}
    assert not (held(a) & held(b)) - nodes  # no job on two nodes
    holder, survivor = (a, b) if f"pipe/{pipe['Arn']}" in held(a) else (b, a)
    assert health(holder)["store"].startswith("postgresql://pipework:***@")
    time.sleep(0.5)  # B knows the table, the rule and the pipe

    sent: set[str] = set()  # acknowledged SendMessage ids
    put: set[str] = set()  # acknowledged PutEvents ids
    written: set[str] = set()  # acknowledged PutItem keys
    lock = threading.Lock()
    stop = threading.Event()

    def produce(node: Any, kind: str) -> None:
        client = node.client(
            {"sqs": "sqs", "events": "events", "table": "dynamodb"}[kind], retries={"max_attempts": 1}
        )
        n = 0
        while not stop.is_set():
            n += 1
            key = f"{node.endpoint_url}-{n}"
            try:
                if kind == "sqs":
                    answer = client.send_message(QueueUrl=url, MessageBody=key)
                    done, into = answer["MessageId"], sent
                elif kind == "events":
                    answer = client.put_events(
                        Entries=[{"Source": "load", "DetailType": "t", "Detail": "{}"}]
                    )
                    assert answer["FailedEntryCount"] == 0
                    done, into = answer["Entries"][0]["EventId"], put
                else:
                    client.put_item(TableName="powers", Item={"id": {"S": key}})
                    done, into = key, written
            except Exception:
                if node is holder:
                    return  # it died mid-call: not acknowledged
                raise
            with lock:
                into.add(done)

    crashed: list[BaseException] = []

    def guarded(node: Any, kind: str) -> None:
        try:
            produce(node, kind)
        except BaseException as error:  # a call to the survivor failed
            crashed.append(error)

    producers = [
        threading.Thread(target=guarded, args=(n, k)) for n in (a, b) for k in ("sqs", "events", "table")
    ]
    for producer in producers:
        producer.start()
    time.sleep(1.5)
    killed = time.monotonic()
    holder.kill()
    time.sleep(1.0)  # the survivor goes on alone
    stop.set()
    for producer in producers:
        producer.join(15)
    assert survivor.process.poll() is None
    assert crashed == []

    while not singletons <= held(survivor):
        assert time.monotonic() - killed < LEASE_TIME * 3 + 5, held(survivor)
        time.sleep(0.1)
    moved = time.monotonic() - killed
    print(
        f"singletons moved to the survivor {moved:.2f} s after the kill (lease {LEASE_TIME} s); acknowledged: "
        f"{len(sent)} messages, {len(put)} events, {len(written)} items"
    )

    def drain(queue: str, key: Any, wanted: set[str]) -> set[str]:
        client = survivor.client("sqs")
        got: set[str] = set()
        deadline = (
            time.monotonic() + 60
        )  # a delivery the dead node had leased comes back after its visibility
        while not wanted <= got and time.monotonic() < deadline:
            messages = client.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
                "Messages", []
            )
            got.update(key(m) for m in messages)
            if messages:
                client.delete_message_batch(
                    QueueUrl=queue,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
                    ],
                )
        return got

    assert sent and sent <= drain(url, lambda m: m["MessageId"], sent)
    assert put and put <= drain(routed_url, lambda m: json.loads(m["Body"])["id"], put)
    record_key = lambda m: json.loads(m["Body"])["dynamodb"]["Keys"]["id"]["S"]  # noqa: E731
    assert written and written <= drain(piped_url, record_key, written)
