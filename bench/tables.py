"""Tables benchmark: PutItem and UpdateItem throughput and stream lag through boto3, Pipework vs moto's server.

    python bench/tables.py            # 3 runs per measure, medians
    python bench/tables.py --smoke    # a few seconds: one short run, Pipework only if moto is missing
    python bench/tables.py --shared-cpus   # no pinning: the server and the clients share every CPU

Pipework runs as `pipework serve` (SQLite, durable: every acknowledged write is fsynced) and moto as `moto_server`,
both on loopback, the server pinned to CPU 0 and the client processes (several boto3 threads each) to the other
CPUs (or, with --shared-cpus, all of them on every CPU, as the OS schedules them); besides throughput it reports the server's CPU time per write and how busy its CPU was (near 1.0: the
server set the pace, not the clients). boto3 costs its clients several hundred microseconds of CPU per call, so on a
2-core machine the clients' one CPU can cap the offered load below what the server takes; a second measure, server
capacity, replays the same writes as boto3's own signed requests (prepared before the clock starts) from a light
client, so the server is the limit for both peers (bench/_replay.py). Stream lag is the time from
sending PutItem to the record being returned by a GetRecords poll (and, for Pipework, by the internal
subscription API, in process).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _peers import Peer, available, make_client, start
from _replay import prepare, replay

TABLE = "bench"


# ───────────────────────────────────────────── peers ─────────────────────────────────────────────


SERVER_CPUS = {0}  # the server under test gets one CPU; the client processes get the others


def client_cpus() -> set[int] | None:
    count = os.cpu_count() or 1
    return set(range(1, count)) if count > 1 and hasattr(os, "sched_setaffinity") else None


def _client(url: str, service: str) -> Any:
    # No client-side parameter validation: it is the client's CPU, not the server's, and the server validates.
    return make_client(url, service, max_pool_connections=32, parameter_validation=False)


# ───────────────────────────────────────────── workloads ─────────────────────────────────────────────


def create_table(peer: Peer, name: str = TABLE) -> str:
    ddb = _client(peer.endpoint_url, "dynamodb")
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    arn: str = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    return arn


def throughput(
    peer: Peer, kind: str, seconds: float, threads: int, run: int, processes: int = 3
) -> tuple[float, float, float]:
    """(operations/s, server CPU seconds per operation, server CPU utilisation) with `processes` x `threads`
    clients writing for `seconds`. The clients are processes (boto3 is not cheap: one GIL would cap the offered
    load) pinned away from the server's CPU; a utilisation near 1.0 means the server, not the clients, set the
    pace."""
    with concurrent.futures.ProcessPoolExecutor(processes) as pool:
        list(pool.map(_warm, range(processes)))  # imports done before the clock starts
        cpu_before = peer.cpu_seconds()
        futures = [
            pool.submit(_client_process, peer.endpoint_url, kind, seconds, threads, f"{run}-{p}")
            for p in range(processes)
        ]
        results = [f.result() for f in futures]
        cpu = peer.cpu_seconds() - cpu_before
    count = sum(n for n, _ in results)
    elapsed = max(e for _, e in results)
    return count / elapsed, cpu / max(count, 1), cpu / elapsed


def _warm(_: int) -> None:
    import boto3  # noqa: F401


def _client_process(url: str, kind: str, seconds: float, threads: int, tag: str) -> tuple[int, float]:
    counts = [0] * threads
    stop = threading.Event()
    clients = [_client(url, "dynamodb") for _ in range(threads)]
    for ddb in clients:  # connect and load the models before the clock starts
        with contextlib.suppress(Exception):
            ddb.describe_table(TableName=TABLE)

    def work(i: int) -> None:
        ddb = clients[i]
        n = 0
        while not stop.is_set():
            if kind == "PutItem":
                ddb.put_item(
                    TableName=TABLE,
                    Item={
                        "pk": {"S": f"r{tag}-t{i}-{n}"},
                        "name": {"S": "widget"},
                        "qty": {"N": str(n)},
                        "tags": {"SS": ["a", "b"]},
                    },
                )
            else:
                ddb.update_item(
                    TableName=TABLE,
                    Key={"pk": {"S": f"counter-{tag}-{i}-{n % 50}"}},
                    UpdateExpression="SET #n = :n ADD qty :one",
                    ExpressionAttributeNames={"#n": "name"},
                    ExpressionAttributeValues={":n": {"S": "widget"}, ":one": {"N": "1"}},
                )
            n += 1
        counts[i] = n

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    time.sleep(seconds)
    stop.set()
    for w in workers:
        w.join()
    return sum(counts), time.perf_counter() - started


def write_calls(kind: str, count: int, tag: str) -> Any:
    """The (operation, params) of `count` writes like the boto3 clients' (PutItem: new keys; UpdateItem: counters)."""
    for n in range(count):
        if kind == "PutItem":
            item = {
                "pk": {"S": f"w{tag}-{n}"},
                "name": {"S": "widget"},
                "qty": {"N": str(n)},
                "tags": {"SS": ["a", "b"]},
            }
            yield "put_item", {"TableName": TABLE, "Item": item}
        else:
            yield (
                "update_item",
                {
                    "TableName": TABLE,
                    "Key": {"pk": {"S": f"counter-{tag}-{n % 200}"}},
                    "UpdateExpression": "SET #n = :n ADD qty :one",
                    "ExpressionAttributeNames": {"#n": "name"},
                    "ExpressionAttributeValues": {":n": {"S": "widget"}, ":one": {"N": "1"}},
                },
            )


