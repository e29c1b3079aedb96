"""Pipes benchmark: table writes → stream → pipe (filter + template) → bus → rule → queue, through boto3 against
an in-process server with the SQLite store. Prints events/s and write-to-delivery latency p50/p99 at 1, 10 and
100 pipes (one table per pipe, writes spread over the tables, paced at --rate writes/s).

    .venv/bin/python bench/pipes.py [--writes 3000] [--rate 1000] [--pipes 1,10,100]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from pipework.app import Pipework, Settings
from pipework.testing import serve_in_thread

ROLE = "arn:aws:iam::000000000000:role/bench"


def setup(server: Any, pipes: int) -> str:
    ddb, events, sqs, client = (server.client(s) for s in ("dynamodb", "events", "sqs", "pipes"))
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
    return str(url)


def run(pipes: int, writes: int, rate: float, writers: int = 8, readers: int = 4) -> dict[str, float]:
    with (
        tempfile.TemporaryDirectory() as data,
        serve_in_thread(Pipework(Settings(data_dir=Path(data)))) as server,
    ):
        url = setup(server, pipes)
        latencies: list[float] = []
        lock = threading.Lock()
        done = threading.Event()

        def write(worker: int) -> None:
            ddb = server.client("dynamodb")
            start = time.perf_counter()
            mine = range(worker, writes, writers)
            for n, i in enumerate(mine):
                due = start + n * writers / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                ddb.put_item(
                    TableName=f"T{i % pipes}", Item={"id": {"S": str(i)}, "t": {"N": repr(time.time())}}
                )

        def read() -> None:
            from pipework.testing import make_client

            sqs = make_client(server.endpoint_url, "sqs")
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
        began = time.perf_counter()
        writer_threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
        for t in writer_threads:
            t.start()
        for t in writer_threads:
            t.join()
        wrote = time.perf_counter() - began
        done.wait(timeout=60)
        elapsed = time.perf_counter() - began
        for t in reader_threads:
            t.join(timeout=5)
        ordered = sorted(latencies)
        return {
            "pipes": pipes,
            "writes_per_s": writes / wrote,
            "events_per_s": len(ordered) / elapsed,
            "delivered": len(ordered),
            "p50_ms": 1000 * statistics.median(ordered) if ordered else float("nan"),
            "p99_ms": 1000 * ordered[int(0.99 * (len(ordered) - 1))] if ordered else float("nan"),
        }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--writes", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=1000.0, help="target table writes per second")
    parser.add_argument("--pipes", default="1,10,100")
    args = parser.parse_args()
    print(f"{'pipes':>5}  {'writes/s':>9}  {'events/s':>9}  {'delivered':>9}  {'p50 ms':>7}  {'p99 ms':>7}")
    for count in (int(p) for p in args.pipes.split(",")):
        r = run(count, args.writes, args.rate)
        print(
            f"{r['pipes']:>5}  {r['writes_per_s']:>9.0f}  {r['events_per_s']:>9.0f}  {r['delivered']:>9.0f}  "
            f"{r['p50_ms']:>7.1f}  {r['p99_ms']:>7.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
