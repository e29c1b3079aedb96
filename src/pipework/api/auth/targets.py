"""Whether a rule, pipe or schedule may invoke its target when auth is on (`connectors.ports.TargetAccess`):
as its RoleArn, whose policies must allow the target's action (and which must trust the invoker's account), or,
without a role, as its account, which a target in another account must allow by its resource policy (a bus's
PutPermission, a queue's Policy)."""

from __future__ import annotations

from collections.abc import Sequence

from pipework.api.auth.access import ResourcePolicies, decide, denied_message
from pipework.api.auth.credentials import ROLE_ARN, Keyring
from pipework.api.auth.roles import TARGET_SERVICES
from pipework.iam import parse_policy

_ANYTHING = (
    parse_policy(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    ),
)


def target_action(arn: str) -> str:
    """The IAM action invoking a target performs."""
    parts = arn.split(":", 6)
    service = parts[2] if len(parts) > 2 else ""
    resource = parts[5] if len(parts) > 5 else ""
    if service == "sqs":
        return "sqs:SendMessage"
    if service == "events":
        return (
            "events:InvokeApiDestination" if resource.startswith("api-destination/") else "events:PutEvents"
        )
    if service == "lambda":
        return "lambda:InvokeFunction"
    if service == "logs":
        return "logs:PutLogEvents"
    if service == "scheduler" and resource == "aws-sdk" and len(parts) > 6:
        sdk_service, _, action = parts[6].partition(":")
        return f"{sdk_service}:{action[:1].upper()}{action[1:]}"
    return f"{service}:Invoke"


def _account(arn: str) -> str | None:
    parts = arn.split(":", 5)
    return parts[4] if len(parts) == 6 and parts[4] else None


class TargetPermissions:
    """`TargetAccess` over the credentials' roles and the services' resource policies."""

    def __init__(self, keyring: Keyring, policies: ResourcePolicies) -> None:
        self.keyring = keyring
        self.policies = policies

    async def denied(
        self, arn: str, *, account: str | None, role_arn: str | None, service: str | None = None
    ) -> str | None:
        if arn.startswith("arn:aws:scheduler:::aws-sdk:"):
            return None  # a universal target's resource is in its parameters: not checked (yet)
        action = target_action(arn)
        if role_arn is not None:
            role = await self.keyring.find_role(role_arn)
            # Rules, pipes and schedules assume the role as their service principal (a file's role: as their
            # account); when the caller does not say which, a trust policy naming any of them will do.
            services: tuple[str | None, ...] = (
                (None,) if role is None or role.trust is None else (service,) if service else TARGET_SERVICES
            )
            invoker = account or (role.account if role is not None else None)
            if role is None or (
                invoker is not None and not any(role.trusts(invoker, service=s) for s in services)
            ):
                return f"The role {role_arn} does not exist or cannot be assumed to invoke {arn}."
            match = ROLE_ARN.match(role_arn)
            principal = (
                f"arn:aws:sts::{role.account}:assumed-role/{match.group(2) if match else role.name}/pipework"
            )
            resource, decision = await decide(
                action=action,
                arns=[arn],
                principal_arn=principal,
                account=role.account,
                identity=role.parsed,
                policies=self.policies,
                context={"aws:principalarn": [principal], "aws:principalaccount": [role.account]},
            )
            return None if decision.allowed else denied_message(principal, action, resource, decision)
        owner = _account(arn)
        if account is None or owner is None or owner == account:
            return None
        principal = f"arn:aws:iam::{account}:root"
        resource, decision = await decide(
            action=action,
            arns=[arn],
            principal_arn=principal,
            account=account,
            identity=_ANYTHING,  # no role: only the target's own policy decides
            policies=self.policies,
            context={"aws:sourceaccount": [account], "aws:principalaccount": [account]},
        )
        return None if decision.allowed else denied_message(principal, action, resource, decision)

    async def assumable(self, role_arn: str, *, account: str, service: str) -> bool:
        """Lambda's `RoleAccess`: whether the `service` principal may assume `role_arn` for `account` (a role of
        the credentials file: when it trusts `account`)."""
        role = await self.keyring.find_role(role_arn)
        return role is not None and role.trusts(account, service=service if role.trust is not None else None)

    async def role_denied(
        self, role_arn: str, *, account: str, actions: Sequence[tuple[str, str]], service: str
    ) -> str | None:
        """Lambda's `RoleAccess`: the first of `actions` (action, resource) `role_arn` may not do when the `service`
        principal assumes it for `account` (all of them when it cannot assume it)."""
        role = await self.keyring.find_role(role_arn)
        if role is None or not await self.assumable(role_arn, account=account, service=service):
            return actions[0][0] if actions else None
        principal = f"arn:aws:sts::{role.account}:assumed-role/{role.name}/{service.split('.')[0]}"
        for action, resource in actions:
            _, decision = await decide(
                action=action,
                arns=[resource],
                principal_arn=principal,
                account=role.account,
                identity=role.parsed,
                policies=self.policies,
                context={"aws:principalarn": [principal], "aws:principalaccount": [role.account]},
            )
            if not decision.allowed:
                return action
        return None
