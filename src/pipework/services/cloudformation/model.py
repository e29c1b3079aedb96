"""CloudFormation's resources as Pipework keeps them: stacks (with their resources and outputs), stack events and
change sets; store kinds, keys and ARNs.

A stack is stored as one resource (``cloudformation/stack``, keyed ``<account>/<region>/<name>``); its events are
a store log per stack id; change sets are resources of their own (``cloudformation/changeset``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from pipework.jsontypes import JSON

KIND_STACK = "cloudformation/stack"
KIND_CHANGE_SET = "cloudformation/changeset"
#: deleted stacks, keyed ``<account>/<region>/<stack id>``: ListStacks shows them (and DescribeStacks by stack id
#: finds them) for `DELETED_KEPT` seconds, as CloudFormation does
KIND_DELETED_STACK = "cloudformation/deleted-stack"
DELETED_KEPT = 90 * 86_400.0

#: Pipework's own stack tag: resources of unsupported types are skipped instead of failing the stack.
SKIP_UNSUPPORTED_TAG = "pipework:skip-unsupported"


def stack_key(account: str, region: str, name: str) -> str:
    return f"{account}/{region}/{name}"


def deleted_stack_key(account: str, region: str, stack_id: str) -> str:
    return f"{account}/{region}/{stack_id}"


def change_set_key(account: str, region: str, stack: str, name: str) -> str:
    return f"{account}/{region}/{stack}/{name}"


def events_log(stack_id: str) -> str:
    return f"cloudformation/events/{stack_id}"


def stack_arn(account: str, region: str, name: str, unique: str) -> str:
    return f"arn:aws:cloudformation:{region}:{account}:stack/{name}/{unique}"


def change_set_arn(account: str, region: str, name: str, unique: str) -> str:
    return f"arn:aws:cloudformation:{region}:{account}:changeSet/{name}/{unique}"


def when(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


@dataclass(frozen=True)
class StackResource:
    """One resource of a stack: its type, physical id, status, the properties it was made with (resolved) and the
    attributes `Fn::GetAtt` reads."""

    logical_id: str
    type: str
    physical_id: str
    status: str
    reason: str = ""
    properties: JSON = field(default_factory=dict)
    attributes: JSON = field(default_factory=dict)
    updated: float = 0.0

    def to_store(self) -> JSON:
        return {
            "Type": self.type,
            "PhysicalResourceId": self.physical_id,
            "Status": self.status,
            "Reason": self.reason,
            "Properties": self.properties,
            "Attributes": self.attributes,
            "Updated": self.updated,
        }

    @classmethod
    def from_store(cls, logical_id: str, body: JSON) -> StackResource:
        return cls(
            logical_id,
            body["Type"],
            body.get("PhysicalResourceId", ""),
            body.get("Status", ""),
            body.get("Reason", ""),
            body.get("Properties") or {},
            body.get("Attributes") or {},
            float(body.get("Updated", 0.0)),
        )

    def summary(self) -> JSON:
        """ListStackResources' shape."""
        out: JSON = {
            "LogicalResourceId": self.logical_id,
            "PhysicalResourceId": self.physical_id,
            "ResourceType": self.type,
            "LastUpdatedTimestamp": when(self.updated),
            "ResourceStatus": self.status,
        }
        if self.reason:
            out["ResourceStatusReason"] = self.reason
        return out

    def to_api(self, stack: Stack) -> JSON:
        """DescribeStackResources' shape."""
        out: JSON = {
            "StackName": stack.name,
            "StackId": stack.stack_id,
            "LogicalResourceId": self.logical_id,
            "PhysicalResourceId": self.physical_id,
            "ResourceType": self.type,
            "Timestamp": when(self.updated),
            "ResourceStatus": self.status,
        }
        if self.reason:
            out["ResourceStatusReason"] = self.reason
        return out


