"""Fixtures for the target tests: a minimal real instance (in memory, on a ManualClock) whose served APIs the
queue, bus and sdk targets call, as the server's do."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from pipework.app import Pipework, Settings
from pipework.clock import ManualClock
from pipework.services.base import RequestContext

START = 1_800_000_000.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def pipework() -> AsyncIterator[Pipework]:
    instance = await Pipework.open(Settings(memory=True), clock=ManualClock(start=START))
    yield instance
    await instance.close()


async def call(pipework: Pipework, service: str, operation: str, **params: Any) -> dict[str, Any]:
    """An operation of a served API, as a request would run it."""
    served = {s.name: s for s in pipework.served}[service]
    ctx = RequestContext(service, operation, "us-east-1", "000000000000", "test")
    return await served.handle(operation, params, ctx)
