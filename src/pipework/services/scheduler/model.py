"""Scheduler resources: `Schedule` and `ScheduleGroup` (from the API, to the API, to and from the store), store
kinds and work queues, keys and ARNs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pipework.jsontypes import JSON

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

DEFAULT_RETRY_POLICY = {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}


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


def epoch(value: Any) -> float | None:
    """A timestamp member (a datetime from the wire, or seconds) as epoch seconds."""
    if value is None:
        return None
    return value.timestamp() if isinstance(value, datetime) else float(value)


#: A schedule's API members and the attributes that hold them, in the order GetSchedule shows them.
_SCHEDULE_MEMBERS = (
    ("Arn", "arn"),
    ("Name", "name"),
    ("GroupName", "group"),
    ("ScheduleExpression", "expression"),
    ("ScheduleExpressionTimezone", "timezone"),
    ("State", "state"),
    ("Target", "target"),
    ("FlexibleTimeWindow", "window"),
    ("ActionAfterCompletion", "action_after_completion"),
    ("CreationDate", "created"),
    ("LastModificationDate", "modified"),
    ("Description", "description"),
    ("KmsKeyArn", "kms_key_arn"),
    ("StartDate", "start"),
    ("EndDate", "end"),
)
#: What Pipework keeps beside a schedule's API members, and the keys it is stored under. The stored body is the
#: API members plus these "_" keys, the shape every version wrote, so any stored schedule loads.
_SCHEDULE_INTERNAL = (
    ("_generation", "generation"),
    ("_anchor", "anchor"),
    ("_create_token", "create_token"),
    ("_update_token", "update_token"),
)


@dataclass(frozen=True, slots=True)
class Schedule:
    """A schedule as defined (times are epoch seconds; optional members are None when absent).

    Beside its API members: `generation` counts its definitions (1 at creation; a tick or an invocation of an older
    generation is stale); `anchor` is when the current definition was made (rate schedules count from it);
    `create_token` and `update_token` are the client tokens of its creation and last update (a retried request
    gets the same answer).
    """

    arn: str
    name: str
    group: str
    expression: str
    state: str
    target: JSON
    window: JSON
    created: float
    modified: float
    generation: int
    anchor: float
    timezone: str | None = None
    action_after_completion: str | None = None
    description: str | None = None
    kms_key_arn: str | None = None
    start: float | None = None
    end: float | None = None
    create_token: str | None = None
    update_token: str | None = None

    @classmethod
    def from_api(
        cls,
        params: JSON,
        *,
        arn: str,
        group: str,
        now: float,
        created: float,
        generation: int,
        create_token: str | None = None,
        update_token: str | None = None,
    ) -> Schedule:
        """A schedule from CreateSchedule's or UpdateSchedule's (validated) parameters, defined at `now`; omitted
        optional members take their defaults (UpdateSchedule replaces the whole definition, as AWS does)."""
        target = dict(params["Target"])
        target["RetryPolicy"] = {**DEFAULT_RETRY_POLICY, **target.get("RetryPolicy", {})}
        return cls(
            arn=arn,
            name=params["Name"],
            group=group,
            expression=params["ScheduleExpression"],
            timezone=params.get("ScheduleExpressionTimezone", "UTC"),
            state=params.get("State", "ENABLED"),
            target=target,
            window=params["FlexibleTimeWindow"],
            action_after_completion=params.get("ActionAfterCompletion", "NONE"),
            created=created,
            modified=now,
            description=params.get("Description"),
            kms_key_arn=params.get("KmsKeyArn"),
            start=epoch(params.get("StartDate")),
            end=epoch(params.get("EndDate")),
            generation=generation,
            anchor=now,
            create_token=create_token,
            update_token=update_token,
        )

    def to_api(self) -> JSON:
        """GetSchedule's answer."""
        out: JSON = {}
        for member, attribute in _SCHEDULE_MEMBERS:
            value = getattr(self, attribute)
            if value is not None:
                out[member] = value
        return out

    def summary(self) -> JSON:
        """ListSchedules' entry."""
        return {
            "Arn": self.arn,
            "Name": self.name,
            "GroupName": self.group,
            "State": self.state,
            "CreationDate": self.created,
            "LastModificationDate": self.modified,
            "Target": {"Arn": self.target["Arn"]},
        }

    def to_store(self) -> JSON:
        out = self.to_api()
        for key, attribute in _SCHEDULE_INTERNAL:
            value = getattr(self, attribute)
            if value is not None:
                out[key] = value
        return out

    @classmethod
    def from_store(cls, body: JSON) -> Schedule:
        """A stored schedule, of this version or an older one (unknown keys are ignored)."""
        return cls(
            **{
                attribute: body[key]
                for key, attribute in _SCHEDULE_MEMBERS + _SCHEDULE_INTERNAL
                if key in body
            }
        )


@dataclass(frozen=True, slots=True)
class ScheduleGroup:
    """A schedule group (the taggable Scheduler resource). `create_token`: its creation's client token."""

    arn: str
    name: str
    created: float
    modified: float
    state: str = "ACTIVE"
    tags: dict[str, str] = field(default_factory=dict)
    create_token: str | None = None

    @property
    def key(self) -> str:
        return group_key_of_arn(self.arn)

    def to_api(self) -> JSON:
        """GetScheduleGroup's answer (and ListScheduleGroups' entry): tags are read with ListTagsForResource."""
        return {
            "Arn": self.arn,
            "Name": self.name,
            "State": self.state,
            "CreationDate": self.created,
            "LastModificationDate": self.modified,
        }

    def to_store(self) -> JSON:
        out: JSON = {**self.to_api(), "Tags": dict(self.tags)}
        if self.create_token is not None:
            out["_create_token"] = self.create_token
        return out

    @classmethod
    def from_store(cls, body: JSON) -> ScheduleGroup:
        return cls(
            arn=body["Arn"],
            name=body["Name"],
            state=body.get("State", "ACTIVE"),
            created=body["CreationDate"],
            modified=body["LastModificationDate"],
            tags=dict(body.get("Tags") or {}),
            create_token=body.get("_create_token"),
        )