@dataclass(frozen=True)
class Stack:
    """A stack: its template (as given), parameter values, status and resources (by logical id)."""

    name: str
    stack_id: str
    account: str
    region: str
    status: str
    template: str
    parameters: dict[str, str]
    created: float
    reason: str = ""
    description: str = ""
    tags: tuple[tuple[str, str], ...] = ()
    capabilities: tuple[str, ...] = ()
    disable_rollback: bool = False
    outputs: tuple[JSON, ...] = ()
    resources: dict[str, StackResource] = field(default_factory=dict)
    updated: float | None = None
    change_set_id: str | None = None
    role_arn: str | None = None  # RoleARN: the service role its operations act as
    operator: str | None = None  # the access key that asked for its current operation (auth on)
    deleted: float | None = None  # when it was deleted (DELETE_COMPLETE)

    @property
    def key(self) -> str:
        return stack_key(self.account, self.region, self.name)

    @property
    def tag_map(self) -> dict[str, str]:
        return dict(self.tags)

    def evolve(self, **changes: Any) -> Stack:
        return replace(self, **changes)

    def with_resource(self, resource: StackResource) -> Stack:
        return replace(self, resources={**self.resources, resource.logical_id: resource})

    def without_resource(self, logical_id: str) -> Stack:
        return replace(self, resources={k: v for k, v in self.resources.items() if k != logical_id})

    def to_store(self) -> JSON:
        return {
            "StackName": self.name,
            "StackId": self.stack_id,
            "Account": self.account,
            "Region": self.region,
            "Status": self.status,
            "Reason": self.reason,
            "Template": self.template,
            "Parameters": self.parameters,
            "Created": self.created,
            "Updated": self.updated,
            "Description": self.description,
            "Tags": [list(t) for t in self.tags],
            "Capabilities": list(self.capabilities),
            "DisableRollback": self.disable_rollback,
            "Outputs": list(self.outputs),
            "Resources": {k: v.to_store() for k, v in self.resources.items()},
            "ChangeSetId": self.change_set_id,
            "RoleARN": self.role_arn,
            "_Operator": self.operator,
            "Deleted": self.deleted,
        }

    @classmethod
    def from_store(cls, body: JSON) -> Stack:
        return cls(
            name=body["StackName"],
            stack_id=body["StackId"],
            account=body["Account"],
            region=body["Region"],
            status=body["Status"],
            template=body["Template"],
            parameters=dict(body.get("Parameters") or {}),
            created=float(body["Created"]),
            reason=body.get("Reason", ""),
            description=body.get("Description", ""),
            tags=tuple((k, v) for k, v in body.get("Tags") or ()),
            capabilities=tuple(body.get("Capabilities") or ()),
            disable_rollback=bool(body.get("DisableRollback")),
            outputs=tuple(body.get("Outputs") or ()),
            resources={k: StackResource.from_store(k, v) for k, v in (body.get("Resources") or {}).items()},
            updated=body.get("Updated"),
            change_set_id=body.get("ChangeSetId"),
            role_arn=body.get("RoleARN"),
            operator=body.get("_Operator"),
            deleted=body.get("Deleted"),
        )

    def to_api(self) -> JSON:
        """DescribeStacks' shape."""
        out: JSON = {
            "StackId": self.stack_id,
            "StackName": self.name,
            "CreationTime": when(self.created),
            "StackStatus": self.status,
            "DisableRollback": self.disable_rollback,
            "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in self.parameters.items()],
            "Tags": [{"Key": k, "Value": v} for k, v in self.tags],
            "Outputs": list(self.outputs),
            "Capabilities": list(self.capabilities),
            "NotificationARNs": [],
            "EnableTerminationProtection": False,
            "DriftInformation": {"StackDriftStatus": "NOT_CHECKED"},
        }
        if self.reason:
            out["StackStatusReason"] = self.reason
        if self.description:
            out["Description"] = self.description
        if self.updated is not None:
            out["LastUpdatedTime"] = when(self.updated)
        if self.change_set_id:
            out["ChangeSetId"] = self.change_set_id
        if self.role_arn:
            out["RoleARN"] = self.role_arn
        if self.deleted is not None:
            out["DeletionTime"] = when(self.deleted)
        return out

    def summary(self) -> JSON:
        """ListStacks' shape."""
        out: JSON = {
            "StackId": self.stack_id,
            "StackName": self.name,
            "CreationTime": when(self.created),
            "StackStatus": self.status,
            "DriftInformation": {"StackDriftStatus": "NOT_CHECKED"},
        }
        if self.description:
            out["TemplateDescription"] = self.description
        if self.updated is not None:
            out["LastUpdatedTime"] = when(self.updated)
        if self.reason:
            out["StackStatusReason"] = self.reason
        if self.deleted is not None:
            out["DeletionTime"] = when(self.deleted)
        return out


