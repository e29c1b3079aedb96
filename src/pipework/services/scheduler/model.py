"""Scheduler resource names: store kinds, work queues, ARNs, and what a stored schedule shows through the API."""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]

KIND_SCHEDULE = "scheduler/schedule"  # name: "<account>/<region>/<group>/<schedule>" (`key`)
KIND_GROUP = "scheduler/group"  # name: "<account>/<region>/<group>" (`group_key`)
#: One item per active schedule, due FIRE_AHEAD seconds before its next occurrence (the ticker's timer wheel); its
#: attributes["at"] is the occurrence.
TICKS = "scheduler/ticks"
#: How long before an occurrence the ticker turns its tick into an invocation (due at the occurrence itself), so a
#: burst of occurrences (cron schedules share minute boundaries) costs the ticker nothing at the due time and the
#: dispatcher starts on time. A change to the schedule inside this window withdraws the invocation again.
FIRE_AHEAD = 3.0
#: Invocations to run (the dispatcher's queue: retries, backoff, dead-lettering).
INVOCATIONS = "scheduler/invocations"
#: Client tokens of deletions (creations and updates keep theirs in the resource), keyed
#: ``<account>/<region>/<token>``; the value names what was deleted in that region (``<group>/<name>`` or
#: ``group:<group>``).
TOKENS = "scheduler/client-tokens"
TOKEN_TTL = 8 * 3600.0
DEFAULT_GROUP = "default"

#: Fields a schedule shows in GetSchedule (internal fields start with "_").
SUMMARY_FIELDS = ("Arn", "Name", "GroupName", "State", "CreationDate", "LastModificationDate")


def group_key(account: str, region: str, group: str) -> str:
    return f"{account}/{region}/{group}"


def key(account: str, region: str, group: str, name: str) -> str:
    """What a schedule is stored under (names of groups and schedules have no ``/``)."""
    return f"{account}/{region}/{group}/{name}"


def token_key(account: str, region: str, token: str) -> str:
    return f"{account}/{region}/{token}"


def group_key_of_arn(arn: str) -> str:
    """The key of the group a stored group's ARN (``...:<region>:<account>:schedule-group/<group>``) names."""
    parts = arn.split(":", 5)
    return group_key(parts[4], parts[3], parts[5].removeprefix("schedule-group/"))


def key_of_arn(arn: str) -> str | None:
    """The key of the schedule ``arn:aws:scheduler:<region>:<account>:schedule/<group>/<name>`` names, or None."""
    parts = arn.split(":", 5)
    resource = parts[5].split("/") if len(parts) == 6 else []
    if len(resource) == 3 and resource[0] == "schedule":
        return key(parts[4], parts[3], resource[1], resource[2])
    return None


def invocation_key(invocation: JSON) -> str:
    """The key of the schedule an invocation belongs to. Invocations enqueued before schedules were keyed by
    account and region name their schedule ``<group>/<name>``; their ARN names it in full."""
    if "region" in invocation:
        return str(invocation["schedule"])
    return key_of_arn(invocation["arn"]) or str(invocation["schedule"])


def tick_id(schedule_key: str, generation: int) -> str:
    """A tick per schedule generation: an update replaces the tick, and a stale one is recognisable."""
    return f"{schedule_key}#{generation}"


class Arns:
    """Scheduler ARNs of one region and account."""

    def __init__(self, region: str, account: str) -> None:
        self.prefix = f"arn:aws:scheduler:{region}:{account}:"

    def schedule(self, group: str, name: str) -> str:
        return f"{self.prefix}schedule/{group}/{name}"

    def group(self, name: str) -> str:
        return f"{self.prefix}schedule-group/{name}"

    def group_name(self, arn: str) -> str | None:
        """The group an ARN names, or None if it is not a schedule-group ARN of this region/account."""
        rest = arn.removeprefix(self.prefix + "schedule-group/")
        return rest if rest != arn and rest and "/" not in rest else None


def public(body: JSON) -> JSON:
    """A stored schedule or group as the API returns it."""
    return {k: v for k, v in body.items() if not k.startswith("_") and k != "Tags"}


def summary(body: JSON) -> JSON:
    out = {k: body[k] for k in SUMMARY_FIELDS if k in body}
    out["Target"] = {"Arn": body["Target"]["Arn"]}
    return out


def page(items: list[Any], token: str | None, limit: int | None) -> tuple[list[Any], str | None]:
    """Offset pagination over a sorted list."""
    start = int(token) if token and token.isdigit() else 0
    end = start + (limit or 100)
    return items[start:end], (str(end) if end < len(items) else None)
