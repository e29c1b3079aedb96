"""Pipes benchmark: table writes → stream → pipe (filter + template) → bus → rule → queue, through boto3 against
`pipework serve` (SQLite store, fsync-safe) pinned to CPU 0. Writers are client processes on the other CPU(s),
paced at --rate writes/s in total (PutItem, or BatchWriteItem of --batch items); readers long-poll the queue.
Prints offered writes/s, delivered events/s, write-to-delivery latency p50/p99 (time the write was sent, carried in
the item, to ReceiveMessage) and the server's CPU use, at 1, 10 and 100 pipes (one table per pipe, writes spread
over the tables).

    .venv/bin/python bench/pipes.py [--seconds 5] [--rate 1000] [--pipes 1,10,100] [--batch 1] [--runs 1]
    .venv/bin/python bench/pipes.py --smoke
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _peers import Peer, make_client, start

ROLE = "arn:aws:iam::000000000000:role/bench"


def setup(peer: Peer, pipes: int) -> str:
    ddb, events, sqs, client = (peer.client(s) for s in ("dynamodb", "events", "sqs", "pipes"))
    bus = events.create_event_bus(Name="bench")["EventBusArn"]
    url = sqs.create_queue(QueueName="delivered")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="all", EventBusName="bench", EventPattern='{"source": ["bench"]}')
    events.put_targets(Rule="all", EventBusName="bench", Targets=[{"Id": "q", "Arn": arn}])
    for i in range(pipes):
        stream = ddb.create_table(
            TableName=f"T{i}",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        )["TableDescription"]["LatestStreamArn"]
        client.create_pipe(
            Name=f"p{i}",
            Source=stream,
            Target=bus,
            RoleArn=ROLE,
            SourceParameters={
                "DynamoDBStreamParameters": {"StartingPosition": "LATEST", "BatchSize": 10},
                "FilterCriteria": {"Filters": [{"Pattern": '{"eventName": ["INSERT", "MODIFY"]}'}]},
            },
            TargetParameters={
                "InputTemplate": '{"id": <$.dynamodb.NewImage.id.S>, "t": <$.dynamodb.NewImage.t.N>}',
                "EventBridgeEventBusParameters": {"Source": "bench", "DetailType": "write"},
            },
        )
    # Pipes start asynchronously: wait until every one is RUNNING before writing (LATEST starts from then).
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        states = [p["CurrentState"] for p in client.list_pipes(Limit=100)["Pipes"]]
        if len(states) >= min(pipes, 100) and all(s == "RUNNING" for s in states):
            break
        time.sleep(0.1)
    time.sleep(0.5)
    return str(url)


def _writer(url: str, worker: int, workers: int, writes: int, rate: float, pipes: int, batch: int) -> float:
    """Write items worker, worker+workers, ... paced so that all workers together make `rate` writes/s; returns
    the seconds the worker's writes took (from its first due time)."""
    ddb = make_client(url, "dynamodb", parameter_validation=False)
    ddb.list_tables()  # connect and load the model before the clock starts
    mine = list(range(worker, writes, workers))
    start = time.perf_counter() + 0.2
    for n in range(0, len(mine), batch):
        due = start + n * workers / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        chunk = mine[n : n + batch]
        if batch == 1:
            i = chunk[0]
            ddb.put_item(TableName=f"T{i % pipes}", Item={"id": {"S": str(i)}, "t": {"N": repr(time.time())}})
            continue
        requests: dict[str, list[Any]] = {}
        now = repr(time.time())
        for i in chunk:
            requests.setdefault(f"T{i % pipes}", []).append(
                {"PutRequest": {"Item": {"id": {"S": str(i)}, "t": {"N": now}}}}
            )
        while requests:
            requests = ddb.batch_write_item(RequestItems=requests).get("UnprocessedItems") or {}
    return time.perf_counter() - start


