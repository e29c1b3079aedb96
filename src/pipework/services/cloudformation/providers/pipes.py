"""EventBridge Pipes and Scheduler: pipes, schedules, schedule groups."""

from __future__ import annotations

from pipework.jsontypes import JSON

from .base import (
    Made,
    NeedsReplacement,
    Provider,
    Where,
    pick,
    tags_list,
    tags_map,
)


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
        params: JSON = {"Name": name, **pick(props, *self._fields)}
        if props.get("Tags"):
            params["Tags"] = tags_map(props["Tags"])
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
            "pipes", "UpdatePipe", {"Name": made.physical_id, **pick(new, *fields)}, where
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
            params["Tags"] = tags_list(props["Tags"])
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
            "scheduler", "CreateSchedule", {"Name": name, **pick(props, *self._fields)}, where
        )
        return Made(name, {"Arn": answer["ScheduleArn"]})

    async def update(self, logical_id: str, made: Made, old: JSON, new: JSON, where: Where) -> Made:
        if self.must_replace(old, new):
            raise NeedsReplacement
        await self.call(
            "scheduler", "UpdateSchedule", {"Name": made.physical_id, **pick(new, *self._fields)}, where
        )
        return made

    async def delete(self, made: Made, props: JSON, where: Where) -> None:
        await self.quietly(
            "scheduler", "DeleteSchedule", {"Name": made.physical_id, **pick(props, "GroupName")}, where
        )
