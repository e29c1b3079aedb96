"""The real PostgreSQL for tests: where it is, whether it answers, and a throwaway schema per test.

Tests that need it skip when the server is absent, except in CI (`CI=true`), where its absence is an error:
`.ci/run` starts PostgreSQL and creates the `pipework` role and the `pipework_test` database.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
from functools import cache

import pytest

URL = os.environ.get("PIPEWORK_TEST_POSTGRES", "postgresql://pipework:pipework@127.0.0.1:5432/pipework_test")


@cache
def _unavailable() -> str | None:
    """Why PostgreSQL cannot be used (None when it can). Checked once per test session, in a thread of its own
    since tests call it from inside their event loop."""
    outcome: list[str | None] = []

    async def check() -> None:
        try:
            import asyncpg
        except ImportError:
            outcome.append("asyncpg is not installed (pip install -e '.[postgres]')")
            return
        try:
            conn = await asyncpg.connect(URL, timeout=5)
        except (OSError, asyncpg.PostgresError) as error:
            outcome.append(f"PostgreSQL at {URL} is not reachable: {error}")
            return
        await conn.close()
        outcome.append(None)

    thread = threading.Thread(target=lambda: asyncio.run(check()))
    thread.start()
    thread.join()
    return outcome[0]


def require_postgres() -> str:
    """The test database's URL; skips the test when PostgreSQL is absent, fails it in CI."""
    reason = _unavailable()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs PostgreSQL: {reason}")
        pytest.skip(reason)
    return URL


def new_schema() -> str:
    """A fresh schema name, so tests run beside each other and beside other users of the server."""
    return "test_" + secrets.token_hex(6)


async def drop_schema(schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(URL)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()
