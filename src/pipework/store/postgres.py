"""The PostgreSQL Store: the same protocol as SQLite on a database that several Pipework nodes share.

Each commit is one transaction on a pooled asyncpg connection (PostgreSQL group-commits concurrent transactions
itself); reads run on any pooled connection and see everything committed, by any node. Acknowledged means
committed: every session runs with `synchronous_commit = on`, whatever the server's default.

Waits (`wait_for_due`, `wait_for_log`) are woken by every node's commits: once a transaction that touched a queue,
a log or a resource has committed, its keys are sent with `pg_notify` on the schema's channel, on the same
connection before the caller gets its answer — after the commit, not inside it, since a transaction that notifies
holds a database-wide lock through its commit (and so through its fsync), which would serialise every node's
commits — and each node keeps one connection LISTENing on it, which wakes its waiters and tells its `watch`ers (the services' caches) what changed.
A node that dies between a commit and its notification costs the other nodes' waiters latency (their timeout). That connection reconnects by itself; once back, every waiter is woken and every watcher
told to reload (`None`), since notifications sent meanwhile were lost. Waits still end at their timeout, so a lost
notification costs latency, never an event.

Leases (`acquire_lease`) live in the `leases` table, timed by the database's clock. When the database cannot be
reached, reads and commits raise `StoreUnavailable` (the API answers ServiceUnavailable); the pool opens new
connections once it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import orjson

from pipework.clock import Clock
from pipework.store.base import (
    FENCE,
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
from pipework.store.errors import LeaseLost, StoreClosed, StoreError, StoreUnavailable
from pipework.store.postgres_schema import migrate
from pipework.store.postgres_writes import ITEM_COLUMNS, PostgresWriter, item_from_row, kv_entry
from pipework.store.waiting import Notifier, log_key, queue_key, resource_key, wait_either, wait_until_due

log = logging.getLogger("pipework.store.postgres")

T = TypeVar("T")

# A transaction that PostgreSQL aborted to break a deadlock (two batches locking the same rows in different
# orders, e.g. appends to two logs) or a serialization failure did nothing: it is safe to run again.
RETRIED_ERRORS = (asyncpg.exceptions.DeadlockDetectedError, asyncpg.exceptions.SerializationError)
MAX_ATTEMPTS = 5

# The database is not there (down, restarting, or the connection was cut): the caller gets StoreUnavailable.
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.InterfaceError,
)
# NOTIFY payloads are at most 8000 bytes; a commit that touched more keys tells "everything" ("*").
MAX_PAYLOAD = 7900
#: Seconds between attempts to connect the listening connection again, and between its liveness checks.
LISTEN_RETRY = 0.5
#: `maintain` vacuums a table once it has this many dead rows (and at least a tenth of its live rows).
VACUUM_DEAD_ROWS = 2000
LISTEN_CHECK = 5.0

DEFAULT_SCHEMA = "pipework"
DEFAULT_POOL_MIN = 2
DEFAULT_POOL_MAX = 10
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class PostgresStore(Store):
    """A Store in a PostgreSQL database, shared by any number of nodes. Open it with `await PostgresStore.open(url,
    clock)`.

    Parameters (of `open`; the URL query may set the last three):
        url: `postgresql://USER:PASSWORD@HOST:PORT/DATABASE`, optionally with `?schema=NAME&pool_min=N&pool_max=N`;
            other query parameters are passed to asyncpg (e.g. `sslmode`).
        clock: the time source. Every node must share one notion of time (NTP), since due times, visibility
            deadlines and TTLs written by one node are compared with `now` on another.
        schema: where the tables live (default `pipework`; created on open). Several Pipework installations can
            share one database in different schemas.
        pool_min, pool_max: connections kept open / at most (default 2 and 10). Each concurrent commit, lease or
            read holds one connection for its duration.
    """

    shared = True

    def __init__(self, pool: Any, clock: Clock, schema: str, connect: Callable[[], Awaitable[Any]]) -> None:
        self.clock = clock
        self.schema = schema
        self._pool = pool
        self._connect = connect
        self._notifier = Notifier()
        self._closed = False
        # Transactions PostgreSQL aborted (a deadlock or a serialization failure) and this store ran again.
        self.retried_transactions = 0
        self.channel = f"pipework_{schema}"
        self._origin = secrets.token_hex(
            8
        )  # marks this store's own notifications, which it has applied already
        self._watchers: list[Callable[[frozenset[str] | None], None]] = []
        self._listener: asyncio.Task[None] | None = None
        # The version of each resource as this node last read or wrote it (what its caches hold).
        self._observed: dict[tuple[str, str], int] = {}

        self.listening = asyncio.Event()  # set while the LISTEN connection is up

    @classmethod
    async def open(
        cls,
        url: str,
        clock: Clock,
        *,
        schema: str | None = None,
        pool_min: int | None = None,
        pool_max: int | None = None,
    ) -> PostgresStore:
        """Connect, create or migrate the tables (safe when several nodes start at once), and return the store."""
        dsn, options = _split_url(url)
        schema = schema or options.get("schema") or DEFAULT_SCHEMA
        if not _SCHEMA_NAME.match(schema):
            raise StoreError(f"invalid schema name {schema!r}: use lower-case letters, digits and _")
        low = pool_min if pool_min is not None else int(options.get("pool_min", DEFAULT_POOL_MIN))
        high = pool_max if pool_max is not None else int(options.get("pool_max", DEFAULT_POOL_MAX))
        if high < 1:
            raise StoreError(f"pool_max must be at least 1, not {high}")
        server_settings = {
            "search_path": f'"{schema}"',
            "synchronous_commit": "on",
            "application_name": "pipework",
        }
        pool = await asyncpg.create_pool(
            dsn, min_size=min(low, high), max_size=high, server_settings=server_settings
        )

        async def connect() -> Any:
            return await asyncpg.connect(dsn, server_settings=server_settings)

        store = cls(pool, clock, schema, connect)
        try:
            async with store.exclusive("migrate"), pool.acquire() as conn:
                await migrate(conn, schema)
            store._listener = asyncio.create_task(store._listen_forever(), name="postgres:listen")
            ignore = getattr(clock, "ignore", None)  # a ManualClock: time travel never waits for these loops
            if ignore is not None:
                ignore([store._listener])
            await asyncio.wait_for(store.listening.wait(), timeout=30)
        except BaseException:
            await store.close()
            raise
        return store

    # ── notifications from every node ──

    def watch(self, callback: Callable[[frozenset[str] | None], None]) -> None:
        self._watchers.append(callback)

    async def _listen_forever(self) -> None:
        """Keep one connection LISTENing on the channel, connecting again whenever it is lost."""
        first = True
        while not self._closed:
            conn = None
            try:
                conn = await self._connect()
                # A future, not an Event: waiting on it creates no task (a ManualClock would count one as busy).
                lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                conn.add_termination_listener(lambda _conn, lost=lost: lost.done() or lost.set_result(None))
                await conn.add_listener(self.channel, self._on_notification)
                self.listening.set()
                if not first:  # notifications sent while we were away are lost: everyone re-checks
                    log.warning("PostgreSQL notifications are back; waking every waiter and reloading caches")
                    self._received(None)
                first = False
                while not lost.done():
                    await asyncio.wait({lost}, timeout=LISTEN_CHECK)
                    if not lost.done():
                        await conn.fetchval("SELECT 1", timeout=LISTEN_CHECK)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # any failure: the connection is gone, connect again
                if self.listening.is_set() or first:
                    log.warning("PostgreSQL notifications are lost (%s); connecting again", error)
            finally:
                self.listening.clear()
                if conn is not None:
                    conn.terminate()
            await asyncio.sleep(LISTEN_RETRY)

    def _on_notification(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        origin, _, rest = payload.partition("\n")
        if origin == self._origin:
            return  # our own commit: its waiters were woken when it committed
        self._received(None if rest == "*" else frozenset(rest.split("\n")))

    def _received(self, keys: frozenset[str] | None) -> None:
        if keys is None:
            self._notifier.notify_all()
        else:
            self._notifier.notify(keys)
        for watcher in list(self._watchers):
            try:
                watcher(keys)
            except Exception:
                log.exception("a watcher of PostgreSQL notifications failed")

    def _payload(self, touched: set[str]) -> str:
        payload = self._origin + "\n" + "\n".join(sorted(touched))
        return payload if len(payload.encode()) <= MAX_PAYLOAD else self._origin + "\n*"

    # ── maintenance ──

    async def maintain(self) -> list[str]:
        """VACUUM (ANALYZE) each table of the schema whose dead rows passed `VACUUM_DEAD_ROWS` and a tenth of its
        live rows. The work-queue tables see an insert, an update and a delete per delivery: left to autovacuum
        alone (or with autovacuum off, as some servers run) their dead rows slow every lease. Returns the tables
        vacuumed."""
        rows = await self._fetch(
            "SELECT relname, n_live_tup, n_dead_tup FROM pg_stat_user_tables WHERE schemaname = $1 ORDER BY relname",
            self.schema,
        )
        done = []
        for name, live, dead in rows:
            if dead >= VACUUM_DEAD_ROWS and dead >= live / 10:
                try:
                    async with self._pool.acquire() as conn:  # VACUUM runs outside a transaction
                        await conn.execute(f'VACUUM (ANALYZE) "{self.schema}"."{name}"')
                except UNAVAILABLE_ERRORS as error:
                    raise StoreUnavailable(f"PostgreSQL is unavailable: {error}") from error
                done.append(name)
        return done

    # ── leases ──

    async def acquire_lease(self, name: str, holder: str, ttl: float) -> Lease | None:
        # One statement: take the lease if free or run out, renew it if ours; the token grows on a change of hands.
        rows = await self._fetch(
            "WITH now AS (SELECT extract(epoch FROM clock_timestamp())::double precision AS t) "
            "INSERT INTO leases AS l SELECT $1, $2, 1, t + $3, t FROM now ON CONFLICT (name) DO UPDATE SET "
            "holder = excluded.holder, expires_at = excluded.expires_at, "
            "token = CASE WHEN l.holder = excluded.holder AND l.expires_at > excluded.acquired_at THEN l.token "
            "ELSE l.token + 1 END, "
            "acquired_at = CASE WHEN l.holder = excluded.holder AND l.expires_at > excluded.acquired_at "
            "THEN l.acquired_at ELSE excluded.acquired_at END "
            "WHERE l.holder = excluded.holder OR l.expires_at <= excluded.acquired_at "
            "RETURNING name, holder, token, expires_at, acquired_at",
            name,
            holder,
            ttl,
        )
        return Lease(*rows[0]) if rows else None

    async def release_lease(self, name: str, holder: str) -> None:
        await self._fetch(
            "UPDATE leases SET holder = '', expires_at = 0 WHERE name = $1 AND holder = $2", name, holder
        )

    async def list_leases(self, prefix: str = "") -> list[Lease]:
        rows = await self._fetch(
            "SELECT name, holder, token, expires_at, acquired_at FROM leases WHERE starts_with(name, $1) "
            "AND expires_at > extract(epoch FROM clock_timestamp()) ORDER BY name",
            prefix,
        )
        return [Lease(*row) for row in rows]

    @contextlib.asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[None]:
        """Hold the lock `name` of this schema (a PostgreSQL session advisory lock, on a connection of its own so
        the pool stays free for the work done under it) against every other node; released on exit, or by the
        database if this node dies. Opening uses "migrate": one node at a time creates tables and migrates data."""
        if self._closed:
            raise StoreClosed("the store is closed")
        key = f"pipework:{self.schema}:{name}"
        conn = await self._connect()
        try:
            await conn.execute("SELECT pg_advisory_lock(hashtext($1))", key)
            yield
        finally:
            await conn.close()  # ends the session, and with it the lock

    # ── commits ──

    async def _transaction(self, run: Callable[[PostgresWriter], Awaitable[T]]) -> T:
        """Run `run` in a transaction (retried when PostgreSQL aborts it for a deadlock), then wake the waiters
        of what it touched."""
        if self._closed:
            raise StoreClosed("the store is closed")
        fence = FENCE.get()
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                async with self._pool.acquire() as conn:
                    async with conn.transaction():
                        if fence is not None:  # the lease may not change hands until this commits (FOR SHARE)
                            token = await conn.fetchval(
                                "SELECT token FROM leases WHERE name = $1 AND holder = $2 FOR SHARE",
                                fence[0],
                                fence[1],
                            )
                            if token != fence[2]:
                                raise LeaseLost(
                                    f"the lease {fence[0]} (token {fence[2]}) is held by another node now"
                                )
                        writer = PostgresWriter(conn)
                        result = await run(writer)
                    if writer.touched:
                        await self._tell_others(conn, writer.touched)
                break
            except RETRIED_ERRORS:
                self.retried_transactions += 1
                if attempt == MAX_ATTEMPTS:
                    raise
            except UNAVAILABLE_ERRORS as error:
                raise StoreUnavailable(f"PostgreSQL is unavailable: {error}") from error
        self._notifier.notify(writer.touched)
        self._observe(writer.versions)
        return result

    def _observe(self, versions: dict[tuple[str, str], int | None]) -> None:
        for key, version in versions.items():
            if version is None:
                self._observed.pop(key, None)
            else:
                self._observed[key] = version

    async def stale_resources(self, kinds: frozenset[str]) -> frozenset[str]:
        rows = await self._fetch(
            "SELECT kind, name, version FROM resources WHERE kind = ANY($1::text[])", list(kinds)
        )
        current = {(kind, name): version for kind, name, version in rows}
        stale = {key for key, version in current.items() if self._observed.get(key) != version}
        stale.update(key for key in self._observed if key[0] in kinds and key not in current)
        return frozenset(resource_key(kind, name) for kind, name in stale)

    async def _tell_others(self, conn: Any, touched: set[str]) -> None:
        """Notify the other nodes of a commit, right after it on the same connection (before the caller answers)."""
        try:
            await conn.execute("SELECT pg_notify($1, $2)", self.channel, self._payload(touched))
        except Exception as error:  # committed all the same; the others reload everything once they reconnect
            log.debug("notifying the other nodes failed: %s", error)

    async def _write(self, run: Callable[[PostgresWriter], Awaitable[T]]) -> T:
        # shield: a cancelled caller does not interrupt the transaction midway (which would cost the connection);
        # its writes may still commit, as with the SQLite store, and the outcome is just not reported.
        task = asyncio.ensure_future(self._transaction(run))
        task.add_done_callback(lambda done: done.cancelled() or done.exception())
        return await asyncio.shield(task)

    async def _commit(self, batch: Batch) -> CommitResult:
        now = self.clock.now()
        writes = list(batch.writes)

        async def run(writer: PostgresWriter) -> CommitResult:
            return CommitResult(await writer.apply_all(writes, now))

        return await self._write(run)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        try:
            await asyncio.wait_for(self._pool.close(), timeout=10)
        except Exception:  # the database is away: drop the connections instead of closing them politely
            self._pool.terminate()

    # ── reads ──

    async def _fetch(self, sql: str, *args: Any) -> list[Any]:
        if self._closed:
            raise StoreClosed("the store is closed")
        try:
            return list(await self._pool.fetch(sql, *args))
        except UNAVAILABLE_ERRORS as error:
            raise StoreUnavailable(f"PostgreSQL is unavailable: {error}") from error

    async def get_resource(self, kind: str, name: str) -> Resource | None:
        rows = await self._fetch(
            "SELECT kind, name, body, version, created, updated FROM resources WHERE kind = $1 AND name = $2",
            kind,
            name,
        )
        self._observe({(kind, name): rows[0][3] if rows else None})
        return _resource(rows[0]) if rows else None

    async def list_resources(
        self, kind: str, *, prefix: str = "", limit: int = 100, next_token: str | None = None
    ) -> ResourcePage:
        rows = await self._fetch(
            "SELECT kind, name, body, version, created, updated FROM resources WHERE kind = $1 AND name >= $2 "
            "AND ($3::text IS NULL OR name < $3) AND starts_with(name, $2) AND ($4::text IS NULL OR name > $4) "
            "ORDER BY name LIMIT $5",
            kind,
            prefix,
            _text_successor(prefix),
            next_token,
            limit + 1,
        )
        page = [_resource(row) for row in rows[:limit]]
        self._observe({(r.kind, r.name): r.version for r in page})
        return ResourcePage(page, page[-1].name if len(rows) > limit else None)

    async def read_log(self, log: str, *, after: int = 0, limit: int = 100) -> list[LogRecord]:
        rows = await self._fetch(
            "SELECT log, position, time, key, payload FROM log_records WHERE log = $1 AND position > $2 "
            "ORDER BY position LIMIT $3",
            log,
            after,
            limit,
        )
        return [LogRecord(r[0], r[1], r[2], r[3], bytes(r[4])) for r in rows]

    async def read_log_window(
        self, log: str, start: float, end: float, *, after: tuple[float, int] | None = None, limit: int = 1000
    ) -> list[LogRecord]:
        # A range on the (log, time, position) index, in its order.
        after_time, after_position = after if after is not None else (start, 0)
        rows = await self._fetch(
            "SELECT log, position, time, key, payload FROM log_records WHERE log = $1 AND time >= $2 AND time < $3 "
            "AND (time, position) > ($4, $5) ORDER BY time, position LIMIT $6",
            log,
            start,
            end,
            after_time,
            after_position,
            limit,
        )
        return [LogRecord(r[0], r[1], r[2], r[3], bytes(r[4])) for r in rows]

    async def log_stats(self, log: str) -> LogStats:
        rows = await self._fetch(
            "SELECT count, size_bytes, last_position, "
            "(SELECT min(position) FROM log_records WHERE log = $1) FROM log_heads WHERE log = $1",
            log,
        )
        if not rows:
            return LogStats(0, 0, 0, 0)
        count, size, last, first = rows[0]
        return LogStats(count, size, first or 0, last)

    async def wait_for_log(self, log: str, *, after: int, timeout: float) -> bool:
        future = self._notifier.future(log_key(log))
        deadline = self.clock.now() + timeout  # absolute: time that passes while reading counts
        if await self._last_position(log) > after:
            return True
        await wait_either(future, self.clock, deadline, timer=False)
        return await self._last_position(log) > after

    async def _last_position(self, log: str) -> int:
        rows = await self._fetch("SELECT last_position FROM log_heads WHERE log = $1", log)
        return int(rows[0][0]) if rows else 0

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
        rows = await self._fetch(
            f"SELECT {ITEM_COLUMNS} FROM items WHERE queue = $1 AND id = $2", queue, item_id
        )
        return item_from_row(rows[0], self.clock.now()) if rows else None

    async def peek(self, queue: str, *, after_seq: int = 0, limit: int = 100) -> list[QueueItem]:
        rows = await self._fetch(
            f"SELECT {ITEM_COLUMNS} FROM items WHERE queue = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            queue,
            after_seq,
            limit,
        )
        now = self.clock.now()
        return [item_from_row(row, now) for row in rows]

    async def counts(self, queue: str, *, now: float | None = None) -> QueueCounts:
        at = self.clock.now() if now is None else now
        rows = await self._fetch(
            "SELECT count(*) FILTER (WHERE due_at <= $2), "
            "count(*) FILTER (WHERE due_at > $2 AND lease_token IS NOT NULL), "
            "count(*) FILTER (WHERE due_at > $2 AND lease_token IS NULL), "
            "(SELECT count(*) FROM dead_letters WHERE queue = $1) FROM items WHERE queue = $1",
            queue,
            at,
        )
        visible, in_flight, delayed, dead = rows[0]
        return QueueCounts(visible, in_flight, delayed, dead)

    async def list_dead_letters(
        self, queue: str, *, after_seq: int = 0, limit: int = 100
    ) -> list[DeadLetter]:
        rows = await self._fetch(
            "SELECT queue, id, seq, payload, group_id, attributes, enqueued_at, attempts, dead_lettered_at, error "
            "FROM dead_letters WHERE queue = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            queue,
            after_seq,
            limit,
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
            # As `lease(fifo=True)` chooses: a due item whose group has no earlier item not yet due.
            rows = await self._fetch(
                "SELECT EXISTS (SELECT 1 FROM items i WHERE queue = $1 AND due_at <= $2 AND (group_id IS NULL "
                "OR NOT EXISTS (SELECT 1 FROM items j WHERE j.queue = $1 AND j.group_id = i.group_id "
                "AND j.seq < i.seq AND j.due_at > $2))), "
                "(SELECT min(due_at) FROM items WHERE queue = $1 AND due_at > $2)",
                queue,
                now,
            )
            if rows[0][0]:
                return True
            next_due = rows[0][1]
        else:
            rows = await self._fetch("SELECT min(due_at) FROM items WHERE queue = $1", queue)
            next_due = rows[0][0]
        return await wait_until_due(future, self.clock, now=now, timeout=timeout, next_due=next_due)

    # ── kv ──

    async def kv_get(self, bucket: str, key: str) -> KvEntry | None:
        rows = await self._fetch(
            "SELECT bucket, key, value, revision, expires_at FROM kv WHERE bucket = $1 AND key = $2 "
            "AND (expires_at IS NULL OR expires_at > $3)",
            bucket,
            key.encode(),
            self.clock.now(),
        )
        return kv_entry(rows[0]) if rows else None

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
        # Keys are UTF-8 bytes, whose order is code point order; the prefix becomes a key range so the primary
        # key index serves the scan in either direction.
        low = prefix.encode()
        if start is not None and start.encode() > low:
            low = start.encode()
        high = _bytes_successor(prefix.encode())
        if end is not None and (high is None or end.encode() < high):
            high = end.encode()
        rows = await self._fetch(
            "SELECT bucket, key, value, revision, expires_at FROM kv WHERE bucket = $1 AND key >= $2 "
            "AND ($3::bytea IS NULL OR key < $3) AND (expires_at IS NULL OR expires_at > $4) "
            "ORDER BY key " + ("DESC" if reverse else "ASC") + " LIMIT $5",
            bucket,
            low,
            high,
            self.clock.now(),
            limit,
        )
        return [kv_entry(row) for row in rows]

    async def kv_stats(self, bucket: str) -> tuple[int, int]:
        rows = await self._fetch(
            "SELECT count(*), coalesce(sum(octet_length(value)), 0) FROM kv WHERE bucket = $1 "
            "AND (expires_at IS NULL OR expires_at > $2)",
            bucket,
            self.clock.now(),
        )
        return int(rows[0][0]), int(rows[0][1])


# ── helpers ──

_OUR_OPTIONS = ("schema", "pool_min", "pool_max")


def _split_url(url: str) -> tuple[str, dict[str, str]]:
    """The URL without our own query options (for asyncpg), and those options."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    ours = {k: v for k, v in query if k in _OUR_OPTIONS}
    rest = urlencode([(k, v) for k, v in query if k not in _OUR_OPTIONS])
    return urlunsplit(parts._replace(query=rest)), ours


def _bytes_successor(prefix: bytes) -> bytes | None:
    """The smallest byte string greater than every string starting with `prefix` (None: no upper bound)."""
    trimmed = prefix.rstrip(b"\xff")
    if not trimmed:
        return None
    return trimmed[:-1] + bytes([trimmed[-1] + 1])


def _text_successor(prefix: str) -> str | None:
    """The smallest text greater than every text starting with `prefix`, in code point order (None: unbounded)."""
    chars = list(prefix)
    while chars:
        point = ord(chars[-1]) + 1
        if point == 0xD800:  # surrogates cannot be stored: skip to the next storable code point
            point = 0xE000
        if point <= 0x10FFFF:
            chars[-1] = chr(point)
            return "".join(chars)
        chars.pop()
    return None


def _resource(row: Any) -> Resource:
    kind, name, body, version, created, updated = row
    return Resource(kind, name, orjson.loads(body), version, created, updated)
