"""The pytest plugin (registered as ``pipework`` through the ``pytest11`` entry point).

Fixtures:
- ``pipework_server``: a Pipework server in the test process on a free port, in-memory, started for each test
  that uses it; ``AWS_ENDPOINT_URL`` and dummy credentials are set for the test, so ``boto3.client("events")``
  talks to it with no other configuration. Its ``.client(service)`` gives ready boto3 clients.
- ``pipework_functions``: the server's local functions, as a dict: ``pipework_functions["notify"] = handler``
  makes ``arn:aws:lambda:us-east-1:000000000000:function:notify`` callable (``handler(event, context)``), at any
  time during the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pipework.app import Settings
from pipework.testing import RunningServer, serve_in_thread


@pytest.fixture
def pipework_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningServer]:
    settings = Settings(memory=True)
    with serve_in_thread(settings) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint_url)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
        monkeypatch.setenv("AWS_DEFAULT_REGION", settings.region)
        yield server


@pytest.fixture
def pipework_functions(pipework_server: RunningServer) -> dict[str, Callable[[Any, Any], Any]]:
    # The registry's own dict: functions are looked up when invoked, so entries added later count.
    return pipework_server.pipework.functions.functions
