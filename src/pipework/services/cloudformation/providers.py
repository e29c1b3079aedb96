"""Resource providers: how each supported resource type is created, updated and deleted, through the served APIs
(the in-process `ApiClient`, so a template gets exactly what the same calls over boto3 would).

A provider answers `create` with the resource's physical id (what `Ref` returns) and its attributes (what
`Fn::GetAtt` returns); `update` returns the same, or raises `NeedsReplacement` when a property AWS cannot change in
place changed (the engine then creates a new resource and deletes the old one); `delete` tolerates a resource that
is already gone. Adding a type is one class here plus one line in `PROVIDERS`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson

from pipework.connectors.ports import ApiClient
from pipework.connectors.targets import TargetError
from pipework.jsontypes import JSON


class ProvisionError(Exception):
    """A resource could not be created, updated or deleted; the message is the stack event's reason."""


class NeedsReplacement(Exception):
    """Raised by `Provider.update` when the change needs a new physical resource."""


@dataclass(frozen=True)
class Made:
    """What a provider made: the physical id and the attributes."""

    physical_id: str
    attributes: JSON


@dataclass(frozen=True)
class Where:
    """Where a stack provisions: its account, region and name (for generated physical names)."""

    account: str
    region: str
    stack: str

    def generated_name(self, logical_id: str, *, limit: int = 64, suffix: str = "") -> str:
        """CloudFormation's generated name: ``<stack>-<logical id>-<random>``, cut to `limit` characters."""
        digest = hashlib.sha1(f"{self.account}/{self.region}/{self.stack}/{logical_id}".encode()).hexdigest()
        tail = digest[:12].upper()
        head = f"{self.stack}-{logical_id}"[: max(1, limit - len(tail) - 1 - len(suffix))]
        return f"{head}-{tail}{suffix}"


class Provider:
    """Base of the providers. Subclasses set `type` and implement `create` and `delete`; `update` defaults to
    replacement, the safe answer for a type with nothing that can change in place."""

    type: ClassVar[str]
    #: Properties whose change needs a new resource (AWS's "Update requires: Replacement").
    replaced_by: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, api: ApiClient) -> None:
        self.api = api

    async def call(self, service: str, operation: str, params: JSON, where: Where) -> JSON:
        try:
            return await self.api.call(service, operation, params, region=where.region, account=where.account)
        except TargetError as exc:
            raise _failed(exc) from None

    async def create(self, logical_id: str, props: JSON, where: Where) -> Made:
        raise NotImplementedError

    async def update(self, logical_id: str, made: Made, old: JSON, new: JSON, where: Where) -> Made:
        raise NeedsReplacement

    async def delete(self, made: Made, props: JSON, where: Where) -> None:
        raise NotImplementedError

    def must_replace(self, old: JSON, new: JSON) -> bool:
        return any(old.get(name) != new.get(name) for name in self.replaced_by)

    async def quietly(self, service: str, operation: str, params: JSON, where: Where) -> None:
        """A delete call that succeeds when the resource is already gone."""
        try:
            await self.api.call(service, operation, params, region=where.region, account=where.account)
        except TargetError as exc:
            if exc.reason != "NO_RESOURCE" and "NotFound" not in exc.code and "NonExistent" not in exc.code:
                raise _failed(exc) from None


def _failed(exc: TargetError) -> ProvisionError:
    return ProvisionError(
        f'Resource handler returned message: "{exc.message}" (HandlerErrorCode: {exc.code})'
    )


def _json_text(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _tags_list(tags: Any) -> list[JSON]:
    if isinstance(tags, dict):
        return [{"Key": k, "Value": str(v)} for k, v in tags.items()]
    return [{"Key": t["Key"], "Value": str(t["Value"])} for t in tags or ()]


def _tags_map(tags: Any) -> dict[str, str]:
    if isinstance(tags, dict):
        return {k: str(v) for k, v in tags.items()}
    return {t["Key"]: str(t["Value"]) for t in tags or ()}


def _pick(props: JSON, *names: str) -> JSON:
    return {name: props[name] for name in names if props.get(name) is not None}


# ── SQS ──────────────────────────────────────────────────────────────────────────────────────────────────────────
_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
    "RedrivePolicy",
    "RedriveAllowPolicy",
)


