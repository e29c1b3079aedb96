"""Running Pipework inside a test process: a real server on a free port, in a background thread, with an
in-memory store. Used by the pytest plugin (`pipework.pytest_plugin`) and by Pipework's own tests.

    with serve_in_thread(Settings(memory=True)) as server:
        boto3.client("sqs", endpoint_url=server.endpoint_url, ...)
        server.pipework.events  # the running instance, once started
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import uvicorn

from pipework.app import Pipework, Settings, asgi_app
from pipework.clock import SETTLE_TIMEOUT, Clock, ManualClock
from pipework.connectors.targets.function import Handler

if TYPE_CHECKING:
    from pipework.api.app import PipeworkApp

START_TIMEOUT = 20.0
_sessions: list[Any] = []  # one boto3 session: clients are much cheaper to make from a shared one


def make_client(endpoint_url: str, service: str, *, region: str = "us-east-1", **config: Any) -> Any:
    """A boto3 client for ``service`` at ``endpoint_url``: dummy credentials, no retries; ``config`` goes to
    botocore's ``Config`` (e.g. ``parameter_validation=False``)."""
    import boto3
    from botocore.config import Config

    options: dict[str, Any] = {"retries": {"total_max_attempts": 1}}
    options.update(config)
    if not _sessions:
        _sessions.append(boto3.session.Session())
    return _sessions[0].client(
        service,
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(**options),
    )


class _QuickServer(uvicorn.Server):
    """uvicorn, minus the 0.1 s polls in its main loop and shutdown: tests start and stop many servers."""

    async def main_loop(self) -> None:
        while not await self.on_tick(0):
            await asyncio.sleep(0.002)

    async def shutdown(self, sockets: list[Any] | None = None) -> None:
        end_streams = getattr(self.config.app, "end_streams", None)
        if end_streams is not None:
            end_streams()
        for listener in self.servers:
            listener.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        deadline = time.monotonic() + START_TIMEOUT
        while (self.server_state.connections or self.server_state.tasks) and time.monotonic() < deadline:
            await asyncio.sleep(0.002)
        await self.lifespan.shutdown()


class RunningServer:
    """A Pipework app served by uvicorn in a background thread.

    Attributes: `endpoint_url`; `pipework` (the instance once started, e.g. to reach its store, clock or
    services); `loop` (the server's event loop: `run(coro)` runs a coroutine there and returns its result). On a
    `ManualClock`, `advance(seconds)` and `set_time(epoch)` move time and return once the work it started has
    settled.
    """

    def __init__(self, app: PipeworkApp) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            lifespan="on",
            log_level="warning",
            access_log=False,
        )
        self._server = _QuickServer(config)
        self._thread = threading.Thread(target=self._serve, name="pipework-server", daemon=True)
        self._clients: dict[tuple[str, str, tuple[tuple[str, str], ...]], Any] = {}
        self.endpoint_url = ""

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._server.serve())

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the Pipework server did not start")
            time.sleep(0.002)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.endpoint_url = f"http://127.0.0.1:{port}"
        instance = self.app.pipework
        if isinstance(instance, Pipework):
            instance.functions.endpoint_url = self.endpoint_url  # what functions' SDKs call

    @property
    def pipework(self) -> Pipework:
        """The running instance (an app serving only a gateway has none)."""
        instance = self.app.pipework
        if not isinstance(instance, Pipework):
            raise RuntimeError("this server runs no Pipework instance (or it has not started)")
        return instance

    @property
    def region(self) -> str:
        return self.app.gateway.region if self.app.gateway is not None else "us-east-1"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=START_TIMEOUT)
        self.loop.close()

    def client(self, service: str, *, region: str | None = None, **config: Any) -> Any:
        """A boto3 client for ``service`` signing for `region` (default: the server's), cached per service, region
        and config; see `make_client`."""
        region = region or self.region
        key = (service, region, tuple(sorted((k, repr(v)) for k, v in config.items())))
        if key not in self._clients:
            self._clients[key] = make_client(self.endpoint_url, service, region=region, **config)
        return self._clients[key]

    def run(self, coroutine: Any, timeout: float = 10.0) -> Any:
        """Run ``coroutine`` on the server's event loop (where the store and services live); return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    @property
    def clock(self) -> ManualClock:
        """The server's manual clock (a server started with ``ManualClock``, e.g. ``pipework(manual_clock=True)``)."""
        clock = self.pipework.clock
        if not isinstance(clock, ManualClock):
            raise RuntimeError(
                "this server runs on the system clock: start it with a ManualClock to move time"
            )
        return clock

    def now(self) -> float:
        """The server's clock time, in epoch seconds."""
        return self.pipework.clock.now()

    def advance(self, seconds: float) -> float:
        """Move the server's manual clock forward by ``seconds`` and return the new time, once every timer due by
        then has run and the work it started has settled (schedules fired, deliveries made or failed and
        committed, retries and visibility timeouts due); see `pipework.clock.ManualClock.travel_to`."""
        return float(self.run(self.clock.travel(seconds), timeout=SETTLE_TIMEOUT + 5))

    def set_time(self, epoch_seconds: float) -> float:
        """Move the server's manual clock forward to ``epoch_seconds``, as `advance` does."""
        return float(self.run(self.clock.travel_to(epoch_seconds), timeout=SETTLE_TIMEOUT + 5))


@contextlib.contextmanager
def serve_in_thread(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    functions: Mapping[str, Handler] | None = None,
) -> Iterator[RunningServer]:
    """Serve an instance (in memory unless `settings` say otherwise) for the duration of the block; see
    `Pipework.open` for the parameters."""
    app = asgi_app(settings or Settings(memory=True), clock=clock, functions=functions)
    with serve_app(app) as running:
        yield running


@contextlib.contextmanager
def serve_app(app: PipeworkApp) -> Iterator[RunningServer]:
    """Serve an ASGI app built by `pipework.app.asgi_app` or `pipework.api.app.gateway_app` for the block."""
    running = RunningServer(app)
    running.start()
    try:
        yield running
    finally:
        running.stop()
