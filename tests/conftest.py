"""Shared fixtures: a real Pipework server, in-process (`server`, `make_server`) or as a subprocess (`server_process`).

`server` runs uvicorn on a free port in a background thread with its own event loop and an in-memory store (or
PostgreSQL, in modules that override `server_store`);
boto3 clients from ``server.client("sqs")`` talk to it over real HTTP. `server_process(data_dir)` starts
``pipework serve`` as a child process (for crash and restart tests) and waits until it answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pipework.api.app import gateway_app
from pipework.app import Settings
from pipework.clock import Clock
from pipework.connectors.targets.function import Handler
from pipework.services.base import Service
from pipework.testing import RunningServer, make_client, serve_app, serve_in_thread

START_TIMEOUT = 20.0


MakeServer = Callable[..., RunningServer]


@pytest.fixture
def server_store() -> str:
    """The store `make_server` gives each server: "memory", or "postgres" (a fresh schema per server, dropped at
    teardown; skipped without a PostgreSQL server outside CI). A module overrides this fixture to run its tests on
    PostgreSQL."""
    return "memory"


@pytest.fixture
def make_server(server_store: str) -> Iterator[MakeServer]:
    """Start servers on the store `server_store` names (in memory by default): ``make_server(clock=...,
    functions={...}, region=..., account=...)`` builds an instance with `Pipework.open`, as ``pipework serve``
    does; ``make_server(fakes=[...])`` serves only the given services (wire-layer tests), with no instance behind
    them. Every server started is stopped at teardown.
    """
    stack = contextlib.ExitStack()

    def store_settings() -> dict[str, Any]:
        if server_store == "memory":
            return {"memory": True}
        assert server_store == "postgres", server_store
        from support.postgres import drop_schema, new_schema, require_postgres

        url = require_postgres()
        schema = new_schema()
        # Registered before the server is entered, so it runs after the server has stopped.
        stack.callback(lambda: asyncio.run(drop_schema(schema)))
        return {"store": f"{url}?schema={schema}&pool_min=1&pool_max=4"}

    def start(
        *,
        clock: Clock | None = None,
        functions: dict[str, Handler] | None = None,
        fakes: Iterable[Service] | None = None,
        region: str = "us-east-1",
        account: str = "000000000000",
    ) -> RunningServer:
        if fakes is not None:
            return stack.enter_context(serve_app(gateway_app(fakes, region=region, account=account)))
        settings = Settings(region=region, account=account, **store_settings())
        return stack.enter_context(serve_in_thread(settings, clock=clock, functions=functions))

    with stack:
        yield start


@pytest.fixture
def server(make_server: MakeServer) -> RunningServer:
    """A real server with the default services and an in-memory store: ``server.endpoint_url``,
    ``server.client("sqs")``."""
    return make_server()


# ───────────────────────────────────────────── subprocess server ─────────────────────────────────────────────

_LISTENING = re.compile(r"listening on (http://\S+)")


class ServerProcess:
    """``pipework serve`` running as a child process.

    Attributes: `endpoint_url`, `data_dir`, `process` (the `subprocess.Popen`), `output` (lines printed so far).
    """

    def __init__(self, data_dir: Path, extra_args: Iterable[str] = ()) -> None:
        self.data_dir = Path(data_dir)
        self.output: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        command = [sys.executable, "-m", "pipework.cli.main", "serve", "--port", "0", "--data", str(data_dir)]
        self.process = subprocess.Popen(
            [*command, *extra_args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._pump_thread = threading.Thread(target=self._pump, daemon=True)
        self._pump_thread.start()
        self.endpoint_url = self._wait_for_endpoint()
        self._wait_until_answering()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _wait_for_endpoint(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=0.1)
            except queue.Empty:
                continue
            if line is None:
                break
            self.output.append(line)
            found = _LISTENING.search(line)
            if found:
                return found.group(1)
        self.kill()
        raise RuntimeError("pipework serve did not start:\n" + "".join(self.output))

    def _wait_until_answering(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                with urllib.request.urlopen(self.endpoint_url + "/_pipework/health", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                if time.monotonic() > deadline:
                    self.kill()
                    raise
            time.sleep(0.01)

    def client(self, service: str, **config: Any) -> Any:
        return make_client(self.endpoint_url, service, **config)

    def read_output(self) -> str:
        """Everything the process printed so far (all of it once it has exited)."""
        if self.process.poll() is not None:
            self._pump_thread.join(START_TIMEOUT)
        while True:
            try:
                line = self._lines.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.output.append(line)
        return "".join(self.output)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        """Send `sig` (graceful shutdown) and wait for the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout)

    def kill(self) -> int:
        """SIGKILL: a crash, with no chance to flush or close anything."""
        if self.process.poll() is None:
            self.process.kill()
        return self.process.wait(START_TIMEOUT)


@pytest.fixture
def server_process() -> Iterator[Callable[..., ServerProcess]]:
    """Start ``pipework serve --port 0 --data DIR [args...]`` subprocesses: ``server_process(data_dir, *args)``.
    Each is killed at teardown if still running."""
    started: list[ServerProcess] = []

    def start(data_dir: Path, *extra_args: str) -> ServerProcess:
        process = ServerProcess(data_dir, extra_args)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()
