"""Several Pipework nodes on one PostgreSQL database, beside the SQLite single node, on this machine.

For each configuration (SQLite 1 node; PostgreSQL 1, 2, 3 nodes), fresh nodes (`pipework serve`) are started on a
fresh schema, and two phases run with the clients spread round-robin over the nodes:

- PutEvents → rule → SQS target: producers put batches of 10 events (each carrying its send time) as fast as they
  can, consumers receive (10 at a time) and delete from the target queue; deliveries/s from the first put to the
  last delete, and the p50/p99 of put → received latency under that saturation (mostly time spent queued);
- the same path paced at --rate events/s (single events): p50/p99 latency of a system that keeps up.
- SQS: producers SendMessageBatch, consumers ReceiveMessage + DeleteMessageBatch; messages/s.

CPU seconds per 1,000 events are measured separately for the nodes (their processes) and for PostgreSQL (the
server backends serving the nodes' connections, found in pg_stat_activity; the WAL writer and checkpointer are
not counted). Nodes are pinned to CPU 0 and the load generators to CPU 1 where the machine has two; PostgreSQL is
a shared server and runs where the OS puts it.

    .venv/bin/python bench/cluster.py --smoke               # seconds: check that it works
    .venv/bin/python bench/cluster.py --events 20000        # a real run (minutes; not on a shared machine)

The PostgreSQL URL comes from --postgres or $PIPEWORK_TEST_POSTGRES. The projection (how many events/s N nodes
would sustain before PostgreSQL saturates) is printed from the measured per-event costs; see docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _peers import BIN, Peer, free_port, make_client, wait_until_answering

DEFAULT_POSTGRES = "postgresql://pipework:pipework@127.0.0.1:5432/pipework_test"


@dataclass
class Result:
    config: str
    nodes: int
    events: int
    deliveries_per_s: float
    p50_ms: float
    p99_ms: float
    sqs_msgs_per_s: float
    paced_rate: float
    paced_p50_ms: float
    paced_p99_ms: float
    node_cpu_per_1000: float
    postgres_cpu_per_1000: float


def _cpu(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def nodes(count: int, store: str | None) -> Iterator[list[Peer]]:
    """`count` nodes on `store` (None: one SQLite node in a temporary directory)."""
    started: list[Peer] = []
    try:
        for _ in range(count):
            port = free_port()
            data = tempfile.mkdtemp(prefix="bench-cluster-")
            command = [
                str(BIN / "pipework"),
                "serve",
                "--port",
                str(port),
                "--data",
                data,
                "--log-level",
                "warning",
            ]
            if store is not None:
                command += ["--store", store, "--auth", "off"]  # sigv4 is the default with PostgreSQL
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2:
                os.sched_setaffinity(process.pid, {0})
            peer = Peer("pipework", f"http://127.0.0.1:{port}", process, [data])
            wait_until_answering(peer)
            started.append(peer)
        yield started
    finally:
        for peer in started:
            peer.process.terminate()
        for peer in started:
            try:
                peer.process.wait(20)
            except subprocess.TimeoutExpired:
                peer.process.kill()


class Backends:
    """CPU of the PostgreSQL backends serving the nodes of one schema (read from /proc: same machine only)."""

    def __init__(self, url: str | None) -> None:
        self.url = url

    def pids(self) -> list[int]:
        if self.url is None:
            return []
        import asyncio

        import asyncpg

        async def query() -> list[int]:
            conn = await asyncpg.connect(self.url.split("?")[0])
            try:
                rows = await conn.fetch(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = 'pipework' AND datname = current_database()"
                )
            finally:
                await conn.close()
            return [row[0] for row in rows]

        return asyncio.run(query())

    def cpu(self) -> dict[int, float]:
        return {pid: _cpu(pid) for pid in self.pids()}


def _spent(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(after[pid] - before.get(pid, 0.0) for pid in after)


def _pin_clients() -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {1})


def put_events_phase(peers: list[Peer], events: int, threads: int) -> tuple[float, list[float]]:
    """PutEvents through every node, deliveries received through every node; (seconds, latencies)."""
    sqs = peers[0].client("sqs")
    url = sqs.create_queue(QueueName="bench-target")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rules = peers[0].client("events")
    rules.put_rule(Name="bench", EventPattern=json.dumps({"source": ["bench"]}))
    rules.put_targets(Rule="bench", Targets=[{"Id": "q", "Arn": arn}])
    time.sleep(1.0)  # every node follows the new rule
    latencies: list[float] = []
    received = [0]
    lock = threading.Lock()
    per_thread = max(10, events // threads // 10 * 10)
    total = per_thread * threads

    def produce(i: int) -> None:
        client = make_client(peers[i % len(peers)].endpoint_url, "events")
        for _ in range(per_thread // 10):
            entries = [
                {"Source": "bench", "DetailType": "t", "Detail": json.dumps({"at": time.time()})}
                for _ in range(10)
            ]
            answer = client.put_events(Entries=entries)
            if answer["FailedEntryCount"]:
                raise RuntimeError(f"PutEvents failed: {answer}")

    def consume(i: int) -> None:
        client = make_client(peers[i % len(peers)].endpoint_url, "sqs")
        while received[0] < total:
            messages = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
                "Messages", []
            )
            if not messages:
                continue
            now = time.time()
            client.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)],
            )
            with lock:
                received[0] += len(messages)
                latencies.extend(now - json.loads(m["Body"])["detail"]["at"] for m in messages)

    started = time.monotonic()
    workers = [threading.Thread(target=produce, args=(i,)) for i in range(threads)]
    workers += [threading.Thread(target=consume, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    deadline = started + max(120.0, total / 50)
    while received[0] < total and time.monotonic() < deadline:
        time.sleep(0.05)
    if received[0] < total:
        raise RuntimeError(f"only {received[0]} of {total} deliveries arrived")
    return time.monotonic() - started, latencies


def paced_phase(peers: list[Peer], rate: float, seconds: float) -> list[float]:
    """Events put at a steady `rate` (round-robin over the nodes) into the rule of `put_events_phase`: put →
    received latencies of a system that is not saturated."""
    url = peers[0].client("sqs").get_queue_url(QueueName="bench-target")["QueueUrl"]
    total = int(rate * seconds)
    latencies: list[float] = []
    done = threading.Event()

    def consume(i: int) -> None:
        client = make_client(peers[i % len(peers)].endpoint_url, "sqs")
        while not done.is_set():
            messages = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
                "Messages", []
            )
            now = time.time()
            if messages:
                client.delete_message_batch(
                    QueueUrl=url,
                    Entries=[
                        {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)
                    ],
                )
                latencies.extend(now - json.loads(m["Body"])["detail"]["at"] for m in messages)
                if len(latencies) >= total:
                    done.set()

    consumers = [threading.Thread(target=consume, args=(i,), daemon=True) for i in range(len(peers) * 2)]
    for consumer in consumers:
        consumer.start()
    clients = [make_client(p.endpoint_url, "events") for p in peers]
    started = time.monotonic()
    for n in range(total):
        time.sleep(max(0.0, started + n / rate - time.monotonic()))
        clients[n % len(clients)].put_events(
            Entries=[{"Source": "bench", "DetailType": "t", "Detail": json.dumps({"at": time.time()})}]
        )
    done.wait(60)
    done.set()
    return sorted(latencies)


def sqs_phase(peers: list[Peer], messages: int, threads: int) -> float:
    url = peers[0].client("sqs").create_queue(QueueName="bench-sqs")["QueueUrl"]
    time.sleep(0.5)
    per_thread = max(10, messages // threads // 10 * 10)
    total = per_thread * threads
    deleted = [0]
    lock = threading.Lock()

    def produce(i: int) -> None:
        client = make_client(peers[i % len(peers)].endpoint_url, "sqs")
        for _ in range(per_thread // 10):
            client.send_message_batch(
                QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": "x" * 100} for n in range(10)]
            )

    def consume(i: int) -> None:
        client = make_client(peers[i % len(peers)].endpoint_url, "sqs")
        while deleted[0] < total:
            batch = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
                "Messages", []
            )
            if batch:
                client.delete_message_batch(
                    QueueUrl=url,
                    Entries=[
                        {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(batch)
                    ],
                )
                with lock:
                    deleted[0] += len(batch)

    started = time.monotonic()
    workers = [threading.Thread(target=produce, args=(i,)) for i in range(threads)]
    workers += [threading.Thread(target=consume, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    deadline = started + max(120.0, total / 50)
    while deleted[0] < total and time.monotonic() < deadline:
        time.sleep(0.05)
    if deleted[0] < total:
        raise RuntimeError(f"only {deleted[0]} of {total} messages were deleted")
    return total / (time.monotonic() - started)


def run(
    config: str, count: int, store: str | None, events: int, threads: int, rate: float, paced_seconds: float
) -> Result:
    backends = Backends(store)
    with nodes(count, store) as peers:
        _pin_clients()
        node_before = sum(p.cpu_seconds() for p in peers)
        pg_before = backends.cpu()
        seconds, latencies = put_events_phase(peers, events, threads)
        node_spent = sum(p.cpu_seconds() for p in peers) - node_before
        pg_spent = _spent(pg_before, backends.cpu())
        delivered = len(latencies)
        paced = paced_phase(peers, rate, paced_seconds)
        sqs_rate = sqs_phase(peers, events, threads)
    latencies.sort()
    return Result(
        config=config,
        nodes=count,
        events=delivered,
        deliveries_per_s=round(delivered / seconds, 1),
        p50_ms=round(statistics.median(latencies) * 1000, 1),
        p99_ms=round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 1),
        sqs_msgs_per_s=round(sqs_rate, 1),
        paced_rate=rate,
        paced_p50_ms=round(statistics.median(paced) * 1000, 1) if paced else 0.0,
        paced_p99_ms=round(paced[min(len(paced) - 1, int(len(paced) * 0.99))] * 1000, 1) if paced else 0.0,
        node_cpu_per_1000=round(node_spent / delivered * 1000, 3),
        postgres_cpu_per_1000=round(pg_spent / delivered * 1000, 3),
    )


def projection(results: list[Result], postgres_cores: float) -> list[str]:
    """Events/s N nodes (one core each) would sustain, and where PostgreSQL (`postgres_cores`) saturates."""
    lines = []
    for result in results:
        if result.config.startswith("postgres") and result.postgres_cpu_per_1000 > 0:
            per_node = 1000 / result.node_cpu_per_1000  # events/s one node core sustains
            ceiling = postgres_cores * 1000 / result.postgres_cpu_per_1000
            lines.append(
                f"{result.nodes} node(s) measured: one node core ≈ {per_node:,.0f} events/s; PostgreSQL with "
                f"{postgres_cores:g} cores ≈ {ceiling:,.0f} events/s; N nodes ≈ min(N × {per_node:,.0f}, "
                f"{ceiling:,.0f}) → saturates at N ≈ {ceiling / per_node:.1f}"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--smoke", action="store_true", help="seconds: SQLite and PostgreSQL with 1 node, few events"
    )
    parser.add_argument("--postgres", default=os.environ.get("PIPEWORK_TEST_POSTGRES") or DEFAULT_POSTGRES)
    parser.add_argument("--events", type=int, default=5000, help="events per phase (default 5000)")
    parser.add_argument("--threads", type=int, default=4, help="producers and consumers each (default 4)")
    parser.add_argument("--nodes", default="1,2,3", help="PostgreSQL node counts (default 1,2,3)")
    parser.add_argument("--rate", type=float, default=20.0, help="events/s of the paced phase (default 20)")
    parser.add_argument(
        "--paced-seconds", type=float, default=10.0, help="length of the paced phase (default 10)"
    )
    parser.add_argument("--postgres-cores", type=float, default=8.0, help="for the projection (default 8)")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    counts = [1] if args.smoke else [int(n) for n in args.nodes.split(",")]
    events = 200 if args.smoke else args.events
    threads = 2 if args.smoke else args.threads
    configs: list[tuple[str, int, str | None]] = [("sqlite", 1, None)]
    schemas = []
    for count in counts:
        schema = "bench_" + secrets.token_hex(4)
        schemas.append(schema)
        separator = "&" if "?" in args.postgres else "?"
        configs.append((f"postgres-{count}", count, f"{args.postgres}{separator}schema={schema}"))
    results = []
    try:
        for config, count, store in configs:
            result = run(
                config, count, store, events, threads, args.rate, 2.0 if args.smoke else args.paced_seconds
            )
            results.append(result)
            print(
                f"{config:12} {result.deliveries_per_s:8.1f} deliveries/s  p50 {result.p50_ms:7.1f} ms  p99 "
                f"{result.p99_ms:7.1f} ms  SQS {result.sqs_msgs_per_s:8.1f} msgs/s  CPU s/1000 events: nodes "
                f"{result.node_cpu_per_1000:.3f}, PostgreSQL {result.postgres_cpu_per_1000:.3f}; at {result.paced_rate:g} "
                f"events/s: p50 {result.paced_p50_ms:.1f} ms, p99 {result.paced_p99_ms:.1f} ms",
                flush=True,
            )
    finally:
        _drop(args.postgres, schemas)
    for line in projection(results, args.postgres_cores):
        print(line)
    if args.json:
        with open(args.json, "w") as out:
            json.dump([asdict(r) for r in results], out, indent=2)
    return 0


def _drop(url: str, schemas: list[str]) -> None:
    import asyncio

    import asyncpg

    async def drop() -> None:
        conn = await asyncpg.connect(url.split("?")[0])
        try:
            for schema in schemas:
                await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()

    asyncio.run(drop())


if __name__ == "__main__":
    raise SystemExit(main())
