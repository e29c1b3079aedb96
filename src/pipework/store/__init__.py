"""Pipework store: the Store protocol (base), its errors, and the backends: sqlite (durable, embedded), postgres
(several nodes sharing one database) and memory (tests).

`open_store(url, clock)` picks a backend from a URL: `memory://`, `postgresql://…`, or a data directory /
`sqlite:///path`.
"""

from __future__ import annotations

from pipework.clock import Clock, SystemClock
from pipework.store.base import (
    Batch,
    CommitResult,
    DeadLetter,
    KvEntry,
    Lease,
    LogRecord,
    LogStats,
    QueueCounts,
    QueueItem,
    Resource,
    ResourcePage,
    Store,
)
from pipework.store.errors import (
    Conflict,
    DuplicateItem,
    ItemNotFound,
    LeaseLost,
    NotInFlight,
    RevisionConflict,
    SchemaTooNew,
    StaleLease,
    StoreClosed,
    StoreError,
    StoreUnavailable,
    VersionConflict,
)

__all__ = [
    "Batch",
    "CommitResult",
    "Conflict",
    "DeadLetter",
    "DuplicateItem",
    "ItemNotFound",
    "KvEntry",
    "Lease",
    "LeaseLost",
    "LogRecord",
    "LogStats",
    "NotInFlight",
    "QueueCounts",
    "QueueItem",
    "Resource",
    "ResourcePage",
    "RevisionConflict",
    "SchemaTooNew",
    "StaleLease",
    "Store",
    "StoreClosed",
    "StoreError",
    "StoreUnavailable",
    "VersionConflict",
    "open_store",
    "redacted_url",
]


def redacted_url(url: str) -> str:
    """A store URL without its password, for showing (banners, health, cluster status)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


async def open_store(
    url: str, clock: Clock | None = None, *, region: str = "us-east-1", account: str = "000000000000"
) -> Store:
    """Open a store and bring it to the current namespaces (`pipework.store.migrations`): `memory://` for the
    in-memory backend; `postgresql://USER:PASS@HOST:PORT/DB` (or `postgres://…`; query options in `PostgresStore`)
    for PostgreSQL; `sqlite:///dir`, `sqlite://dir` or a bare directory path for the SQLite backend (the file is
    `<dir>/pipework.db`). `region` and `account` (the server's defaults) are where data written before records
    carried them is migrated to. Raises `SchemaTooNew` (with the store closed) for data of a newer Pipework."""
    from pipework.store.migrations import Defaults, migrate

    clock = clock or SystemClock()
    store: Store
    if url.startswith("memory:"):
        from pipework.store.memory import MemoryStore

        store = MemoryStore(clock)
        where = "the in-memory store"
    elif url.startswith(("postgresql://", "postgres://")):
        from pipework.store.postgres import PostgresStore

        postgres = await PostgresStore.open(url, clock)
        try:
            # Several nodes may start at once: one migrates, the others wait and then find nothing left to do.
            async with postgres.exclusive("migrate"):
                await migrate(
                    postgres, Defaults(region, account), where=f"The PostgreSQL schema {postgres.schema}"
                )
        except BaseException:
            await postgres.close()
            raise
        return postgres
    else:
        from pipework.store.sqlite import SqliteStore

        path = url.removeprefix("sqlite://")
        store = await SqliteStore.open(path, clock)
        where = f"The data directory {path}"
    try:
        await migrate(store, Defaults(region, account), where=where)
    except BaseException:
        await store.close()
        raise
    return store
