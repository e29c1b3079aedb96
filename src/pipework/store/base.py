"""The Store protocol: resources, logs, work queues and kv state, with atomic multi-family batches.

Both backends (sqlite, memory) implement `Store`; the engine and the services talk to storage only through it.
The vocabulary stays backend-neutral so a NATS JetStream backend can implement it (streams, work-queue consumers).

Conventions every method follows:
- Times are epoch seconds (float) from the store's `clock`; a `None` time means "the commit time" (`clock.now()`
  read once when `commit` is called, so every write of one batch sees the same now).
- Payloads are `bytes` (the store never parses them); resource bodies are JSON-able dicts; queue item and
  dead-letter `attributes` are JSON-able dicts; kv values are bytes.
- Every write goes through `commit(batch)`; the single-write methods (`ack`, `enqueue`, `kv_put`, …) are sugar
  for a batch of one. A commit either applies every write of its batch or none (it raises the first error).
- A commit returns only once the writes are durable (fsynced, for backends that persist).

Namespaces (one convention for every service; `pipework.store.migrations` moves older data to it on open):
- A resource kind or a kv bucket is named ``<service>/<kind>``: the botocore service name, a slash, and a
  lower-case, hyphenated noun in the singular (``sqs/queue``, ``sqs/move-task``, ``sqs/dedup``,
  ``events/api-destination``). Pipework's own state uses the service ``pipework`` (``pipework/schema``).
- A resource name or kv key is ``<account>/<region>/<name>[/<part>...]``: everything an AWS account owns in a
  region is under its ``<account>/<region>/`` prefix, so one server holds every account and region apart and
  ``prefix=f"{account}/{region}/"`` lists one region. A nested resource adds its parent's name first
  (``<account>/<region>/<bus>/<rule>``). No part contains ``/``: a name that may (EventBridge partner bus
  names) has each ``/`` written as ``%2F`` in its part.
- A log, work queue or kv bucket that belongs to one resource is named ``<service>/<kind>/<key>``, with the
  resource's key and a kind naming what it holds (``sqs/message/<account>/<region>/<queue>`` holds a queue's
  messages, ``events/archive/<account>/<region>/<archive>`` an archive's events); where a name can be reused while
  the old resource's data is still being removed, the resource's immutable id stands for its key (a DynamoDB
  table's items: ``dynamodb/item/<TableId>``). One the server shares across accounts
  and regions (a dispatcher's delivery queue, the scheduler's ticks) is named ``<service>/<kind>`` alone, and
  its items carry the account and region of what they belong to.
- Region and account come from the request (`RequestContext`), never from the server's settings, except for
  work the server starts itself for a resource, which uses that resource's region and account.

How JetStream maps (for the future nats backend): resources and kv → KV buckets (revision = version); a log → a
stream (position = stream sequence, `trim_log` → max_age / purge by time); a queue → a work-queue stream with a
durable pull consumer (lease = fetch, visibility = ack wait, retry = nak with delay, attempts = delivery count
(release = nak with delay plus a per-item count of uncounted deliveries to subtract),
max_receive_count = max_deliver + an advisory-driven move); a dead-letter set → a stream per queue. JetStream
commits a batch atomically only within one stream, so a nats `commit` will write a batch to one outbox stream and
fan it out idempotently (item ids make the fan-out safe to repeat).
"""

from __future__ import annotations

import abc
import contextvars
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from pipework.clock import Clock
from pipework.jsontypes import JSON
from pipework.store.batch import (
    Ack,
    Append,
    Batch,
    ChangeVisibility,
    DeadLetterItem,
    DeleteDeadLetters,
    DeleteLog,
    DeleteQueue,
    DeleteResource,
    Enqueue,
    Expire,
    KvDelete,
    KvPut,
    KvRename,
    Move,
    Purge,
    PutResource,
    Redrive,
    Release,
    RenameBucket,
    RenameLog,
    RenameQueue,
    RenameResource,
    Retry,
    TrimLog,
    Write,
)
from pipework.store.records import (
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
)