def replay_throughput(
    peer: Peer, kind: str, seconds: float, run: int, connections: int
) -> tuple[float, float, float]:
    """Like `throughput`, but the writes are boto3's own prepared requests replayed by a light client (see
    bench/_replay.py), so the server's CPU is the limit: (writes/s, server CPU s per write, server CPU busy)."""
    requests = prepare(peer.endpoint_url, "dynamodb", write_calls(kind, int(seconds * 6000), f"replay{run}"))
    cpu_before = peer.cpu_seconds()
    ok, failed, elapsed = replay(peer.endpoint_url, requests, seconds, connections)
    cpu = peer.cpu_seconds() - cpu_before
    if failed:
        raise RuntimeError(f"{peer.name}: {failed} of {ok + failed} replayed {kind} requests failed")
    return ok / elapsed, cpu / max(ok, 1), cpu / elapsed


def get_records_lag(peer: Peer, stream_arn: str, samples: int) -> list[float]:
    """Seconds from sending PutItem to its record being returned by GetRecords (tight polling)."""
    ddb, streams = _client(peer.endpoint_url, "dynamodb"), _client(peer.endpoint_url, "dynamodbstreams")
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][-1]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard, ShardIteratorType="LATEST")[
        "ShardIterator"
    ]
    lags = []
    for n in range(samples):
        key = f"lag-{n}-{time.time_ns()}"
        sent = time.perf_counter()
        ddb.put_item(TableName=TABLE, Item={"pk": {"S": key}})
        found = False
        while not found:
            result = streams.get_records(ShardIterator=iterator)
            iterator = result["NextShardIterator"]
            found = any(r["dynamodb"]["Keys"]["pk"]["S"] == key for r in result["Records"])
        lags.append(time.perf_counter() - sent)
    return lags


def subscription_lag(samples: int) -> list[float]:
    """Pipework in process (SQLite store): seconds from sending PutItem to the subscription yielding the record."""
    from pipework.app import Settings
    from pipework.testing import serve_in_thread

    data = tempfile.mkdtemp(prefix="pipework-bench-sub-")
    lags: list[float] = []
    try:
        with serve_in_thread(Settings(data_dir=Path(data))) as server:
            ddb = server.client("dynamodb")
            ddb.create_table(
                TableName=TABLE,
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
                StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
            )
            arn = ddb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
            sub = server.pipework.dynamodbstreams.subscribe(arn, start="LATEST")
            server.run(sub.read())
            for n in range(samples):
                waiting = asyncio.run_coroutine_threadsafe(_arrival(sub), server.loop)
                sent = time.perf_counter()
                ddb.put_item(TableName=TABLE, Item={"pk": {"S": f"sub-{n}"}})
                lags.append(waiting.result(timeout=10) - sent)
    finally:
        shutil.rmtree(data, ignore_errors=True)
    return lags


