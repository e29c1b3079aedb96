"""The pytest plugin (registered as ``pipework`` through the ``pytest11`` entry point).

Fixtures:
- ``pipework_server``: a Pipework server in the test process on a free port, in-memory, started for each test
  that uses it; ``AWS_ENDPOINT_URL`` and dummy credentials are set for the test, so ``boto3.client("events")``
  talks to it with no other configuration. Its ``.client(service)`` gives ready boto3 clients.
- ``pipework_functions``: the server's local functions, as a dict: ``pipework_functions["notify"] = handler``
  makes ``arn:aws:lambda:us-east-1:000000000000:function:notify`` callable (``handler(event, context)``), at any
  time during the test.

Marker:
- ``@pytest.mark.pipework(manual_clock=True, start=EPOCH_SECONDS)``: the test's server runs on a clock that moves
  only when told: ``pipework_server.advance(seconds)`` (or ``.set_time(epoch)``) moves it and returns once every
  timer due by then has run and the work it started has settled; ``pipework_server.now()`` reads it. ``start``
  defaults to the real time when the test starts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pipework.app import Settings
from pipework.clock import Clock, ManualClock
from pipework.testing import RunningServer, serve_in_thread


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "pipework(manual_clock=False, start=None): run the test's pipework_server on a manual clock "
        "(moved with pipework_server.advance(seconds)), starting at `start` epoch seconds",
    )


@pytest.fixture
def pipework_server(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RunningServer]:
    marker = request.node.get_closest_marker("pipework")
    options: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    clock: Clock | None = None
    if options.get("manual_clock"):
        start = options.get("start")
        clock = ManualClock(start=time.time() if start is None else float(start))
    with serve_in_thread(Settings(memory=True), clock=clock) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint_url)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
        monkeypatch.setenv("AWS_DEFAULT_REGION", server.region)
        yield server


@pytest.fixture
def pipework_functions(pipework_server: RunningServer) -> dict[str, Callable[[Any, Any], Any]]:
    # The registry's own dict: functions are looked up when invoked, so entries added later count.
    return pipework_server.pipework.functions.functions
