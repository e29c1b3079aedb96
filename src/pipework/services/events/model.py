"""EventBridge resource names: ARNs, store kinds and keys, and the managed rules that feed archives.

Every resource belongs to an account and a region: its store name is ``<account>/<region>/<name>`` (a rule's
``<account>/<region>/<bus>/<rule>``), a name part with ``/`` in it (a partner bus) written with ``%2F``; an
archive's events are the log ``events/archive/<account>/<region>/<archive>``. The delivery queue and the rule
ticks are shared by every account and region; their items carry both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

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


# -- resources ---------------------------------------------------------------------------------------------------
# Each resource is a frozen dataclass, converted from the API's parameters by the operation that makes it, to the
# API's shapes by the operations that show it, and to and from the store body, which keeps the shape every version
# wrote (AWS members, and for a replay one "_" key of Pipework's own), so any stored resource loads unchanged.
# Attributes that are None are absent from the API's answers and the store body.


def _members(resource: object, members: tuple[tuple[str, str], ...]) -> JSON:
    out: JSON = {}
    for member, attribute in members:
        value = getattr(resource, attribute)
        if value is not None:
            out[member] = value
    return out


def _attributes(body: JSON, members: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    return {attribute: body[member] for member, attribute in members if member in body}


def _tags(params: JSON) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in params.get("Tags", [])}


#: Members of a bus that CreateEventBus and UpdateEventBus set, and the attributes holding them.
_BUS_OPTIONS = (
    ("Description", "description"),
    ("KmsKeyIdentifier", "kms_key"),
    ("DeadLetterConfig", "dead_letter_config"),
    ("LogConfig", "log_config"),
)
_BUS_MEMBERS = (
    ("Name", "name"),
    ("Arn", "arn"),
    ("CreationTime", "created"),
    ("LastModifiedTime", "modified"),
    *_BUS_OPTIONS,
)


@dataclass(frozen=True, slots=True)
class EventBus:
    name: str
    arn: str
    created: float
    modified: float
    description: str | None = None
    kms_key: str | None = None
    dead_letter_config: JSON | None = None
    log_config: JSON | None = None
    tags: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_api(cls, params: JSON, *, name: str, arn: str, now: float) -> EventBus:
        """A bus from CreateEventBus's parameters (the ``default`` bus: from none)."""
        options = _attributes(params, _BUS_OPTIONS)
        return cls(name=name, arn=arn, created=now, modified=now, tags=_tags(params), **options)

    def updated(self, params: JSON, now: float) -> EventBus:
        """The bus after UpdateEventBus: the members given replace the current ones."""
        return replace(self, modified=now, **_attributes(params, _BUS_OPTIONS))

    def options(self) -> JSON:
        return _members(self, _BUS_OPTIONS)

    def to_api(self) -> JSON:
        """DescribeEventBus's answer (tags are read with ListTagsForResource)."""
        return _members(self, _BUS_MEMBERS)

    def summary(self) -> JSON:
        """ListEventBuses' entry."""
        out: JSON = {"Name": self.name, "Arn": self.arn}
        if self.description is not None:
            out["Description"] = self.description
        out["CreationTime"] = self.created
        out["LastModifiedTime"] = self.modified
        return out

    def to_store(self) -> JSON:
        return {**self.to_api(), "Tags": dict(self.tags)}

    @classmethod
    def from_store(cls, body: JSON) -> EventBus:
        return cls(**_attributes(body, _BUS_MEMBERS), tags=dict(body.get("Tags") or {}))


_RULE_MEMBERS = (
    ("Name", "name"),
    ("Arn", "arn"),
    ("EventBusName", "bus"),
    ("EventPattern", "pattern"),
    ("ScheduleExpression", "schedule"),
    ("State", "state"),
    ("Description", "description"),
    ("RoleArn", "role_arn"),
    ("ManagedBy", "managed_by"),
    ("CreatedBy", "created_by"),
)


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule and its targets (as PutTargets gave them). `archive`: the archive a managed rule feeds (its one
    target, as AWS shows it, names no resource); None for a user's rule."""

    name: str
    arn: str
    bus: str
    state: str = "ENABLED"
    pattern: str | None = None
    schedule: str | None = None
    description: str | None = None
    role_arn: str | None = None
    managed_by: str | None = None
    created_by: str | None = None
    targets: tuple[JSON, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    archive: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.bus, self.name)

    @property
    def scheduled(self) -> bool:
        """Whether the rule fires on a schedule now: it has a ScheduleExpression and is not disabled (the
        router's reading of State, so ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS counts as enabled)."""
        return bool(self.schedule) and self.state != "DISABLED"

    def to_api(self) -> JSON:
        """DescribeRule's answer (targets and tags are read with their own operations)."""
        return _members(self, _RULE_MEMBERS)

    def summary(self) -> JSON:
        """ListRules' entry."""
        out = self.to_api()
        out.pop("CreatedBy", None)
        return out

    def to_router(self) -> JSON:
        """What the router matches and delivers by (made when the rule is remembered, not per event): a managed
        rule's target is the archive, appended to by routing itself, so the router delivers it nowhere."""
        out = self.to_api()
        out["Targets"] = [] if self.archive is not None else list(self.targets)
        return out

    def to_store(self) -> JSON:
        out = self.to_api()
        targets = list(self.targets)
        if self.archive is not None and targets:
            # Stored as every version wrote it: the archive named in its managed rule's target.
            targets[0] = {**targets[0], "ArchiveName": self.archive}
        out["Targets"] = targets
        out["Tags"] = dict(self.tags)
        return out

    @classmethod
    def from_store(cls, body: JSON) -> Rule:
        archive = None
        targets = []
        for target in body.get("Targets") or ():
            if "ArchiveName" in target:
                archive = target["ArchiveName"]
                target = {k: v for k, v in target.items() if k != "ArchiveName"}
            targets.append(target)
        return cls(
            **_attributes(body, _RULE_MEMBERS),
            targets=tuple(targets),
            tags=dict(body.get("Tags") or {}),
            archive=archive,
        )


