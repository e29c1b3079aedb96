"""The SQLite Store: one WAL-mode file, a single writer thread doing group commits, readers on their own connections.

Durability: `synchronous=FULL` in WAL mode fsyncs the WAL on every COMMIT, and a caller's `commit` resolves only
after the COMMIT that contains its writes returned, so everything acknowledged survives a crash or power loss.
(NORMAL would skip that fsync and can lose the last transactions on power loss, which is why it is not the default.)
"""

from __future__ import annotations

import asyncio
import os
import queue as thread_queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson

from pipework.clock import Clock
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
from pipework.store.errors import StoreClosed
from pipework.store.sqlite_writes import ITEM_COLUMNS, SqliteWriter, item_from_row
from pipework.store.waiting import Notifier, log_key, queue_key, wait_either, wait_until_due

T = TypeVar("T")

# How many callers' transactions one group commit may carry; bounds the latency one COMMIT adds to the others.
MAX_GROUP = 512


@dataclass
class _Job:
    """One caller's unit of work for the writer: `run(writer)` inside its own savepoint."""

    run: Callable[[SqliteWriter], Any]
    future: asyncio.Future[Any]
    touched: set[str] = field(default_factory=set)


class SqliteStore(Store):
    """A durable Store in `<directory>/pipework.db`. Open it with `await SqliteStore.open(directory, clock)`.

    Parameters:
        path: the data directory (created if missing) or a path ending in `.db` for the file itself.
        clock: the time source.
        synchronous: SQLite's `synchronous` pragma, "FULL" (durable against power loss) or "NORMAL".
        readers: size of the reader thread pool (each reader thread has its own connection).
    """

    def __init__(self, path: str, clock: Clock, *, synchronous: str = "FULL", readers: int = 4) -> None:
        if not path.endswith(".db"):
            os.makedirs(path, exist_ok=True)
            path = os.path.join(path, "pipework.db")
        self.path = path
        self.clock = clock
        self._synchronous = synchronous
        self._jobs: thread_queue.SimpleQueue[_Job | None] = thread_queue.SimpleQueue()
        self._notifier = Notifier()
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reader_local = threading.local()
        self._reader_connections: list[sqlite3.Connection] = []
        self._reader_lock = threading.Lock()
        self._readers = ThreadPoolExecutor(max_workers=readers, thread_name_prefix="pipework-store-read")
        self._writer_ready = threading.Event()
        self._writer_error: BaseException | None = None
        self._writer = threading.Thread(target=self._writer_main, name="pipework-store-write", daemon=True)
        self.group_commits = 0  # how many COMMITs the writer issued (for tests and metrics)

    @classmethod
    async def open(
        cls, path: str, clock: Clock, *, synchronous: str = "FULL", readers: int = 4
    ) -> SqliteStore:
        """Open (creating if needed) the store and start its writer thread."""
        store = cls(path, clock, synchronous=synchronous, readers=readers)
        store._loop = asyncio.get_running_loop()
        store._writer.start()
        await asyncio.to_thread(store._writer_ready.wait)
        if store._writer_error is not None:
            raise store._writer_error
        return store

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30.0)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {self._synchronous}")
        conn.execute("PRAGMA foreign_keys = OFF")
        return conn

    # ── the writer thread ──

    def _writer_main(self) -> None:
        try:
            conn = self._connect()
            writer = SqliteWriter(conn)
        except BaseException as error:
            self._writer_error = error
            self._writer_ready.set()
            return
        self._writer_ready.set()
        try:
            while True:
                job = self._jobs.get()
                if job is None:
                    return
                group = [job]
                # Group commit: everything queued while the previous COMMIT was fsyncing shares this one.
                stop = False
                while len(group) < MAX_GROUP:
                    try:
                        more = self._jobs.get_nowait()
                    except thread_queue.Empty:
                        break
                    if more is None:
                        stop = True
                        break
                    group.append(more)
                self._run_group(conn, writer, group)
                if stop:
                    return
        finally:
            conn.close()

    def _run_group(self, conn: sqlite3.Connection, writer: SqliteWriter, group: list[_Job]) -> None:
        outcomes: list[tuple[_Job, bool, Any]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for job in group:
                writer.touched = job.touched
                conn.execute("SAVEPOINT job")
                try:
                    result = job.run(writer)
                except Exception as error:
                    # Only this caller's writes are undone; the others in the group still commit.
                    conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                    job.touched.clear()
                    outcomes.append((job, False, error))
                else:
                    conn.execute("RELEASE job")
                    outcomes.append((job, True, result))
            conn.execute("COMMIT")
            self.group_commits += 1
        except Exception as error:
            # The COMMIT (or BEGIN) itself failed: nothing of this group is durable, so every caller gets the error.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            outcomes = [(job, False, error) for job in group]
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._resolve, outcomes)

    def _resolve(self, outcomes: list[tuple[_Job, bool, Any]]) -> None:
        touched: set[str] = set()
        for job, ok, value in outcomes:
            if ok:
                touched |= job.touched
            if job.future.done():  # the caller was cancelled; its writes are committed all the same
                continue
            if ok:
                job.future.set_result(value)
            else:
                job.future.set_exception(value)
        self._notifier.notify(touched)

    async def _write(self, run: Callable[[SqliteWriter], T]) -> T:
        if self._closed:
            raise StoreClosed("the store is closed")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        # Retrieve the outcome even if the caller was cancelled, so asyncio does not log it as never retrieved.
        future.add_done_callback(lambda done: done.cancelled() or done.exception())
        self._jobs.put(_Job(run, future))
        # shield: if the caller is cancelled the write may still commit; the future just has nobody to tell.
        return await asyncio.shield(future)

    async def _commit(self, batch: Batch) -> CommitResult:
        now = self.clock.now()
        writes = list(batch.writes)

        def run(writer: SqliteWriter) -> CommitResult:
            return CommitResult(writer.apply_all(writes, now))

        return await self._write(run)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._jobs.put(None)
        await asyncio.to_thread(self._writer.join)
        self._readers.shutdown(wait=True)
        with self._reader_lock:
            for conn in self._reader_connections:
                conn.close()
            self._reader_connections.clear()

    # ── reads (reader threads, one connection each; every statement sees the latest committed state) ──

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._reader_local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._reader_local.conn = conn
            with self._reader_lock:
                self._reader_connections.append(conn)
        return conn

    async def _read(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        if self._closed:
            raise StoreClosed("the store is closed")

        def run() -> list[Any]:
            return self._reader().execute(sql, params).fetchall()

        return await asyncio.get_running_loop().run_in_executor(self._readers, run)

    def _read_point(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        """A lookup by primary key, run on the calling (event-loop) thread: it takes microseconds in WAL mode,
        where readers never wait for the writer, so the hop to a reader thread would cost more than the read."""
        if self._closed:
            raise StoreClosed("the store is closed")
        return self._reader().execute(sql, params).fetchall()

    async def get_resource(self, kind: str, name: str) -> Resource | None:
        rows = await self._read(
            "SELECT kind, name, body, version, created, updated FROM resources WHERE kind = ? AND name = ?",
            (kind, name),
        )
        return _resource(rows[0]) if rows else None

    async def list_resources(
        self, kind: str, *, prefix: str = "", limit: int = 100, next_token: str | None = None
    ) -> ResourcePage:
        # Prefix as a range (name >= prefix AND name < prefix + U+10FFFF) so the primary key index serves it.
        rows = await self._read(
            "SELECT kind, name, body, version, created, updated FROM resources "
            "WHERE kind = ? AND name >= ? AND name < ? AND name > ? ORDER BY name LIMIT ?",
            (kind, prefix, prefix + "\U0010ffff", next_token or "", limit + 1),
        )
        page = [_resource(row) for row in rows[:limit]]
        return ResourcePage(page, page[-1].name if len(rows) > limit else None)

    async def read_log(self, log: str, *, after: int = 0, limit: int = 100) -> list[LogRecord]:
        rows = await self._read(
            "SELECT log, position, time, key, payload FROM log_records WHERE log = ? AND position > ? "
            "ORDER BY position LIMIT ?",
            (log, after, limit),
        )
        return [LogRecord(r[0], r[1], r[2], r[3], bytes(r[4])) for r in rows]

    async def read_log_window(
        self, log: str, start: float, end: float, *, after: tuple[float, int] | None = None, limit: int = 1000
    ) -> list[LogRecord]:
        # A range on the (log, time) index; only records sharing one time are sorted by position.
        after_time, after_position = after if after is not None else (start, 0)
        rows = await self._read(
            "SELECT log, position, time, key, payload FROM log_records WHERE log = ? AND time >= ? AND time < ? "
            "AND (time > ? OR position > ?) ORDER BY time, position LIMIT ?",
            (log, max(start, after_time), end, after_time, after_position, limit),
        )
        return [LogRecord(r[0], r[1], r[2], r[3], bytes(r[4])) for r in rows]

    async def log_stats(self, log: str) -> LogStats:
        rows = await self._read(
            "SELECT count, size_bytes, last_position, "
            "(SELECT min(position) FROM log_records WHERE log = ?) FROM log_heads WHERE log = ?",
            (log, log),
        )
        if not rows:
            return LogStats(0, 0, 0, 0)
        count, size, last, first = rows[0]
        return LogStats(count, size, first or 0, last)

    async def wait_for_log(self, log: str, *, after: int, timeout: float) -> bool:
        future = self._notifier.future(log_key(log))
        deadline = self.clock.now() + timeout  # absolute: time that passes while reading counts
        if (await self.log_stats(log)).last_position > after:
            return True
        await wait_either(future, self.clock, deadline, timer=False)
        return (await self.log_stats(log)).last_position > after

    async def lease(
        self,
        queue: str,
        *,
        max_items: int = 1,
        visibility_timeout: float,
        fifo: bool = False,
        max_receive_count: int | None = None,
        dead_letter_queue: str | None = None,
    ) -> list[QueueItem]:
        now = self.clock.now()
        return await self._write(
            lambda writer: writer.lease(
                queue, now, max_items, visibility_timeout, fifo, max_receive_count, dead_letter_queue
            )
        )

    async def get_item(self, queue: str, item_id: str) -> QueueItem | None:
        rows = await self._read(
            f"SELECT {ITEM_COLUMNS}, lease_token FROM items WHERE queue = ? AND id = ?", (queue, item_id)
        )
        return item_from_row(rows[0], self.clock.now()) if rows else None

    async def peek(self, queue: str, *, after_seq: int = 0, limit: int = 100) -> list[QueueItem]:
        rows = await self._read(
            f"SELECT {ITEM_COLUMNS}, lease_token FROM items WHERE queue = ? AND seq > ? ORDER BY seq LIMIT ?",
            (queue, after_seq, limit),
        )
        now = self.clock.now()
        return [item_from_row(row, now) for row in rows]

    async def counts(self, queue: str, *, now: float | None = None) -> QueueCounts:
        at = self.clock.now() if now is None else now
        rows = await self._read(
            "SELECT coalesce(sum(due_at <= ?), 0), coalesce(sum(due_at > ? AND lease_token IS NOT NULL), 0), "
            "coalesce(sum(due_at > ? AND lease_token IS NULL), 0), "
            "(SELECT count(*) FROM dead_letters WHERE queue = ?) FROM items WHERE queue = ?",
            (at, at, at, queue, queue),
        )
        visible, in_flight, delayed, dead = rows[0]
        return QueueCounts(visible, in_flight, delayed, dead)

    async def list_dead_letters(
        self, queue: str, *, after_seq: int = 0, limit: int = 100
    ) -> list[DeadLetter]:
        rows = await self._read(
            "SELECT queue, id, seq, payload, group_id, attributes, enqueued_at, attempts, dead_lettered_at, error "
            "FROM dead_letters WHERE queue = ? AND seq > ? ORDER BY seq LIMIT ?",
            (queue, after_seq, limit),
        )
        return [
            DeadLetter(
                r[0], r[1], r[2], bytes(r[3]), r[4], orjson.loads(r[5]), r[6], r[7], r[8], orjson.loads(r[9])
            )
            for r in rows
        ]

    async def wait_for_due(self, queue: str, *, timeout: float, fifo: bool = False) -> bool:
        future = self._notifier.future(queue_key(queue))
        now = self.clock.now()
        if fifo:
            # As `lease(fifo=True)` walks the queue: a group's first pending item decides for the whole group.
            rows = await self._read(
                "SELECT group_id, due_at FROM items WHERE queue = ? ORDER BY seq", (queue,)
            )
            blocked: set[str] = set()
            next_due = None
            for group_id, due_at in rows:
                if due_at > now:
                    next_due = due_at if next_due is None else min(next_due, due_at)
                    if group_id is not None:
                        blocked.add(group_id)
                elif group_id is None or group_id not in blocked:
                    return True
        else:
            rows = await self._read("SELECT min(due_at) FROM items WHERE queue = ?", (queue,))
            next_due = rows[0][0]
        return await wait_until_due(future, self.clock, now=now, timeout=timeout, next_due=next_due)

    async def kv_get(self, bucket: str, key: str) -> KvEntry | None:
        rows = self._read_point(
            "SELECT bucket, key, value, revision, expires_at FROM kv WHERE bucket = ? AND key = ? "
            "AND (expires_at IS NULL OR expires_at > ?)",
            (bucket, key, self.clock.now()),
        )
        return KvEntry(rows[0][0], rows[0][1], bytes(rows[0][2]), rows[0][3], rows[0][4]) if rows else None

    async def kv_list(
        self,
        bucket: str,
        *,
        prefix: str = "",
        limit: int = 1000,
        start: str | None = None,
        end: str | None = None,
        reverse: bool = False,
    ) -> list[KvEntry]:
        # Both bounds as key ranges so the primary key index serves the scan in either direction.
        low = prefix if start is None or start < prefix else start
        high = prefix + "\U0010ffff" if prefix else None
        if end is not None and (high is None or end < high):
            high = end
        rows = await self._read(
            "SELECT bucket, key, value, revision, expires_at FROM kv WHERE bucket = ? AND key >= ? "
            + ("AND key < ? " if high is not None else "AND ? IS NULL ")
            + "AND substr(key, 1, ?) = ? "
            "AND (expires_at IS NULL OR expires_at > ?) ORDER BY key "
            + ("DESC" if reverse else "ASC")
            + " LIMIT ?",
            (bucket, low, high, len(prefix), prefix, self.clock.now(), limit),
        )
        return [KvEntry(r[0], r[1], bytes(r[2]), r[3], r[4]) for r in rows]

    async def kv_stats(self, bucket: str) -> tuple[int, int]:
        rows = await self._read(
            "SELECT count(*), coalesce(sum(length(value)), 0) FROM kv WHERE bucket = ? "
            "AND (expires_at IS NULL OR expires_at > ?)",
            (bucket, self.clock.now()),
        )
        return int(rows[0][0]), int(rows[0][1])


def _resource(row: tuple[Any, ...]) -> Resource:
    kind, name, body, version, created, updated = row
    return Resource(kind, name, orjson.loads(body), version, created, updated)
