"""Resource providers: how each supported resource type is created, updated and deleted, through the served
APIs. One module per service; `PROVIDER_TYPES` lists every provider (adding a type is one class in its service's
module plus one entry there). See `base.Provider`."""

from __future__ import annotations

from collections.abc import Mapping

from pipework.connectors.ports import ApiClient

from .base import Made, NeedsReplacement, Provider, ProvisionError, Where
from .cloudwatch import Alarm, CompositeAlarm, LogGroup
from .dynamodb import Table
from .events import ApiDestination, Archive, Connection, EventBus, EventBusPolicy, Rule
from .functions import EventInvokeConfig, EventSourceMapping, Function
from .iam import LambdaPermission, ManagedPolicy, Policy, Role
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


def providers(api: ApiClient) -> Mapping[str, Provider]:
    """One provider per supported type, calling the served APIs through `api`."""
    return {kind.type: kind(api) for kind in PROVIDER_TYPES}


__all__ = ["PROVIDER_TYPES", "Made", "NeedsReplacement", "Provider", "ProvisionError", "Where", "providers"]
