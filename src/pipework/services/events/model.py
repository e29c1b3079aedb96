"""EventBridge resource names: ARNs, store kinds and keys, and the managed rules that feed archives."""

from __future__ import annotations

import json
from typing import Any

import orjson

from pipework.patterns.parse import load_json

JSON = dict[str, Any]

KIND_BUS = "events/bus"
KIND_RULE = "events/rule"  # name: "<bus>|<rule>"
KIND_ARCHIVE = "events/archive"
KIND_REPLAY = "events/replay"
KIND_CONNECTION = "events/connection"
KIND_API_DESTINATION = "events/api-destination"

#: The work queue of pending (rule, target) deliveries.
DELIVERIES = "events/deliveries"
#: One item per enabled scheduled rule, due at its next occurrence (attributes["at"]); see `schedules.py`.
RULE_TICKS = "events/rule-ticks"
ARCHIVE_RULE_PREFIX = "Events-Archive-"
ARCHIVE_RULE_MANAGER = "prod.vhs.events.aws.internal"


def archive_log(name: str) -> str:
    return f"events/archive/{name}"


def rule_key(bus: str, rule: str) -> str:
    return f"{bus}|{rule}"


class Arns:
    """ARNs of one region and account."""

    def __init__(self, region: str, account: str) -> None:
        self.region = region
        self.account = account
        self._prefix = f"arn:aws:events:{region}:{account}:"

    def bus(self, name: str) -> str:
        return f"{self._prefix}event-bus/{name}"

    def rule(self, bus: str, name: str) -> str:
        return f"{self._prefix}rule/{name}" if bus == "default" else f"{self._prefix}rule/{bus}/{name}"

    def archive(self, name: str) -> str:
        return f"{self._prefix}archive/{name}"

    def replay(self, name: str) -> str:
        return f"{self._prefix}replay/{name}"

    def connection(self, name: str, uuid: str) -> str:
        return f"{self._prefix}connection/{name}/{uuid}"

    def api_destination(self, name: str, uuid: str) -> str:
        return f"{self._prefix}api-destination/{name}/{uuid}"


def archive_rule_pattern(pattern: str | None) -> str:
    """The managed rule of an archive: its pattern, and never a replayed event (AWS does the same)."""
    body = load_json(pattern) if pattern else {}
    body["replay-name"] = [{"exists": False}]
    try:
        return orjson.dumps(body).decode()
    except (
        orjson.JSONEncodeError
    ):  # integers beyond 64 bits or lone surrogates, which only `json` writes back
        return json.dumps(body, separators=(",", ":"))


def archive_target(region: str, archive: str) -> JSON:
    """The target of an archive's managed rule: Id and Arn as AWS shows them (an ARN naming no resource); the
    ``ArchiveName`` member is Pipework's own (never sent on the wire) and tells routing to append to the archive."""
    return {"Id": ARCHIVE_RULE_PREFIX + archive, "Arn": f"arn:aws:events:{region}:::", "ArchiveName": archive}


def name_from_arn(arn: str) -> str:
    """The last path element of an ARN (``...:event-bus/orders`` -> ``orders``)."""
    return arn.rsplit("/", 1)[-1] if "/" in arn else arn.rsplit(":", 1)[-1]


def page(items: list[Any], token: str | None, limit: int | None) -> tuple[list[Any], str | None]:
    """Pagination over a sorted list: the token is the offset."""
    start = int(token) if token and token.isdigit() else 0
    size = limit or 100
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)
