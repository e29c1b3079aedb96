"""Queue throughput end to end through boto3: producers SendMessageBatch, consumers ReceiveMessage (10 at a time)
and DeleteMessageBatch, until every message is deleted. Runs `pipework serve` (SQLite store, fsync on every commit,
as shipped) and moto's `moto_server` side by side, alternating repetitions, and prints medians.

    .venv/bin/python bench/queues.py             # the full run (about two minutes)
    .venv/bin/python bench/queues.py --smoke     # a few seconds: check that it works

Each server is pinned to one CPU and the boto3 load generators (separate processes) to the others, so the number
is what one server core does. Needs `pip install 'moto[server]'` for the moto column.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _peers import Peer, available, make_client, start

LABELS = {
    "pipework": "pipework serve (SQLite, fsync)",
    "pipework-sigv4": "pipework serve --auth sigv4 (same, every request verified and authorized)",
    "moto": "moto_server",
}


@dataclass(frozen=True)
class Load:
    """One repetition's work: `messages` of `body_size` bytes, sent by `producers` keeping at most `backlog`
    undeleted, consumed by `consumers` (ReceiveMessage with WaitTimeSeconds=`wait`)."""

    messages: int
    producers: int
    consumers: int
    body_size: int
    backlog: int
    wait: int
    cpus: frozenset[int] | None


def _pin(cpus: frozenset[int] | None) -> None:
    if cpus and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cpus)


def _produce(
    peer: tuple[str, tuple[str, str]],
    url: str,
    count: int,
    load: Load,
    ready: Any,
    sent: Any,
    deleted: Any,
    failures: Any,
) -> None:
    _pin(load.cpus)
    client = make_client(peer[0], "sqs", credentials=peer[1])
    body = "x" * load.body_size
    ready.wait()
    mine = 0
    while mine < count:
        # Steady state, not a flood: the backlog (sent, not yet deleted) stays under the window.
        while sent.value - deleted.value >= load.backlog:
            time.sleep(0.0005)
        n = min(10, count - mine)
        answer = client.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": body} for i in range(n)]
        )
        if answer.get("Failed"):
            with failures.get_lock():
                failures.value += len(answer["Failed"])
        mine += n
        with sent.get_lock():
            sent.value += n


def _consume(
    peer: tuple[str, tuple[str, str]], url: str, load: Load, ready: Any, deleted: Any, finished: Any
) -> None:
    _pin(load.cpus)
    client = make_client(peer[0], "sqs", credentials=peer[1])
    ready.wait()
    while deleted.value < load.messages:
        messages = client.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=load.wait
        ).get("Messages", [])
        if not messages:
            continue
        client.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )
        with deleted.get_lock():
            deleted.value += len(messages)
            if deleted.value >= load.messages and finished.value == 0:
                finished.value = time.monotonic()


def run_once(peer: Peer, load: Load) -> tuple[float, float]:
    """One repetition on a fresh queue: (messages per second from first send to last delete, server CPU seconds
    per message)."""
    url = peer.client("sqs").create_queue(QueueName=f"bench-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    context = mp.get_context("fork")
    ready = context.Barrier(load.producers + load.consumers + 1)
    sent = context.Value("q", 0)
    deleted = context.Value("q", 0)
    finished = context.Value("d", 0.0)
    failures = context.Value("q", 0)
    share = [
        load.messages // load.producers + (i < load.messages % load.producers) for i in range(load.producers)
    ]
    where = (peer.endpoint_url, peer.credentials)
    workers = [
        context.Process(target=_produce, args=(where, url, n, load, ready, sent, deleted, failures))
        for n in share
    ]
    workers += [
        context.Process(target=_consume, args=(where, url, load, ready, deleted, finished))
        for _ in range(load.consumers)
    ]
    for worker in workers:
        worker.start()
    ready.wait()  # every client is built: the clock starts now
    started = time.monotonic()
    cpu = peer.cpu_seconds()
    for worker in workers:
        worker.join()
    if any(w.exitcode for w in workers) or failures.value:
        raise RuntimeError(f"{peer.name}: a load generator failed ({failures.value} messages not sent)")
    cpu = peer.cpu_seconds() - cpu
    peer.client("sqs").delete_queue(QueueUrl=url)
    return load.messages / (finished.value - started), cpu / load.messages


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="a quick run: few messages, one repetition")
    parser.add_argument("--messages", type=int, default=3000, help="messages per repetition (default: 3000)")
    parser.add_argument("--repeat", type=int, default=5, help="repetitions per server (default: 5)")
    parser.add_argument("--producers", type=int, default=2, help="producer processes (default: 2)")
    parser.add_argument("--consumers", type=int, default=2, help="consumer processes (default: 2)")
    parser.add_argument("--body-size", type=int, default=100, help="message body bytes (default: 100)")
    parser.add_argument(
        "--backlog", type=int, default=100, help="most messages sent but not yet deleted (default: 100)"
    )
    parser.add_argument("--wait", type=int, default=1, help="consumers' WaitTimeSeconds (default: 1)")
    parser.add_argument(
        "--peers",
        default="pipework,pipework-sigv4,moto",
        help="servers to compare, comma-separated: pipework, pipework-sigv4 (auth on), moto "
        "(default: pipework,pipework-sigv4,moto)",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.messages, args.repeat = 400, 1

    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    server_cpus = {cpus[0]} if len(cpus) > 1 else None
    client_cpus = frozenset(cpus[1:]) if len(cpus) > 1 else None
    load = Load(
        args.messages, args.producers, args.consumers, args.body_size, args.backlog, args.wait, client_cpus
    )
    names = [n for n in args.peers.split(",") if n]
    missing = [n for n in names if not available(n)]
    if missing:
        print(f"skipping {', '.join(missing)}: not installed (pip install 'moto[server]')", file=sys.stderr)
        names = [n for n in names if n not in missing]

    results: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    with contextlib.ExitStack() as stack:
        peers = {name: stack.enter_context(start(name, cpus=server_cpus)) for name in names}
        for name in names:  # warm-up: imports, connection pools, SQLite pages
            run_once(peers[name], Load(200, 1, 1, args.body_size, args.backlog, args.wait, client_cpus))
        for repetition in range(args.repeat):
            for name in names:  # alternating, so drift on a shared machine hits every server alike
                rate, per_message = run_once(peers[name], load)
                results[name].append(rate)
                cpu[name].append(per_message)
                print(
                    f"  run {repetition + 1}/{args.repeat} {name}: {rate:,.0f} msgs/s, "
                    f"{per_message * 1e6:,.0f} µs server CPU per message",
                    file=sys.stderr,
                )

    print_table(results, cpu, load, server_cpus)
    return 0


def print_table(
    results: dict[str, list[float]], cpu: dict[str, list[float]], load: Load, server_cpus: set[int] | None
) -> None:
    pinned = f"server pinned to CPU {min(server_cpus)}" if server_cpus else "server not pinned"
    print(
        f"\nQueues: SendMessageBatch + ReceiveMessage + DeleteMessageBatch via boto3 — {load.messages} messages of "
        f"{load.body_size} B x {len(next(iter(results.values()), []))} runs, {load.producers} producers + "
        f"{load.consumers} consumers, backlog <= {load.backlog}, {pinned}\n"
    )
    print("| server | median msgs/s | min | max | server CPU per message | msgs/s per busy core |")
    print("|---|---:|---:|---:|---:|---:|")
    medians = {}
    for name, rates in results.items():
        medians[name] = statistics.median(rates)
        per_message = statistics.median(cpu[name])
        per_core = f"{1 / per_message:,.0f}" if per_message else "n/a"
        print(
            f"| {LABELS.get(name, name)} | {medians[name]:,.0f} | {min(rates):,.0f} | {max(rates):,.0f} "
            f"| {per_message * 1e6:,.0f} µs | {per_core} |"
        )
    if "pipework" in medians and "moto" in medians:
        print(f"\npipework / moto: {medians['pipework'] / medians['moto']:.1f}x")
    if "pipework" in medians and "pipework-sigv4" in medians:
        cost = 1 - medians["pipework-sigv4"] / medians["pipework"]
        print(f"auth sigv4 costs {cost:.1%} of the throughput with auth off (same run)")


if __name__ == "__main__":
    sys.exit(main())
