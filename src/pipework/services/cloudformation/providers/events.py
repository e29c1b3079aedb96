"""EventBridge: buses, rules with targets, archives, connections, API destinations, bus policies."""

from __future__ import annotations

from pipework.jsontypes import JSON

from .base import (
    Made,
    NeedsReplacement,
    Provider,
    ProvisionError,
    Where,
    json_text,
    pick,
    tags_list,
)


class EventBus(Provider):
    type = "AWS::Events::EventBus"
    replaced_by = frozenset({"Name", "EventSourceName"})

    async def create(self, logical_id: str, props: JSON, where: Where) -> Made:
        params: JSON = {
            "Name": props["Name"],
            **pick(props, "EventSourceName", "Description", "DeadLetterConfig", "KmsKeyIdentifier"),
        }
        if props.get("Tags"):
            params["Tags"] = tags_list(props["Tags"])
        arn = (await self.call("events", "CreateEventBus", params, where))["EventBusArn"]
        return Made(props["Name"], {"Arn": arn, "Name": props["Name"]})

    async def update(self, logical_id: str, made: Made, old: JSON, new: JSON, where: Where) -> Made:
        if self.must_replace(old, new):
            raise NeedsReplacement
        if old.get("Policy") != new.get("Policy") and new.get("Policy"):
            await self.call(
                "events",
                "PutPermission",
                {"EventBusName": made.physical_id, "Policy": json_text(new["Policy"])},
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
        params: JSON = {"Name": name, **pick(props, "ScheduleExpression", "Description", "RoleArn")}
        params["State"] = props.get("State", "ENABLED")
        if bus:
            params["EventBusName"] = bus
        if props.get("EventPattern") is not None:
            params["EventPattern"] = json_text(props["EventPattern"])
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
            **pick(props, "Description", "RetentionDays"),
        }
        if props.get("EventPattern") is not None:
            params["EventPattern"] = json_text(props["EventPattern"])
        arn = (await self.call("events", "CreateArchive", params, where))["ArchiveArn"]
        return Made(name, {"Arn": arn, "ArchiveName": name})

    async def update(self, logical_id: str, made: Made, old: JSON, new: JSON, where: Where) -> Made:
        if self.must_replace(old, new):
            raise NeedsReplacement
        params: JSON = {"ArchiveName": made.physical_id, **pick(new, "Description", "RetentionDays")}
        if new.get("EventPattern") is not None:
            params["EventPattern"] = json_text(new["EventPattern"])
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
            {"Name": name, **pick(props, "AuthorizationType", "AuthParameters", "Description")},
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
            {"Name": made.physical_id, **pick(new, "AuthorizationType", "AuthParameters", "Description")},
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
            "events", "CreateApiDestination", {"Name": name, **pick(props, *self._fields)}, where
        )
        return Made(name, {"Arn": answer["ApiDestinationArn"]})

    async def update(self, logical_id: str, made: Made, old: JSON, new: JSON, where: Where) -> Made:
        if self.must_replace(old, new):
            raise NeedsReplacement
        await self.call(
            "events", "UpdateApiDestination", {"Name": made.physical_id, **pick(new, *self._fields)}, where
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
            **pick(props, "EventBusName", "Action", "Principal", "Condition"),
        }
        if props.get("Statement") is not None:
            statement = dict(props["Statement"])
            statement.setdefault("Sid", props["StatementId"])
            params = {
                "Policy": json_text({"Version": "2012-10-17", "Statement": [statement]}),
                **pick(props, "EventBusName"),
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
            {"StatementId": made.physical_id, **pick(props, "EventBusName")},
            where,
        )