def _queue_attributes(props: JSON, *, creating: bool) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in _QUEUE_ATTRIBUTES:
        value = props.get(name)
        if value is None or (name == "FifoQueue" and not creating):
            continue
        if isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, (dict, list)):
            out[name] = _json_text(value)
        else:
            out[name] = str(value)
    return out


class Queue(Provider):
    type = "AWS::SQS::Queue"
    replaced_by = frozenset({"QueueName", "FifoQueue"})

    async def create(self, logical_id: str, props: JSON, where: Where) -> Made:
        fifo = str(props.get("FifoQueue", "")).lower() == "true"
        name = props.get("QueueName") or where.generated_name(
            logical_id, limit=80, suffix=".fifo" if fifo else ""
        )
        params: JSON = {"QueueName": name, "Attributes": _queue_attributes(props, creating=True)}
        if props.get("Tags"):
            params["tags"] = _tags_map(props["Tags"])
        url = (await self.call("sqs", "CreateQueue", params, where))["QueueUrl"]
        arn = f"arn:aws:sqs:{where.region}:{where.account}:{name}"
        return Made(url, {"Arn": arn, "QueueName": name, "QueueUrl": url})

    async def update(self, logical_id: str, made: Made, old: JSON, new: JSON, where: Where) -> Made:
        if self.must_replace(old, new):
            raise NeedsReplacement
        attributes = _queue_attributes(new, creating=False)
        # A property removed from the template goes back to its default.
        defaults = {
            "DelaySeconds": "0",
            "MaximumMessageSize": "262144",
            "MessageRetentionPeriod": "345600",
            "ReceiveMessageWaitTimeSeconds": "0",
            "VisibilityTimeout": "30",
            "RedrivePolicy": "",
        }
        for name, default in defaults.items():
            if name in old and name not in new:
                attributes[name] = default
        if attributes:
            await self.call(
                "sqs", "SetQueueAttributes", {"QueueUrl": made.physical_id, "Attributes": attributes}, where
            )
        return made

    async def delete(self, made: Made, props: JSON, where: Where) -> None:
        await self.quietly("sqs", "DeleteQueue", {"QueueUrl": made.physical_id}, where)


class QueuePolicy(Provider):
    type = "AWS::SQS::QueuePolicy"

    async def create(self, logical_id: str, props: JSON, where: Where) -> Made:
        for url in props.get("Queues") or ():
            await self.call(
                "sqs",
                "SetQueueAttributes",
                {"QueueUrl": url, "Attributes": {"Policy": _json_text(props.get("PolicyDocument", {}))}},
                where,
            )
        return Made(where.generated_name(logical_id), {})

    async def update(self, logical_id: str, made: Made, old: JSON, new: JSON, where: Where) -> Made:
        gone = set(old.get("Queues") or ()) - set(new.get("Queues") or ())
        await self.delete(made, {"Queues": sorted(gone)}, where)
        await self.create(logical_id, new, where)
        return made

    async def delete(self, made: Made, props: JSON, where: Where) -> None:
        for url in props.get("Queues") or ():
            await self.quietly(
                "sqs", "SetQueueAttributes", {"QueueUrl": url, "Attributes": {"Policy": ""}}, where
            )


def _stream(spec: JSON | None) -> JSON:
    """CloudFormation's StreamSpecification (a view type; present means enabled) in DynamoDB's API shape."""
    if not spec or not spec.get("StreamViewType"):
        return {"StreamEnabled": False}
    return {"StreamEnabled": True, "StreamViewType": spec["StreamViewType"]}


