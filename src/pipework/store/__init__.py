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
    NotInFlight,
    RevisionConflict,
    StaleLease,
    StoreClosed,
    StoreError,
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
    "LogRecord",
    "LogStats",
    "NotInFlight",
    "QueueCounts",
    "QueueItem",
    "Resource",
    "ResourcePage",
    "RevisionConflict",
    "StaleLease",
    "Store",
    "StoreClosed",
    "StoreError",
    "VersionConflict",
    "open_store",
]


async def open_store(url: str, clock: Clock | None = None) -> Store:
    """Open a store: `memory://` for the in-memory backend; `postgresql://USER:PASS@HOST:PORT/DB` (or
    `postgres://…`; query options in `PostgresStore`) for PostgreSQL; `sqlite:///dir`, `sqlite://dir` or a bare
    directory path for the SQLite backend (the file is `<dir>/pipework.db`)."""
    clock = clock or SystemClock()
    if url.startswith("memory:"):
        from pipework.store.memory import MemoryStore

        return MemoryStore(clock)
    if url.startswith(("postgresql://", "postgres://")):
        from pipework.store.postgres import PostgresStore

        return await PostgresStore.open(url, clock)
    from pipework.store.sqlite import SqliteStore

    path = url.removeprefix("sqlite://")
    return await SqliteStore.open(path, clock)
