"""Authorization of one AWS operation: its IAM action (``<signing name>:<Operation>``), the ARNs of the resources it
touches (read from its parameters, the way IAM names them), and the resource policies Pipework keeps (an SQS
queue's ``Policy``, an event bus's policy), decided by `pipework.iam.evaluate`.

Operations that touch no single resource (List*, CreateConnection, ...) are authorized on ``*``, so a policy must
grant them on ``"Resource": "*"`` as on AWS.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from pipework.iam import Decision, Policy, PolicyError, Request, evaluate, parse_policy
from pipework.services.sqs.model import parse_queue_url


class ResourcePolicies(Protocol):
    """What authorization needs of the services: the policy attached to a resource (its JSON text or document),
    or None when it has none or does not exist."""

    async def resource_policy(self, arn: str) -> Any: ...  # JSON text, a document, or None


def _arn_account(arn: str) -> str | None:
    parts = arn.split(":", 5)
    return parts[4] if len(parts) == 6 and parts[0] == "arn" and parts[4] else None


def _bus_arn(name: Any, region: str, account: str) -> str:
    if isinstance(name, str) and name.startswith("arn:"):
        return name
    return (
        f"arn:aws:events:{region}:{account}:event-bus/{name if isinstance(name, str) and name else 'default'}"
    )


def resources(service: str, operation: str, params: dict[str, Any], region: str, account: str) -> list[str]:
    """The ARNs `operation` acts on (at least one; ``*`` when it names none)."""
    found: list[str] = []
    if service == "sqs":
        url = params.get("QueueUrl")
        if isinstance(url, str):
            owner = parse_queue_url(url) if "/" in url else (account, url)
            if owner is not None:
                found.append(f"arn:aws:sqs:{region}:{owner[0]}:{owner[1]}")
        elif isinstance(params.get("QueueName"), str):
            found.append(f"arn:aws:sqs:{region}:{account}:{params['QueueName']}")
    elif service == "events":
        if operation == "PutEvents":
            entries = params.get("Entries")
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, dict):
                    found.append(_bus_arn(entry.get("EventBusName"), region, account))
        elif operation.endswith(("Rule", "Targets", "Rules")) and isinstance(
            params.get("Rule", params.get("Name")), str
        ):
            if operation not in ("ListRules", "ListRuleNamesByTarget"):
                bus = params.get("EventBusName") or "default"
                bus_name = bus.rsplit("/", 1)[-1] if isinstance(bus, str) else "default"
                name = params.get("Rule", params.get("Name"))
                prefix = "" if bus_name == "default" else f"{bus_name}/"
                found.append(f"arn:aws:events:{region}:{account}:rule/{prefix}{name}")
        elif operation.endswith(("EventBus", "Permission")):
            found.append(_bus_arn(params.get("Name", params.get("EventBusName")), region, account))
    elif service == "dynamodb":
        for member in ("TableName", "TableArn", "StreamArn", "ResourceArn"):
            value = params.get(member)
            if isinstance(value, str):
                arn = (
                    value
                    if value.startswith("arn:")
                    else f"arn:aws:dynamodb:{region}:{account}:table/{value}"
                )
                found.append(arn)
                break
        items = params.get("RequestItems")
        if isinstance(items, dict):
            found.extend(f"arn:aws:dynamodb:{region}:{account}:table/{name}" for name in items)
    elif service == "sts" and isinstance(params.get("RoleArn"), str):
        found.append(params["RoleArn"])
    elif service == "iam":  # the calls CloudFormation's IAM resources make on a stack's behalf
        for member in ("RoleArn", "PolicyArn"):
            if isinstance(params.get(member), str):
                found.append(params[member])
        if isinstance(params.get("RoleName"), str):
            found.append(f"arn:aws:iam::{account}:role/{params['RoleName']}")
    elif service == "pipes" and isinstance(params.get("Name"), str):
        found.append(f"arn:aws:pipes:{region}:{account}:pipe/{params['Name']}")
    elif service == "scheduler" and isinstance(params.get("Name"), str):
        if operation.endswith("ScheduleGroup"):
            found.append(f"arn:aws:scheduler:{region}:{account}:schedule-group/{params['Name']}")
        else:
            group = params.get("GroupName") or "default"
            found.append(f"arn:aws:scheduler:{region}:{account}:schedule/{group}/{params['Name']}")
    if not found:
        named = params.get("ResourceArn", params.get("resourceArn"))
        found.append(named if isinstance(named, str) else "*")
    return list(dict.fromkeys(found))


#: (service, operation) → the member naming a role the operation hands over
_PASSING = {
    ("lambda", "CreateFunction"): "Role",
    ("lambda", "UpdateFunctionConfiguration"): "Role",
    ("pipes", "CreatePipe"): "RoleArn",
    ("pipes", "UpdatePipe"): "RoleArn",
    ("events", "PutRule"): "RoleArn",
}


def passed_roles(service: str, operation: str, params: dict[str, Any]) -> list[str]:
    """The roles `operation` hands to a service to act as later (a function's ``Role``, a pipe's, rule's, rule
    target's or schedule target's ``RoleArn``): the caller needs ``iam:PassRole`` on each, as on AWS."""
    found: list[Any] = []
    if (service, operation) in _PASSING:
        found.append(params.get(_PASSING[(service, operation)]))
    elif service == "events" and operation == "PutTargets" and isinstance(params.get("Targets"), list):
        found.extend(t.get("RoleArn") for t in params["Targets"] if isinstance(t, dict))
    elif service == "scheduler" and operation in ("CreateSchedule", "UpdateSchedule"):
        target = params.get("Target")
        found.append(target.get("RoleArn") if isinstance(target, dict) else None)
    return list(dict.fromkeys(role for role in found if isinstance(role, str) and role))


@functools.lru_cache(maxsize=1024)
def _parsed(text: str) -> Policy | None:
    try:
        return parse_policy(text, resource_policy=True)
    except PolicyError:
        return None  # a policy the resource keeps but that does not parse grants and denies nothing


def resource_policy(document: Any) -> Policy | None:
    if document is None or document == "":
        return None
    if isinstance(document, str):
        return _parsed(document)
    try:
        return parse_policy(document, resource_policy=True)
    except PolicyError:
        return None


async def decide(
    *,
    action: str,
    arns: Sequence[str],
    principal_arn: str,
    account: str,
    identity: Sequence[Policy],
    policies: ResourcePolicies | None,
    context: Mapping[str, Sequence[str]],
    service_principal: str | None = None,
) -> tuple[str, Decision]:
    """The first resource the caller may not act on with its decision, else the last resource and an allow."""
    decision = Decision(True)
    resource = "*"
    for resource in arns:
        attached = (
            await policies.resource_policy(resource) if policies is not None and resource != "*" else None
        )
        request = Request(
            action=action,
            resource=resource,
            principal_arn=principal_arn,
            account=account,
            resource_account=_arn_account(resource),
            context=context,
            service=service_principal,
        )
        decision = evaluate(request, identity, resource_policy(attached))
        if not decision.allowed:
            return resource, decision
    return resource, decision


def denied_message(principal_arn: str, action: str, resource: str, decision: Decision) -> str:
    """AWS's AccessDenied wording."""
    return f"User: {principal_arn} is not authorized to perform: {action} on resource: {resource} {decision.reason}"