# ── DynamoDB ─────────────────────────────────────────────────────────────────────────────────────────────────────
class Table(Provider):
    type = "AWS::DynamoDB::Table"
    replaced_by = frozenset({"TableName", "KeySchema", "LocalSecondaryIndexes"})

    async def create(self, logical_id: str, props: JSON, where: Where) -> Made:
        name = props.get("TableName") or where.generated_name(logical_id, limit=255)
        params: JSON = {
            "TableName": name,
            **_pick(
                props,
                "KeySchema",
                "AttributeDefinitions",
                "GlobalSecondaryIndexes",
                "LocalSecondaryIndexes",
                "ProvisionedThroughput",
                "StreamSpecification",
                "SSESpecification",
                "TableClass",
                "DeletionProtectionEnabled",
            ),
            "BillingMode": props.get("BillingMode", "PROVISIONED"),
        }
        if "StreamSpecification" in params:
            params["StreamSpecification"] = _stream(params["StreamSpecification"])
        if params["BillingMode"] == "PROVISIONED" and "ProvisionedThroughput" not in params:
            raise ProvisionError(
                'Resource handler returned message: "No provisioned throughput specified for the table"'
            )
        if props.get("Tags"):
            params["Tags"] = _tags_list(props["Tags"])
        description = (await self.call("dynamodb", "CreateTable", params, where))["TableDescription"]
        await self._ttl(name, props, {}, where)
        return Made(name, self._attributes(description))

    @staticmethod
    def _attributes(description: JSON) -> JSON:
        attributes = {"Arn": description["TableArn"]}
        if description.get("LatestStreamArn"):
            attributes["StreamArn"] = description["LatestStreamArn"]
        return attributes

    async def _ttl(self, name: str, new: JSON, old: JSON, where: Where) -> None:
        wanted, had = new.get("TimeToLiveSpecification"), old.get("TimeToLiveSpecification")
        if wanted == had:
            return
        spec = wanted or {"AttributeName": (had or {}).get("AttributeName"), "Enabled": False}
        enabled = str(spec.get("Enabled", False)).lower() == "true"
        await self.call(
            "dynamodb",
            "UpdateTimeToLive",
            {
                "TableName": name,
                "TimeToLiveSpecification": {"AttributeName": spec["AttributeName"], "Enabled": enabled},
            },
            where,
        )

    async def update(self, logical_id: str, made: Made, old: JSON, new: JSON, where: Where) -> Made:
        if self.must_replace(old, new):
            raise NeedsReplacement
        changes: JSON = {}
        if old.get("StreamSpecification") != new.get("StreamSpecification"):
            changes["StreamSpecification"] = _stream(new.get("StreamSpecification"))
        if old.get("BillingMode") != new.get("BillingMode"):
            changes["BillingMode"] = new.get("BillingMode", "PROVISIONED")
        if old.get("ProvisionedThroughput") != new.get("ProvisionedThroughput") and new.get(
            "ProvisionedThroughput"
        ):
            changes["ProvisionedThroughput"] = new["ProvisionedThroughput"]
        if changes:
            changes["AttributeDefinitions"] = new.get("AttributeDefinitions")
            await self.call("dynamodb", "UpdateTable", {"TableName": made.physical_id, **changes}, where)
        await self._ttl(made.physical_id, new, old, where)
        description = (await self.call("dynamodb", "DescribeTable", {"TableName": made.physical_id}, where))[
            "Table"
        ]
        return Made(made.physical_id, self._attributes(description))

    async def delete(self, made: Made, props: JSON, where: Where) -> None:
        await self.quietly("dynamodb", "DeleteTable", {"TableName": made.physical_id}, where)


