"""Event bus commands: ``put-events``, ``tail``, ``dlq list|show|redrive|discard``, ``replay start|status|cancel``.

Thin wrappers over the server's API (boto3 for AWS operations, ``/_pipework/`` for Pipework's own), printing
readable tables. ``--endpoint-url`` defaults to ``$AWS_ENDPOINT_URL`` or http://localhost:4566, ``--region`` (the
region every command acts in, AWS operations and Pipework's own alike) to ``$AWS_DEFAULT_REGION`` or us-east-1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from .patterns import read_argument


def _endpoint(args: argparse.Namespace) -> str:
    return str(args.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or "http://localhost:4566").rstrip("/")


def _region(args: argparse.Namespace) -> str:
    return str(getattr(args, "region", None) or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1")


def _client(args: argparse.Namespace) -> Any:
    import boto3

    return boto3.client(
        "events",
        endpoint_url=_endpoint(args),
        region_name=_region(args),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
    )


def _http(
    args: argparse.Namespace, path: str, body: dict[str, Any] | None = None, *, method: str | None = None
) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        _endpoint(args) + path,
        data=data,
        method=method or ("POST" if data is not None else "GET"),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """Rows as a plain text table with a header line."""
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def _add_endpoint(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--endpoint-url", help="server URL (default: $AWS_ENDPOINT_URL or http://localhost:4566)"
    )
    parser.add_argument("--region", help="the region to act in (default: $AWS_DEFAULT_REGION or us-east-1)")


def register(subparsers: Any) -> None:
    put = subparsers.add_parser("put-events", help="put one event on a bus")
    put.add_argument("--source", required=True)
    put.add_argument("--detail-type", required=True)
    put.add_argument("--detail", default="{}", help="JSON object, or @file")
    put.add_argument("--bus", default="default", help="event bus name (default: default)")
    put.add_argument("--resources", nargs="*", default=[])
    _add_endpoint(put)
    put.set_defaults(func=run_put_events)

    tail = subparsers.add_parser(
        "tail",
        help="print the events put on a bus and the rules each matched, live (Ctrl+C to stop)",
    )
    tail.add_argument("bus")
    tail.add_argument("--all", action="store_true", help="also events that matched no rule")
    tail.add_argument("--json", action="store_true", help="one JSON object per line instead of a summary")
    _add_endpoint(tail)
    tail.set_defaults(func=run_tail)

    dlq = subparsers.add_parser("dlq", help="dead-lettered deliveries: list, show, redrive")
    dlq_commands = dlq.add_subparsers(dest="dlq_command", required=True)
    for name, help_text in (("list", "list dead letters"), ("show", "print one dead letter with its event")):
        sub = dlq_commands.add_parser(name, help=help_text)
        if name == "show":
            sub.add_argument("id")
        sub.add_argument("--rule")
        sub.add_argument("--target")
        sub.add_argument("--bus")
        _add_endpoint(sub)
        sub.set_defaults(func=run_dlq_list if name == "list" else run_dlq_show)
    redrive = dlq_commands.add_parser(
        "redrive", help="send dead letters back to the target they failed on (or back through a pipe)"
    )
    redrive.add_argument("ids", nargs="*", help="dead letter ids (default: all that match the filters)")
    redrive.add_argument("--rule")
    redrive.add_argument("--target")
    redrive.add_argument("--pipe", help="redrive a pipe's dead-lettered records through the pipe")
    _add_endpoint(redrive)
    redrive.set_defaults(func=run_dlq_redrive)
    discard = dlq_commands.add_parser(
        "discard", help="delete dead letters for good (rule or pipe dead letters)"
    )
    discard.add_argument("ids", nargs="*", help="dead letter ids (default: all that match the filters)")
    discard.add_argument("--rule")
    discard.add_argument("--target")
    discard.add_argument("--pipe", help="discard a pipe's dead-lettered records")
    discard.add_argument(
        "--all", action="store_true", help="every rule dead letter (when no filter is given)"
    )
    _add_endpoint(discard)
    discard.set_defaults(func=run_dlq_discard)

    replay = subparsers.add_parser("replay", help="replays of an archive: start, status, cancel")
    replay_commands = replay.add_subparsers(dest="replay_command", required=True)
    start = replay_commands.add_parser("start", help="replay an archive's time window onto its bus")
    start.add_argument("name")
    start.add_argument("--archive", required=True, help="archive name")
    start.add_argument("--start", required=True, help="ISO-8601 time (UTC if no offset)")
    start.add_argument("--end", required=True, help="ISO-8601 time (UTC if no offset)")
    start.add_argument(
        "--rule", action="append", default=[], help="replay only to this rule ARN (repeatable)"
    )
    _add_endpoint(start)
    start.set_defaults(func=run_replay_start)
    for name, func in (("status", run_replay_status), ("cancel", run_replay_cancel)):
        sub = replay_commands.add_parser(name, help=f"{name} a replay")
        sub.add_argument("name")
        _add_endpoint(sub)
        sub.set_defaults(func=func)


def _fail(exc: Exception) -> int:
    print(f"error: {exc}", file=sys.stderr)
    return 2


def run_put_events(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    entry = {
        "Source": args.source,
        "DetailType": args.detail_type,
        "Detail": read_argument(args.detail),
        "EventBusName": args.bus,
        "Resources": args.resources,
    }
    try:
        result = _client(args).put_events(Entries=[entry])
    except (BotoCoreError, ClientError) as exc:
        return _fail(exc)
    row = result["Entries"][0]
    if "EventId" in row:
        print(row["EventId"])
        return 0
    print(f"{row.get('ErrorCode')}: {row.get('ErrorMessage')}", file=sys.stderr)
    return 1


def run_tail(args: argparse.Namespace) -> int:
    try:
        query = f"?region={_region(args)}" + ("" if args.all else "&matched=1")
        url = _endpoint(args) + f"/_pipework/events/tail/{args.bus}{query}"
        with urllib.request.urlopen(url) as response:
            for line in response:
                if line.strip():
                    print(line.decode().rstrip() if args.json else _tail_line(json.loads(line)), flush=True)
    except KeyboardInterrupt:
        return 0
    except urllib.error.URLError as exc:
        return _fail(exc)
    return 0


def _tail_line(item: dict[str, Any]) -> str:
    event = item["Event"]
    rules = ",".join(item["MatchedRules"]) or "-"
    detail = json.dumps(event.get("detail"), separators=(",", ":"))
    if len(detail) > 120:
        detail = detail[:117] + "..."
    return (
        f"{event['time']}  {event['id']}  {event['source']}  {event['detail-type']}  rules={rules}  {detail}"
    )


def _dead_letters(args: argparse.Namespace) -> list[dict[str, Any]]:
    given = (("rule", args.rule), ("target", args.target), ("bus", args.bus), ("region", _region(args)))
    query = urllib.parse.urlencode([(k, v) for k, v in given if v])
    items: list[dict[str, Any]] = _http(args, f"/_pipework/events/dead-letters?{query}")["DeadLetters"]
    return items


def run_dlq_list(args: argparse.Namespace) -> int:
    try:
        items = _dead_letters(args)
    except (urllib.error.URLError, OSError) as exc:
        return _fail(exc)
    rows = [
        {
            "ID": d["Id"],
            "BUS": d["EventBusName"],
            "RULE": d["Rule"],
            "TARGET": d["TargetId"],
            "ERROR": d["Error"].get("ERROR_CODE", ""),
            "RETRIES": d["Error"].get("RETRY_ATTEMPTS", ""),
            "AT": dt.datetime.fromtimestamp(d["DeadLetteredAt"], dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        for d in items
    ]
    print(table(rows, ["ID", "BUS", "RULE", "TARGET", "ERROR", "RETRIES", "AT"]))
    return 0


def run_dlq_show(args: argparse.Namespace) -> int:
    try:
        items = [d for d in _dead_letters(args) if d["Id"] == args.id]
    except (urllib.error.URLError, OSError) as exc:
        return _fail(exc)
    if not items:
        print(f"no dead letter {args.id}", file=sys.stderr)
        return 1
    print(json.dumps(items[0], indent=2))
    return 0


def run_dlq_redrive(args: argparse.Namespace) -> int:
    body = {"Ids": args.ids or None, "Rule": args.rule, "TargetId": args.target, "Region": _region(args)}
    path = "/_pipework/events/dead-letters/redrive"
    if args.pipe:
        from .pipes import with_region  # the pipe of $AWS_DEFAULT_REGION, as `pipework pipes` names it

        body, path = (
            {"Pipe": args.pipe, "Ids": args.ids or None},
            with_region("/_pipework/pipes/dead-letters/redrive"),
        )
    try:
        result = _http(args, path, body)
    except (urllib.error.URLError, OSError) as exc:
        return _fail(exc)
    print(f"redriven: {result['Redriven']}")
    return 0


def run_dlq_discard(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {
        "Ids": args.ids or None,
        "Rule": args.rule,
        "TargetId": args.target,
        "Region": _region(args),
        "All": bool(args.all),
    }
    path = "/_pipework/events/dead-letters"
    if args.pipe:
        from .pipes import with_region

        body, path = (
            {"Pipe": args.pipe, "Ids": args.ids or None},
            with_region("/_pipework/pipes/dead-letters"),
        )
    try:
        result = _http(args, path, body, method="DELETE")
    except (urllib.error.URLError, OSError) as exc:
        return _fail(exc)
    print(f"discarded: {result['Discarded']}")
    return 0


def _time(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def run_replay_start(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    client = _client(args)
    try:
        archive = client.describe_archive(ArchiveName=args.archive)
        destination: dict[str, Any] = {"Arn": archive["EventSourceArn"]}
        if args.rule:
            destination["FilterArns"] = args.rule
        result = client.start_replay(
            ReplayName=args.name,
            EventSourceArn=archive["ArchiveArn"],
            EventStartTime=_time(args.start),
            EventEndTime=_time(args.end),
            Destination=destination,
        )
    except (BotoCoreError, ClientError, ValueError) as exc:
        return _fail(exc)
    print(f"{args.name}: {result['State']}")
    return 0


def run_replay_status(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        replay = _client(args).describe_replay(ReplayName=args.name)
    except (BotoCoreError, ClientError) as exc:
        return _fail(exc)
    row = {
        k: replay.get(k, "")
        for k in ("ReplayName", "State", "EventLastReplayedTime", "EventStartTime", "EventEndTime")
    }
    print(table([row], list(row)))
    return 0


def run_replay_cancel(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        result = _client(args).cancel_replay(ReplayName=args.name)
    except (BotoCoreError, ClientError) as exc:
        return _fail(exc)
    print(f"{args.name}: {result['State']}")
    return 0