__all__ = [
    "JSON",
    "Ack",
    "Append",
    "Batch",
    "ChangeVisibility",
    "CommitResult",
    "DeadLetter",
    "DeadLetterItem",
    "DeleteDeadLetters",
    "DeleteLog",
    "DeleteQueue",
    "DeleteResource",
    "Enqueue",
    "Expire",
    "KvDelete",
    "KvEntry",
    "KvPut",
    "KvRename",
    "Lease",
    "LogRecord",
    "LogStats",
    "Move",
    "Purge",
    "PutResource",
    "QueueCounts",
    "QueueItem",
    "Redrive",
    "Release",
    "RenameBucket",
    "RenameLog",
    "RenameQueue",
    "RenameResource",
    "Resource",
    "ResourcePage",
    "Retry",
    "Store",
    "TrimLog",
    "Write",
]


# ───────────────────────────────────────────────────── Store ─────────────────────────────────────────────────────

#: The lease a singleton job runs under, as (name, holder, fencing token): set by the cluster in the job's task, and
#: so inherited by every task the job starts. A shared store checks it inside every commit and lease made in that
#: context and refuses it (`LeaseLost`) once the lease changed hands, so a node that lost a lease (paused, cut off)
#: cannot write for that job after another node took it over.
FENCE: contextvars.ContextVar[tuple[str, str, int] | None] = contextvars.ContextVar(
    "pipework_fence", default=None
)