# ── EventBridge ──────────────────────────────────────────────────────────────────────────────────────────────────
class EventBus(Provider):
    type = "AWS::Events::EventBus"
    replaced_by = frozenset({"Name", "EventSourceName"})

    async def create(self, logical_id: str, props: JSON, where: Where) -> Made:
        params: JSON = {
            "Name": props["Name"],
            **_pick(props, "EventSourceName", "Description", "DeadLetterConfig", "KmsKeyIdentifier"),
        }
        if props.get("Tags"):
            params["Tags"] = _tags_list(props["Tags"])
        arn = (await self.call("events", "CreateEventBus", params, where))["EventBusArn"]
        return Made(props["Name"], {"Arn": arn, "Name": props["Name"]})

    async def update(self, logical_id: str, made: Made, old: JSON, new: JSON, where: Where) -> Made:
        if self.must_replace(old, new):
            raise NeedsReplacement
        if old.get("Policy") != new.get("Policy") and new.get("Policy"):
            await self.call(
                "events",
                "PutPermission",
                {"EventBusName": made.physical_id, "Policy": _json_text(new["Policy"])},
                where,
            )
        return made

    async def delete(self, made: Made, props: JSON, where: Where) -> None:
        await self.quietly("events", "DeleteEventBus", {"Name": made.physical_id}, where)


class Rule(Provider):
    type = "AWS::Events::Rule"
    replaced_by = frozenset({"Name", "EventBusName"})

    async def create(self, logical_id: str, props: JSON, where: Where) -> Made:
        name = props.get("Name") or where.generated_name(logical_id)
        return await self._put(name, props, {}, where)

    async def _put(self, name: str, props: JSON, old: JSON, where: Where) -> Made:
        bus = props.get("EventBusName")
        params: JSON = {"Name": name, **_pick(props, "ScheduleExpression", "Description", "RoleArn")}
        params["State"] = props.get("State", "ENABLED")
        if bus:
            params["EventBusName"] = bus
        if props.get("EventPattern") is not None:
            params["EventPattern"] = _json_text(props["EventPattern"])
        arn = (await self.call("events", "PutRule", params, where))["RuleArn"]
        where_bus = {"EventBusName": bus} if bus else {}
        targets = [dict(target) for target in props.get("Targets") or ()]
        for target in targets:
            transformer = target.get("InputTransformer")
            if transformer and isinstance(transformer.get("InputPathsMap"), dict):
                target["InputTransformer"] = dict(transformer)
        gone = {t["Id"] for t in old.get("Targets") or ()} - {t["Id"] for t in targets}
        if gone:
            await self.call(
                "events", "RemoveTargets", {"Rule": name, **where_bus, "Ids": sorted(gone)}, where
            )
        if targets:
            answer = await self.call(
                "events", "PutTargets", {"Rule": name, **where_bus, "Targets": targets}, where
            )
            if answer.get("FailedEntryCount"):
                failed = answer["FailedEntries"][0]
                raise ProvisionError(f'Resource handler returned message: "{failed.get("ErrorMessage")}"')
        # A rule on a custom bus is named ``bus|rule`` by Ref, as CloudFormation does.
        physical = f"{bus.rsplit('/', 1)[-1]}|{name}" if bus and bus.rsplit("/", 1)[-1] != "default" else name
        return Made(physical, {"Arn": arn})

    @staticmethod
    def _name_and_bus(made: Made) -> tuple[str, JSON]:
        bus, _, name = made.physical_id.rpartition("|")
        return name, ({"EventBusName": bus} if bus else {})

    async def update(self, logical_id: str, made: Made, old: JSON, new: JSON, where: Where) -> Made:
        if self.must_replace(old, new):
            raise NeedsReplacement
        name, _ = self._name_and_bus(made)
        return await self._put(name, new, old, where)

    async def delete(self, made: Made, props: JSON, where: Where) -> None:
        name, bus = self._name_and_bus(made)
        ids = [t["Id"] for t in props.get("Targets") or ()]
        if ids:
            await self.quietly(
                "events", "RemoveTargets", {"Rule": name, **bus, "Ids": ids, "Force": True}, where
            )
        await self.quietly("events", "DeleteRule", {"Name": name, **bus, "Force": True}, where)


