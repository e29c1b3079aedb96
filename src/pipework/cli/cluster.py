"""`pipework cluster status`: the nodes sharing a store (by their heartbeats in the database) and who holds which
lease (pipe source lanes, replays, move tasks, sweeps, tickers)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("cluster", help="the nodes sharing a PostgreSQL store")
    commands = parser.add_subparsers(dest="cluster_command", required=True, metavar="COMMAND")
    status = commands.add_parser(
        "status", help="list the nodes (live heartbeats) and the leases each holds, read from the database"
    )
    status.add_argument(
        "--store",
        default=os.environ.get("PIPEWORK_STORE") or None,
        metavar="URL",
        help="the store URL the nodes run with (default: $PIPEWORK_STORE)",
    )
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")
    status.set_defaults(func=run_status)


def run_status(args: argparse.Namespace) -> int:
    if not args.store or not args.store.startswith(("postgresql://", "postgres://")):
        print("pipework cluster status: give --store postgresql://... (or PIPEWORK_STORE)", file=sys.stderr)
        return 2
    try:
        report = asyncio.run(_status(args.store))
    except Exception as error:
        print(f"pipework cluster status: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"store {report['store']}: {len(report['nodes'])} node(s)")
    for node in report["nodes"]:
        print(
            f"  node {node['holder']}  up since {node['since']}, heartbeat valid {node['expiresIn']:.1f} s more"
        )
        for lease in node["leases"]:
            print(f"    {lease['name']}  token {lease['token']}  expires in {lease['expiresIn']:.1f} s")
    for lease in report["unheld"]:
        print(f"  held by a node without a heartbeat: {lease['name']} ({lease['holder']})")
    return 0


async def _status(url: str) -> dict[str, Any]:
    from pipework.clock import SystemClock
    from pipework.engine.cluster import NODE_PREFIX
    from pipework.store import redacted_url
    from pipework.store.postgres import PostgresStore

    store = await PostgresStore.open(url, SystemClock(), pool_min=1, pool_max=2)
    try:
        leases = await store.list_leases()
    finally:
        await store.close()
    now = time.time()
    nodes = {lease.holder: lease for lease in leases if lease.name.startswith(NODE_PREFIX)}
    out: dict[str, Any] = {"store": redacted_url(url), "nodes": [], "unheld": []}
    by_holder: dict[str, list[dict[str, Any]]] = {holder: [] for holder in nodes}
    for lease in leases:
        if lease.name.startswith(NODE_PREFIX):
            continue
        entry = {
            "name": lease.name,
            "holder": lease.holder,
            "token": lease.token,
            "expiresIn": lease.expires_at - now,
        }
        if lease.holder in by_holder:
            by_holder[lease.holder].append(entry)
        else:
            out["unheld"].append(entry)
    for holder, node in sorted(nodes.items()):
        out["nodes"].append(
            {
                "holder": holder,
                "node": node.name.removeprefix(NODE_PREFIX),
                "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(node.acquired_at)),
                "expiresIn": node.expires_at - now,
                "leases": by_holder[holder],
            }
        )
    return out
