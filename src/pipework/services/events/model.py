"""EventBridge resource names: ARNs, store kinds and keys, and the managed rules that feed archives.

Every resource belongs to an account and a region: its store name is ``<account>/<region>/<name>`` (a rule's
``<account>/<region>/<bus>/<rule>``), a name part with ``/`` in it (a partner bus) written with ``%2F``; an
archive's events are the log ``events/archive/<account>/<region>/<archive>``. The delivery queue and the rule
ticks are shared by every account and region; their items carry both.
"""

from __future__ import annotations

import json

import orjson

from pipework.jsontypes import JSON
from pipework.patterns.parse import load_json

KIND_BUS = "events/bus"
KIND_RULE = "events/rule"  # name: "<account>/<region>/<bus>/<rule>"
KIND_ARCHIVE = "events/archive"
KIND_REPLAY = "events/replay"
KIND_CONNECTION = "events/connection"
KIND_API_DESTINATION = "events/api-destination"

#: The work queue of pending (rule, target) deliveries of every account and region (payloads name both; one
#: written before they did belongs to its rule ARN's, see `owner`).
DELIVERIES = "events/deliveries"
#: One item per enabled scheduled rule of any account and region, due at its next occurrence (attributes["at"]);
#: see `schedules.py`.
RULE_TICKS = "events/rule-ticks"
ARCHIVE_RULE_PREFIX = "Events-Archive-"
ARCHIVE_RULE_MANAGER = "prod.vhs.events.aws.internal"


def key_part(name: str) -> str:
    """A name as one part of a store name: ``%`` and ``/`` escaped (only partner bus names hold a ``/``)."""
    return name.replace("%", "%25").replace("/", "%2F")


def unescape_part(part: str) -> str:
    return part.replace("%2F", "/").replace("%25", "%")


def store_key(account: str, region: str, *names: str) -> str:
    """The store name of a resource: ``<account>/<region>/<name>[/<name>...]`` (a nested one names its parent)."""
    return "/".join((account, region, *(key_part(n) for n in names)))


def parse_store_key(key: str) -> tuple[str, str, list[str]] | None:
    """(account, region, names) of a store name written by `store_key`, or None."""
    parts = key.split("/")
    if len(parts) < 3:
        return None
    return parts[0], parts[1], [unescape_part(p) for p in parts[2:]]


def archive_log(account: str, region: str, name: str) -> str:
    """The store log holding an archive's events."""
    return f"events/archive/{store_key(account, region, name)}"


def arn_owner(arn: object) -> tuple[str, str] | None:
    """(account, region) an ARN names, or None if it names none."""
    parts = arn.split(":", 5) if isinstance(arn, str) else []
    if len(parts) == 6 and parts[0] == "arn" and parts[3] and parts[4]:
        return parts[4], parts[3]
    return None


def owner(payload: JSON, default: tuple[str, str]) -> tuple[str, str]:
    """(account, region) of a delivery or tick payload: its own, else (written before payloads named them) its
    rule ARN's, else ``default``."""
    account, region = payload.get("account"), payload.get("region")
    if isinstance(account, str) and isinstance(region, str):
        return account, region
    return arn_owner(payload.get("rule_arn")) or default


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
