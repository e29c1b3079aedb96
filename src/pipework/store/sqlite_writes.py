"""SQL for the SQLite backend: the schema and every write (batch operations and lease), run on the writer thread.

Each method runs inside the writer's open transaction (one SAVEPOINT per caller), so a raised error undoes exactly
that caller's writes. Nothing here commits: `sqlite.py` owns transactions and durability.
"""

from __future__ import annotations

import secrets
import sqlite3
from typing import Any

import orjson

from pipework.store import base
from pipework.store.base import KvEntry, LogRecord, QueueItem, Resource
from pipework.store.errors import (
    Conflict,
    DuplicateItem,
    ItemNotFound,
    NotInFlight,
    RevisionConflict,
    StaleLease,
    VersionConflict,
)
from pipework.store.waiting import log_key, queue_key

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT OR IGNORE INTO meta VALUES ('kv_revision', 0);

CREATE TABLE IF NOT EXISTS resources (
    kind TEXT NOT NULL, name TEXT NOT NULL, body BLOB NOT NULL, version INTEGER NOT NULL,
    created REAL NOT NULL, updated REAL NOT NULL, PRIMARY KEY (kind, name)) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS log_heads (
    log TEXT PRIMARY KEY, last_position INTEGER NOT NULL, count INTEGER NOT NULL, size_bytes INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log_records (
    log TEXT NOT NULL, position INTEGER NOT NULL, time REAL NOT NULL, key TEXT, payload BLOB NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS log_records_position ON log_records (log, position);
CREATE INDEX IF NOT EXISTS log_records_time ON log_records (log, time);

CREATE TABLE IF NOT EXISTS items (
    queue TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL, payload BLOB NOT NULL, group_id TEXT,
    attributes BLOB NOT NULL, enqueued_at REAL NOT NULL, due_at REAL NOT NULL, attempts INTEGER NOT NULL,
    first_leased_at REAL, lease_token TEXT);
CREATE UNIQUE INDEX IF NOT EXISTS items_id ON items (queue, id);
-- leasing: the earliest due items of a queue are the first entries of this index (O(log n) to find them)
CREATE INDEX IF NOT EXISTS items_due ON items (queue, due_at, seq);
CREATE INDEX IF NOT EXISTS items_seq ON items (queue, seq);
CREATE INDEX IF NOT EXISTS items_enqueued ON items (queue, enqueued_at);

CREATE TABLE IF NOT EXISTS dead_letters (
    queue TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL, payload BLOB NOT NULL, group_id TEXT,
    attributes BLOB NOT NULL, enqueued_at REAL NOT NULL, attempts INTEGER NOT NULL, dead_lettered_at REAL NOT NULL,
    error BLOB NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS dead_letters_id ON dead_letters (queue, id);
CREATE INDEX IF NOT EXISTS dead_letters_seq ON dead_letters (queue, seq);

CREATE TABLE IF NOT EXISTS kv (
    bucket TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, revision INTEGER NOT NULL, expires_at REAL,
    PRIMARY KEY (bucket, key)) WITHOUT ROWID;
"""

ITEM_COLUMNS = "queue, id, seq, payload, group_id, attributes, enqueued_at, due_at, attempts, first_leased_at"


def item_from_row(
    row: tuple[Any, ...], now: float, token: str | None = None, leased: bool = False
) -> QueueItem:
    """A QueueItem from a row of ITEM_COLUMNS + lease_token."""
    (
        queue,
        item_id,
        seq,
        payload,
        group_id,
        attributes,
        enqueued_at,
        due_at,
        attempts,
        first_leased_at,
        current,
    ) = row
    return QueueItem(
        queue=queue,
        id=item_id,
        seq=seq,
        payload=bytes(payload),
        group_id=group_id,
        attributes=orjson.loads(attributes),
        enqueued_at=enqueued_at,
        due_at=due_at,
        attempts=attempts,
        first_leased_at=first_leased_at,
        lease_token=token,
        in_flight=leased or (current is not None and due_at > now),
    )


class SqliteWriter:
    """Applies writes on the writer connection. Holds the counters (seq, kv revision) only the writer advances.

    Parameters: `conn`, the writer thread's connection (autocommit mode; the caller opens the transaction).
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        conn.executescript(SCHEMA)
        (self.seq,) = conn.execute(
            "SELECT max(coalesce((SELECT max(seq) FROM items), 0), coalesce((SELECT max(seq) FROM dead_letters), 0))"
        ).fetchone()
        # Keys (log:…, queue:…) the current caller's writes touched, to wake waiters after COMMIT.
        self.touched: set[str] = set()

    def next_seq(self) -> int:
        # Not rolled back with a savepoint: gaps are harmless, reuse would not be.
        self.seq += 1
        return int(self.seq)

    def apply(self, write: base.Write, now: float) -> Any:
        handler = getattr(self, "_w_" + type(write).__name__)
        return handler(write, now)

    def apply_all(self, writes: list[base.Write], now: float) -> tuple[Any, ...]:
        """The results of `writes` applied in order. A run of two or more acks is one DELETE statement run with
        `executemany` (the dispatcher acks a whole batch of deliveries in one commit)."""
        results: list[Any] = []
        i, count = 0, len(writes)
        while i < count:
            end = i
            while end < count and type(writes[end]) is base.Ack:
                end += 1
            if end - i >= 2:
                self._ack_many(writes[i:end], now)  # type: ignore[arg-type]
                results.extend([None] * (end - i))
                i = end
                continue
            results.append(self.apply(writes[i], now))
            i += 1
        return tuple(results)

    def _ack_many(self, acks: list[base.Ack], now: float) -> None:
        # The lease token check is part of the DELETE. If any ack deletes nothing (a stale token, a missing or
        # repeated item), the run is undone and replayed one by one to raise exactly the error `_w_Ack` would.
        self.conn.execute("SAVEPOINT acks")
        cursor = self.conn.executemany(
            "DELETE FROM items WHERE queue = ? AND id = ? AND lease_token = ?",
            [(w.queue, w.item_id, w.lease_token) for w in acks],
        )
        if cursor.rowcount != len(acks):
            self.conn.execute("ROLLBACK TO acks")
            self.conn.execute("RELEASE acks")
            for w in acks:
                self._w_Ack(w, now)
            return
        self.conn.execute("RELEASE acks")
        self.touched.update({queue_key(w.queue) for w in acks})

    # ── resources ──

    def _resource_version(self, kind: str, name: str) -> tuple[int, float | None]:
        row = self.conn.execute(
            "SELECT version, created FROM resources WHERE kind = ? AND name = ?", (kind, name)
        ).fetchone()
        return (row[0], row[1]) if row else (0, None)

    def _w_PutResource(self, w: base.PutResource, now: float) -> Resource:
        version, created = self._resource_version(w.kind, w.name)
        if w.expected_version is not None and w.expected_version != version:
            raise VersionConflict(f"{w.kind} {w.name!r} is at version {version}, not {w.expected_version}")
        body = orjson.dumps(w.body)
        created = now if created is None else created
        self.conn.execute(
            "INSERT OR REPLACE INTO resources VALUES (?, ?, ?, ?, ?, ?)",
            (w.kind, w.name, body, version + 1, created, now),
        )
        return Resource(w.kind, w.name, orjson.loads(body), version + 1, created, now)

    def _w_DeleteResource(self, w: base.DeleteResource, now: float) -> bool:
        version, _ = self._resource_version(w.kind, w.name)
        if w.expected_version is not None and w.expected_version != version:
            raise VersionConflict(f"{w.kind} {w.name!r} is at version {version}, not {w.expected_version}")
        cursor = self.conn.execute("DELETE FROM resources WHERE kind = ? AND name = ?", (w.kind, w.name))
        return cursor.rowcount > 0

    # ── logs ──

    def _w_Append(self, w: base.Append, now: float) -> LogRecord:
        row = self.conn.execute(
            "INSERT INTO log_heads VALUES (?, 1, 1, ?) ON CONFLICT (log) DO UPDATE SET "
            "last_position = last_position + 1, count = count + 1, size_bytes = size_bytes + excluded.size_bytes "
            "RETURNING last_position",
            (w.log, len(w.payload)),
        ).fetchone()
        record = LogRecord(w.log, row[0], now if w.time is None else w.time, w.key, w.payload)
        self.conn.execute(
            "INSERT INTO log_records VALUES (?, ?, ?, ?, ?)",
            (w.log, record.position, record.time, w.key, w.payload),
        )
        self.touched.add(log_key(w.log))
        return record

    def _w_TrimLog(self, w: base.TrimLog, now: float) -> int:
        count, size = self.conn.execute(
            "SELECT count(*), coalesce(sum(length(payload)), 0) FROM log_records WHERE log = ? AND time < ?",
            (w.log, w.before),
        ).fetchone()
        if count:
            self.conn.execute("DELETE FROM log_records WHERE log = ? AND time < ?", (w.log, w.before))
            self.conn.execute(
                "UPDATE log_heads SET count = count - ?, size_bytes = size_bytes - ? WHERE log = ?",
                (count, size, w.log),
            )
        return int(count)

    def _w_DeleteLog(self, w: base.DeleteLog, now: float) -> int:
        self.conn.execute("DELETE FROM log_heads WHERE log = ?", (w.log,))
        return self.conn.execute("DELETE FROM log_records WHERE log = ?", (w.log,)).rowcount

    # ── work queues ──

    def _check_new_id(self, queue: str, item_id: str) -> None:
        exists = self.conn.execute(
            "SELECT 1 FROM items WHERE queue = ? AND id = ? UNION ALL "
            "SELECT 1 FROM dead_letters WHERE queue = ? AND id = ?",
            (queue, item_id, queue, item_id),
        ).fetchone()
        if exists:
            raise DuplicateItem(f"item {item_id!r} already exists in queue {queue!r}")

    def _leased(self, queue: str, item_id: str, token: str | None) -> tuple[Any, ...]:
        """The item's row (ITEM_COLUMNS + lease_token), checking `token` (when given) is its latest token."""
        row = self.conn.execute(
            f"SELECT {ITEM_COLUMNS}, lease_token FROM items WHERE queue = ? AND id = ?", (queue, item_id)
        ).fetchone()
        if row is None:
            raise ItemNotFound(f"no item {item_id!r} in queue {queue!r}")
        if token is not None and row[10] != token:
            raise StaleLease(f"lease token of {item_id!r} in queue {queue!r} is stale")
        return tuple(row)

    def _w_Enqueue(self, w: base.Enqueue, now: float) -> None:
        self._check_new_id(w.queue, w.item_id)
        self.conn.execute(
            "INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, NULL)",
            (
                w.queue,
                w.item_id,
                self.next_seq(),
                w.payload,
                w.group_id,
                orjson.dumps(w.attributes),
                now,
                now if w.due_at is None else w.due_at,
            ),
        )
        self.touched.add(queue_key(w.queue))

    def _w_Ack(self, w: base.Ack, now: float) -> None:
        self._leased(w.queue, w.item_id, w.lease_token)
        self.conn.execute("DELETE FROM items WHERE queue = ? AND id = ?", (w.queue, w.item_id))
        self.touched.add(queue_key(w.queue))

    def _w_ChangeVisibility(self, w: base.ChangeVisibility, now: float) -> None:
        row = self._leased(w.queue, w.item_id, w.lease_token)
        if w.require_in_flight and row[7] <= now:
            raise NotInFlight(f"item {w.item_id!r} in queue {w.queue!r} is not in flight")
        self.conn.execute(
            "UPDATE items SET due_at = ? WHERE queue = ? AND id = ?", (now + w.timeout, w.queue, w.item_id)
        )
        self.touched.add(queue_key(w.queue))

    def _w_Retry(self, w: base.Retry, now: float) -> None:
        row = self._leased(w.queue, w.item_id, w.lease_token)
        attributes = row[5]
        if w.attributes is not None:
            attributes = orjson.dumps({**orjson.loads(attributes), **w.attributes})
        self.conn.execute(
            "UPDATE items SET lease_token = NULL, due_at = ?, attributes = ? WHERE queue = ? AND id = ?",
            (now if w.due_at is None else w.due_at, attributes, w.queue, w.item_id),
        )
        self.touched.add(queue_key(w.queue))

    def _w_Release(self, w: base.Release, now: float) -> None:
        row = self._leased(w.queue, w.item_id, w.lease_token)
        attributes = row[5]
        if w.attributes is not None:
            attributes = orjson.dumps({**orjson.loads(attributes), **w.attributes})
        # SET expressions read the row as it was before the update.
        self.conn.execute(
            "UPDATE items SET lease_token = NULL, due_at = ?, attributes = ?, attempts = MAX(attempts - 1, 0), "
            "first_leased_at = CASE WHEN attempts <= 1 THEN NULL ELSE first_leased_at END "
            "WHERE queue = ? AND id = ?",
            (now if w.due_at is None else w.due_at, attributes, w.queue, w.item_id),
        )
        self.touched.add(queue_key(w.queue))

    def move_row(self, row: tuple[Any, ...], to_queue: str, due_at: float, reset_attempts: bool) -> None:
        queue, item_id = row[0], row[1]
        self._check_new_id(to_queue, item_id)
        self.conn.execute("DELETE FROM items WHERE queue = ? AND id = ?", (queue, item_id))
        self.conn.execute(
            "INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
            (
                to_queue,
                item_id,
                self.next_seq(),
                row[3],
                row[4],
                row[5],
                row[6],
                due_at,
                0 if reset_attempts else row[8],
                None if reset_attempts else row[9],
            ),
        )
        self.touched.update((queue_key(queue), queue_key(to_queue)))

    def _w_Move(self, w: base.Move, now: float) -> None:
        row = self._leased(w.queue, w.item_id, w.lease_token)
        self.move_row(row, w.to_queue, now if w.due_at is None else w.due_at, w.reset_attempts)

    def _w_DeadLetterItem(self, w: base.DeadLetterItem, now: float) -> None:
        row = self._leased(w.queue, w.item_id, w.lease_token)
        self.conn.execute("DELETE FROM items WHERE queue = ? AND id = ?", (w.queue, w.item_id))
        self.conn.execute(
            "INSERT INTO dead_letters VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                w.queue,
                w.item_id,
                self.next_seq(),
                row[3],
                row[4],
                row[5],
                row[6],
                row[8],
                now,
                orjson.dumps(w.error),
            ),
        )
        self.touched.add(queue_key(w.queue))

    def _dead_selection(self, queue: str, item_ids: tuple[str, ...] | None, limit: int | None) -> list[Any]:
        columns = "id, payload, group_id, attributes, enqueued_at"
        if item_ids is None:
            return self.conn.execute(
                f"SELECT {columns} FROM dead_letters WHERE queue = ? ORDER BY seq LIMIT ?",
                (queue, -1 if limit is None else limit),
            ).fetchall()
        rows = []
        for item_id in sorted(set(item_ids)):
            row = self.conn.execute(
                f"SELECT seq, {columns} FROM dead_letters WHERE queue = ? AND id = ?", (queue, item_id)
            ).fetchone()
            if row:
                rows.append(row)
        rows.sort()
        return [row[1:] for row in rows[:limit]]

    def _w_Redrive(self, w: base.Redrive, now: float) -> int:
        rows = self._dead_selection(w.queue, w.item_ids, w.limit)
        for item_id, payload, group_id, attributes, enqueued_at in rows:
            self.conn.execute("DELETE FROM dead_letters WHERE queue = ? AND id = ?", (w.queue, item_id))
            self.conn.execute(
                "INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, NULL)",
                (
                    w.queue,
                    item_id,
                    self.next_seq(),
                    payload,
                    group_id,
                    attributes,
                    enqueued_at,
                    now if w.due_at is None else w.due_at,
                ),
            )
        if rows:
            self.touched.add(queue_key(w.queue))
        return len(rows)

    def _w_DeleteDeadLetters(self, w: base.DeleteDeadLetters, now: float) -> int:
        rows = self._dead_selection(w.queue, w.item_ids, None)
        for row in rows:
            self.conn.execute("DELETE FROM dead_letters WHERE queue = ? AND id = ?", (w.queue, row[0]))
        return len(rows)

    def _touch_if(self, queue: str, count: int) -> int:
        if count:
            self.touched.add(queue_key(queue))
        return count

    def _w_Purge(self, w: base.Purge, now: float) -> int:
        return self._touch_if(
            w.queue, self.conn.execute("DELETE FROM items WHERE queue = ?", (w.queue,)).rowcount
        )

    def _w_Expire(self, w: base.Expire, now: float) -> int:
        cursor = self.conn.execute(
            "DELETE FROM items WHERE queue = ? AND enqueued_at < ?", (w.queue, w.enqueued_before)
        )
        return self._touch_if(w.queue, cursor.rowcount)

    def _w_DeleteQueue(self, w: base.DeleteQueue, now: float) -> int:
        items = self._w_Purge(base.Purge(w.queue), now)
        return items + self.conn.execute("DELETE FROM dead_letters WHERE queue = ?", (w.queue,)).rowcount

    def lease(
        self,
        queue: str,
        now: float,
        max_items: int,
        visibility_timeout: float,
        fifo: bool,
        max_receive_count: int | None,
        dead_letter_queue: str | None,
    ) -> list[QueueItem]:
        """See `Store.lease`. Candidates are read in chunks in (due_at, seq) order. A zero visibility timeout makes
        a leased item due again at `now`, after the cursor when it was due earlier: `taken` keeps it from being
        leased twice in one call."""
        leased: list[QueueItem] = []
        taken: set[str] = set()
        blocked: set[str] = set()
        cursor: tuple[float, int] = (float("-inf"), 0)
        # FIFO skips blocked groups, so it reads ahead; otherwise every due row read is leased (or moved to the DLQ).
        chunk = max(16, max_items * 2) if fifo else max_items
        # One random prefix per call, a counter per item: as unguessable, without a system call per item.
        prefix = secrets.token_hex(12)
        updates: list[tuple[Any, ...]] = []
        while len(leased) < max_items:
            if fifo:
                # FIFO walks the queue in seq order: a group's first pending item decides for the whole group.
                rows = self.conn.execute(
                    f"SELECT {ITEM_COLUMNS}, lease_token FROM items WHERE queue = ? AND seq > ? ORDER BY seq LIMIT ?",
                    (queue, cursor[1], chunk),
                ).fetchall()
            else:
                rows = self.conn.execute(
                    f"SELECT {ITEM_COLUMNS}, lease_token FROM items WHERE queue = ? AND due_at <= ? "
                    "AND (due_at > ? OR (due_at = ? AND seq > ?)) ORDER BY due_at, seq LIMIT ?",
                    (queue, now, cursor[0], cursor[0], cursor[1], chunk),
                ).fetchall()
            if not rows:
                break
            cursor = (rows[-1][7], rows[-1][2])
            for row in rows:
                if len(leased) >= max_items:
                    break
                group_id, due_at = row[4], row[7]
                if row[1] in taken:
                    continue
                if fifo:
                    if group_id is not None and group_id in blocked:
                        continue
                    if due_at > now:
                        if group_id is not None:
                            blocked.add(group_id)
                        continue
                if (
                    max_receive_count is not None
                    and dead_letter_queue is not None
                    and row[8] >= max_receive_count
                ):
                    self.move_row(tuple(row), dead_letter_queue, now, reset_attempts=False)
                    continue
                token = f"{prefix}{len(leased):08x}"
                taken.add(row[1])
                first = now if row[9] is None else row[9]
                updates.append((first, now + visibility_timeout, token, queue, row[1]))
                updated = (*row[:7], now + visibility_timeout, row[8] + 1, first, token)
                leased.append(item_from_row(updated, now, token, leased=visibility_timeout > 0))
            # The chunk's rows were read in full above, so their UPDATEs can run together.
            self.conn.executemany(
                "UPDATE items SET attempts = attempts + 1, first_leased_at = ?, due_at = ?, lease_token = ? "
                "WHERE queue = ? AND id = ?",
                updates,
            )
            updates.clear()
        if leased:
            self.touched.add(queue_key(queue))
        return leased

    # ── kv ──

    def _kv_revision(self, bucket: str, key: str, now: float) -> int:
        row = self.conn.execute(
            "SELECT revision FROM kv WHERE bucket = ? AND key = ? AND (expires_at IS NULL OR expires_at > ?)",
            (bucket, key, now),
        ).fetchone()
        return row[0] if row else 0

    def _w_KvPut(self, w: base.KvPut, now: float) -> KvEntry:
        revision = self._kv_revision(w.bucket, w.key, now)
        if w.expected_revision is not None and w.expected_revision != revision:
            raise RevisionConflict(f"key {w.key!r} in bucket {w.bucket!r} is at revision {revision}")
        # The counter lives in the database so revisions never repeat, even across restarts.
        (new_revision,) = self.conn.execute(
            "UPDATE meta SET value = value + 1 WHERE name = 'kv_revision' RETURNING value"
        ).fetchone()
        expires_at = None if w.ttl is None else now + w.ttl
        self.conn.execute(
            "INSERT OR REPLACE INTO kv VALUES (?, ?, ?, ?, ?)",
            (w.bucket, w.key, w.value, new_revision, expires_at),
        )
        return KvEntry(w.bucket, w.key, w.value, new_revision, expires_at)

    def _w_KvDelete(self, w: base.KvDelete, now: float) -> bool:
        revision = self._kv_revision(w.bucket, w.key, now)
        if w.expected_revision is not None and w.expected_revision != revision:
            raise RevisionConflict(f"key {w.key!r} in bucket {w.bucket!r} is at revision {revision}")
        self.conn.execute("DELETE FROM kv WHERE bucket = ? AND key = ?", (w.bucket, w.key))
        return revision != 0

    # ── renames (store migrations) ──

    def _w_RenameResource(self, w: base.RenameResource, now: float) -> bool:
        if self._resource_version(w.to_kind, w.to_name)[0]:
            raise VersionConflict(f"{w.to_kind} {w.to_name!r} already exists")
        cursor = self.conn.execute(
            "UPDATE resources SET kind = ?, name = ? WHERE kind = ? AND name = ?",
            (w.to_kind, w.to_name, w.kind, w.name),
        )
        return cursor.rowcount > 0

    def _w_RenameLog(self, w: base.RenameLog, now: float) -> int:
        if self.conn.execute("SELECT 1 FROM log_heads WHERE log = ?", (w.to_log,)).fetchone():
            raise Conflict(f"log {w.to_log!r} already exists")
        self.conn.execute("UPDATE log_heads SET log = ? WHERE log = ?", (w.to_log, w.log))
        count = self.conn.execute("UPDATE log_records SET log = ? WHERE log = ?", (w.to_log, w.log)).rowcount
        self.touched.update((log_key(w.log), log_key(w.to_log)))
        return int(count)

    def _w_RenameQueue(self, w: base.RenameQueue, now: float) -> int:
        taken = self.conn.execute(
            "SELECT 1 FROM items WHERE queue = ? UNION ALL SELECT 1 FROM dead_letters WHERE queue = ? LIMIT 1",
            (w.to_queue, w.to_queue),
        ).fetchone()
        if taken:
            raise Conflict(f"queue {w.to_queue!r} has items")
        count = self.conn.execute(
            "UPDATE items SET queue = ? WHERE queue = ?", (w.to_queue, w.queue)
        ).rowcount
        count += self.conn.execute(
            "UPDATE dead_letters SET queue = ? WHERE queue = ?", (w.to_queue, w.queue)
        ).rowcount
        self.touched.update((queue_key(w.queue), queue_key(w.to_queue)))
        return int(count)

    def _w_KvRename(self, w: base.KvRename, now: float) -> bool:
        if self._kv_revision(w.to_bucket, w.to_key, now):
            raise RevisionConflict(f"key {w.to_key!r} in bucket {w.to_bucket!r} exists")
        if not self._kv_revision(w.bucket, w.key, now):
            return False
        # An expired entry may still sit at the target; it is gone either way.
        self.conn.execute("DELETE FROM kv WHERE bucket = ? AND key = ?", (w.to_bucket, w.to_key))
        self.conn.execute(
            "UPDATE kv SET bucket = ?, key = ? WHERE bucket = ? AND key = ?",
            (w.to_bucket, w.to_key, w.bucket, w.key),
        )
        return True

    def _w_RenameBucket(self, w: base.RenameBucket, now: float) -> int:
        if self.conn.execute("SELECT 1 FROM kv WHERE bucket = ? LIMIT 1", (w.to_bucket,)).fetchone():
            raise Conflict(f"bucket {w.to_bucket!r} has entries")
        return int(
            self.conn.execute("UPDATE kv SET bucket = ? WHERE bucket = ?", (w.to_bucket, w.bucket)).rowcount
        )
