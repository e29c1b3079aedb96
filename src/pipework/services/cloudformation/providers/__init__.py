"""Resource providers: how each supported resource type is created, updated and deleted, through the served
APIs. One module per service; `PROVIDER_TYPES` lists every provider (adding a type is one class in its service's
module plus one entry there). See `base.Provider`."""

from __future__ import annotations

from collections.abc import Mapping

from pipework.connectors.ports import ApiClient

from .base import Actor, Made, NeedsReplacement, Provider, ProvisionError, StackPermissions, Where
from .cloudwatch import Alarm, CompositeAlarm, LogGroup
from .dynamodb import Table
from .events import ApiDestination, Archive, Connection, EventBus, EventBusPolicy, Rule
from .functions import EventInvokeConfig, EventSourceMapping, Function
from .iam import IamProvider, IamRoles, LambdaPermission, ManagedPolicy, Policy, Role
from .pipes import Pipe, Schedule, ScheduleGroup
from .sns import Subscription, Topic, TopicPolicy
from .sqs import Queue, QueuePolicy

PROVIDER_TYPES: tuple[type[Provider], ...] = (
    Queue,
    QueuePolicy,
    Table,
    EventBus,
    Rule,
    Archive,
    Connection,
    ApiDestination,
    EventBusPolicy,
    Pipe,
    ScheduleGroup,
    Schedule,
    Function,
    EventSourceMapping,
    EventInvokeConfig,
    Topic,
    Subscription,
    TopicPolicy,
    Alarm,
    CompositeAlarm,
    LogGroup,
    Role,
    Policy,
    ManagedPolicy,
    LambdaPermission,
)


def providers(
    api: ApiClient, *, roles: IamRoles | None = None, permissions: StackPermissions | None = None
) -> Mapping[str, Provider]:
    """One provider per supported type, calling the served APIs through `api`, keeping IAM roles and policies in
    `roles`, each call checked by `permissions` (None: auth is off)."""
    made: dict[str, Provider] = {}
    for kind in PROVIDER_TYPES:
        provider = kind(api, permissions)
        if isinstance(provider, IamProvider):
            provider.roles = roles
        made[kind.type] = provider
    return made


__all__ = [
    "PROVIDER_TYPES",
    "Actor",
    "IamRoles",
    "Made",
    "NeedsReplacement",
    "Provider",
    "ProvisionError",
    "StackPermissions",
    "Where",
    "providers",
]
