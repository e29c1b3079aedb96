"""What the ASGI app needs of a running Pipework instance, as a protocol: the app serves an instance without
importing the composition root that builds it (`pipework.app.Pipework` is the one implementation)."""

from __future__ import annotations

from typing import Protocol

from pipework.api.auth import Guard
from pipework.api.client import LocalClient
from pipework.clock import Clock
from pipework.engine.breakers import Breakers
from pipework.engine.cluster import Cluster
from pipework.engine.metrics import Recorder
from pipework.services.base import Service
from pipework.services.dynamodbstreams import DynamoDBStreams
from pipework.services.events import EventBridge
from pipework.services.pipes import Pipes
from pipework.services.scheduler import Scheduler
from pipework.services.sns import Sns
from pipework.services.sqs import SqsService
from pipework.store.base import Store


class InstanceSettings(Protocol):
    """The settings the app reads: the defaults put in each request's context."""

    @property
    def region(self) -> str:
        """The region of requests without a SigV4 credential scope."""
        ...

    @property
    def account(self) -> str:
        """The account every request acts as."""
        ...


class Instance(Protocol):
    """A running instance: its served APIs for the AWS routes, the services and clock Pipework's own routes
    (``/_pipework/...``) use, and `close` for the end of the app's lifespan."""

    @property
    def settings(self) -> InstanceSettings: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def served(self) -> tuple[Service, ...]:
        """The served APIs."""
        ...

    @property
    def guard(self) -> Guard | None:
        """Who may call (None: auth is off and every request acts as the server's account)."""
        ...

    @property
    def events(self) -> EventBridge: ...

    @property
    def pipes(self) -> Pipes: ...

    @property
    def cluster(self) -> Cluster:
        """This node among the nodes sharing the store: its id and the leases it holds."""
        ...

    @property
    def store_description(self) -> str:
        """The store's URL without its password."""
        ...

    @property
    def recorder(self) -> Recorder:
        """Where every service records its metrics (``GET /metrics`` reads it)."""
        ...

    @property
    def breakers(self) -> Breakers: ...

    @property
    def sns(self) -> Sns: ...

    # The console (``/console/``) reads these too.
    @property
    def api(self) -> LocalClient:
        """In-process calls to the served APIs, validated as over HTTP."""
        ...

    @property
    def sqs(self) -> SqsService: ...

    @property
    def scheduler(self) -> Scheduler: ...

    @property
    def dynamodbstreams(self) -> DynamoDBStreams: ...

    @property
    def store(self) -> Store:
        """Where the console keeps its sign-ins (shared by every node)."""
        ...

    async def close(self) -> None: ...