_ARCHIVE_OPTIONS = (
    ("Description", "description"),
    ("EventPattern", "pattern"),
    ("KmsKeyIdentifier", "kms_key"),
)
_ARCHIVE_MEMBERS = (
    ("ArchiveName", "name"),
    ("ArchiveArn", "arn"),
    ("EventSourceArn", "source_arn"),
    ("State", "state"),
    ("RetentionDays", "retention_days"),
    ("CreationTime", "created"),
    *_ARCHIVE_OPTIONS,
)


@dataclass(frozen=True, slots=True)
class Archive:
    name: str
    arn: str
    source_arn: str
    created: float
    state: str = "ENABLED"
    retention_days: int = 0
    description: str | None = None
    pattern: str | None = None
    kms_key: str | None = None

    @property
    def bus(self) -> str:
        """The name of the bus whose events it keeps."""
        return name_from_arn(self.source_arn)

    @property
    def rule_name(self) -> str:
        """The name of its managed rule."""
        return ARCHIVE_RULE_PREFIX + self.name

    @classmethod
    def from_api(cls, params: JSON, *, arn: str, now: float) -> Archive:
        """An archive from CreateArchive's parameters."""
        options = {k: v for k, v in _attributes(params, _ARCHIVE_OPTIONS).items() if v is not None}
        return cls(
            name=params["ArchiveName"],
            arn=arn,
            source_arn=params["EventSourceArn"],
            created=now,
            retention_days=params.get("RetentionDays", 0),
            **options,
        )

    def updated(self, params: JSON) -> Archive:
        """The archive after UpdateArchive: the members given replace the current ones."""
        changes = _attributes(params, (*_ARCHIVE_OPTIONS, ("RetentionDays", "retention_days")))
        return replace(self, **changes)

    def to_api(self) -> JSON:
        """DescribeArchive's answer, before the counts of its events."""
        return _members(self, _ARCHIVE_MEMBERS)

    def summary(self) -> JSON:
        """ListArchives' entry, before the counts of its events."""
        return {
            "ArchiveName": self.name,
            "EventSourceArn": self.source_arn,
            "State": self.state,
            "RetentionDays": self.retention_days,
            "CreationTime": self.created,
        }

    def to_store(self) -> JSON:
        return self.to_api()

    @classmethod
    def from_store(cls, body: JSON) -> Archive:
        return cls(**_attributes(body, _ARCHIVE_MEMBERS))


_REPLAY_MEMBERS = (
    ("ReplayName", "name"),
    ("ReplayArn", "arn"),
    ("Description", "description"),
    ("State", "state"),
    ("StateReason", "state_reason"),
    ("EventSourceArn", "source_arn"),
    ("Destination", "destination"),
    ("EventStartTime", "start"),
    ("EventEndTime", "end"),
    ("EventLastReplayedTime", "last_replayed"),
    ("ReplayStartTime", "started"),
    ("ReplayEndTime", "ended"),
)
#: The stored replay's key for `Replay.position` (with EventLastReplayedTime, where a replay resumes).
REPLAY_POSITION = "_LastReplayedPosition"
ACTIVE_REPLAY_STATES = ("STARTING", "RUNNING", "CANCELLING")


@dataclass(frozen=True, slots=True)
class Replay:
    """A replay. `position`: the archive position of the last replayed event (with `last_replayed`, its time,
    the cursor a restarted replay resumes after); None before the first batch."""

    name: str
    arn: str
    source_arn: str
    destination: JSON
    start: float
    end: float
    state: str
    started: float
    description: str | None = None
    state_reason: str | None = None
    last_replayed: float | None = None
    ended: float | None = None
    position: int | None = None

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_REPLAY_STATES

    def to_api(self) -> JSON:
        """DescribeReplay's answer."""
        return _members(self, _REPLAY_MEMBERS)

    def summary(self) -> JSON:
        """ListReplays' entry."""
        out = self.to_api()
        for member in ("ReplayArn", "Description", "Destination"):
            out.pop(member, None)
        return out

    def to_store(self) -> JSON:
        out = self.to_api()
        if self.position is not None:
            out[REPLAY_POSITION] = self.position
        return out

    @classmethod
    def from_store(cls, body: JSON) -> Replay:
        return cls(**_attributes(body, _REPLAY_MEMBERS), position=body.get(REPLAY_POSITION))


