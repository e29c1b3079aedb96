"""Whether a rule, pipe or schedule may invoke its target when auth is on (`connectors.ports.TargetAccess`):
as its RoleArn, whose policies must allow the target's action (and which must trust the invoker's account), or,
without a role, as its account, which a target in another account must allow by its resource policy (a bus's
PutPermission, a queue's Policy)."""

from __future__ import annotations

import functools

import botocore.exceptions

from pipework.api.auth.access import ResourcePolicies, decide, denied_message, resources
from pipework.api.auth.credentials import ROLE_ARN, Keyring
from pipework.connectors.targets.sdk import operation_of
from pipework.iam import parse_policy
from pipework.jsontypes import JSON
from pipework.models import load_service_model

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
    if service == "sns":
        return "sns:Publish"
    universal = operation_of(arn)
    if universal is not None:
        return f"{_signing_name(universal[0])}:{universal[1]}"
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
        self,
        arn: str,
        *,
        account: str | None,
        role_arn: str | None,
        params: JSON | None = None,
        region: str | None = None,
    ) -> str | None:
        role = self.keyring.role(role_arn) if role_arn is not None else None
        universal = operation_of(arn)
        if universal is not None:
            # A universal target is the API call it names: its action and resources as that API's requests.
            service, operation = universal
            signing_name = _signing_name(service)
            action = f"{signing_name}:{operation}"
            caller_account = account or (role.account if role is not None else "")
            arns = resources(
                signing_name, operation, dict(params or {}), region or "us-east-1", caller_account
            )
        else:
            action, arns = target_action(arn), [arn]
        if role_arn is not None:
            if role is None or (account is not None and not role.trusts(account)):
                return f"The role {role_arn} does not exist or cannot be assumed to invoke {arn}."
            match = ROLE_ARN.match(role_arn)
            principal = (
                f"arn:aws:sts::{role.account}:assumed-role/{match.group(2) if match else role.name}/pipework"
            )
            resource, decision = await decide(
                action=action,
                arns=arns,
                principal_arn=principal,
                account=role.account,
                identity=role.parsed,
                policies=self.policies,
                context={
                    "aws:principalarn": [principal],
                    "aws:principalaccount": [role.account],
                    "aws:sourceowner": [role.account],
                },
            )
            return None if decision.allowed else denied_message(principal, action, resource, decision)
        elsewhere = [a for a in arns if (owner := _account(a)) is not None and owner != account]
        if account is None or not elsewhere:
            return None
        principal = f"arn:aws:iam::{account}:root"
        resource, decision = await decide(
            action=action,
            arns=elsewhere,
            principal_arn=principal,
            account=account,
            identity=_ANYTHING,  # no role: only the target's own policy decides
            policies=self.policies,
            context={
                "aws:sourceaccount": [account],
                "aws:principalaccount": [account],
                "aws:sourceowner": [account],
            },
        )
        return None if decision.allowed else denied_message(principal, action, resource, decision)


@functools.cache
def _signing_name(service: str) -> str:
    """The IAM prefix of a botocore service's actions (its SigV4 signing name: ``dynamodbstreams`` is
    ``dynamodb``)."""
    try:
        return str(load_service_model(service).signing_name)
    except botocore.exceptions.UnknownServiceError:
        return service
