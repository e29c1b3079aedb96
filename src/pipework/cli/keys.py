"""Access keys of a server with auth on: ``pipework keys create|list|disable|delete``, through the admin API
(``/_pipework/keys``), signed with the configured credentials (an admin key's)."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
from typing import Any
from urllib.parse import quote

from .events import _add_endpoint, _http, table


def register(subparsers: Any) -> None:
    keys = subparsers.add_parser("keys", help="access keys of a server with auth on (needs an admin key)")
    commands = keys.add_subparsers(dest="keys_command", required=True, metavar="COMMAND")

    create = commands.add_parser("create", help="make a key; prints its secret once")
    create.add_argument("--account", required=True, help="the 12-digit account the key acts in")
    create.add_argument(
        "--principal", required=True, help="the user name (in ARNs and AccessDenied messages)"
    )
    create.add_argument(
        "--admin", action="store_true", help="may do everything, Pipework's own routes included"
    )
    create.add_argument(
        "--policy",
        action="append",
        default=[],
        metavar="JSON_OR_@FILE",
        help="an IAM policy document; repeatable",
    )
    _add_endpoint(create)
    create.set_defaults(func=run_create)

    listed = commands.add_parser("list", help="the keys (never their secrets)")
    listed.add_argument("--json", action="store_true", help="print JSON")
    _add_endpoint(listed)
    listed.set_defaults(func=run_list)

    for name, helptext, func in (
        ("disable", "refuse the key from now on (keep it listed)", "run_disable"),
        ("delete", "forget the key", "run_delete"),
    ):
        command = commands.add_parser(name, help=helptext)
        command.add_argument("access_key_id")
        _add_endpoint(command)
        command.set_defaults(func=globals()[func])


def _policy(text: str) -> Any:
    if text.startswith("@"):
        with open(text[1:]) as source:
            text = source.read()
    return json.loads(text)


def _call(
    args: argparse.Namespace, path: str, body: dict[str, Any] | None = None, method: str | None = None
) -> Any:
    try:
        return _http(args, path, body, method=method)
    except urllib.error.HTTPError as error:
        try:
            detail = json.loads(error.read())
            reason = f"{detail['__type']}: {detail['message']}"
        except (ValueError, KeyError, TypeError):
            reason = str(error)
        raise SystemExit(f"error: {reason}") from None
    except urllib.error.URLError as error:
        raise SystemExit(f"error: {error.reason}") from None


def run_create(args: argparse.Namespace) -> int:
    try:
        policies = [_policy(text) for text in args.policy]
    except (OSError, ValueError) as error:
        print(f"error: --policy: {error}", file=sys.stderr)
        return 2
    body = {"Account": args.account, "Principal": args.principal, "Admin": args.admin, "Policies": policies}
    print(json.dumps(_call(args, "/_pipework/keys", body), indent=2))
    return 0


def run_list(args: argparse.Namespace) -> int:
    keys = _call(args, "/_pipework/keys")["Keys"]
    if args.json:
        print(json.dumps(keys, indent=2))
        return 0
    rows = [{**key, "Policies": len(key["Policies"])} for key in keys]
    print(table(rows, ["AccessKeyId", "Account", "Principal", "Admin", "Status", "Policies"]))
    return 0


def run_disable(args: argparse.Namespace) -> int:
    key = _call(args, f"/_pipework/keys/{quote(args.access_key_id, safe='')}/disable", {})
    print(f"{key['AccessKeyId']} {key['Status']}")
    return 0


def run_delete(args: argparse.Namespace) -> int:
    _call(args, f"/_pipework/keys/{quote(args.access_key_id, safe='')}", method="DELETE")
    print(f"{args.access_key_id} deleted")
    return 0
