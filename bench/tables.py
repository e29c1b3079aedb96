"""Tables benchmark: PutItem and UpdateItem throughput and stream lag through boto3, Pipework vs moto's server.

    python bench/tables.py            # 3 runs per measure, medians
    python bench/tables.py --smoke    # a few seconds: one short run, Pipework only if moto is missing

Pipework runs as `pipework serve` (SQLite, durable: every acknowledged write is fsynced) and moto as `moto_server`,
both on loopback. Throughput uses several client threads (one boto3 client each); stream lag is the time from
sending PutItem to the record being returned by a GetRecords poll (and, for Pipework, by the internal
subscription API, in process).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

TABLE = "bench"


# ───────────────────────────────────────────── peers ─────────────────────────────────────────────


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Peer:
    """A server process answering boto3 on loopback."""

    def __init__(self, name: str, command: list[str], port: int, health: str) -> None:
        self.name = name
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(self.url + health, timeout=1):
                    return
            except OSError as error:
                if getattr(error, "code", None) is not None:
                    return  # an HTTP error answer still means it is up
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"{name} did not start") from None
                time.sleep(0.05)

    def client(self, service: str) -> Any:
        return _client(self.url, service)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _client(url: str, service: str) -> Any:
    return boto3.session.Session().client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1}, max_pool_connections=32),
    )


def start_pipework(data_dir: str) -> Peer:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "pipework.cli.main",
        "serve",
        "--port",
        str(port),
        "--data",
        data_dir,
        "--log-level",
        "warning",
    ]
    return Peer("pipework", command, port, "/_pipework/health")


def start_moto() -> Peer | None:
    moto = shutil.which("moto_server") or os.path.join(os.path.dirname(sys.executable), "moto_server")
    if not os.path.exists(moto):
        return None
    port = free_port()
    return Peer("moto", [moto, "-p", str(port)], port, "/moto-api/")


# ───────────────────────────────────────────── workloads ─────────────────────────────────────────────


def create_table(peer: Peer, name: str = TABLE) -> str:
    ddb = peer.client("dynamodb")
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    arn: str = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    return arn


def throughput(peer: Peer, kind: str, seconds: float, threads: int, run: int, processes: int = 2) -> float:
    """Operations per second with `processes` x `threads` clients writing for `seconds` (client processes, so the
    clients' own CPU (boto3 is not cheap) is spread over the cores instead of one GIL)."""
    with concurrent.futures.ProcessPoolExecutor(processes) as pool:
        futures = [
            pool.submit(_client_process, peer.url, kind, seconds, threads, f"{run}-{p}")
            for p in range(processes)
        ]
        results = [f.result() for f in futures]
    return sum(count for count, _ in results) / max(elapsed for _, elapsed in results)


def _client_process(url: str, kind: str, seconds: float, threads: int, tag: str) -> tuple[int, float]:
    counts = [0] * threads
    stop = threading.Event()
    clients = [_client(url, "dynamodb") for _ in range(threads)]

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


def get_records_lag(peer: Peer, stream_arn: str, samples: int) -> list[float]:
    """Seconds from sending PutItem to its record being returned by GetRecords (tight polling)."""
    ddb, streams = peer.client("dynamodb"), peer.client("dynamodbstreams")
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
    from pipework.app import Pipework, Settings
    from pipework.testing import serve_in_thread

    data = tempfile.mkdtemp(prefix="pipework-bench-sub-")
    lags: list[float] = []
    try:
        with serve_in_thread(Pipework(Settings(data_dir=Path(data)))) as server:
            ddb = server.client("dynamodb")
            ddb.create_table(
                TableName=TABLE,
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
                StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
            )
            arn = ddb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
            sub = server.pipework.services["dynamodbstreams"].subscribe(arn, start="LATEST")
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
    parser.add_argument("--processes", type=int, default=2, help="client processes for throughput")
    parser.add_argument("--samples", type=int, default=300, help="writes per stream-lag measurement")
    parser.add_argument("--no-moto", action="store_true", help="Pipework only")
    args = parser.parse_args(argv)
    if args.smoke:
        args.runs, args.seconds, args.samples = 1, 0.5, 30
    data = tempfile.mkdtemp(prefix="pipework-bench-")
    peers: list[Peer] = []
    results: dict[str, dict[str, Any]] = {}
    try:
        peers.append(start_pipework(data))
        moto = None if args.no_moto else start_moto()
        if moto is None and not args.no_moto:
            print(
                "moto_server not found (pip install 'moto[server]'); measuring Pipework only", file=sys.stderr
            )
        if moto is not None:
            peers.append(moto)
        for peer in peers:
            arn = create_table(peer)
            row: dict[str, Any] = {}
            for kind in ("PutItem", "UpdateItem"):
                row[kind] = statistics.median(
                    throughput(peer, kind, args.seconds, args.threads, run, args.processes)
                    for run in range(args.runs)
                )
            lags = [
                lag
                for _ in range(args.runs)
                for lag in get_records_lag(peer, arn, args.samples // args.runs or 1)
            ]
            row["lag_p50"], row["lag_p99"] = percentile(lags, 50), percentile(lags, 99)
            results[peer.name] = row
    finally:
        for peer in peers:
            peer.stop()
        shutil.rmtree(data, ignore_errors=True)
    sub_lags = subscription_lag(args.samples)
    print_table(results, sub_lags, args)
    return 0


def print_table(results: dict[str, dict[str, Any]], sub_lags: list[float], args: argparse.Namespace) -> None:
    print(
        f"\nTables: {args.processes} client processes x {args.threads} boto3 threads, median of {args.runs} run(s) x {args.seconds:g} s; "
        f"stream lag over {args.samples} writes (send PutItem -> record returned)\n"
    )
    header = f"{'server':<10} {'PutItem/s':>10} {'UpdateItem/s':>13} {'GetRecords lag p50':>19} {'p99':>9}"
    print(header)
    print("-" * len(header))
    for name, row in results.items():
        print(
            f"{name:<10} {row['PutItem']:>10.0f} {row['UpdateItem']:>13.0f} {row['lag_p50'] * 1000:>16.1f} ms "
            f"{row['lag_p99'] * 1000:>6.1f} ms"
        )
    if "moto" in results and "pipework" in results:
        p, m = results["pipework"], results["moto"]
        print(
            f"{'ratio':<10} {p['PutItem'] / m['PutItem']:>9.1f}x {p['UpdateItem'] / m['UpdateItem']:>12.1f}x"
        )
    print(
        f"\npipework internal subscription lag: p50 {percentile(sub_lags, 50) * 1000:.1f} ms, "
        f"p99 {percentile(sub_lags, 99) * 1000:.1f} ms"
    )


if __name__ == "__main__":
    raise SystemExit(main())