class Store(abc.ABC):
    """The storage every Pipework component uses. Subclasses implement the abstract methods; the write helpers
    below are one-write batches. All methods are coroutines and safe to call concurrently from one event loop.

    Attributes:
        clock: the clock the store reads `now` from (due times, visibility deadlines, TTLs, default log times).
    """

    clock: Clock

    # ── lifecycle and the one write path ──

    def batch(self) -> Batch:
        """A new, empty batch to fill and pass to `commit`."""
        return Batch()

    #: When set, called with each commit's duration in seconds, from the call to its outcome (a group commit's
    #: wait included), failed commits too: the composition root records it as Pipework/Store CommitLatency.
    commit_observer: Callable[[float], None] | None = None

    async def commit(self, batch: Batch) -> CommitResult:
        """Apply every write of `batch` atomically (all or none) and durably, then return their results.
        Raises the first write's error (`VersionConflict`, `StaleLease`, …) with nothing applied. Concurrent commits
        may be group-committed together; each caller still gets its own all-or-nothing outcome."""
        observer = self.commit_observer
        if observer is None:
            return await self._commit(batch)
        started = time.perf_counter()
        try:
            return await self._commit(batch)
        finally:
            observer(time.perf_counter() - started)

    @abc.abstractmethod
    async def _commit(self, batch: Batch) -> CommitResult:
        """The backend's `commit` (see there)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Finish in-flight commits, release files and threads. Further calls raise `StoreClosed`."""

    # ── the cluster: what other nodes commit, named leases ──

    #: Whether other processes share this store (PostgreSQL): background singletons then run under leases and
    #: caches follow `watch`. Stores only one process opens (memory, SQLite) keep the local defaults below.
    shared: bool = False

    def watch(self, callback: Callable[[frozenset[str] | None], None]) -> None:
        """Call `callback(keys)` on the event loop after each commit another process made to this store, with the
        keys it touched (`waiting.resource_key`, `queue_key`, `log_key`); `callback(None)` when some may have been
        missed (the connection to the database was lost and is back), so the watcher reloads what it caches.
        A store no other process writes to never calls it."""
        return None

    async def acquire_lease(self, name: str, holder: str, ttl: float) -> Lease | None:
        """Take the lease `name` for `holder` for `ttl` seconds, or renew it if `holder` has it; None when
        another holder has it and it has not run out. The returned `token` (the fencing token) grows each time
        the lease changes hands and stays the same across renewals."""
        leases = self._local_leases()
        now = time.time()
        current = leases.get(name)
        if current is not None and current.holder != holder and current.expires_at > now:
            return None
        if current is not None and current.holder == holder and current.expires_at > now:
            lease = Lease(name, holder, current.token, now + ttl, current.acquired_at)
        else:
            lease = Lease(name, holder, (current.token if current else 0) + 1, now + ttl, now)
        leases[name] = lease
        return lease

    async def release_lease(self, name: str, holder: str) -> None:
        """Give up the lease `name` if `holder` has it (another node may take it at once)."""
        leases = self._local_leases()
        current = leases.get(name)
        if current is not None and current.holder == holder:
            leases[name] = Lease(name, "", current.token, 0.0, current.acquired_at)

    async def list_leases(self, prefix: str = "") -> list[Lease]:
        """The leases whose name starts with `prefix` and that have not run out, by name."""
        now = time.time()
        leases = self._local_leases()
        return [leases[n] for n in sorted(leases) if n.startswith(prefix) and leases[n].expires_at > now]

    async def stale_resources(self, kinds: frozenset[str]) -> frozenset[str]:
        """The resources of `kinds` (as `waiting.resource_key`s) whose stored version differs from the last one this
        process read or wrote: changes whose notification was lost. A store no other process writes to has none."""
        return frozenset()

    async def maintain(self) -> list[str]:
        """Keep the tables healthy under churn (a shared database: vacuum the work queues); returns what it did.
        Called now and then by one node at a time; a store that needs nothing does nothing."""
        return []

    def _local_leases(self) -> dict[str, Lease]:
        leases: dict[str, Lease] | None = self.__dict__.get("_leases")
        if leases is None:
            leases = self.__dict__["_leases"] = {}
        return leases

    # ── resources ──

    @abc.abstractmethod
    async def get_resource(self, kind: str, name: str) -> Resource | None:
        """The resource, or None."""

    @abc.abstractmethod
    async def list_resources(
        self, kind: str, *, prefix: str = "", limit: int = 100, next_token: str | None = None
    ) -> ResourcePage:
        """Resources of `kind` whose name starts with `prefix`, ordered by name, at most `limit` per page."""

    async def all_resources(
        self, kind: str, *, prefix: str = "", page: int = 1000
    ) -> AsyncIterator[Resource]:
        """Every resource of `kind` whose name starts with `prefix`, in name order, read `page` at a time."""
        token: str | None = None
        while True:
            found = await self.list_resources(kind, prefix=prefix, limit=page, next_token=token)
            for resource in found.items:
                yield resource
            token = found.next_token
            if token is None:
                return

    # ── logs ──

    @abc.abstractmethod
    async def read_log(self, log: str, *, after: int = 0, limit: int = 100) -> list[LogRecord]:
        """Records with position > `after`, ascending, at most `limit`. Unknown log = []."""

    @abc.abstractmethod
    async def read_log_window(
        self, log: str, start: float, end: float, *, after: tuple[float, int] | None = None, limit: int = 1000
    ) -> list[LogRecord]:
        """Records with `start` <= time < `end`, ascending by (time, position), at most `limit`; page through a
        window by passing the (time, position) of the last record seen as `after`. Read through a time index: the
        cost follows the records returned, not the window's length."""

    @abc.abstractmethod
    async def log_stats(self, log: str) -> LogStats:
        """Count, payload bytes and positions of `log` (all zero for an unknown log)."""

    @abc.abstractmethod
    async def wait_for_log(self, log: str, *, after: int, timeout: float) -> bool:
        """Wait until `log` has a record with position > `after` (True) or `timeout` seconds of clock time pass
        (False). Woken by commits of this store instance, not by polling; returns at once if already true. The
        timeout bounds the wait (a safety net, not a timer): time travel may end it at a later stop."""

    # ── work queues ──

    @abc.abstractmethod
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
        """Lease up to `max_items` due items (due_at <= now), oldest due first (ties by seq), in one atomic write.

        Each leased item gets attempts + 1, first_leased_at set if unset, due_at = now + `visibility_timeout`
        and a fresh `lease_token` (older tokens become stale).
        `fifo`: items are grouped by `group_id` (None = no group); a group is skipped while it has an item in
        flight or an earlier item not yet due, and a group's items are leased strictly in seq order (several of
        one group may come in one call, consecutive).
        `max_receive_count` + `dead_letter_queue` (SQS redrive policy): a due item already leased
        `max_receive_count` times is moved (as by `move`) to `dead_letter_queue` in the same transaction instead of
        being returned, so nothing is lost between the two queues.
        """

    @abc.abstractmethod
    async def get_item(self, queue: str, item_id: str) -> QueueItem | None:
        """The item (without its lease token), or None."""

    @abc.abstractmethod
    async def peek(self, queue: str, *, after_seq: int = 0, limit: int = 100) -> list[QueueItem]:
        """Items of `queue` in seq order with seq > `after_seq`, without leasing them (no lease tokens)."""

    @abc.abstractmethod
    async def counts(self, queue: str, *, now: float | None = None) -> QueueCounts:
        """Visible / in-flight / delayed / dead-letter counts of `queue` at `now` (default: clock.now())."""

    @abc.abstractmethod
    async def list_dead_letters(
        self, queue: str, *, after_seq: int = 0, limit: int = 100
    ) -> list[DeadLetter]:
        """Dead letters of `queue` in the order they were dead-lettered, seq > `after_seq`, at most `limit`."""

    @abc.abstractmethod
    async def wait_for_due(self, queue: str, *, timeout: float, fifo: bool = False) -> bool:
        """Wait until an item of `queue` may be due: returns True at once if one is due, or when a commit of this
        store touches the queue or the earliest future due time (delay, visibility deadline) passes; False after
        `timeout` seconds of clock time. A True return is a hint: a concurrent `lease` may take the item first.
        Due times are timers for time travel (`ManualClock.travel_to` stops at them); the timeout only bounds the
        wait and may end it at a later stop.
        `fifo`: due items that `lease(fifo=True)` would skip (their group has an earlier item in flight or not yet
        due) do not count as due, so a FIFO consumer waits instead of spinning on a blocked group."""

    # ── kv ──

    @abc.abstractmethod
    async def kv_get(self, bucket: str, key: str) -> KvEntry | None:
        """The live entry (not expired at clock.now()), or None."""

    @abc.abstractmethod
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
        """Live entries of `bucket` whose key starts with `prefix`, ordered by key, at most `limit`.

        Range reads (DynamoDB Query/Scan pages): only keys with `start` <= key < `end` (either bound optional);
        `reverse` returns them in descending key order (the `limit` entries with the highest keys). Keys compare
        by code point, which for UTF-8 text is byte order; `k + "\\0"` is the smallest key greater than `k`."""

    @abc.abstractmethod
    async def kv_stats(self, bucket: str) -> tuple[int, int]:
        """(number of live entries, total bytes of their values) of `bucket`, counted by the store without reading
        the entries out (DynamoDB's DescribeTable ItemCount and TableSizeBytes)."""

    # ── one-write helpers (each is a batch of one; see the `Batch` method of the same name) ──

    async def _one(self, add: Any, *args: Any, **kwargs: Any) -> Any:
        batch = self.batch()
        add(batch, *args, **kwargs)
        return (await self.commit(batch)).results[0]

    async def put_resource(
        self, kind: str, name: str, body: JSON, *, expected_version: int | None = None
    ) -> Resource:
        """See `Batch.put_resource`."""
        result: Resource = await self._one(
            Batch.put_resource, kind, name, body, expected_version=expected_version
        )
        return result

    async def delete_resource(self, kind: str, name: str, *, expected_version: int | None = None) -> bool:
        """See `Batch.delete_resource`."""
        return bool(await self._one(Batch.delete_resource, kind, name, expected_version=expected_version))

    async def append(
        self, log: str, payload: bytes, *, time: float | None = None, key: str | None = None
    ) -> int:
        """See `Batch.append`; returns the record's position."""
        record: LogRecord = await self._one(Batch.append, log, payload, time=time, key=key)
        return record.position

    async def trim_log(self, log: str, *, before: float) -> int:
        """See `Batch.trim_log`."""
        return int(await self._one(Batch.trim_log, log, before=before))

    async def delete_log(self, log: str) -> int:
        """See `Batch.delete_log`."""
        return int(await self._one(Batch.delete_log, log))

    async def enqueue(
        self,
        queue: str,
        item_id: str,
        payload: bytes,
        *,
        due_at: float | None = None,
        group_id: str | None = None,
        attributes: JSON | None = None,
    ) -> None:
        """See `Batch.enqueue`."""
        await self._one(
            Batch.enqueue, queue, item_id, payload, due_at=due_at, group_id=group_id, attributes=attributes
        )

    async def ack(self, queue: str, item_id: str, lease_token: str) -> None:
        """See `Batch.ack`."""
        await self._one(Batch.ack, queue, item_id, lease_token)

    async def change_visibility(
        self, queue: str, item_id: str, lease_token: str, timeout: float, *, require_in_flight: bool = False
    ) -> None:
        """See `Batch.change_visibility`."""
        await self._one(
            Batch.change_visibility, queue, item_id, lease_token, timeout, require_in_flight=require_in_flight
        )

    async def retry(
        self,
        queue: str,
        item_id: str,
        lease_token: str,
        *,
        due_at: float | None = None,
        attributes: JSON | None = None,
    ) -> None:
        """See `Batch.retry`."""
        await self._one(Batch.retry, queue, item_id, lease_token, due_at=due_at, attributes=attributes)

    async def release(
        self,
        queue: str,
        item_id: str,
        lease_token: str,
        *,
        due_at: float | None = None,
        attributes: JSON | None = None,
    ) -> None:
        """See `Batch.release`."""
        await self._one(Batch.release, queue, item_id, lease_token, due_at=due_at, attributes=attributes)

    async def move(
        self,
        queue: str,
        item_id: str,
        to_queue: str,
        *,
        lease_token: str | None = None,
        due_at: float | None = None,
        reset_attempts: bool = False,
    ) -> None:
        """See `Batch.move`."""
        await self._one(
            Batch.move,
            queue,
            item_id,
            to_queue,
            lease_token=lease_token,
            due_at=due_at,
            reset_attempts=reset_attempts,
        )

    async def dead_letter(
        self, queue: str, item_id: str, *, lease_token: str | None = None, error: dict[str, str] | None = None
    ) -> None:
        """See `Batch.dead_letter`."""
        await self._one(Batch.dead_letter, queue, item_id, lease_token=lease_token, error=error)

    async def redrive(
        self,
        queue: str,
        item_ids: Sequence[str] | None = None,
        *,
        limit: int | None = None,
        due_at: float | None = None,
    ) -> int:
        """See `Batch.redrive`."""
        return int(await self._one(Batch.redrive, queue, item_ids, limit=limit, due_at=due_at))

    async def delete_dead_letters(self, queue: str, item_ids: Sequence[str] | None = None) -> int:
        """See `Batch.delete_dead_letters`."""
        return int(await self._one(Batch.delete_dead_letters, queue, item_ids))

    async def purge(self, queue: str) -> int:
        """See `Batch.purge`."""
        return int(await self._one(Batch.purge, queue))

    async def expire(self, queue: str, *, enqueued_before: float) -> int:
        """See `Batch.expire`."""
        return int(await self._one(Batch.expire, queue, enqueued_before=enqueued_before))

    async def delete_queue(self, queue: str) -> int:
        """See `Batch.delete_queue`."""
        return int(await self._one(Batch.delete_queue, queue))

    async def kv_put(
        self,
        bucket: str,
        key: str,
        value: bytes,
        *,
        ttl: float | None = None,
        expected_revision: int | None = None,
    ) -> KvEntry:
        """See `Batch.kv_put`."""
        entry: KvEntry = await self._one(
            Batch.kv_put, bucket, key, value, ttl=ttl, expected_revision=expected_revision
        )
        return entry

    async def kv_delete(self, bucket: str, key: str, *, expected_revision: int | None = None) -> bool:
        """See `Batch.kv_delete`."""
        return bool(await self._one(Batch.kv_delete, bucket, key, expected_revision=expected_revision))
