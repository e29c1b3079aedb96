"""IAM roles and policies, kept where the authorizer reads them (the `IamRoles` port: the store), so a role a stack
creates is one a rule, pipe, schedule, function or STS AssumeRole can use, and its policies are enforced with auth
on. Lambda permissions are recorded only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from pipework.jsontypes import JSON

from .base import (
    Made,
    NeedsReplacement,
    Provider,
    ProvisionError,
    Where,
)


class IamRoles(Protocol):
    """Where roles and policies live (the composition root fills it with the authorizer's stored roles). Writes
    raise `ValueError` for a policy document that does not parse."""

    async def put_role(
        self, arn: str, trust: Any, policies: Mapping[str, Any], managed: Sequence[str]
    ) -> None: ...

    async def delete_role(self, arn: str) -> None: ...

    async def role_arn(self, account: str, name: str) -> str:
        """The ARN of role `name` of `account` (with its path)."""
        ...

    async def put_role_policy(self, role_arn: str, name: str, document: Any) -> None: ...

    async def delete_role_policy(self, role_arn: str, name: str) -> None: ...

    async def put_managed_policy(self, arn: str, document: Any) -> None: ...

    async def delete_managed_policy(self, arn: str) -> None: ...

    async def attach(self, role_arn: str, policy_arn: str) -> None: ...

    async def detach(self, role_arn: str, policy_arn: str) -> None: ...

    def unmodelled(self, policy_arns: Sequence[str]) -> list[str]:
        """The AWS managed policies among `policy_arns` that Pipework does not model (they grant nothing)."""
        ...


def _malformed(exc: ValueError) -> ProvisionError:
    return ProvisionError(
        f'Resource handler returned message: "{exc} (Service: Iam, Status Code: 400)" '
        "(HandlerErrorCode: InvalidRequest)"
    )


def _path(props: JSON) -> str:
    path = str(props.get("Path") or "/")
    if not (path.startswith("/") and path.endswith("/")):
        raise ProvisionError(
            f'Resource handler returned message: "The specified value for path is invalid: {path}" '
            "(HandlerErrorCode: InvalidRequest)"
        )
    return path


class IamProvider(Provider):
    """A provider over the `IamRoles` port (given by `providers`)."""

    roles: IamRoles | None = None

    def port(self) -> IamRoles:
        if self.roles is None:  # pragma: no cover - the composition root always gives one
            raise ProvisionError("IAM resources are not available on this server")
        return self.roles


class Role(IamProvider):
    type = "AWS::IAM::Role"
    replaced_by = frozenset({"RoleName", "Path"})

    async def create(self, logical_id: str, props: JSON, where: Where) -> Made:
        name = props.get("RoleName") or where.generated_name(logical_id)
        arn = f"arn:aws:iam::{where.account}:role{_path(props)}{name}"
        await self._put(arn, props, where, "CreateRole")
        attributes = {"Arn": arn, "RoleId": "AROA" + name.upper().replace("-", "")[:17]}
        return Made(name, attributes, self._note(props))

    async def _put(self, arn: str, props: JSON, where: Where, operation: str) -> None:
        policies = {str(p.get("PolicyName")): p.get("PolicyDocument") for p in props.get("Policies") or ()}
        managed = [str(m) for m in props.get("ManagedPolicyArns") or ()]
        await self.authorize("iam", operation, {"RoleArn": arn}, where)
        for _ in policies:
            await self.authorize("iam", "PutRolePolicy", {"RoleArn": arn}, where)
        for _ in managed:
            await self.authorize("iam", "AttachRolePolicy", {"RoleArn": arn}, where)
        try:
            await self.port().put_role(arn, props.get("AssumeRolePolicyDocument") or {}, policies, managed)
        except ValueError as exc:
            raise _malformed(exc) from None

    def _note(self, props: JSON) -> str:
        unknown = self.port().unmodelled([str(m) for m in props.get("ManagedPolicyArns") or ()])
        if not unknown:
            return ""
        return (
            f"Pipework does not model the AWS managed policies {', '.join(unknown)}: they are recorded on the "
            "role and grant nothing"
        )

    async def update(self, logical_id: str, made: Made, old: JSON, new: JSON, where: Where) -> Made:
        if self.must_replace(old, new):
            raise NeedsReplacement
        await self._put(made.attributes["Arn"], new, where, "UpdateAssumeRolePolicy")
        return Made(made.physical_id, made.attributes, self._note(new))

    async def delete(self, made: Made, props: JSON, where: Where) -> None:
        arn = made.attributes.get("Arn") or f"arn:aws:iam::{where.account}:role/{made.physical_id}"
        await self.authorize("iam", "DeleteRole", {"RoleArn": arn}, where)
        await self.port().delete_role(arn)


class Policy(IamProvider):
    """An inline policy put on roles by name (``Roles``); users and groups are not kept."""

    type = "AWS::IAM::Policy"

    async def create(self, logical_id: str, props: JSON, where: Where) -> Made:
        name = str(props.get("PolicyName") or where.generated_name(logical_id))
        for role in props.get("Roles") or ():
            arn = await self.port().role_arn(where.account, str(role))
            await self.authorize("iam", "PutRolePolicy", {"RoleArn": arn}, where)
            try:
                await self.port().put_role_policy(arn, name, props.get("PolicyDocument") or {})
            except ValueError as exc:
                raise _malformed(exc) from None
        return Made(name, {})

    async def update(self, logical_id: str, made: Made, old: JSON, new: JSON, where: Where) -> Made:
        await self.delete(made, old, where)
        return await self.create(logical_id, new, where)

    async def delete(self, made: Made, props: JSON, where: Where) -> None:
        for role in props.get("Roles") or ():
            arn = await self.port().role_arn(where.account, str(role))
            await self.authorize("iam", "DeleteRolePolicy", {"RoleArn": arn}, where)
            await self.port().delete_role_policy(arn, made.physical_id)


class ManagedPolicy(IamProvider):
    """A customer managed policy, attached to the roles its ``Roles`` names (and to roles whose
    ``ManagedPolicyArns`` name it)."""

    type = "AWS::IAM::ManagedPolicy"
    replaced_by = frozenset({"ManagedPolicyName", "Path"})

    async def create(self, logical_id: str, props: JSON, where: Where) -> Made:
        name = props.get("ManagedPolicyName") or where.generated_name(logical_id, limit=128)
        arn = f"arn:aws:iam::{where.account}:policy{_path(props)}{name}"
        await self.authorize("iam", "CreatePolicy", {"PolicyArn": arn}, where)
        try:
            await self.port().put_managed_policy(arn, props.get("PolicyDocument") or {})
        except ValueError as exc:
            raise _malformed(exc) from None
        await self._attach(arn, props.get("Roles") or (), where)
        return Made(arn, {"PolicyArn": arn, "Arn": arn})

    async def _attach(self, arn: str, roles: Any, where: Where) -> None:
        for role in roles:
            role_arn = await self.port().role_arn(where.account, str(role))
            await self.authorize("iam", "AttachRolePolicy", {"RoleArn": role_arn}, where)
            await self.port().attach(role_arn, arn)

    async def _detach(self, arn: str, roles: Any, where: Where) -> None:
        for role in roles:
            role_arn = await self.port().role_arn(where.account, str(role))
            await self.authorize("iam", "DetachRolePolicy", {"RoleArn": role_arn}, where)
            await self.port().detach(role_arn, arn)

    async def update(self, logical_id: str, made: Made, old: JSON, new: JSON, where: Where) -> Made:
        if self.must_replace(old, new):
            raise NeedsReplacement
        arn = made.physical_id
        await self.authorize("iam", "CreatePolicyVersion", {"PolicyArn": arn}, where)
        try:
            await self.port().put_managed_policy(arn, new.get("PolicyDocument") or {})
        except ValueError as exc:
            raise _malformed(exc) from None
        before, after = set(old.get("Roles") or ()), set(new.get("Roles") or ())
        await self._detach(arn, sorted(before - after), where)
        await self._attach(arn, sorted(after - before), where)
        return made

    async def delete(self, made: Made, props: JSON, where: Where) -> None:
        await self._detach(made.physical_id, props.get("Roles") or (), where)
        await self.authorize("iam", "DeletePolicy", {"PolicyArn": made.physical_id}, where)
        await self.port().delete_managed_policy(made.physical_id)


class LambdaPermission(Provider):
    """``AWS::Lambda::Permission``: recorded in the stack (Lambda's resource policy is not enforced)."""

    type = "AWS::Lambda::Permission"

    async def create(self, logical_id: str, props: JSON, where: Where) -> Made:
        return Made(where.generated_name(logical_id), {})

    async def update(self, logical_id: str, made: Made, old: JSON, new: JSON, where: Where) -> Made:
        return made

    async def delete(self, made: Made, props: JSON, where: Where) -> None:
        return None