@dataclass(frozen=True)
class ChangeSet:
    """A change set: the template and parameters it would apply, the changes it found, and its status."""

    name: str
    change_set_id: str
    stack_name: str
    stack_id: str
    account: str
    region: str
    kind: str  # CREATE or UPDATE
    template: str
    parameters: dict[str, str]
    created: float
    status: str
    execution_status: str
    changes: tuple[JSON, ...] = ()
    reason: str = ""
    description: str = ""
    tags: tuple[tuple[str, str], ...] = ()
    capabilities: tuple[str, ...] = ()
    role_arn: str | None = None

    @property
    def key(self) -> str:
        return change_set_key(self.account, self.region, self.stack_name, self.name)

    def evolve(self, **changes: Any) -> ChangeSet:
        return replace(self, **changes)

    def to_store(self) -> JSON:
        return {
            "ChangeSetName": self.name,
            "ChangeSetId": self.change_set_id,
            "StackName": self.stack_name,
            "StackId": self.stack_id,
            "Account": self.account,
            "Region": self.region,
            "Kind": self.kind,
            "Template": self.template,
            "Parameters": self.parameters,
            "Created": self.created,
            "Status": self.status,
            "ExecutionStatus": self.execution_status,
            "Changes": list(self.changes),
            "Reason": self.reason,
            "Description": self.description,
            "Tags": [list(t) for t in self.tags],
            "Capabilities": list(self.capabilities),
            "RoleARN": self.role_arn,
        }

    @classmethod
    def from_store(cls, body: JSON) -> ChangeSet:
        return cls(
            name=body["ChangeSetName"],
            change_set_id=body["ChangeSetId"],
            stack_name=body["StackName"],
            stack_id=body["StackId"],
            account=body["Account"],
            region=body["Region"],
            kind=body["Kind"],
            template=body["Template"],
            parameters=dict(body.get("Parameters") or {}),
            created=float(body["Created"]),
            status=body["Status"],
            execution_status=body["ExecutionStatus"],
            changes=tuple(body.get("Changes") or ()),
            reason=body.get("Reason", ""),
            description=body.get("Description", ""),
            tags=tuple((k, v) for k, v in body.get("Tags") or ()),
            capabilities=tuple(body.get("Capabilities") or ()),
            role_arn=body.get("RoleARN"),
        )

    def to_api(self) -> JSON:
        out: JSON = {
            "ChangeSetName": self.name,
            "ChangeSetId": self.change_set_id,
            "StackId": self.stack_id,
            "StackName": self.stack_name,
            "CreationTime": when(self.created),
            "ExecutionStatus": self.execution_status,
            "Status": self.status,
            "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in self.parameters.items()],
            "Changes": list(self.changes),
            "Capabilities": list(self.capabilities),
            "Tags": [{"Key": k, "Value": v} for k, v in self.tags],
            "NotificationARNs": [],
        }
        if self.reason:
            out["StatusReason"] = self.reason
        if self.description:
            out["Description"] = self.description
        return out