def run(
    pipes: int, seconds: float, rate: float, batch: int, writers: int = 3, readers: int = 3
) -> dict[str, float]:
    writes = int(rate * seconds)
    with start("pipework", cpus={0} if CLIENT_CPUS else None) as peer:
        url = setup(peer, pipes)
        latencies: list[float] = []
        lock = threading.Lock()
        done = threading.Event()

        def read() -> None:
            sqs = make_client(peer.endpoint_url, "sqs", parameter_validation=False)
            while not done.is_set():
                got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
                    "Messages", []
                )
                now = time.time()
                if got:
                    sqs.delete_message_batch(
                        QueueUrl=url,
                        Entries=[
                            {"Id": str(k), "ReceiptHandle": m["ReceiptHandle"]} for k, m in enumerate(got)
                        ],
                    )
                with lock:
                    latencies.extend(now - float(json.loads(m["Body"])["detail"]["t"]) for m in got)
                    if len(latencies) >= writes:
                        done.set()

        reader_threads = [threading.Thread(target=read, daemon=True) for _ in range(readers)]
        for t in reader_threads:
            t.start()
        with concurrent.futures.ProcessPoolExecutor(writers) as pool:
            list(pool.map(_warm, range(writers)))
            cpu_before = peer.cpu_seconds()
            began = time.perf_counter()
            futures = [
                pool.submit(_writer, peer.endpoint_url, w, writers, writes, rate, pipes, batch)
                for w in range(writers)
            ]
            wrote = max(f.result() for f in futures)
        done.wait(timeout=60)
        elapsed = time.perf_counter() - began
        cpu = peer.cpu_seconds() - cpu_before
        for t in reader_threads:
            t.join(timeout=5)
        ordered = sorted(latencies)
        return {
            "pipes": pipes,
            "writes_per_s": writes / wrote,
            "events_per_s": len(ordered) / elapsed,
            "delivered": len(ordered),
            "written": writes,
            "p50_ms": 1000 * statistics.median(ordered) if ordered else float("nan"),
            "p99_ms": 1000 * ordered[int(0.99 * (len(ordered) - 1))] if ordered else float("nan"),
            "server_busy": cpu / elapsed,
        }


def _warm(_: int) -> None:
    import boto3  # noqa: F401


CLIENT_CPUS = set(range(1, os.cpu_count() or 1)) if hasattr(os, "sched_setaffinity") else set()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds of writes per measurement")
    parser.add_argument("--rate", type=float, default=1000.0, help="target table writes per second")
    parser.add_argument("--pipes", default="1,10,100")
    parser.add_argument(
        "--batch", type=int, default=1, help="items per write call (1: PutItem; more: BatchWriteItem)"
    )
    parser.add_argument("--runs", type=int, default=1, help="runs per pipe count (medians)")
    parser.add_argument("--smoke", action="store_true", help="a few seconds: 1 and 10 pipes, 1 s each")
    args = parser.parse_args()
    if args.smoke:
        args.seconds, args.pipes, args.runs = 1.0, "1,10", 1
    if CLIENT_CPUS:
        os.sched_setaffinity(0, CLIENT_CPUS)
    call = "PutItem" if args.batch == 1 else f"BatchWriteItem x{args.batch}"
    print(f"target {args.rate:g} writes/s for {args.seconds:g} s via {call}; medians of {args.runs} run(s)\n")
    print("| pipes | writes/s | events/s | delivered | p50 ms | p99 ms | server CPU busy |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for count in (int(p) for p in args.pipes.split(",")):
        runs = [run(count, args.seconds, args.rate, args.batch) for _ in range(args.runs)]
        for r in runs:
            print(f"  {r}", file=sys.stderr, flush=True)
        m = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        print(
            f"| {count} | {m['writes_per_s']:,.0f} | {m['events_per_s']:,.0f} | "
            f"{m['delivered']:,.0f}/{m['written']:,.0f} | {m['p50_ms']:.1f} | {m['p99_ms']:.1f} | "
            f"{m['server_busy']:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