class Archive(Provider):
    type = "AWS::Events::Archive"
    replaced_by = frozenset({"ArchiveName", "SourceArn"})

    async def create(self, logical_id: str, props: JSON, where: Where) -> Made:
        name = props.get("ArchiveName") or where.generated_name(logical_id, limit=48)
        params: JSON = {
            "ArchiveName": name,
            "EventSourceArn": props["SourceArn"],
            **_pick(props, "Description", "RetentionDays"),
        }
        if props.get("EventPattern") is not None:
            params["EventPattern"] = _json_text(props["EventPattern"])
        arn = (await self.call("events", "CreateArchive", params, where))["ArchiveArn"]
        return Made(name, {"Arn": arn, "ArchiveName": name})

    async def update(self, logical_id: str, made: Made, old: JSON, new: JSON, where: Where) -> Made:
        if self.must_replace(old, new):
            raise NeedsReplacement
        params: JSON = {"ArchiveName": made.physical_id, **_pick(new, "Description", "RetentionDays")}
        if new.get("EventPattern") is not None:
            params["EventPattern"] = _json_text(new["EventPattern"])
        await self.call("events", "UpdateArchive", params, where)
        return made

    async def delete(self, made: Made, props: JSON, where: Where) -> None:
        await self.quietly("events", "DeleteArchive", {"ArchiveName": made.physical_id}, where)


class Connection(Provider):
    type = "AWS::Events::Connection"
    replaced_by = frozenset({"Name"})

    async def create(self, logical_id: str, props: JSON, where: Where) -> Made:
        name = props.get("Name") or where.generated_name(logical_id)
        answer = await self.call(
            "events",
            "CreateConnection",
            {"Name": name, **_pick(props, "AuthorizationType", "AuthParameters", "Description")},
            where,
        )
        described = await self.call("events", "DescribeConnection", {"Name": name}, where)
        return Made(name, {"Arn": answer["ConnectionArn"], "SecretArn": described.get("SecretArn", "")})

    async def update(self, logical_id: str, made: Made, old: JSON, new: JSON, where: Where) -> Made:
        if self.must_replace(old, new):
            raise NeedsReplacement
        await self.call(
            "events",
            "UpdateConnection",
            {"Name": made.physical_id, **_pick(new, "AuthorizationType", "AuthParameters", "Description")},
            where,
        )
        return made

    async def delete(self, made: Made, props: JSON, where: Where) -> None:
        await self.quietly("events", "DeleteConnection", {"Name": made.physical_id}, where)


class ApiDestination(Provider):
    type = "AWS::Events::ApiDestination"
    replaced_by = frozenset({"Name"})
    _fields = (
        "ConnectionArn",
        "InvocationEndpoint",
        "HttpMethod",
        "InvocationRateLimitPerSecond",
        "Description",
    )

    async def create(self, logical_id: str, props: JSON, where: Where) -> Made:
        name = props.get("Name") or where.generated_name(logical_id)
        answer = await self.call(
            "events", "CreateApiDestination", {"Name": name, **_pick(props, *self._fields)}, where
        )
        return Made(name, {"Arn": answer["ApiDestinationArn"]})

    async def update(self, logical_id: str, made: Made, old: JSON, new: JSON, where: Where) -> Made:
        if self.must_replace(old, new):
            raise NeedsReplacement
        await self.call(
            "events", "UpdateApiDestination", {"Name": made.physical_id, **_pick(new, *self._fields)}, where
        )
        return made

    async def delete(self, made: Made, props: JSON, where: Where) -> None:
        await self.quietly("events", "DeleteApiDestination", {"Name": made.physical_id}, where)


