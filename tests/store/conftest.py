"""Fixtures for the store tests: every test runs against every backend (memory, SQLite, PostgreSQL) on a
ManualClock. PostgreSQL tests skip without a server, except in CI (see `support.postgres`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from pipework.clock import ManualClock
from pipework.store import Store
from pipework.store.memory import MemoryStore
from pipework.store.postgres import PostgresStore
from pipework.store.sqlite import SqliteStore
from support.postgres import drop_schema, new_schema, require_postgres


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=1_000_000.0)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, clock: ManualClock, tmp_path: Path) -> AsyncIterator[Store]:
    opened: Store
    if request.param == "memory":
        opened = MemoryStore(clock)
    elif request.param == "sqlite":
        opened = await SqliteStore.open(str(tmp_path / "data"), clock)
    else:
        async with postgres_schema() as open_postgres:
            opened = await open_postgres(clock)
            yield opened
            await opened.close()
        return
    yield opened
    await opened.close()


OpenPostgres = Callable[[ManualClock], Awaitable[PostgresStore]]


@contextlib.asynccontextmanager
async def postgres_schema() -> AsyncIterator[OpenPostgres]:
    """`open(clock)` opens a PostgresStore (a "node") on one fresh schema, dropped afterwards; every store opened
    shares it, like nodes sharing a database."""
    url = require_postgres()
    schema = new_schema()

    async def open_store(clock: ManualClock) -> PostgresStore:
        return await PostgresStore.open(url, clock, schema=schema, pool_min=1, pool_max=4)

    try:
        yield open_store
    finally:
        await drop_schema(schema)


@pytest.fixture
async def postgres() -> AsyncIterator[OpenPostgres]:
    """Open PostgreSQL stores on one schema of their own: `store = await postgres(clock)` (close them yourself)."""
    async with postgres_schema() as open_store:
        yield open_store


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A store URL (`postgresql://…?schema=…`) naming a fresh schema, dropped afterwards, for `open_store`."""
    url = require_postgres()
    schema = new_schema()
    try:
        yield f"{url}?schema={schema}&pool_min=1&pool_max=4"
    finally:
        await drop_schema(schema)


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
