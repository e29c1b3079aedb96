"""SNS fan-out throughput end to end through boto3: publishers PublishBatch (10 messages a call) to a topic with
several SQS subscriptions (AWS's JSON envelope, signed), until every message has reached every queue; deliveries per
second = messages x subscriptions / seconds from the first publish to the last delivery. Runs `pipework serve` (SQLite
store, fsync on every commit, as shipped) and moto's `moto_server` side by side, alternating repetitions, and
prints medians.

    .venv/bin/python bench/sns.py             # the full run (about a minute)
    .venv/bin/python bench/sns.py --smoke     # a few seconds: check that it works

Each server is pinned to one CPU and the boto3 publishers (separate processes) to the others. Pipework delivers
after Publish answers (the message is committed first); moto delivers inside the Publish call: both are timed until
the last message is in the last queue. Needs `pip install 'moto[server]'` for the moto column.
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

LABELS = {"pipework": "pipework serve (SQLite, fsync)", "moto": "moto_server"}


@dataclass(frozen=True)
class Load:
    """One repetition's work: `messages` of `body_size` bytes published by `publishers` to a topic with
    `subscriptions` SQS queues subscribed."""

    messages: int
    publishers: int
    subscriptions: int
    body_size: int
    cpus: frozenset[int] | None


def _publish(endpoint: str, topic: str, count: int, load: Load, ready: Any, failures: Any) -> None:
    if load.cpus and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, load.cpus)
    client = make_client(endpoint, "sns")
    body = "x" * load.body_size
    ready.wait()
    done = 0
    while done < count:
        n = min(10, count - done)
        answer = client.publish_batch(
            TopicArn=topic,
            PublishBatchRequestEntries=[
                {
                    "Id": str(i),
                    "Message": body,
                    "MessageAttributes": {"n": {"DataType": "Number", "StringValue": str(done + i)}},
                }
                for i in range(n)
            ],
        )
        if answer.get("Failed"):
            with failures.get_lock():
                failures.value += len(answer["Failed"])
        done += n


def _delivered(sqs: Any, urls: list[str]) -> int:
    total = 0
    for url in urls:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        total += int(attributes["Attributes"]["ApproximateNumberOfMessages"])
    return total


def run_once(peer: Peer, load: Load, timeout: float = 300.0) -> tuple[float, float]:
    """One repetition on a fresh topic and queues: (deliveries per second from the first publish to the last
    delivery, server CPU seconds per delivery)."""
    sns, sqs = peer.client("sns"), peer.client("sqs")
    tag = uuid.uuid4().hex[:10]
    topic = sns.create_topic(Name=f"bench-{tag}")["TopicArn"]
    urls = []
    for i in range(load.subscriptions):
        url = sqs.create_queue(QueueName=f"bench-{tag}-{i}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
        urls.append(url)
    context = mp.get_context("fork")
    ready = context.Barrier(load.publishers + 1)
    failures = context.Value("q", 0)
    share = [
        load.messages // load.publishers + (i < load.messages % load.publishers)
        for i in range(load.publishers)
    ]
    workers = [
        context.Process(target=_publish, args=(peer.endpoint_url, topic, n, load, ready, failures))
        for n in share
    ]
    for worker in workers:
        worker.start()
    ready.wait()  # every client is built: the clock starts now
    started = time.monotonic()
    cpu = peer.cpu_seconds()
    for worker in workers:
        worker.join()
    if any(w.exitcode for w in workers) or failures.value:
        raise RuntimeError(f"{peer.name}: a publisher failed ({failures.value} messages not published)")
    expected = load.messages * load.subscriptions
    while (delivered := _delivered(sqs, urls)) < expected:
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"{peer.name}: {delivered} of {expected} deliveries after {timeout} s")
        time.sleep(0.02)
    elapsed = time.monotonic() - started
    cpu = peer.cpu_seconds() - cpu
    if delivered != expected:
        raise RuntimeError(f"{peer.name}: {delivered} deliveries, expected {expected}")
    sns.delete_topic(TopicArn=topic)
    for url in urls:
        sqs.delete_queue(QueueUrl=url)
    return expected / elapsed, cpu / expected


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="a quick run: few messages, one repetition")
    parser.add_argument("--messages", type=int, default=2000, help="messages per repetition (default: 2000)")
    parser.add_argument("--subscriptions", type=int, default=4, help="SQS subscriptions (default: 4)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per server (default: 3)")
    parser.add_argument("--publishers", type=int, default=2, help="publisher processes (default: 2)")
    parser.add_argument("--body-size", type=int, default=100, help="message bytes (default: 100)")
    parser.add_argument(
        "--peers", default="pipework,moto", help="servers to compare (default: pipework,moto)"
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.messages, args.repeat, args.subscriptions = 40, 1, 2

    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    server_cpus = {cpus[0]} if len(cpus) > 1 else None
    client_cpus = frozenset(cpus[1:]) if len(cpus) > 1 else None
    load = Load(args.messages, args.publishers, args.subscriptions, args.body_size, client_cpus)
    names = [n for n in args.peers.split(",") if n]
    missing = [n for n in names if not available(n)]
    if missing:
        print(f"skipping {', '.join(missing)}: not installed (pip install 'moto[server]')", file=sys.stderr)
        names = [n for n in names if n not in missing]

    results: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    with contextlib.ExitStack() as stack:
        peers = {name: stack.enter_context(start(name, cpus=server_cpus)) for name in names}
        for name in names if not args.smoke else ():  # warm-up: imports, connection pools, the signing key
            run_once(peers[name], Load(20, 1, 1, args.body_size, client_cpus))
        for repetition in range(args.repeat):
            for name in names:  # alternating, so drift on a shared machine hits every server alike
                rate, per_delivery = run_once(peers[name], load)
                results[name].append(rate)
                cpu[name].append(per_delivery)
                print(
                    f"  run {repetition + 1}/{args.repeat} {name}: {rate:,.0f} deliveries/s, "
                    f"{per_delivery * 1e6:,.0f} µs server CPU per delivery",
                    file=sys.stderr,
                )
    return print_table(results, cpu, load, server_cpus)


def print_table(
    results: dict[str, list[float]], cpu: dict[str, list[float]], load: Load, server_cpus: set[int] | None
) -> dict[str, float]:
    pinned = f"server pinned to CPU {min(server_cpus)}" if server_cpus else "server not pinned"
    runs = len(next(iter(results.values()), []))
    print(
        f"\nSNS: PublishBatch -> {load.subscriptions} SQS subscriptions via boto3 — {load.messages} messages of "
        f"{load.body_size} B x {runs} runs, {load.publishers} publishers, {pinned}\n"
    )
    print("| server | median deliveries/s | min | max | server CPU per delivery |")
    print("|---|---:|---:|---:|---:|")
    medians = {}
    for name, rates in results.items():
        medians[name] = statistics.median(rates)
        per_delivery = statistics.median(cpu[name])
        print(
            f"| {LABELS.get(name, name)} | {medians[name]:,.0f} | {min(rates):,.0f} | {max(rates):,.0f} "
            f"| {per_delivery * 1e6:,.0f} µs |"
        )
    if "pipework" in medians and "moto" in medians:
        print(f"\npipework / moto: {medians['pipework'] / medians['moto']:.1f}x")
    return medians


if __name__ == "__main__":
    main()
    sys.exit(0)