class EventBusPolicy(Provider):
    type = "AWS::Events::EventBusPolicy"
    replaced_by = frozenset({"EventBusName", "StatementId"})

    async def create(self, logical_id: str, props: JSON, where: Where) -> Made:
        params: JSON = {
            "StatementId": props["StatementId"],
            **_pick(props, "EventBusName", "Action", "Principal", "Condition"),
        }
        if props.get("Statement") is not None:
            statement = dict(props["Statement"])
            statement.setdefault("Sid", props["StatementId"])
            params = {
                "Policy": _json_text({"Version": "2012-10-17", "Statement": [statement]}),
                **_pick(props, "EventBusName"),
            }
        await self.call("events", "PutPermission", params, where)
        return Made(props["StatementId"], {})

    async def update(self, logical_id: str, made: Made, old: JSON, new: JSON, where: Where) -> Made:
        if self.must_replace(old, new):
            raise NeedsReplacement
        return await self.create(logical_id, new, where)

    async def delete(self, made: Made, props: JSON, where: Where) -> None:
        await self.quietly(
            "events",
            "RemovePermission",
            {"StatementId": made.physical_id, **_pick(props, "EventBusName")},
            where,
        )


# ── Pipes and Scheduler ──────────────────────────────────────────────────────────────────────────────────────────
class Pipe(Provider):
    type = "AWS::Pipes::Pipe"
    replaced_by = frozenset({"Name", "Source", "SourceParameters"})
    _fields = (
        "RoleArn",
        "Source",
        "SourceParameters",
        "Enrichment",
        "EnrichmentParameters",
        "Target",
        "TargetParameters",
        "DesiredState",
        "Description",
        "LogConfiguration",
        "KmsKeyIdentifier",
    )

    async def create(self, logical_id: str, props: JSON, where: Where) -> Made:
        name = props.get("Name") or where.generated_name(logical_id)
        params: JSON = {"Name": name, **_pick(props, *self._fields)}
        if props.get("Tags"):
            params["Tags"] = _tags_map(props["Tags"])
        answer = await self.call("pipes", "CreatePipe", params, where)
        return Made(
            name,
            {
                "Arn": answer["Arn"],
                "CurrentState": answer.get("CurrentState", ""),
                "CreationTime": str(answer.get("CreationTime", "")),
            },
        )

    async def update(self, logical_id: str, made: Made, old: JSON, new: JSON, where: Where) -> Made:
        if self.must_replace(old, new):
            raise NeedsReplacement
        fields = [f for f in self._fields if f not in ("Source", "SourceParameters")]
        answer = await self.call(
            "pipes", "UpdatePipe", {"Name": made.physical_id, **_pick(new, *fields)}, where
        )
        return Made(made.physical_id, {**made.attributes, "CurrentState": answer.get("CurrentState", "")})

    async def delete(self, made: Made, props: JSON, where: Where) -> None:
        await self.quietly("pipes", "DeletePipe", {"Name": made.physical_id}, where)


class ScheduleGroup(Provider):
    type = "AWS::Scheduler::ScheduleGroup"
    replaced_by = frozenset({"Name"})

    async def create(self, logical_id: str, props: JSON, where: Where) -> Made:
        name = props.get("Name") or where.generated_name(logical_id)
        params: JSON = {"Name": name}
        if props.get("Tags"):
            params["Tags"] = _tags_list(props["Tags"])
        answer = await self.call("scheduler", "CreateScheduleGroup", params, where)
        return Made(name, {"Arn": answer["ScheduleGroupArn"]})

    async def update(self, logical_id: str, made: Made, old: JSON, new: JSON, where: Where) -> Made:
        if self.must_replace(old, new):
            raise NeedsReplacement
        return made

    async def delete(self, made: Made, props: JSON, where: Where) -> None:
        await self.quietly("scheduler", "DeleteScheduleGroup", {"Name": made.physical_id}, where)


