"""Types Pipework records but does not act on: IAM roles and policies, Lambda permissions."""

from __future__ import annotations

from typing import ClassVar

from pipework.jsontypes import JSON

from .base import (
    Made,
    NeedsReplacement,
    Provider,
    Where,
)


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