_CONNECTION_MEMBERS = (
    ("Name", "name"),
    ("ConnectionArn", "arn"),
    ("Description", "description"),
    ("ConnectionState", "state"),
    ("AuthorizationType", "authorization_type"),
    ("AuthParameters", "auth"),
    ("SecretArn", "secret_arn"),
    ("CreationTime", "created"),
    ("LastModifiedTime", "modified"),
    ("LastAuthorizedTime", "authorized"),
)


def public_auth(auth: JSON) -> JSON:
    """Auth parameters as Describe shows them: secrets removed."""
    out: JSON = {}
    if "BasicAuthParameters" in auth:
        out["BasicAuthParameters"] = {"Username": auth["BasicAuthParameters"].get("Username")}
    if "ApiKeyAuthParameters" in auth:
        out["ApiKeyAuthParameters"] = {"ApiKeyName": auth["ApiKeyAuthParameters"].get("ApiKeyName")}
    if "OAuthParameters" in auth:
        oauth = auth["OAuthParameters"]
        out["OAuthParameters"] = {
            "ClientParameters": {"ClientID": (oauth.get("ClientParameters") or {}).get("ClientID")},
            "AuthorizationEndpoint": oauth.get("AuthorizationEndpoint"),
            "HttpMethod": oauth.get("HttpMethod"),
        }
        if "OAuthHttpParameters" in oauth:
            out["OAuthParameters"]["OAuthHttpParameters"] = oauth["OAuthHttpParameters"]
    if "InvocationHttpParameters" in auth:
        out["InvocationHttpParameters"] = auth["InvocationHttpParameters"]
    return out


@dataclass(frozen=True, slots=True)
class Connection:
    """A connection; `auth` holds its AuthParameters with their secrets (never shown: see `to_api`)."""

    name: str
    arn: str
    authorization_type: str
    auth: JSON
    state: str
    created: float
    modified: float
    authorized: float | None = None
    description: str | None = None
    secret_arn: str | None = None

    def to_api(self) -> JSON:
        """DescribeConnection's answer: the auth parameters without their secrets."""
        out = _members(self, _CONNECTION_MEMBERS)
        out["AuthParameters"] = public_auth(self.auth)
        return out

    def summary(self) -> JSON:
        """ListConnections' entry (and the members the changing operations answer with)."""
        out = self.to_api()
        for member in ("Description", "AuthParameters", "SecretArn"):
            out.pop(member, None)
        return out

    def to_store(self) -> JSON:
        """The stored body, with its secrets (also what API-destination targets read, through the port)."""
        return _members(self, _CONNECTION_MEMBERS)

    @classmethod
    def from_store(cls, body: JSON) -> Connection:
        return cls(**_attributes(body, _CONNECTION_MEMBERS))


_API_DESTINATION_MEMBERS = (
    ("Name", "name"),
    ("ApiDestinationArn", "arn"),
    ("Description", "description"),
    ("ApiDestinationState", "state"),
    ("ConnectionArn", "connection_arn"),
    ("InvocationEndpoint", "endpoint"),
    ("HttpMethod", "method"),
    ("InvocationRateLimitPerSecond", "rate_limit"),
    ("CreationTime", "created"),
    ("LastModifiedTime", "modified"),
)
#: Members UpdateApiDestination changes.
API_DESTINATION_OPTIONS = (
    ("Description", "description"),
    ("ConnectionArn", "connection_arn"),
    ("InvocationEndpoint", "endpoint"),
    ("HttpMethod", "method"),
    ("InvocationRateLimitPerSecond", "rate_limit"),
)


@dataclass(frozen=True, slots=True)
class ApiDestination:
    name: str
    arn: str
    connection_arn: str
    endpoint: str
    method: str
    created: float
    modified: float
    state: str = "ACTIVE"
    rate_limit: int = 300
    description: str | None = None

    def updated(self, params: JSON, now: float) -> ApiDestination:
        return replace(self, modified=now, **_attributes(params, API_DESTINATION_OPTIONS))

    def to_api(self) -> JSON:
        """DescribeApiDestination's answer and ListApiDestinations' entry."""
        return _members(self, _API_DESTINATION_MEMBERS)

    def to_store(self) -> JSON:
        return self.to_api()

    @classmethod
    def from_store(cls, body: JSON) -> ApiDestination:
        return cls(**_attributes(body, _API_DESTINATION_MEMBERS))
