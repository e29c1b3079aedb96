"""AWS's policy evaluation for one request: an explicit deny in any policy wins; within one account an allow in
the identity policies or in the resource's policy grants; across accounts both must allow; otherwise the request
is implicitly denied. The `Decision` says which, in the words AWS's AccessDenied message uses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pipework.iam.policy import Policy


@dataclass(frozen=True, slots=True)
class Request:
    """Who asks to do what on which resource.

    `principal_arn` (``arn:aws:iam::111111111111:user/alice``) and `account` identify the caller (`service`
    instead, such as ``events.amazonaws.com``, when a service principal calls); `resource_account` owns the
    resource (None when the resource has no owner, such as ``*``); `context` holds the condition keys, lower-cased,
    each with its values.
    """

    action: str
    resource: str
    principal_arn: str
    account: str
    resource_account: str | None
    context: Mapping[str, Sequence[str]] = field(default_factory=dict)
    service: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """`allowed`, and when not, `reason`: the tail of AWS's message ("because no identity-based policy allows the
    ... action", "with an explicit deny in a resource-based policy")."""

    allowed: bool
    reason: str = ""


def _matches(policy: Policy, request: Request, *, allow: bool, check_principal: bool) -> bool:
    for statement in policy.statements:
        if statement.allow != allow or not statement.covers(request.action, request.resource):
            continue
        if check_principal and not statement.names(request.principal_arn, request.account, request.service):
            continue
        if statement.conditions_hold(request.context):
            return True
    return False


def evaluate(request: Request, identity: Sequence[Policy], resource: Policy | None) -> Decision:
    """Decide `request` against the caller's identity policies and the resource's policy (None: it has none)."""
    for policy in identity:
        if _matches(policy, request, allow=False, check_principal=False):
            return Decision(False, "with an explicit deny in an identity-based policy")
    if resource is not None and _matches(resource, request, allow=False, check_principal=True):
        return Decision(False, "with an explicit deny in a resource-based policy")
    by_identity = request.service is None and any(
        _matches(policy, request, allow=True, check_principal=False) for policy in identity
    )
    by_resource = resource is not None and _matches(resource, request, allow=True, check_principal=True)
    same_account = request.resource_account in (None, request.account)
    if same_account and request.service is None:
        if by_identity or by_resource:
            return Decision(True)
        return Decision(False, f"because no identity-based policy allows the {request.action} action")
    if request.service is not None:  # a service principal is granted by the resource policy alone
        if by_resource:
            return Decision(True)
        return Decision(False, f"because no resource-based policy allows the {request.action} action")
    if not by_identity:
        return Decision(False, f"because no identity-based policy allows the {request.action} action")
    if not by_resource:
        return Decision(False, f"because no resource-based policy allows the {request.action} action")
    return Decision(True)