class Schedule(Provider):
    type = "AWS::Scheduler::Schedule"
    replaced_by = frozenset({"Name", "GroupName"})
    _fields = (
        "GroupName",
        "ScheduleExpression",
        "ScheduleExpressionTimezone",
        "FlexibleTimeWindow",
        "Target",
        "State",
        "StartDate",
        "EndDate",
        "Description",
        "KmsKeyArn",
    )

    async def create(self, logical_id: str, props: JSON, where: Where) -> Made:
        name = props.get("Name") or where.generated_name(logical_id)
        answer = await self.call(
            "scheduler", "CreateSchedule", {"Name": name, **_pick(props, *self._fields)}, where
        )
        return Made(name, {"Arn": answer["ScheduleArn"]})

    async def update(self, logical_id: str, made: Made, old: JSON, new: JSON, where: Where) -> Made:
        if self.must_replace(old, new):
            raise NeedsReplacement
        await self.call(
            "scheduler", "UpdateSchedule", {"Name": made.physical_id, **_pick(new, *self._fields)}, where
        )
        return made

    async def delete(self, made: Made, props: JSON, where: Where) -> None:
        await self.quietly(
            "scheduler", "DeleteSchedule", {"Name": made.physical_id, **_pick(props, "GroupName")}, where
        )


# ── recorded only ────────────────────────────────────────────────────────────────────────────────────────────────
class Recorded(Provider):
    """A type Pipework keeps in the stack but does not act on (IAM, Lambda permissions): its id and ARN only."""

    arn_format: ClassVar[str] = ""
    name_property: ClassVar[str] = ""

    async def create(self, logical_id: str, props: JSON, where: Where) -> Made:
        name = props.get(self.name_property) if self.name_property else None
        name = name or where.generated_name(logical_id)
        attributes = {"Arn": self.arn_format.format(account=where.account, region=where.region, name=name)}
        return Made(name, attributes if self.arn_format else {})

    async def update(self, logical_id: str, made: Made, old: JSON, new: JSON, where: Where) -> Made:
        if self.name_property and old.get(self.name_property) != new.get(self.name_property):
            raise NeedsReplacement
        return made

    async def delete(self, made: Made, props: JSON, where: Where) -> None:
        return None


class Role(Recorded):
    type = "AWS::IAM::Role"
    arn_format = "arn:aws:iam::{account}:role/{name}"
    name_property = "RoleName"

    async def create(self, logical_id: str, props: JSON, where: Where) -> Made:
        made = await super().create(logical_id, props, where)
        return Made(made.physical_id, {**made.attributes, "RoleId": "AROA" + made.physical_id.upper()[:17]})


class Policy(Recorded):
    type = "AWS::IAM::Policy"
    name_property = "PolicyName"


class ManagedPolicy(Recorded):
    type = "AWS::IAM::ManagedPolicy"
    arn_format = "arn:aws:iam::{account}:policy/{name}"
    name_property = "ManagedPolicyName"

    async def create(self, logical_id: str, props: JSON, where: Where) -> Made:
        made = await super().create(logical_id, props, where)
        return Made(made.attributes["Arn"], made.attributes)


class LambdaPermission(Recorded):
    type = "AWS::Lambda::Permission"


PROVIDER_TYPES: tuple[type[Provider], ...] = (
    Queue,
    QueuePolicy,
    Table,
    EventBus,
    Rule,
    Archive,
    Connection,
    ApiDestination,
    EventBusPolicy,
    Pipe,
    ScheduleGroup,
    Schedule,
    Role,
    Policy,
    ManagedPolicy,
    LambdaPermission,
)


def providers(api: ApiClient) -> Mapping[str, Provider]:
    """One provider per supported type, calling the served APIs through `api`."""
    from .monitoring import Alarm, CompositeAlarm, LogGroup  # built on this module's base

    kinds: tuple[type[Provider], ...] = (*PROVIDER_TYPES, Alarm, CompositeAlarm, LogGroup)
    return {kind.type: kind(api) for kind in kinds}
