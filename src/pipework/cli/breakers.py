"""Circuit breaker commands: ``breakers set NAME --target ARN [--config JSON|@file] | list | show NAME | delete NAME
| open NAME | close NAME | pause NAME | resume NAME``, over ``/_pipework/breakers`` (see docs/breakers.md).
``--endpoint-url`` defaults to ``$AWS_ENDPOINT_URL`` or http://localhost:4566.
"""

from __future__ import annotations

import argparse
import json
import urllib.error
from typing import Any
from urllib.parse import quote

from .events import _add_endpoint, _fail, _http, table
from .patterns import read_argument

COLUMNS = ["Name", "State", "Parked", "Since", "Target", "Reason"]


def register(subparsers: Any) -> None:
    breakers = subparsers.add_parser(
        "breakers", help="circuit breakers: set, list, show, delete, open, close, ..."
    )
    commands = breakers.add_subparsers(dest="breakers_command", required=True)
    put = commands.add_parser("set", help="create or change a breaker")
    put.add_argument("name")
    put.add_argument("--target", help="the ARN the breaker guards (or give Target in --config)")
    put.add_argument(
        "--config", help="the rest of the configuration as JSON or @file, e.g. '{\"FailureThreshold\": 3}'"
    )
    _add_endpoint(put)
    put.set_defaults(func=run_set)
    listing = commands.add_parser("list", help="every breaker with its state and parked deliveries")
    _add_endpoint(listing)
    listing.set_defaults(func=run_list)
    for name, help_text in (
        ("show", "one breaker, as JSON"),
        ("delete", "remove a breaker (its parked deliveries resume)"),
        ("open", "open by hand (probes may close it again)"),
        ("close", "close by hand: parked deliveries resume"),
        ("pause", "park every delivery until `resume` (a maintenance window)"),
        ("resume", "end a pause: parked deliveries resume"),
    ):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("name")
        _add_endpoint(sub)
        sub.set_defaults(func=run_action, action=name)


def _call(args: argparse.Namespace, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    try:
        return _http(args, path, body, method=method)
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("message", str(exc))
        except ValueError:
            message = str(exc)
        raise RuntimeError(message) from None


def run_set(args: argparse.Namespace) -> int:
    try:
        config = json.loads(read_argument(args.config)) if args.config else {}
        if not isinstance(config, dict):
            return _fail(ValueError("--config must be a JSON object"))
        if args.target:
            config["Target"] = args.target
        breaker = _call(args, "PUT", f"/_pipework/breakers/{quote(args.name, safe='')}", config)
    except (RuntimeError, ValueError, urllib.error.URLError, OSError) as exc:
        return _fail(exc)
    print(json.dumps(breaker, indent=2))
    return 0


def run_list(args: argparse.Namespace) -> int:
    try:
        listed = _call(args, "GET", "/_pipework/breakers")["Breakers"]
    except (RuntimeError, urllib.error.URLError, OSError) as exc:
        return _fail(exc)
    print(table(listed, COLUMNS))
    return 0


def run_action(args: argparse.Namespace) -> int:
    path = f"/_pipework/breakers/{quote(args.name, safe='')}"
    method = {"show": "GET", "delete": "DELETE"}.get(args.action, "POST")
    if method == "POST":
        path += f"/{args.action}"
    try:
        answer = _call(args, method, path)
    except (RuntimeError, urllib.error.URLError, OSError) as exc:
        return _fail(exc)
    if args.action == "delete":
        print(f"deleted: {args.name}")
    elif args.action == "show":
        print(json.dumps(answer, indent=2))
    else:
        print(f"{args.name}: {answer['State']} ({answer['Parked']} parked)")
    return 0
