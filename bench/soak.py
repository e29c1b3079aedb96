"""Soak of the work-queue tables on PostgreSQL: DELIVERIES deliveries through PutEvents → rule → SQS queue →
ReceiveMessage/DeleteMessageBatch (each delivery is an insert, an update and a delete in `items`, then the same for
the SQS message), with the throughput of each tenth of the run, and the table and index sizes and dead tuples at
the start and the end.

The issue's bar: the last 10 % within 20 % of the first 10 %, over one million deliveries:

    .venv/bin/python bench/soak.py --deliveries 1000000     # hours on two shared cores: not on a shared machine
    .venv/bin/python bench/soak.py --deliveries 2000        # a short run

The PostgreSQL URL comes from --postgres or $PIPEWORK_TEST_POSTGRES; a fresh schema is used and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import threading
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import itertools

from _peers import make_client
from cluster import DEFAULT_POSTGRES, _drop, nodes

SIZES = """
SELECT c.relname, pg_total_relation_size(c.oid), pg_relation_size(c.oid),
       coalesce(s.n_live_tup, 0), coalesce(s.n_dead_tup, 0), coalesce(s.autovacuum_count, 0), coalesce(s.vacuum_count, 0)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
WHERE n.nspname = $1 AND c.relkind IN ('r', 'i') AND c.relname LIKE ANY (ARRAY['items%', 'log_%', 'kv%'])
ORDER BY c.relname
"""


def sizes(url: str, schema: str) -> list[dict[str, Any]]:
    import asyncpg

    async def read() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(url.split("?")[0])
        try:
            rows = await conn.fetch(SIZES, schema)
        finally:
            await conn.close()
        return [
            {
                "relation": r[0],
                "total_bytes": r[1],
                "bytes": r[2],
                "live": r[3],
                "dead": r[4],
                "autovacuums": r[5],
                "vacuums": r[6],
            }
            for r in rows
        ]

    return asyncio.run(read())


def soak(peers: list[Any], deliveries: int, threads: int) -> list[float]:
    """Run the deliveries; the throughput (deliveries/s) of each tenth."""
    sqs = peers[0].client("sqs")
    url = sqs.create_queue(QueueName="soak")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = peers[0].client("events")
    events.put_rule(Name="soak", EventPattern=json.dumps({"source": ["soak"]}))
    events.put_targets(Rule="soak", Targets=[{"Id": "q", "Arn": arn}])
    time.sleep(1.0)
    total = deliveries // 10 * 10
    put = [0]
    done = [0]
    marks: list[float] = []  # when each tenth was complete
    lock = threading.Lock()
    backlog = 2000

    def produce(i: int) -> None:
        client = make_client(peers[i % len(peers)].endpoint_url, "events")
        while True:
            with lock:
                if put[0] >= total:
                    return
                put[0] += 10
            while put[0] - done[0] > backlog:
                time.sleep(0.001)
            client.put_events(
                Entries=[{"Source": "soak", "DetailType": "t", "Detail": "{}"} for _ in range(10)]
            )

    def consume(i: int) -> None:
        client = make_client(peers[i % len(peers)].endpoint_url, "sqs")
        while done[0] < total:
            batch = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
                "Messages", []
            )
            if not batch:
                continue
            client.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(batch)],
            )
            with lock:
                done[0] += len(batch)
                while len(marks) < 10 and done[0] >= total * (len(marks) + 1) / 10:
                    marks.append(time.monotonic())

    started = time.monotonic()
    workers = [threading.Thread(target=produce, args=(i,)) for i in range(threads)]
    workers += [threading.Thread(target=consume, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    while len(marks) < 10:
        time.sleep(0.1)
        if time.monotonic() - started > max(300.0, total / 20):
            raise RuntimeError(
                f"only {done[0]} of {total} deliveries after {time.monotonic() - started:.0f} s"
            )
    edges = [started, *marks]
    return [round(total / 10 / (b - a), 1) for a, b in itertools.pairwise(edges)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    parser.add_argument("--nodes", type=int, default=1)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--postgres", default=os.environ.get("PIPEWORK_TEST_POSTGRES") or DEFAULT_POSTGRES)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    schema = "soak_" + secrets.token_hex(4)
    separator = "&" if "?" in args.postgres else "?"
    store = f"{args.postgres}{separator}schema={schema}"
    try:
        with nodes(args.nodes, store) as peers:
            before = sizes(args.postgres, schema)
            tenths = soak(peers, args.deliveries, args.threads)
            after = sizes(args.postgres, schema)
    finally:
        _drop(args.postgres, [schema])
    first, last = tenths[0], tenths[-1]
    change = (last - first) / first * 100
    print(f"deliveries/s by tenth: {tenths}")
    print(
        f"last tenth vs first: {change:+.1f} % ({'within' if abs(change) <= 20 else 'OUTSIDE'} the 20 % bar)"
    )
    for label, table in (("start", before), ("end", after)):
        for row in table:
            print(
                f"  {label:5} {row['relation']:18} {row['total_bytes'] / 1024:9.0f} KiB total  live {row['live']:7}  "
                f"dead {row['dead']:7}  autovacuums {row['autovacuums']}  vacuums {row['vacuums']}"
            )
    if args.json:
        with open(args.json, "w") as out:
            json.dump(
                {"tenths": tenths, "change_percent": change, "start": before, "end": after}, out, indent=2
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
