"""Fixtures for the store tests: every test runs against both backends (memory and SQLite) on a ManualClock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from pipework.clock import ManualClock
from pipework.store import Store
from pipework.store.memory import MemoryStore
from pipework.store.sqlite import SqliteStore


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=1_000_000.0)


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, clock: ManualClock, tmp_path: Path) -> AsyncIterator[Store]:
    opened: Store
    if request.param == "memory":
        opened = MemoryStore(clock)
    else:
        opened = await SqliteStore.open(str(tmp_path / "data"), clock)
    yield opened
    await opened.close()


Until = Callable[[Callable[[], bool]], Awaitable[None]]


@pytest.fixture
def until() -> Until:
    """`await until(cond)`: let other tasks and the store's threads run until `cond()` holds (a guard with a 5 s
    limit, not a time-based wait: time-based behaviour is driven by the ManualClock)."""
    return _until


async def _until(condition: Callable[[], bool], limit: float = 5.0) -> None:
    """Let other tasks and the store's threads run until `condition()` holds (a guard, not a time-based wait)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.001)
