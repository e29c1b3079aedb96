"""Pipe commands: ``pipes list | describe NAME | invoke NAME --record @file | metrics NAME | dead-letters``.

AWS operations go through boto3's ``pipes`` client; invoke, metrics and dead letters are Pipework's own
operations under ``/_pipework/pipes/``. ``--endpoint-url`` defaults to ``$AWS_ENDPOINT_URL`` or
http://localhost:4566; both act in ``$AWS_DEFAULT_REGION`` (unset: boto3's us-east-1, and the server's own region
for Pipework's operations). Redrive is ``pipework dlq redrive --pipe NAME``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import urllib.error
from typing import Any
from urllib.parse import quote

from .events import _add_endpoint, _endpoint, _fail, _http, table
from .patterns import read_argument


def _client(args: argparse.Namespace) -> Any:
    import boto3

    return boto3.client(
        "pipes",
        endpoint_url=_endpoint(args),
        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
    )


def with_region(path: str) -> str:
    """A ``/_pipework/pipes/`` path asking for the pipes of ``$AWS_DEFAULT_REGION``, if set."""
    region = os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        return path
    return f"{path}{'&' if '?' in path else '?'}region={quote(region, safe='')}"


def register(subparsers: Any) -> None:
    pipes = subparsers.add_parser("pipes", help="pipes: list, describe, invoke, metrics, dead letters")
    commands = pipes.add_subparsers(dest="pipes_command", required=True)
    listing = commands.add_parser("list", help="list pipes with their states")
    listing.add_argument("--prefix", default="", help="only pipes whose name starts with this")
    listing.set_defaults(func=run_list)
    describe = commands.add_parser("describe", help="print a pipe's definition and state as JSON")
    describe.add_argument("name")
    describe.set_defaults(func=run_describe)
    invoke = commands.add_parser(
        "invoke", help="push records through a pipe's filter, enrichment and target; print each stage"
    )
    invoke.add_argument("name")
    invoke.add_argument(
        "--record",
        action="append",
        required=True,
        help="a source record as JSON, or @file (a JSON object, or an array of records); repeatable",
    )
    invoke.set_defaults(func=run_invoke)
    metrics = commands.add_parser("metrics", help="a pipe's metrics (AWS names)")
    metrics.add_argument("name")
    metrics.add_argument("--json", action="store_true", help="print the raw JSON")
    metrics.set_defaults(func=run_metrics)
    letters = commands.add_parser("dead-letters", help="a pipe's dead-lettered records (full)")
    letters.add_argument("name")
    letters.set_defaults(func=run_dead_letters)
    for sub in (listing, describe, invoke, metrics, letters):
        _add_endpoint(sub)


def run_list(args: argparse.Namespace) -> int:
    try:
        client = _client(args)
        pipes: list[dict[str, Any]] = []
        token = None
        while True:
            params = {"NamePrefix": args.prefix} if args.prefix else {}
            if token:
                params["NextToken"] = token
            page = client.list_pipes(**params)
            pipes.extend(page["Pipes"])
            token = page.get("NextToken")
            if not token:
                break
    except Exception as exc:
        return _fail(exc)
    rows = [
        {
            "NAME": p["Name"],
            "STATE": p["CurrentState"],
            "DESIRED": p["DesiredState"],
            "SOURCE": p["Source"],
            "TARGET": p["Target"],
            "REASON": p.get("StateReason", ""),
        }
        for p in pipes
    ]
    print(table(rows, ["NAME", "STATE", "DESIRED", "SOURCE", "TARGET", "REASON"]))
    return 0


def run_describe(args: argparse.Namespace) -> int:
    try:
        pipe = _client(args).describe_pipe(Name=args.name)
    except Exception as exc:
        return _fail(exc)
    pipe.pop("ResponseMetadata", None)
    print(json.dumps(pipe, indent=2, default=_json_default))
    return 0


def run_invoke(args: argparse.Namespace) -> int:
    records: list[Any] = []
    try:
        for value in args.record:
            parsed = json.loads(read_argument(value))
            records.extend(parsed if isinstance(parsed, list) else [parsed])
    except (OSError, ValueError) as exc:
        return _fail(exc)
    try:
        result = _http(
            args, with_region(f"/_pipework/pipes/{quote(args.name, safe='')}/invoke"), {"Records": records}
        )
    except urllib.error.HTTPError as exc:
        return _fail(Exception(exc.read().decode() or str(exc)))
    except (urllib.error.URLError, OSError) as exc:
        return _fail(exc)
    print(json.dumps(result, indent=2))
    return 0 if result.get("Status") in ("SUCCEEDED", "FILTERED") else 1


def run_metrics(args: argparse.Namespace) -> int:
    try:
        result = _http(args, with_region(f"/_pipework/pipes/{quote(args.name, safe='')}/metrics"))
    except urllib.error.HTTPError as exc:
        return _fail(Exception(exc.read().decode() or str(exc)))
    except (urllib.error.URLError, OSError) as exc:
        return _fail(exc)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    rows = []
    for name, value in result["Metrics"].items():
        shown = value.get("Sum") if "SampleCount" not in value else value
        if name == "Concurrency":
            shown = f"current {value['Current']}, max {value['Maximum']}"
        elif isinstance(shown, dict):
            shown = f"n={value['SampleCount']} avg={value['Average']} max={value['Maximum']} ms"
        rows.append({"METRIC": name, "VALUE": shown})
    print(table(rows, ["METRIC", "VALUE"]))
    return 0


def run_dead_letters(args: argparse.Namespace) -> int:
    try:
        items = _http(args, with_region(f"/_pipework/pipes/dead-letters?pipe={quote(args.name, safe='')}"))[
            "DeadLetters"
        ]
    except urllib.error.HTTPError as exc:
        return _fail(Exception(exc.read().decode() or str(exc)))
    except (urllib.error.URLError, OSError) as exc:
        return _fail(exc)
    for item in items:
        print(json.dumps(item), file=sys.stdout)
    return 0


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)
