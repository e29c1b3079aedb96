"""The composition root: `Pipework.open(settings)` opens the store, builds the connectors and the served APIs in
dependency order on it, starts them, and hands back one running instance with each service a typed attribute.

    pipework = await Pipework.open(Settings(memory=True))
    ...  # pipework.events, pipework.sqs, pipework.store, ...
    await pipework.close()

The server (`pipework serve`, `asgi_app`), the pytest plugin and Pipework's own tests all build instances this way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import orjson

from pipework.api.auth import Caller, Credentials, CredentialsError, Guard, Keyring
from pipework.api.auth.errors import AuthError
from pipework.api.auth.sessions import FunctionSessions
from pipework.api.auth.targets import TargetPermissions
from pipework.api.client import LocalClient
from pipework.clock import Clock, ManualClock, SystemClock
from pipework.connectors.bundle import Connectors
from pipework.connectors.targets.function import Functions, Handler, load_functions
from pipework.connectors.targets.registry import Targets
from pipework.engine.breakers import DETAIL_TYPE, SOURCE, Breaker, Breakers
from pipework.engine.cluster import DEFAULT_LEASE_TIME, Cluster
from pipework.engine.metrics import Recorder
from pipework.engine.tracing import Tracer
from pipework.jsontypes import JSON
from pipework.services.base import Service, ServiceError
from pipework.services.cloudformation import CloudFormation
from pipework.services.cloudformation.providers import Actor
from pipework.services.cloudwatch import CloudWatch
from pipework.services.dynamodb import DynamoDB
from pipework.services.dynamodbstreams import DynamoDBStreams
from pipework.services.events import EventBridge
from pipework.services.events.api import EventsService
from pipework.services.lambda_ import Lambda
from pipework.services.logs import CloudWatchLogs
from pipework.services.pipes import Pipes
from pipework.services.scheduler import Scheduler
from pipework.services.sns import Sns
from pipework.services.sns.api import SnsService
from pipework.services.sqs import SqsService
from pipework.services.sts import StsService
from pipework.store import open_store, redacted_url
from pipework.store.waiting import parse_resource_key, resource_key

if TYPE_CHECKING:
    from pipework.api.app import PipeworkApp
    from pipework.store.base import Store

log = logging.getLogger(__name__)

#: Seconds between two `Store.maintain` runs (on a shared store, by the node holding "store/maintenance").
MAINTENANCE_INTERVAL = 15.0
#: Seconds between two checks that the cached definitions are the stored ones (real time; shared stores only).
VERSION_CHECK = 5.0
#: Seconds before following other nodes' changes is tried again after it failed (real time).
FOLLOW_RETRY = 1.0


@dataclass(frozen=True)
class Settings:
    """How an instance runs.

    Parameters:
        data_dir: where the SQLite store lives (ignored with `memory` or `store`); with `store`, it still holds
            local files (logs) but no state.
        memory: keep everything in memory (tests, throwaway runs); nothing survives `close()`.
        store: a store URL that overrides both, e.g. ``postgresql://USER:PASS@HOST:PORT/DB`` for the PostgreSQL
            store several nodes share (see `pipework.store.open_store`).
        region: the region of requests without a SigV4 credential scope (a signed request's scope names its own),
            and of data an older version stored without one. account: the account every request acts as.
        host, port: where `pipework serve` listens (used to build URLs such as SQS queue URLs).
        functions: modules or files whose ``handler(event, context)`` functions become local Lambda-style
            targets (``arn:aws:lambda:<region>:<account>:function:<name>``); see `pipework.connectors.targets.function`.
        function_timeout: seconds a local function may run before its invocation fails (functions created
            through the Lambda API have their own Timeout).
        function_workers: invocations of functions created through the Lambda API running at once (each in a
            worker process of its own).
        log_dir: where log-group targets write (default: ``<data_dir>/logs``, or a temporary directory in memory).
        auth: ``"off"`` (every request acts as `account`) or ``"sigv4"`` (requests must be signed by a known key
            and are authorized by policies). `pipework serve` picks sigv4 by default for a PostgreSQL store or a
            non-loopback host (`pipework.cli.serve.default_auth`); in process (tests, the pytest plugin) it is off.
        credentials: the credentials file (keys, roles, policies; see `pipework.api.auth.credentials`).
        rate_limit: requests per second each key may make with auth on (None: unlimited).
        node_id: this node's id among the nodes sharing a store (default: host, process id and a random part).
        lease_time: seconds a singleton job's lease lasts (pipe source lanes, replays, move tasks, sweeps,
            tickers): how long a job waits to move to another node after its node died (default 30).
        metrics_retention_days: how long per-minute metric datapoints are kept (CloudWatch: 15 days).
        otlp_endpoint: an OTLP/HTTP collector (``http://localhost:4318``) to export OpenTelemetry spans to
            (ingest, matching, delivery attempts); None: no tracing.
    """

    data_dir: Path = field(default_factory=lambda: Path(".pipework"))
    memory: bool = False
    region: str = "us-east-1"
    account: str = "000000000000"
    host: str = "127.0.0.1"
    port: int = 4566
    functions: tuple[str, ...] = ()
    function_timeout: float = 3.0
    function_workers: int = 8
    log_dir: Path | None = None
    store: str | None = None
    auth: str = "off"
    credentials: Path | None = None
    rate_limit: float | None = None
    node_id: str | None = None
    lease_time: float = DEFAULT_LEASE_TIME
    metrics_retention_days: float = 15.0
    otlp_endpoint: str | None = None

    @property
    def endpoint_url(self) -> str:
        host = "localhost" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"

    @property
    def store_url(self) -> str:
        if self.store:
            return self.store
        return "memory://" if self.memory else str(self.data_dir)

    @property
    def function_directory(self) -> Path:
        """Where Lambda deployment packages are unpacked (one directory per package hash; the bytes themselves
        live in the store)."""
        if self.memory:
            return Path(tempfile.gettempdir()) / "pipework-functions"
        return Path(self.data_dir) / "functions"

    @property
    def log_directory(self) -> Path:
        """Where log-group targets and pipe execution logs are written."""
        if self.log_dir is not None:
            return self.log_dir
        if self.memory:
            return Path(tempfile.gettempdir()) / "pipework-logs"
        return Path(self.data_dir) / "logs"


class Pipework:
    """One running Pipework instance; build it with `Pipework.open`, end it with `close`.

    Attributes: `settings`, `clock`, `store`; `connectors` (the HTTP client, functions, ports) and `targets` (one
    object per target kind, shared by rules, pipes and schedules); `api`, in-process calls to the served APIs;
    `recorder`, where every service records its metrics; `breakers`, the circuit breakers every delivery goes
    through; the services `sqs`, `dynamodb`, `dynamodbstreams`, `lambda_`, `events`, `pipes`, `scheduler`, `sns`,
    `cloudwatch`, `logs`, `cloudformation`; `functions`, the function registry (register more local functions at
    any time; `functions.endpoint_url` is what deployed functions' SDKs call).
    """

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        store: Store,
        *,
        connectors: Connectors,
        targets: Targets,
        api: LocalClient,
        sqs: SqsService,
        dynamodb: DynamoDB,
        dynamodbstreams: DynamoDBStreams,
        lambda_: Lambda,
        events: EventBridge,
        pipes: Pipes,
        scheduler: Scheduler,
        cluster: Cluster,
        recorder: Recorder,
        cloudwatch: CloudWatch,
        logs: CloudWatchLogs,
        sns: Sns,
        cloudformation: CloudFormation,
        breakers: Breakers,
        sts: StsService,
        guard: Guard | None = None,
    ) -> None:
        self.settings = settings
        self.guard = guard
        self.cluster = cluster
        self.clock = clock
        self.store = store
        self.connectors = connectors
        self.functions = connectors.functions
        self.targets = targets
        self.api = api
        self.sqs = sqs
        self.dynamodb = dynamodb
        self.dynamodbstreams = dynamodbstreams
        self.lambda_ = lambda_
        self.events = events
        self.pipes = pipes
        self.scheduler = scheduler
        self.recorder = recorder
        self.tracer: Tracer | None = None
        self.cloudwatch = cloudwatch
        self.logs = logs
        self.sns = sns
        self.cloudformation = cloudformation
        self.breakers = breakers
        self.sts = sts
        self._started: list[Service] = []
        self._closed = False
        self._changes: asyncio.Queue[frozenset[str] | None] = asyncio.Queue()
        self._follower: asyncio.Task[None] | None = None
        self._background: list[asyncio.Task[None]] = []

    @property
    def store_description(self) -> str:
        """The store's URL without its password (or "memory")."""
        return redacted_url(self.settings.store_url)

    @property
    def served(self) -> tuple[Service, ...]:
        """The served APIs, in the order they start (a service starts after those it depends on)."""
        return (
            self.sqs,
            self.dynamodb,
            self.dynamodbstreams,
            self.lambda_,
            self.events,
            self.pipes,
            self.scheduler,
            self.sns,
            self.cloudwatch,
            self.logs,
            self.sts,
            self.cloudformation,
        )

    @classmethod
    async def open(
        cls,
        settings: Settings | None = None,
        *,
        clock: Clock | None = None,
        functions: Mapping[str, Handler] | None = None,
    ) -> Pipework:
        """Open the store, build and start everything on it.

        Parameters:
            settings: see `Settings` (defaults: ./.pipework, us-east-1, account 000000000000).
            clock: the clock everything reads time from (default: the system clock; tests pass a `ManualClock`).
            functions: local functions by name, in addition to those `settings.functions` loads.
        """
        settings = settings or Settings()
        clock = clock or SystemClock()
        if settings.auth not in ("off", "sigv4"):
            raise CredentialsError(f"unknown auth mode {settings.auth!r}: use off or sigv4")
        credentials = Credentials()
        if settings.auth == "sigv4":
            if settings.credentials is None:
                raise CredentialsError(
                    "auth is sigv4 and needs --credentials FILE with at least one key (sigv4 is the default with "
                    "a PostgreSQL store or a non-loopback --host); pass --auth off to serve without authentication"
                )
            credentials = Credentials.load(settings.credentials)
        region, account = settings.region, settings.account
        local = Functions(
            timeout=settings.function_timeout,
            endpoint_url=settings.endpoint_url,
            max_workers=settings.function_workers,
            log_directory=settings.log_directory,
        )
        for (
            module_spec
        ) in settings.functions:  # before the store opens: a module that fails to load leaks nothing
            for name, handler in load_functions(module_spec).items():
                local.register(name, handler)
        for name, handler in (functions or {}).items():
            local.register(name, handler)
        if isinstance(clock, ManualClock):
            # The tasks running now are the server's own (uvicorn's loop, the lifespan): time travel never waits
            # for them; everything started from here on is background work it lets settle.
            clock.ignore(asyncio.all_tasks())
        # A StoreError here (e.g. data written by a newer version) reaches the caller: `pipework serve` says why.
        store = await open_store(settings.store_url, clock, region=region, account=account)
        cluster = Cluster(
            store,
            node_id=settings.node_id,
            lease_time=settings.lease_time,
            address=settings.endpoint_url,
            clock=clock,
        )

        # Every service records its metrics here; durable per minute, kept `metrics_retention_days`.
        recorder = Recorder(store, clock, retention=settings.metrics_retention_days * 86_400.0)
        backend = type(store).__name__.removesuffix("Store").lower()  # memory, sqlite, postgres
        store.commit_observer = recorder.commit_observer(account, region, backend)
        tracer = Tracer.otlp(settings.otlp_endpoint) if settings.otlp_endpoint else None
        # Services that depend on nothing but the store come first; the targets reach them through ports.
        sqs = SqsService(store, clock, region=region, account=account, recorder=recorder, cluster=cluster)
        recorder.samplers.append(sqs.sample_gauges)
        dynamodb = DynamoDB(store, clock, region=region, account=account, recorder=recorder, cluster=cluster)
        dynamodbstreams = DynamoDBStreams(store, clock, dynamodb=dynamodb)
        catalog = EventsService(store, clock, region=region, account=account)
        logs = CloudWatchLogs(store, clock)
        api = LocalClient(region=region, account=account)
        http = httpx.AsyncClient()
        breakers = Breakers(
            store, clock, http=http, destinations=catalog, publish=_announcer(api, region, account)
        )
        keyring = Keyring(credentials, store)
        secured = settings.auth == "sigv4"
        policies = ResourcePolicies(sqs, catalog, keyring if secured else None)
        access = TargetPermissions(keyring, policies) if secured else None
        connectors = Connectors(
            clock=clock,
            http=http,
            functions=local,
            log_directory=settings.log_directory,
            api=api,
            buses=catalog,
            destinations=catalog,
            streams=dynamodbstreams,
            access=access,
            logs=logs,
            admission=breakers,
        )
        targets = Targets(connectors)
        lambda_ = Lambda(
            store,
            clock,
            region=region,
            account=account,
            functions=local,
            code_directory=settings.function_directory,
            targets=targets,
            api=api,
            streams=dynamodbstreams,
        )
        # Rules, pipes and schedules reach API-created functions through the registry; their logs go to
        # CloudWatch Logs' /aws/lambda/<name>; with auth on, they sign their SDK calls as their execution role.
        local.attach(lambda_.service, logs)
        if secured:
            local.credentials = FunctionSessions(keyring)
            lambda_.service.role_access = access  # mappings read their sources as their function's role
        events = EventBridge(
            catalog,
            store,
            clock,
            targets=targets,
            recorder=recorder,
            tracer=tracer,
            breakers=breakers,
            cluster=cluster,
        )
        pipes = Pipes(
            store,
            clock,
            region=region,
            account=account,
            targets=targets,
            api=api,
            streams=dynamodbstreams,
            log_directory=settings.log_directory,
            cluster=cluster,
            recorder=recorder,
            logs=logs,
            tracer=tracer,
            breakers=breakers,
        )
        scheduler = Scheduler(
            store,
            clock,
            region=region,
            account=account,
            targets=targets,
            recorder=recorder,
            tracer=tracer,
            cluster=cluster,
            breakers=breakers,
        )
        cloudwatch = CloudWatch(store, clock, recorder=recorder, targets=targets)
        sns = Sns(store, clock, region=region, account=account, targets=targets, http=connectors.http)
        policies.sns = sns.topics
        guard = None
        sts = StsService(CredentialIdentities(keyring if secured else None), clock, account=account)
        if secured:
            guard = Guard(keyring, policies, rate_limit=settings.rate_limit)
        # Stacks make their resources through the served APIs, as a template's user would, each call allowed for
        # the stack's caller (or its service role) with auth on; the roles they create live with the keys.
        cloudformation = CloudFormation(
            store,
            clock,
            api=api,
            region=region,
            account=account,
            roles=keyring.stored_roles,
            permissions=StackAuthorizer(keyring, guard, api) if guard is not None else None,
        )
        pipework = cls(
            settings,
            clock,
            store,
            connectors=connectors,
            targets=targets,
            api=api,
            sqs=sqs,
            dynamodb=dynamodb,
            dynamodbstreams=dynamodbstreams,
            lambda_=lambda_,
            events=events,
            pipes=pipes,
            scheduler=scheduler,
            cluster=cluster,
            recorder=recorder,
            cloudwatch=cloudwatch,
            logs=logs,
            sns=sns,
            cloudformation=cloudformation,
            breakers=breakers,
            sts=sts,
            guard=guard,
        )
        pipework.tracer = tracer
        recorder.samplers.append(pipework._sample_own_metrics)
        api.serve(pipework.served)
        # Changes other nodes commit from now on are followed once the services have loaded (none is missed
        # between a service's load and the watch).
        store.watch(pipework._changes.put_nowait)
        try:
            await cluster.start()
            recorder.start()
            # Before any delivery runs: a breaker left open parks from the first delivery on.
            await breakers.load()
            for service in pipework.served:
                await service.start()
                pipework._started.append(service)
            breakers.start()
            pipework._follower = asyncio.create_task(pipework._follow(), name="cluster:follow")
            background = [pipework._follower]
            if store.shared:
                # One node at a time vacuums the churned tables; every node checks now and then that its caches hold
                # the stored versions (a notification lost in transit, or never sent by a node that died between
                # its commit and its notification, costs at most that long).
                cluster.singleton("store/maintenance", pipework._maintain_forever)
                background.append(asyncio.create_task(pipework._check_versions(), name="cluster:versions"))
            pipework._background = background
            if isinstance(clock, ManualClock):
                clock.ignore(background)
        except BaseException:
            await pipework.close()
            raise
        return pipework

    async def _maintain_forever(self) -> None:
        """`Store.maintain` every `MAINTENANCE_INTERVAL` seconds of clock time (a safety net, not a timer)."""
        while True:
            await self.clock.sleep_until(self.clock.now() + MAINTENANCE_INTERVAL, timer=False)
            try:
                done = await self.store.maintain()
            except Exception:
                log.exception("store maintenance failed; again in %s s", MAINTENANCE_INTERVAL)
                continue
            if done:
                log.info("vacuumed %s", ", ".join(done))

    async def _check_versions(self) -> None:
        """Every `VERSION_CHECK` seconds (real time), follow the resources whose stored version is not the one this
        node's caches hold."""
        kinds = frozenset(kind for service in self.served for kind in _kinds(service))
        while True:
            await asyncio.sleep(VERSION_CHECK)
            try:
                stale = await self.store.stale_resources(kinds)
            except Exception as error:  # the database is away: the listener's reconnect reloads everything
                log.debug("checking cached versions failed: %s", error)
                continue
            if stale:
                log.info("following %d change(s) whose notification was lost", len(stale))
                self._changes.put_nowait(stale)

    async def _follow(self) -> None:
        """Make each service follow the definitions other nodes change (its in-memory caches: queues, tables,
        buses and rules with their compiled matchers, pipes, schedules, connections)."""
        while True:
            keys = await self._changes.get()
            changed: dict[str, set[str] | None] = {}
            while True:  # everything already queued, in one pass
                if keys is None:
                    changed = {kind: None for service in self.served for kind in _kinds(service)}
                else:
                    for key in keys:
                        parsed = parse_resource_key(key)
                        if parsed is not None and changed.get(parsed[0], set()) is not None:
                            changed.setdefault(parsed[0], set()).add(parsed[1])  # type: ignore[union-attr]
                if self._changes.empty():
                    break
                keys = self._changes.get_nowait()
            for service in self.served:
                refresh: Callable[[str, str | None], Awaitable[None]] | None = getattr(
                    service, "refresh", None
                )
                for kind in _kinds(service):
                    if refresh is None:
                        break
                    if kind not in changed:
                        continue
                    names = changed[kind]
                    try:
                        if names is None:
                            await refresh(kind, None)
                        else:
                            for name in sorted(names):
                                await refresh(kind, name)
                    except Exception as error:  # the database is away: try again in a moment
                        log.warning(
                            "following changes to %s failed (%s); again in %s s", kind, error, FOLLOW_RETRY
                        )
                        await asyncio.sleep(FOLLOW_RETRY)
                        self._changes.put_nowait(
                            None if names is None else frozenset(resource_key(kind, n) for n in names)
                        )

    async def _sample_own_metrics(self) -> None:
        """Pipework's own gauges: deliveries in flight per dispatcher queue (namespace Pipework/Dispatcher); each
        circuit breaker's parked deliveries and whether it holds deliveries back, 1 when OPEN, HALF_OPEN or PAUSED
        (namespace Pipework/Breakers, dimension BreakerName)."""
        settings = self.settings
        for breaker in list(self.breakers.breakers.values()):
            dims = (("BreakerName", breaker.name),)
            parked = float(await self.breakers.parked(breaker))
            held = 0.0 if breaker.state == "CLOSED" else 1.0
            for metric, value in (("ParkedDeliveries", parked), ("Open", held)):
                self.recorder.add(settings.account, settings.region, "Pipework/Breakers", metric, dims, value)
        dispatchers = [self.events.dispatcher, self.scheduler.dispatcher, self.lambda_.dispatcher]
        for dispatcher in [*dispatchers, *self.sns.dispatchers]:
            self.recorder.add(
                settings.account,
                settings.region,
                "Pipework/Dispatcher",
                "InFlight",
                (("Queue", dispatcher.queue),),
                float(dispatcher.in_flight),
            )

    async def close(self) -> None:
        """Stop the services (reverse order), then the connectors, then close the store. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        for task in self._background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.breakers.stop()
        while self._started:
            service = self._started.pop()
            try:
                await service.stop()
            except Exception:
                log.exception("stopping service %s failed", service.name)
        await self.cluster.stop()
        try:
            await self.recorder.stop()  # the last samples become durable: metrics survive a restart
        except Exception:
            log.exception("flushing the metrics failed")
        if self.tracer is not None:
            await asyncio.to_thread(self.tracer.shutdown)  # exports the spans still buffered
        await self.connectors.close()
        await self.store.close()


class ResourcePolicies:
    """The resource policies authorization reads: SQS queues' ``Policy`` attribute, event buses' policies, SNS
    topics' ``Policy`` (and who may manage a subscription), and roles' trust (their own account and their
    ``TrustedAccounts`` may call sts:AssumeRole). `sns` is set once SNS is built (it needs the targets, which need
    these policies)."""

    def __init__(self, sqs: SqsService, events: EventsService, keyring: Keyring | None = None) -> None:
        self.sqs = sqs
        self.events = events
        self.keyring = keyring
        self.sns: SnsService | None = None

    async def resource_policy(self, arn: str) -> str | JSON | None:
        if arn.startswith("arn:aws:iam::") and self.keyring is not None:
            role = self.keyring.role(arn)
            if role is None:
                stored = await self.keyring.stored_roles.find(arn)
                return stored.body.get("AssumeRolePolicyDocument") if stored is not None else None
            trusted = [f"arn:aws:iam::{account}:root" for account in (role.account, *role.trusted_accounts)]
            statement = {"Effect": "Allow", "Principal": {"AWS": trusted}, "Action": "sts:AssumeRole"}
            return {"Version": "2012-10-17", "Statement": [statement]}
        if arn.startswith("arn:aws:sqs:"):
            queue = self.sqs.queue_for_arn(arn)
            return queue.attributes.get("Policy") if queue is not None else None
        if arn.startswith("arn:aws:events:"):
            return await self.events.bus_policy(arn)
        if arn.startswith("arn:aws:sns:") and self.sns is not None:
            return self.sns.access_policy(arn)
        return None


class StackAuthorizer:
    """CloudFormation's `StackPermissions`: each call a stack operation makes is authorized as the gateway would
    authorize it for the key that asked for the operation, or for the stack's service role."""

    def __init__(self, keyring: Keyring, guard: Guard, api: LocalClient) -> None:
        self.keyring = keyring
        self.guard = guard
        self.api = api

    async def _caller(self, actor: Actor) -> Caller | str:
        if actor.role_arn:
            role = await self.keyring.find_role(actor.role_arn)
            if role is None:
                return f"Role {actor.role_arn} is invalid or cannot be assumed"
            return Caller(
                "",
                role.account,
                f"arn:aws:sts::{role.account}:assumed-role/{role.name}/AWSCloudFormation",
                f"AROA{role.name.upper()[:17]}:AWSCloudFormation",
                False,
                role.parsed,
            )
        key = await self.keyring.find(actor.access_key) if actor.access_key else None
        if key is None or not key.enabled:
            return "The security token included in the request is invalid"
        return key.caller

    async def denied(
        self, actor: Actor, service: str, operation: str, params: JSON, *, region: str, account: str
    ) -> str | None:
        caller = await self._caller(actor)
        if isinstance(caller, str):
            return caller
        try:
            await self.guard.authorize(
                caller,
                signing_name=self.api.signing_name(service),
                operation=operation,
                params=params,
                region=region,
                context={
                    "aws:principalaccount": [caller.account],
                    "aws:principalarn": [caller.arn],
                    "aws:calledvia": ["cloudformation.amazonaws.com"],
                },
            )
        except AuthError as error:
            return error.message
        return None

    async def assumable(self, role_arn: str, account: str) -> bool:
        role = await self.keyring.find_role(role_arn)
        return role is not None and role.trusts(account, service="cloudformation.amazonaws.com")


class CredentialIdentities:
    """STS's `Identities` over the keyring (None: auth is off)."""

    def __init__(self, keyring: Keyring | None) -> None:
        self.keyring = keyring

    async def identity(self, access_key: str | None) -> JSON | None:
        if self.keyring is None or access_key is None:
            return None
        key = await self.keyring.find(access_key)
        if key is None:
            return None
        caller = key.caller
        return {"Account": caller.account, "Arn": caller.arn, "UserId": caller.user_id}

    async def assume(
        self,
        role_arn: str,
        session: str,
        seconds: int,
        caller_account: str,
        caller_arn: str | None = None,
    ) -> JSON | None:
        if self.keyring is None:
            return None
        role = await self.keyring.find_role(role_arn)
        if role is None or not role.trusts(caller_account, principal_arn=caller_arn):
            raise ServiceError(
                "AccessDenied",
                f"Account {caller_account} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
                403,
            )
        caller = self.keyring.assume(role, session, seconds).caller
        key = await self.keyring.find(caller.access_key)
        assert key is not None and key.expires is not None
        return {
            "AccessKeyId": key.access_key,
            "SecretAccessKey": key.secret,
            "SessionToken": key.token,
            "Expiration": key.expires,
            "AssumedRoleId": caller.user_id,
            "Arn": caller.arn,
        }


def _kinds(service: Service) -> frozenset[str]:
    kinds: frozenset[str] = getattr(service, "watched_kinds", frozenset())
    return kinds


def _announcer(api: LocalClient, region: str, account: str) -> Callable[[Breaker, JSON], Awaitable[None]]:
    """A breaker's state changes as events on the default bus of its target's account and region."""

    async def announce(breaker: Breaker, detail: JSON) -> None:
        parts = breaker.config.target.split(":")
        entry = {
            "Source": SOURCE,
            "DetailType": DETAIL_TYPE,
            "Detail": orjson.dumps(detail).decode(),
            "Resources": [breaker.config.target],
            "EventBusName": "default",
        }
        await api.call(
            "events",
            "PutEvents",
            {"Entries": [entry]},
            region=parts[3] or region if len(parts) > 4 else region,
            account=parts[4] or account if len(parts) > 4 else account,
        )

    return announce


def asgi_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    functions: Mapping[str, Handler] | None = None,
) -> PipeworkApp:
    """The ASGI app serving an instance; its lifespan opens it (`Pipework.open`) and closes it."""
    from pipework.api.app import build_app

    async def open_instance() -> Pipework:
        return await Pipework.open(settings, clock=clock, functions=functions)

    return build_app(open_instance)