async def _arrival(sub: Any) -> float:
    while True:
        batch = await sub.read(wait=5.0)
        if batch is not None:
            return time.perf_counter()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# ───────────────────────────────────────────── main ─────────────────────────────────────────────


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="one short run (a few seconds)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of one throughput run")
    parser.add_argument("--threads", type=int, default=4, help="client threads per client process")
    parser.add_argument("--processes", type=int, default=3, help="client processes for throughput")
    parser.add_argument("--samples", type=int, default=300, help="writes per stream-lag measurement")
    parser.add_argument("--no-moto", action="store_true", help="Pipework only")
    parser.add_argument(
        "--shared-cpus", action="store_true", help="no pinning: the server and its clients share every CPU"
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.runs, args.seconds, args.samples = 1, 1.0, 30
    names = ["pipework"]
    if not args.no_moto:
        if available("moto"):
            names.append("moto")
        else:
            print(
                "moto_server not found (pip install 'moto[server]'); measuring Pipework only", file=sys.stderr
            )
    clients = None if args.shared_cpus else client_cpus()
    if clients:
        os.sched_setaffinity(0, clients)  # this process and its client processes stay off the server's CPU
    results: dict[str, dict[str, Any]] = {}
    for name in names:
        with start(name, cpus=SERVER_CPUS if clients else None) as peer:
            arn = create_table(peer)
            row: dict[str, Any] = {}
            for kind in ("PutItem", "UpdateItem"):
                runs = [
                    throughput(peer, kind, args.seconds, args.threads, run, args.processes)
                    for run in range(args.runs)
                ]
                record(row, f"{name} {kind}", kind, runs)
                replays = [
                    replay_throughput(peer, kind, args.seconds, run, args.processes * args.threads)
                    for run in range(args.runs)
                ]
                record(row, f"{name} {kind} replayed", kind + " replay", replays)
            lags = [
                lag
                for _ in range(args.runs)
                for lag in get_records_lag(peer, arn, args.samples // args.runs or 1)
            ]
            row["lag_p50"], row["lag_p99"] = percentile(lags, 50), percentile(lags, 99)
            results[name] = row
    sub_lags = subscription_lag(args.samples)
    print_table(results, sub_lags, args)
    return 0


def record(row: dict[str, Any], label: str, key: str, runs: list[tuple[float, float, float]]) -> None:
    """Store the medians of (writes/s, CPU per write, busy) runs under `key`, and print the runs."""
    for i, suffix in enumerate(("", " cpu", " busy")):
        row[key + suffix] = statistics.median(r[i] for r in runs)
    print(
        f"  {label}: {[f'{r[0]:.0f}/s {r[1] * 1e6:.0f} us {r[2]:.0%}' for r in runs]}",
        file=sys.stderr,
        flush=True,
    )


#: A table column: (title, key in a result row, format, ratio row: "x" = Pipework / moto, "less" = moto / Pipework).
Column = tuple[str, str, Callable[[float], str], str | None]


def _rate(v: float) -> str:
    return f"{v:,.0f}"


def _us(v: float) -> str:
    return f"{v * 1e6:,.0f} us"


def _busy(v: float) -> str:
    return f"{v:.2f}"


def _ms(v: float) -> str:
    return f"{v * 1000:.1f} ms"


def print_markdown(results: dict[str, dict[str, Any]], columns: list[Column]) -> None:
    """A markdown table of `columns`, a row per server, and a ratio row when both servers ran."""
    print("| server | " + " | ".join(title for title, *_ in columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for name, row in results.items():
        print(f"| {name} | " + " | ".join(fmt(row[key]) for _, key, fmt, _ in columns) + " |")
    if "moto" in results and "pipework" in results:
        p, m = results["pipework"], results["moto"]
        cells = [
            f"{p[key] / m[key]:.1f}x" if ratio == "x" else f"{m[key] / p[key]:.1f}x less" if ratio else ""
            for _, key, _, ratio in columns
        ]
        print("| ratio | " + " | ".join(cells) + " |")


def print_table(results: dict[str, dict[str, Any]], sub_lags: list[float], args: argparse.Namespace) -> None:
    clients = f"{args.processes} client processes x {args.threads} boto3 threads"
    placement = (
        f"server and {clients} sharing every CPU"
        if args.shared_cpus
        else f"server pinned to CPU 0, {clients} on the other CPU(s)"
    )
    print(
        f"\nTables: {placement}, median of {args.runs} run(s) x {args.seconds:g} s; server CPU per write and server CPU "
        f"busy (1.0 = the server's CPU was the limit); stream lag over {args.samples} writes\n"
    )
    print_markdown(
        results,
        [
            ("PutItem/s", "PutItem", _rate, "x"),
            ("CPU/PutItem", "PutItem cpu", _us, "less"),
            ("busy", "PutItem busy", _busy, None),
            ("UpdateItem/s", "UpdateItem", _rate, "x"),
            ("CPU/UpdateItem", "UpdateItem cpu", _us, "less"),
            ("busy", "UpdateItem busy", _busy, None),
            ("GetRecords lag p50", "lag_p50", _ms, None),
            ("p99", "lag_p99", _ms, None),
        ],
    )
    print(
        "\nServer capacity: the same writes as boto3's own signed requests, prepared before the clock starts and "
        f"replayed over {args.processes * args.threads} keep-alive connections (as many as boto3 clients) by a light "
        "client (bench/_replay.py), so the server sets the pace\n"
    )
    print_markdown(
        results,
        [
            ("PutItem/s", "PutItem replay", _rate, "x"),
            ("busy", "PutItem replay busy", _busy, None),
            ("UpdateItem/s", "UpdateItem replay", _rate, "x"),
            ("busy", "UpdateItem replay busy", _busy, None),
        ],
    )
    print(
        f"\npipework internal subscription lag: p50 {percentile(sub_lags, 50) * 1000:.1f} ms, "
        f"p99 {percentile(sub_lags, 99) * 1000:.1f} ms"
    )


if __name__ == "__main__":
    raise SystemExit(main())
