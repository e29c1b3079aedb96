"""PutEvents throughput and ingestion-to-delivery latency, Pipework against moto's server, through boto3.

Each server gets N rules (1, 100, 1,000) on the default bus, each with a queue target; every event matches
exactly one rule. Two measurements per server and rule count:
- throughput: producer threads call PutEvents with 10 entries for a fixed time; accepted events/s, and the server's
  CPU time per 1,000 events from the first PutEvents until the last delivery is in the queue (steadier than
  events/s on a loaded machine: compare trees by it when other work shares the CPUs).
- latency: one producer paced at a target rate (1,000 events/s); consumers long-poll the queue and compute
  receive time minus the send time carried in the event; p50 / p99.
The server runs pinned to CPU 0, the load generator to the other CPUs. Medians of --runs runs.

    .venv/bin/python bench/bus.py [--runs 3] [--seconds 5] [--rules 1,100,1000] [--peers pipework,moto]
    .venv/bin/python bench/bus.py --smoke        # a few seconds, Pipework only
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _peers import Peer, available, start


def setup(peer: Peer, rules: int) -> str:
    events, sqs = peer.client("events"), peer.client("sqs")
    url = sqs.create_queue(QueueName="bench-bus")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for i in range(rules):
        events.put_rule(Name=f"r{i}", EventPattern=json.dumps({"source": ["bench"], "detail": {"k": [i]}}))
        events.put_targets(Rule=f"r{i}", Targets=[{"Id": "q", "Arn": arn}])
    return url


def entries(rules: int, start: int, sent_at: float | None = None) -> list[dict[str, Any]]:
    out = []
    for n in range(start, start + 10):
        detail: dict[str, Any] = {"k": n % rules, "n": n, "payload": "x" * 200}
        if sent_at is not None:
            detail["t"] = sent_at
        out.append({"Source": "bench", "DetailType": "Bench", "Detail": json.dumps(detail)})
    return out


def throughput(peer: Peer, rules: int, seconds: float, threads: int = 4) -> tuple[float, int]:
    accepted = [0] * threads
    stop = time.monotonic() + seconds

    def produce(index: int) -> None:
        client = peer.client("events")
        n = index * 10_000_000
        while time.monotonic() < stop:
            answer = client.put_events(Entries=entries(rules, n))
            accepted[index] += 10 - answer["FailedEntryCount"]
            n += 10

    started = time.monotonic()
    workers = [threading.Thread(target=produce, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(accepted) / (time.monotonic() - started), sum(accepted)


def drain(peer: Peer, url: str, expected: int, timeout: float = 120.0) -> tuple[int, float]:
    """Wait until the queue holds the `expected` deliveries (or `timeout`); return how many arrived and how
    long that took after the producers stopped. Then purge the queue for the next measurement."""
    sqs = peer.client("sqs")
    started = time.monotonic()
    count = 0
    while time.monotonic() - started < timeout:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        count = int(attributes["Attributes"]["ApproximateNumberOfMessages"])
        if count >= expected:
            break
        time.sleep(0.1)
    waited = time.monotonic() - started
    sqs.purge_queue(QueueUrl=url)
    return count, waited


def latency(peer: Peer, url: str, rules: int, rate: float, seconds: float) -> tuple[float, float, int, int]:
    """Send `rate` events/s for `seconds`; return p50, p99 (ms), events sent, events received."""
    latencies: list[float] = []
    lock = threading.Lock()
    total = int(rate * seconds) // 10 * 10
    done = threading.Event()

    def consume() -> None:
        sqs = peer.client("sqs")
        while not done.is_set():
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
                "Messages", []
            )
            now = time.time()
            if not got:
                continue
            with lock:
                for message in got:
                    body = json.loads(message["Body"])
                    if "t" in body["detail"]:
                        latencies.append((now - body["detail"]["t"]) * 1000)
            sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)],
            )

    consumers = [threading.Thread(target=consume) for _ in range(4)]
    for consumer in consumers:
        consumer.start()
    client = peer.client("events")
    interval = 10 / rate
    next_at = time.monotonic()
    for n in range(0, total, 10):
        pause = next_at - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        next_at += interval
        client.put_events(Entries=entries(rules, n, sent_at=time.time()))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with lock:
            if len(latencies) >= total:
                break
        time.sleep(0.05)
    done.set()
    for consumer in consumers:
        consumer.join()
    if not latencies:
        return float("nan"), float("nan"), total, 0
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered), p99, total, len(ordered)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rules", default="1,100,1000")
    parser.add_argument("--peers", default="pipework,moto")
    parser.add_argument("--rate", type=float, default=1000.0, help="events/s for the latency measurement")
    parser.add_argument("--smoke", action="store_true", help="one short run, Pipework only")
    args = parser.parse_args()
    if args.smoke:
        args.runs, args.seconds, args.rules, args.peers, args.rate = 1, 1.0, "1,100", "pipework", 200.0
    rule_counts = [int(r) for r in args.rules.split(",")]
    peers = [p for p in args.peers.split(",") if available(p)]
    missing = set(args.peers.split(",")) - set(peers)
    if missing:
        print(f"not installed, skipped: {', '.join(sorted(missing))} (pip install 'moto[server]')")
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, set(range(1, os.cpu_count() or 2)))
    results: dict[tuple[str, int], dict[str, float]] = {}
    for name in peers:
        for rules in rule_counts:
            runs: list[dict[str, float]] = []
            for _ in range(args.runs):
                with start(name, cpus={0}) as peer:
                    url = setup(peer, rules)
                    cpu_before = peer.cpu_seconds()
                    eps, accepted = throughput(peer, rules, args.seconds)
                    delivered, backlog = drain(peer, url, accepted)
                    cpu = (peer.cpu_seconds() - cpu_before) / max(accepted, 1) * 1e6
                    measured: dict[str, float] = {"eps": eps, "undelivered": accepted - delivered, "cpu": cpu}
                    measured["backlog_s"] = backlog
                    if name == "pipework" or rules == 1:
                        p50, p99, sent, got = latency(peer, url, rules, args.rate, args.seconds)
                        measured.update(p50=p50, p99=p99, lost=sent - got)
                    runs.append(measured)
                    print(f"  {name:8} {rules:5} rules: {measured}", file=sys.stderr, flush=True)
            results[(name, rules)] = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    print(f"\nPutEvents through boto3, 10 entries per call, queue targets; medians of {args.runs} runs")
    print(f"latency at {args.rate:g} events/s (ingestion to ReceiveMessage)\n")
    print(
        "| server | rules | accepted events/s | vs moto | server CPU ms per 1,000 events | backlog drained in s "
        "| p50 ms | p99 ms |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for (name, rules), row in results.items():
        moto = results.get(("moto", rules), {}).get("eps")
        ratio = f"{row['eps'] / moto:.1f}x" if moto and name != "moto" else ""
        p50 = f"{row['p50']:.1f}" if "p50" in row else "n/a"
        p99 = f"{row['p99']:.1f}" if "p99" in row else "n/a"
        backlog = f"{row['backlog_s']:.1f}"
        cpu = f"{row['cpu']:.0f}"
        print(f"| {name} | {rules} | {row['eps']:,.0f} | {ratio} | {cpu} | {backlog} | {p50} | {p99} |")
        if row["undelivered"]:
            print(
                f"  WARNING: {name} with {rules} rules left {row['undelivered']:.0f} accepted events undelivered"
            )
    base = results.get(("pipework", 1), {}).get("eps")
    top = results.get(("pipework", max(rule_counts)), {}).get("eps")
    if base and top:
        print(f"\nPipework: {max(rule_counts)} rules keep {top / base:.0%} of the 1-rule throughput")
    return 0


if __name__ == "__main__":
    sys.exit(main())
