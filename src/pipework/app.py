"""`Pipework`: one running instance — settings, clock, store and the served APIs — and its lifecycle.

The server (`pipework serve`), tests and the in-process API all build a `Pipework`, `await start()`, use it, and
`await stop()`. Adding a served API is one line in `SERVICE_FACTORIES`.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipework.clock import Clock, SystemClock
from pipework.connectors.targets.function import Functions, load_functions
from pipework.services.base import Service

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from pipework.store.base import Store

log = logging.getLogger(__name__)

# The served APIs: "module:factory", where ``factory(pipework) -> Service``. A module not written yet is skipped
# with a warning, so the server starts with whatever exists.
SERVICE_FACTORIES: tuple[str, ...] = (
    "pipework.services.sqs:create_service",
    "pipework.services.events:create_service",
    "pipework.services.pipes:create_service",
    "pipework.services.scheduler:create_service",
    "pipework.services.dynamodb:create_service",
    "pipework.services.dynamodbstreams:create_service",
)


@dataclass(frozen=True)
class Settings:
    """How an instance runs.

    Parameters:
        data_dir: where the SQLite store lives (ignored with `memory` or `store`).
        memory: keep everything in memory (tests, throwaway runs); nothing survives `stop()`.
        store: a store URL that overrides both, e.g. ``postgresql://USER:PASS@HOST:PORT/DB`` for the PostgreSQL
            store several nodes share (see `pipework.store.open_store`).
        region, account: what ARNs and queue URLs carry, and the region a request gets without a SigV4 scope.
        host, port: where `pipework serve` listens (used to build URLs such as SQS queue URLs).
        functions: modules or files whose ``handler(event, context)`` functions become local Lambda-style
            targets (``arn:aws:lambda:<region>:<account>:function:<name>``); see `pipework.connectors.targets.function`.
        function_timeout: seconds a local function may run before its invocation fails.
    """

    data_dir: Path = field(default_factory=lambda: Path(".pipework"))
    memory: bool = False
    region: str = "us-east-1"
    account: str = "000000000000"
    host: str = "127.0.0.1"
    port: int = 4566
    functions: tuple[str, ...] = ()
    function_timeout: float = 3.0
    store: str | None = None

    @property
    def endpoint_url(self) -> str:
        host = "localhost" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"

    @property
    def store_url(self) -> str:
        if self.store:
            return self.store
        return "memory://" if self.memory else str(self.data_dir)


class Pipework:
    """One Pipework instance.

    Parameters:
        settings: see `Settings` (defaults: ./.pipework, us-east-1, account 000000000000).
        clock: the clock everything reads time from (default: the system clock; tests pass a `ManualClock`).
        services: factories to build the served APIs from, as ``"module:factory"`` (default `SERVICE_FACTORIES`);
            services can also be added with `register` before the app is built.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        clock: Clock | None = None,
        services: Iterable[str] | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.clock: Clock = clock or SystemClock()
        # Local functions are shared by every service that invokes them (rule targets, pipes, schedules).
        self.functions = Functions(timeout=self.settings.function_timeout)
        for module_spec in self.settings.functions:
            for fn_name, handler in load_functions(module_spec).items():
                self.functions.register(fn_name, handler)
        self.services: dict[str, Service] = {}
        self._store: Store | None = None
        self._started: list[Any] = []
        for spec in SERVICE_FACTORIES if services is None else services:
            service = self._build_service(spec)
            if service is not None:
                self.register(service)

    @property
    def store(self) -> Store:
        """The store; open between `start()` and `stop()`."""
        if self._store is None:
            raise RuntimeError("Pipework is not started: await pipework.start() first")
        return self._store

    def register(self, service: Service) -> None:
        """Serve `service` (replacing any service of the same name). Call before `asgi_app()`."""
        self.services[service.name] = service

    def asgi_app(self) -> Starlette:
        """The ASGI app serving this instance; its lifespan calls `start()` and `stop()`."""
        from pipework.api.app import build_app

        return build_app(self)

    async def start(self) -> None:
        """Open the store, then start the services that have background work (their optional ``start()``)."""
        from pipework.store import open_store

        if self._store is None:
            self._store = await open_store(self.settings.store_url, self.clock)
        for service in self.services.values():
            start = getattr(service, "start", None)
            if start is not None:
                await start()
                self._started.append(service)

    async def stop(self) -> None:
        """Stop started services (reverse order), then close the store. Safe to call twice."""
        while self._started:
            service = self._started.pop()
            stop = getattr(service, "stop", None)
            try:
                if stop is not None:
                    await stop()
            except Exception:
                log.exception("stopping service %s failed", service.name)
        if self._store is not None:
            store, self._store = self._store, None
            await store.close()
        self.functions.shutdown()

    def _build_service(self, spec: str) -> Service | None:
        module_name, _, factory_name = spec.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module_name.startswith(exc.name):
                raise  # the module exists but one of its imports is missing: a real bug
            log.warning("service module %s is not available; not serving it", module_name)
            return None
        factory = getattr(module, factory_name or "create_service", None)
        if factory is None:
            log.warning("%s has no %s(); not serving it", module_name, factory_name or "create_service")
            return None
        service: Service = factory(self)
        return service
