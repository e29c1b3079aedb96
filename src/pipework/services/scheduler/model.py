"""Scheduler resource names: store kinds, work queues, ARNs, and what a stored schedule shows through the API."""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]

KIND_SCHEDULE = "scheduler/schedule"  # name: "<group>/<schedule>"
KIND_GROUP = "scheduler/group"
#: One item per active schedule, due FIRE_AHEAD seconds before its next occurrence (the ticker's timer wheel); its
#: attributes["at"] is the occurrence.
TICKS = "scheduler/ticks"
#: How long before an occurrence the ticker turns its tick into an invocation (due at the occurrence itself), so a
#: burst of occurrences (cron schedules share minute boundaries) costs the ticker nothing at the due time and the
#: dispatcher starts on time. A change to the schedule inside this window withdraws the invocation again.
FIRE_AHEAD = 3.0
#: Invocations to run (the dispatcher's queue: retries, backoff, dead-lettering).
INVOCATIONS = "scheduler/invocations"
#: Client tokens of deletions (creations and updates keep theirs in the resource).
TOKENS = "scheduler/client-tokens"
TOKEN_TTL = 8 * 3600.0
DEFAULT_GROUP = "default"

#: Fields a schedule shows in GetSchedule (internal fields start with "_").
SUMMARY_FIELDS = ("Arn", "Name", "GroupName", "State", "CreationDate", "LastModificationDate")


def key(group: str, name: str) -> str:
    return f"{group}/{name}"


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
