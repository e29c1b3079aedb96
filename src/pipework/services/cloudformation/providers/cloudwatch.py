"""CloudWatch alarms and CloudWatch Logs log groups."""

from __future__ import annotations

import functools

from pipework.jsontypes import JSON
from pipework.models import load_service_model

from .base import (
    Made,
    NeedsReplacement,
    Provider,
    Where,
    pick,
    tags_list,
    tags_map,
)


@functools.cache
def _alarm_members(operation: str) -> tuple[str, ...]:
    """The properties an alarm resource passes on: its Put operation's input members (CloudFormation names them as
    the API does), read from botocore's model, less the name and tags the provider sets itself."""
    shape = load_service_model("cloudwatch").operation_model(operation).input_shape
    return tuple(name for name in shape.members if name not in ("AlarmName", "Tags"))


class Alarm(Provider):
    """AWS::CloudWatch::Alarm through PutMetricAlarm; `CompositeAlarm` is the same through PutCompositeAlarm."""

    type = "AWS::CloudWatch::Alarm"
    operation = "PutMetricAlarm"
    replaced_by = frozenset({"AlarmName"})

    async def create(self, logical_id: str, props: JSON, where: Where) -> Made:
        name = props.get("AlarmName") or where.generated_name(logical_id, limit=255)
        return await self._put(name, props, where)

    async def _put(self, name: str, props: JSON, where: Where) -> Made:
        params: JSON = {"AlarmName": name, **pick(props, *_alarm_members(self.operation))}
        if props.get("Tags"):
            params["Tags"] = tags_list(props["Tags"])
        await self.call("cloudwatch", self.operation, params, where)
        return Made(name, {"Arn": f"arn:aws:cloudwatch:{where.region}:{where.account}:alarm:{name}"})

    async def update(self, logical_id: str, made: Made, old: JSON, new: JSON, where: Where) -> Made:
        if self.must_replace(old, new):
            raise NeedsReplacement
        return await self._put(made.physical_id, new, where)

    async def delete(self, made: Made, props: JSON, where: Where) -> None:
        await self.quietly("cloudwatch", "DeleteAlarms", {"AlarmNames": [made.physical_id]}, where)


class CompositeAlarm(Alarm):
    type = "AWS::CloudWatch::CompositeAlarm"
    operation = "PutCompositeAlarm"


class LogGroup(Provider):
    type = "AWS::Logs::LogGroup"
    replaced_by = frozenset({"LogGroupName"})

    async def create(self, logical_id: str, props: JSON, where: Where) -> Made:
        name = props.get("LogGroupName") or where.generated_name(logical_id, limit=512)
        params: JSON = {"logGroupName": name}
        if props.get("Tags"):
            params["tags"] = tags_map(props["Tags"])
        await self.call("logs", "CreateLogGroup", params, where)
        if props.get("RetentionInDays") is not None:
            await self.call(
                "logs",
                "PutRetentionPolicy",
                {"logGroupName": name, "retentionInDays": int(props["RetentionInDays"])},
                where,
            )
        return Made(name, {"Arn": f"arn:aws:logs:{where.region}:{where.account}:log-group:{name}:*"})

    async def update(self, logical_id: str, made: Made, old: JSON, new: JSON, where: Where) -> Made:
        if self.must_replace(old, new):
            raise NeedsReplacement
        if old.get("RetentionInDays") != new.get("RetentionInDays"):
            if new.get("RetentionInDays") is None:
                await self.call("logs", "DeleteRetentionPolicy", {"logGroupName": made.physical_id}, where)
            else:
                await self.call(
                    "logs",
                    "PutRetentionPolicy",
                    {"logGroupName": made.physical_id, "retentionInDays": int(new["RetentionInDays"])},
                    where,
                )
        return made

    async def delete(self, made: Made, props: JSON, where: Where) -> None:
        await self.quietly("logs", "DeleteLogGroup", {"logGroupName": made.physical_id}, where)
