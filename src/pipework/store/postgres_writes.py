"""SQL for the PostgreSQL backend: every write of a batch, and `lease`, run on one connection inside a transaction.

Nothing here begins or commits: `postgres.py` owns transactions (and retries them on deadlock). Several nodes
write concurrently, so every read that a write depends on either locks its row (`FOR UPDATE`) or is folded into
the write's own statement (`UPDATE … WHERE version = $n`, `INSERT … ON CONFLICT`), which PostgreSQL re-checks
against the latest committed row: a compare-and-set cannot pass on a stale read.
"""

from __future__ import annotations

import secrets
from typing import Any

import asyncpg
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
from pipework.store.waiting import log_key, queue_key, resource_key

ITEM_COLUMNS = "queue, id, seq, payload, group_id, attributes, enqueued_at, due_at, attempts, first_leased_at, lease_token"


def item_from_row(row: Any, now: float, token: str | None = None, leased: bool = False) -> QueueItem:
    """A QueueItem from a row of ITEM_COLUMNS (the token is shown only when given: `lease` returns it)."""
    return QueueItem(
        queue=row[0],
        id=row[1],
        seq=row[2],
        payload=bytes(row[3]),
        group_id=row[4],
        attributes=orjson.loads(row[5]),
        enqueued_at=row[6],
        due_at=row[7],
        attempts=row[8],
        first_leased_at=row[9],
        lease_token=token,
        in_flight=leased or (row[10] is not None and row[7] > now),
    )


def kv_entry(row: Any) -> KvEntry:
    return KvEntry(row[0], bytes(row[1]).decode(), bytes(row[2]), row[3], row[4])


class PostgresWriter:
    """Applies writes on `conn` (an asyncpg connection inside an open transaction).

    `touched` collects the keys (log:…, queue:…) the writes touched, to wake waiters once the transaction commits.
    """

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.touched: set[str] = set()
        # The version each resource written has once this commits (None: deleted), for `stale_resources`.
        self.versions: dict[tuple[str, str], int | None] = {}

    async def apply_all(self, writes: list[base.Write], now: float) -> tuple[Any, ...]:
        """The results of `writes` applied in order. Runs of two or more acks or enqueues are one statement each
        (the dispatcher acks a batch of deliveries in one commit; PutEvents enqueues one delivery per target)."""
        logs = sorted({w.log for w in writes if isinstance(w, base.Append)})
        if len(logs) > 1:
            await self._lock_log_heads(logs)
        results: list[Any] = []
        i, count = 0, len(writes)
        while i < count:
            kind = type(writes[i])
            end = i
            while end < count and type(writes[end]) is kind:
                end += 1
            if kind is base.Ack and end - i >= 2:
                await self._ack_many(writes[i:end])  # type: ignore[arg-type]
            elif kind is base.Enqueue and end - i >= 2:
                await self._enqueue_many(writes[i:end], now)  # type: ignore[arg-type]
            else:
                for write in writes[i:end]:
                    results.append(await getattr(self, "_w_" + kind.__name__)(write, now))
                i = end
                continue
            results.extend([None] * (end - i))
            i = end
        return tuple(results)

    async def next_seqs(self, count: int) -> list[int]:
        """`count` new sequence numbers, ascending (a sequence never repeats, even across nodes and aborts)."""
        rows = await self.conn.fetch("SELECT nextval('item_seq') FROM generate_series(1, $1)", count)
        return sorted(row[0] for row in rows)

    # ── resources ──

    async def _resource_version(self, kind: str, name: str) -> int:
        version = await self.conn.fetchval(
            "SELECT version FROM resources WHERE kind = $1 AND name = $2", kind, name
        )
        return int(version or 0)

    async def _version_conflict(self, kind: str, name: str, expected: int) -> VersionConflict:
        version = await self._resource_version(kind, name)
        return VersionConflict(f"{kind} {name!r} is at version {version}, not {expected}")

    async def _w_PutResource(self, w: base.PutResource, now: float) -> Resource:
        self.touched.add(resource_key(w.kind, w.name))
        body = orjson.dumps(w.body)
        args = (w.kind, w.name, body, now)
        if w.expected_version is None:
            row = await self.conn.fetchrow(
                "INSERT INTO resources AS r VALUES ($1, $2, $3, 1, $4, $4) ON CONFLICT (kind, name) DO UPDATE "
                "SET body = excluded.body, version = r.version + 1, updated = excluded.updated "
                "RETURNING version, created",
                *args,
            )
        elif w.expected_version == 0:
            row = await self.conn.fetchrow(
                "INSERT INTO resources VALUES ($1, $2, $3, 1, $4, $4) ON CONFLICT (kind, name) DO NOTHING "
                "RETURNING version, created",
                *args,
            )
        else:
            row = await self.conn.fetchrow(
                "UPDATE resources SET body = $3, version = version + 1, updated = $4 "
                "WHERE kind = $1 AND name = $2 AND version = $5 RETURNING version, created",
                *args,
                w.expected_version,
            )
        if row is None:
            raise await self._version_conflict(w.kind, w.name, w.expected_version or 0)
        self.versions[(w.kind, w.name)] = row[0]
        return Resource(w.kind, w.name, orjson.loads(body), row[0], row[1], now)

    async def _w_DeleteResource(self, w: base.DeleteResource, now: float) -> bool:
        self.touched.add(resource_key(w.kind, w.name))
        self.versions[(w.kind, w.name)] = None
        if w.expected_version is None:
            status = await self.conn.execute(
                "DELETE FROM resources WHERE kind = $1 AND name = $2", w.kind, w.name
            )
            return _rowcount(status) > 0
        if w.expected_version == 0:  # "must not exist": nothing to delete
            if await self._resource_version(w.kind, w.name):
                raise await self._version_conflict(w.kind, w.name, 0)
            return False
        row = await self.conn.fetchrow(
            "DELETE FROM resources WHERE kind = $1 AND name = $2 AND version = $3 RETURNING 1",
            w.kind,
            w.name,
            w.expected_version,
        )
        if row is None:
            raise await self._version_conflict(w.kind, w.name, w.expected_version)
        return True

    # ── logs ──

    async def _lock_log_heads(self, logs: list[str]) -> None:
        """Lock the heads of `logs` in name order before appending to them: two batches appending to the same logs
        in different orders would otherwise deadlock (PostgreSQL breaks that after deadlock_timeout, 1 s)."""
        await self.conn.execute(
            "INSERT INTO log_heads SELECT log, 0, 0, 0 FROM unnest($1::text[]) AS log ORDER BY log "
            "ON CONFLICT (log) DO NOTHING",
            logs,
        )
        await self.conn.execute("SELECT 1 FROM log_heads WHERE log = ANY($1) ORDER BY log FOR UPDATE", logs)

    async def _w_Append(self, w: base.Append, now: float) -> LogRecord:
        # The head row is locked until commit, so appends to one log take positions one transaction after
        # another: a record becomes visible only after every lower position did (a reader paging by position
        # never skips a record that commits later).
        time = now if w.time is None else w.time
        position = await self.conn.fetchval(
            "WITH head AS (INSERT INTO log_heads AS h VALUES ($1, 1, 1, $2) ON CONFLICT (log) DO UPDATE SET "
            "last_position = h.last_position + 1, count = h.count + 1, size_bytes = h.size_bytes + $2 "
            "RETURNING last_position) "
            "INSERT INTO log_records SELECT $1, last_position, $3, $4, $5 FROM head RETURNING position",
            w.log,
            len(w.payload),
            time,
            w.key,
            w.payload,
        )
        self.touched.add(log_key(w.log))
        return LogRecord(w.log, position, time, w.key, w.payload)

    async def _w_TrimLog(self, w: base.TrimLog, now: float) -> int:
        deleted = await self.conn.fetchval(
            "WITH gone AS (DELETE FROM log_records WHERE log = $1 AND time < $2 RETURNING octet_length(payload) n), "
            "head AS (UPDATE log_heads SET count = count - (SELECT count(*) FROM gone), "
            "size_bytes = size_bytes - (SELECT coalesce(sum(n), 0) FROM gone) WHERE log = $1) "
            "SELECT count(*) FROM gone",
            w.log,
            w.before,
        )
        return int(deleted)

    async def _w_DeleteLog(self, w: base.DeleteLog, now: float) -> int:
        deleted = await self.conn.fetchval(
            "WITH head AS (DELETE FROM log_heads WHERE log = $1), "
            "gone AS (DELETE FROM log_records WHERE log = $1 RETURNING 1) SELECT count(*) FROM gone",
            w.log,
        )
        return int(deleted)

    # ── work queues ──

    async def _leased(self, queue: str, item_id: str, token: str | None) -> Any:
        """The item's row (ITEM_COLUMNS), locked, checking `token` (when given) is its latest lease token."""
        row = await self.conn.fetchrow(
            f"SELECT {ITEM_COLUMNS} FROM items WHERE queue = $1 AND id = $2 FOR UPDATE", queue, item_id
        )
        if row is None:
            raise ItemNotFound(f"no item {item_id!r} in queue {queue!r}")
        if token is not None and row[10] != token:
            raise StaleLease(f"lease token of {item_id!r} in queue {queue!r} is stale")
        return row

    async def _lease_error(self, queue: str, item_id: str) -> Exception:
        """Why a write guarded by `lease_token = $token` matched nothing: the item is gone or the token stale."""
        exists = await self.conn.fetchval("SELECT 1 FROM items WHERE queue = $1 AND id = $2", queue, item_id)
        if exists is None:
            return ItemNotFound(f"no item {item_id!r} in queue {queue!r}")
        return StaleLease(f"lease token of {item_id!r} in queue {queue!r} is stale")

    async def _w_Enqueue(self, w: base.Enqueue, now: float) -> None:
        # ON CONFLICT DO NOTHING also covers a concurrent enqueue of the same id by another node: it waits for
        # that transaction and then inserts nothing, so an id is never in a queue twice.
        seq = await self.conn.fetchval(
            "INSERT INTO items SELECT $1, $2, nextval('item_seq'), $3, $4, $5, $6, $7, 0, NULL, NULL "
            "WHERE NOT EXISTS (SELECT 1 FROM dead_letters WHERE queue = $1 AND id = $2) "
            "ON CONFLICT (queue, id) DO NOTHING RETURNING seq",
            w.queue,
            w.item_id,
            w.payload,
            w.group_id,
            orjson.dumps(w.attributes),
            now,
            now if w.due_at is None else w.due_at,
        )
        if seq is None:
            raise DuplicateItem(f"item {w.item_id!r} already exists in queue {w.queue!r}")
        self.touched.add(queue_key(w.queue))

    async def _enqueue_many(self, writes: list[base.Enqueue], now: float) -> None:
        seqs = await self.next_seqs(len(writes))
        rows = await self.conn.fetch(
            "INSERT INTO items SELECT a.queue, a.id, a.seq, a.payload, a.group_id, a.attributes, $7, a.due_at, "
            "0, NULL, NULL FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bytea[], $5::text[], "
            "$6::bytea[], $8::float8[]) AS a(queue, id, seq, payload, group_id, attributes, due_at) "
            "WHERE NOT EXISTS (SELECT 1 FROM dead_letters d WHERE d.queue = a.queue AND d.id = a.id) "
            "ON CONFLICT (queue, id) DO NOTHING RETURNING queue, id",
            [w.queue for w in writes],
            [w.item_id for w in writes],
            seqs,
            [w.payload for w in writes],
            [w.group_id for w in writes],
            [orjson.dumps(w.attributes) for w in writes],
            now,
            [now if w.due_at is None else w.due_at for w in writes],
        )
        if len(rows) != len(writes):
            # The first enqueue whose row was not inserted is the one that failed (the transaction is aborted).
            inserted = {(row[0], row[1]) for row in rows}
            for w in writes:
                if (w.queue, w.item_id) not in inserted:
                    raise DuplicateItem(f"item {w.item_id!r} already exists in queue {w.queue!r}")
                inserted.discard((w.queue, w.item_id))
        self.touched.update(queue_key(w.queue) for w in writes)

    async def _w_Ack(self, w: base.Ack, now: float) -> None:
        deleted = await self.conn.fetchval(
            "DELETE FROM items WHERE queue = $1 AND id = $2 AND lease_token = $3 RETURNING 1",
            w.queue,
            w.item_id,
            w.lease_token,
        )
        if deleted is None:
            raise await self._lease_error(w.queue, w.item_id)
        self.touched.add(queue_key(w.queue))

    async def _ack_many(self, acks: list[base.Ack]) -> None:
        rows = await self.conn.fetch(
            "DELETE FROM items i USING unnest($1::text[], $2::text[], $3::text[]) AS a(queue, id, token) "
            "WHERE i.queue = a.queue AND i.id = a.id AND i.lease_token = a.token "
            "RETURNING i.queue, i.id, i.lease_token",
            [w.queue for w in acks],
            [w.item_id for w in acks],
            [w.lease_token for w in acks],
        )
        if len(rows) != len(acks):
            # Replay the acks one by one against the state before the statement (the deleted rows and their
            # tokens, plus the rows it left) to raise exactly the error the first failing single ack would.
            tokens: dict[tuple[str, str], str | None] = {(r[0], r[1]): r[2] for r in rows}
            left = [(w.queue, w.item_id) for w in acks if (w.queue, w.item_id) not in tokens]
            for queue, item_id in left:
                tokens[(queue, item_id)] = await self.conn.fetchval(
                    "SELECT coalesce(lease_token, '') FROM items WHERE queue = $1 AND id = $2", queue, item_id
                )
            for w in acks:
                current = tokens[(w.queue, w.item_id)]
                if current is None:
                    raise ItemNotFound(f"no item {w.item_id!r} in queue {w.queue!r}")
                if current != w.lease_token:
                    raise StaleLease(f"lease token of {w.item_id!r} in queue {w.queue!r} is stale")
                tokens[(w.queue, w.item_id)] = None
        self.touched.update(queue_key(w.queue) for w in acks)

    async def _w_ChangeVisibility(self, w: base.ChangeVisibility, now: float) -> None:
        updated = await self.conn.fetchval(
            "UPDATE items SET due_at = $4 WHERE queue = $1 AND id = $2 AND lease_token = $3 "
            "AND (NOT $5 OR due_at > $6) RETURNING 1",
            w.queue,
            w.item_id,
            w.lease_token,
            now + w.timeout,
            w.require_in_flight,
            now,
        )
        if updated is None:
            await self._leased(w.queue, w.item_id, w.lease_token)  # raises ItemNotFound or StaleLease
            raise NotInFlight(f"item {w.item_id!r} in queue {w.queue!r} is not in flight")
        self.touched.add(queue_key(w.queue))

    async def _w_Retry(self, w: base.Retry, now: float) -> None:
        due_at = now if w.due_at is None else w.due_at
        if w.attributes is None:
            updated = await self.conn.fetchval(
                "UPDATE items SET lease_token = NULL, due_at = $4 "
                "WHERE queue = $1 AND id = $2 AND lease_token = $3 RETURNING 1",
                w.queue,
                w.item_id,
                w.lease_token,
                due_at,
            )
            if updated is None:
                raise await self._lease_error(w.queue, w.item_id)
        else:
            row = await self._leased(w.queue, w.item_id, w.lease_token)
            attributes = orjson.dumps({**orjson.loads(row[5]), **w.attributes})
            await self.conn.execute(
                "UPDATE items SET lease_token = NULL, due_at = $3, attributes = $4 WHERE queue = $1 AND id = $2",
                w.queue,
                w.item_id,
                due_at,
                attributes,
            )
        self.touched.add(queue_key(w.queue))

    async def _w_Release(self, w: base.Release, now: float) -> None:
        row = await self._leased(w.queue, w.item_id, w.lease_token)
        attributes = row[5]
        if w.attributes is not None:
            attributes = orjson.dumps({**orjson.loads(attributes), **w.attributes})
        # SET expressions read the row as it was before the update.
        await self.conn.execute(
            "UPDATE items SET lease_token = NULL, due_at = $3, attributes = $4, attempts = greatest(attempts - 1, 0), "
            "first_leased_at = CASE WHEN attempts <= 1 THEN NULL ELSE first_leased_at END "
            "WHERE queue = $1 AND id = $2",
            w.queue,
            w.item_id,
            now if w.due_at is None else w.due_at,
            attributes,
        )
        self.touched.add(queue_key(w.queue))

    async def _check_new_id(self, queue: str, item_id: str) -> None:
        exists = await self.conn.fetchval(
            "SELECT 1 FROM items WHERE queue = $1 AND id = $2 UNION ALL "
            "SELECT 1 FROM dead_letters WHERE queue = $1 AND id = $2",
            queue,
            item_id,
        )
        if exists:
            raise DuplicateItem(f"item {item_id!r} already exists in queue {queue!r}")

    async def move_row(self, row: Any, to_queue: str, due_at: float, reset_attempts: bool) -> None:
        """Move the (locked) item `row` to `to_queue` with a new seq and no lease."""
        queue, item_id = row[0], row[1]
        await self._check_new_id(to_queue, item_id)
        await self.conn.execute("DELETE FROM items WHERE queue = $1 AND id = $2", queue, item_id)
        inserted = await self.conn.fetchval(
            "INSERT INTO items VALUES ($1, $2, nextval('item_seq'), $3, $4, $5, $6, $7, $8, $9, NULL) "
            "ON CONFLICT (queue, id) DO NOTHING RETURNING 1",
            to_queue,
            item_id,
            row[3],
            row[4],
            row[5],
            row[6],
            due_at,
            0 if reset_attempts else row[8],
            None if reset_attempts else row[9],
        )
        if inserted is None:  # enqueued there by another node since the check
            raise DuplicateItem(f"item {item_id!r} already exists in queue {to_queue!r}")
        self.touched.update((queue_key(queue), queue_key(to_queue)))

    async def _w_Move(self, w: base.Move, now: float) -> None:
        row = await self._leased(w.queue, w.item_id, w.lease_token)
        await self.move_row(row, w.to_queue, now if w.due_at is None else w.due_at, w.reset_attempts)

    async def _w_DeadLetterItem(self, w: base.DeadLetterItem, now: float) -> None:
        await self._leased(w.queue, w.item_id, w.lease_token)
        inserted = await self.conn.fetchval(
            "WITH gone AS (DELETE FROM items WHERE queue = $1 AND id = $2 RETURNING *) "
            "INSERT INTO dead_letters SELECT queue, id, nextval('item_seq'), payload, group_id, attributes, "
            "enqueued_at, attempts, $3, $4 FROM gone ON CONFLICT (queue, id) DO NOTHING RETURNING 1",
            w.queue,
            w.item_id,
            now,
            orjson.dumps(w.error),
        )
        if inserted is None:
            raise DuplicateItem(f"item {w.item_id!r} is already a dead letter of queue {w.queue!r}")
        self.touched.add(queue_key(w.queue))

    async def _dead_selection(
        self, queue: str, item_ids: tuple[str, ...] | None, limit: int | None
    ) -> list[Any]:
        """Dead letters of `queue` (the given ids, or all) in dead-letter order, at most `limit`, locked."""
        return list(
            await self.conn.fetch(
                "SELECT id, payload, group_id, attributes, enqueued_at FROM dead_letters "
                "WHERE queue = $1 AND ($2::text[] IS NULL OR id = ANY($2)) ORDER BY seq LIMIT $3 FOR UPDATE",
                queue,
                None if item_ids is None else list(item_ids),
                limit,
            )
        )

    async def _w_Redrive(self, w: base.Redrive, now: float) -> int:
        rows = await self._dead_selection(w.queue, w.item_ids, w.limit)
        if not rows:
            return 0
        ids = [row[0] for row in rows]
        await self.conn.execute("DELETE FROM dead_letters WHERE queue = $1 AND id = ANY($2)", w.queue, ids)
        inserted = await self.conn.fetch(
            "INSERT INTO items SELECT $1, a.id, a.seq, a.payload, a.group_id, a.attributes, a.enqueued_at, $2, "
            "0, NULL, NULL FROM unnest($3::text[], $4::bigint[], $5::bytea[], $6::text[], $7::bytea[], "
            "$8::float8[]) AS a(id, seq, payload, group_id, attributes, enqueued_at) "
            "ON CONFLICT (queue, id) DO NOTHING RETURNING id",
            w.queue,
            now if w.due_at is None else w.due_at,
            ids,
            await self.next_seqs(len(rows)),
            [row[1] for row in rows],
            [row[2] for row in rows],
            [row[3] for row in rows],
            [row[4] for row in rows],
        )
        if len(inserted) != len(rows):
            raise DuplicateItem(f"an item redriven to queue {w.queue!r} is already there")
        self.touched.add(queue_key(w.queue))
        return len(rows)

    async def _w_DeleteDeadLetters(self, w: base.DeleteDeadLetters, now: float) -> int:
        status = await self.conn.execute(
            "DELETE FROM dead_letters WHERE queue = $1 AND ($2::text[] IS NULL OR id = ANY($2))",
            w.queue,
            None if w.item_ids is None else list(w.item_ids),
        )
        return _rowcount(status)

    def _touch_if(self, queue: str, count: int) -> int:
        if count:
            self.touched.add(queue_key(queue))
        return count

    async def _w_Purge(self, w: base.Purge, now: float) -> int:
        status = await self.conn.execute("DELETE FROM items WHERE queue = $1", w.queue)
        return self._touch_if(w.queue, _rowcount(status))

    async def _w_Expire(self, w: base.Expire, now: float) -> int:
        status = await self.conn.execute(
            "DELETE FROM items WHERE queue = $1 AND enqueued_at < $2", w.queue, w.enqueued_before
        )
        return self._touch_if(w.queue, _rowcount(status))

    async def _w_DeleteQueue(self, w: base.DeleteQueue, now: float) -> int:
        items = await self._w_Purge(base.Purge(w.queue), now)
        status = await self.conn.execute("DELETE FROM dead_letters WHERE queue = $1", w.queue)
        return items + _rowcount(status)

    # ── lease ──

    async def lease(
        self,
        queue: str,
        now: float,
        max_items: int,
        visibility_timeout: float,
        fifo: bool,
        max_receive_count: int | None,
        dead_letter_queue: str | None,
    ) -> list[QueueItem]:
        """See `Store.lease`. Nodes lease concurrently: standard queues skip rows another transaction has locked
        (`FOR UPDATE SKIP LOCKED`), so two nodes never lease one item; a FIFO queue's leases run one at a time
        (an advisory lock per queue), since skipping a locked group head would hand out its successor."""
        if max_items <= 0:
            return []
        redrive = max_receive_count is not None and dead_letter_queue is not None
        if fifo:
            await self.conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", "pipework:fifo:" + queue)
        # One random prefix per call and the row's seq: unguessable, unique, and different on every lease.
        prefix = secrets.token_hex(12) + "-"
        chosen: list[Any] = []
        cursor: tuple[float, int] = (float("-inf"), 0)
        while len(chosen) < max_items:
            want = max_items - len(chosen)
            if fifo:
                # A due item is a candidate unless its group has an earlier item not yet due (in flight or
                # delayed); several items of one group may be leased together, in seq order.
                rows = await self.conn.fetch(
                    f"SELECT {ITEM_COLUMNS} FROM items i WHERE queue = $1 AND seq > $2 AND due_at <= $3 "
                    "AND (group_id IS NULL OR NOT EXISTS (SELECT 1 FROM items j WHERE j.queue = $1 "
                    "AND j.group_id = i.group_id AND j.seq < i.seq AND j.due_at > $3)) "
                    "ORDER BY seq LIMIT $4 FOR UPDATE",
                    queue,
                    cursor[1],
                    now,
                    want,
                )
            else:
                rows = await self.conn.fetch(
                    f"SELECT {ITEM_COLUMNS} FROM items WHERE queue = $1 AND due_at <= $2 "
                    "AND (due_at, seq) > ($3, $4) ORDER BY due_at, seq LIMIT $5 FOR UPDATE SKIP LOCKED",
                    queue,
                    now,
                    cursor[0],
                    cursor[1],
                    want,
                )
            if not rows:
                break
            cursor = (rows[-1][7], rows[-1][2])
            for row in rows:
                if (
                    max_receive_count is not None
                    and dead_letter_queue is not None
                    and row[8] >= max_receive_count
                ):
                    # Moved in this transaction: the receive that finds it exhausted cannot lose it.
                    await self.move_row(row, dead_letter_queue, now, reset_attempts=False)
                else:
                    chosen.append(row)
            if not redrive:
                break  # every due row was leasable: fewer than asked means the queue has no more
        if not chosen:
            return []
        due_at = now + visibility_timeout
        updated = await self.conn.fetch(
            "UPDATE items i SET attempts = i.attempts + 1, first_leased_at = coalesce(i.first_leased_at, $3), "
            "due_at = $4, lease_token = $5 || i.seq::text FROM unnest($2::text[]) AS a(id) "
            f"WHERE i.queue = $1 AND i.id = a.id RETURNING {', '.join('i.' + c for c in ITEM_COLUMNS.split(', '))}",
            queue,
            [row[1] for row in chosen],
            now,
            due_at,
            prefix,
        )
        order = {row[1]: n for n, row in enumerate(chosen)}
        self.touched.add(queue_key(queue))
        return [
            item_from_row(row, now, row[10], leased=visibility_timeout > 0)
            for row in sorted(updated, key=lambda row: order[row[1]])
        ]

    # ── kv ──

    async def _kv_conflict(self, bucket: str, key: bytes, now: float) -> RevisionConflict:
        revision = await self.conn.fetchval(
            "SELECT revision FROM kv WHERE bucket = $1 AND key = $2 AND (expires_at IS NULL OR expires_at > $3)",
            bucket,
            key,
            now,
        )
        return RevisionConflict(f"key {key.decode()!r} in bucket {bucket!r} is at revision {revision or 0}")

    async def _w_KvPut(self, w: base.KvPut, now: float) -> KvEntry:
        key = w.key.encode()
        expires_at = None if w.ttl is None else now + w.ttl
        args = (w.bucket, key, w.value, expires_at)
        # Revisions come from a sequence: store-wide, never repeated, even across nodes and restarts.
        if w.expected_revision is None:
            revision = await self.conn.fetchval(
                "INSERT INTO kv AS k VALUES ($1, $2, $3, nextval('kv_revision'), $4) ON CONFLICT (bucket, key) "
                "DO UPDATE SET value = excluded.value, revision = excluded.revision, "
                "expires_at = excluded.expires_at RETURNING revision",
                *args,
            )
        elif w.expected_revision == 0:  # must be absent; an expired entry counts as absent
            revision = await self.conn.fetchval(
                "INSERT INTO kv AS k VALUES ($1, $2, $3, nextval('kv_revision'), $4) ON CONFLICT (bucket, key) "
                "DO UPDATE SET value = excluded.value, revision = excluded.revision, "
                "expires_at = excluded.expires_at WHERE k.expires_at IS NOT NULL AND k.expires_at <= $5 "
                "RETURNING revision",
                *args,
                now,
            )
        else:
            revision = await self.conn.fetchval(
                "UPDATE kv SET value = $3, revision = nextval('kv_revision'), expires_at = $4 "
                "WHERE bucket = $1 AND key = $2 AND revision = $5 AND (expires_at IS NULL OR expires_at > $6) "
                "RETURNING revision",
                *args,
                w.expected_revision,
                now,
            )
        if revision is None:
            raise await self._kv_conflict(w.bucket, key, now)
        return KvEntry(w.bucket, w.key, w.value, revision, expires_at)

    async def _w_KvDelete(self, w: base.KvDelete, now: float) -> bool:
        key = w.key.encode()
        if w.expected_revision is None:
            live = await self.conn.fetchval(
                "DELETE FROM kv WHERE bucket = $1 AND key = $2 "
                "RETURNING expires_at IS NULL OR expires_at > $3",
                w.bucket,
                key,
                now,
            )
            return bool(live)
        if w.expected_revision == 0:  # must be absent: only an expired leftover may be cleared
            live = await self.conn.fetchval(
                "SELECT 1 FROM kv WHERE bucket = $1 AND key = $2 AND (expires_at IS NULL OR expires_at > $3) "
                "FOR UPDATE",
                w.bucket,
                key,
                now,
            )
            if live:
                raise await self._kv_conflict(w.bucket, key, now)
            await self.conn.execute("DELETE FROM kv WHERE bucket = $1 AND key = $2", w.bucket, key)
            return False
        deleted = await self.conn.fetchval(
            "DELETE FROM kv WHERE bucket = $1 AND key = $2 AND revision = $3 "
            "AND (expires_at IS NULL OR expires_at > $4) RETURNING 1",
            w.bucket,
            key,
            w.expected_revision,
            now,
        )
        if deleted is None:
            raise await self._kv_conflict(w.bucket, key, now)
        return True

    # ── renames (store migrations) ──

    async def _w_RenameResource(self, w: base.RenameResource, now: float) -> bool:
        self.touched.update((resource_key(w.kind, w.name), resource_key(w.to_kind, w.to_name)))
        if await self._resource_version(w.to_kind, w.to_name):
            raise VersionConflict(f"{w.to_kind} {w.to_name!r} already exists")
        try:
            status = await self.conn.execute(
                "UPDATE resources SET kind = $3, name = $4 WHERE kind = $1 AND name = $2",
                w.kind,
                w.name,
                w.to_kind,
                w.to_name,
            )
        except asyncpg.exceptions.UniqueViolationError:  # created there by another node since the check
            raise VersionConflict(f"{w.to_kind} {w.to_name!r} already exists") from None
        return _rowcount(status) > 0

    async def _w_RenameLog(self, w: base.RenameLog, now: float) -> int:
        if await self.conn.fetchval("SELECT 1 FROM log_heads WHERE log = $1", w.to_log):
            raise Conflict(f"log {w.to_log!r} already exists")
        try:
            # The head first: its row lock makes an append to the old name (on another node) wait for this.
            await self.conn.execute("UPDATE log_heads SET log = $2 WHERE log = $1", w.log, w.to_log)
        except asyncpg.exceptions.UniqueViolationError:
            raise Conflict(f"log {w.to_log!r} already exists") from None
        status = await self.conn.execute("UPDATE log_records SET log = $2 WHERE log = $1", w.log, w.to_log)
        self.touched.update((log_key(w.log), log_key(w.to_log)))
        return _rowcount(status)

    async def _w_RenameQueue(self, w: base.RenameQueue, now: float) -> int:
        taken = await self.conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM items WHERE queue = $1) OR "
            "EXISTS (SELECT 1 FROM dead_letters WHERE queue = $1)",
            w.to_queue,
        )
        if taken:
            raise Conflict(f"queue {w.to_queue!r} has items")
        try:
            count = _rowcount(
                await self.conn.execute("UPDATE items SET queue = $2 WHERE queue = $1", w.queue, w.to_queue)
            )
            count += _rowcount(
                await self.conn.execute(
                    "UPDATE dead_letters SET queue = $2 WHERE queue = $1", w.queue, w.to_queue
                )
            )
        except asyncpg.exceptions.UniqueViolationError:  # enqueued there by another node since the check
            raise Conflict(f"queue {w.to_queue!r} has items") from None
        self.touched.update((queue_key(w.queue), queue_key(w.to_queue)))
        return count

    async def _w_KvRename(self, w: base.KvRename, now: float) -> bool:
        to_key = w.to_key.encode()
        live = await self.conn.fetchval(
            "SELECT 1 FROM kv WHERE bucket = $1 AND key = $2 AND (expires_at IS NULL OR expires_at > $3) "
            "FOR UPDATE",
            w.to_bucket,
            to_key,
            now,
        )
        if live:
            raise RevisionConflict(f"key {w.to_key!r} in bucket {w.to_bucket!r} exists")
        source = await self.conn.fetchval(
            "SELECT 1 FROM kv WHERE bucket = $1 AND key = $2 AND (expires_at IS NULL OR expires_at > $3) "
            "FOR UPDATE",
            w.bucket,
            w.key.encode(),
            now,
        )
        if not source:
            return False
        # An expired entry may still sit at the target; it is gone either way.
        await self.conn.execute("DELETE FROM kv WHERE bucket = $1 AND key = $2", w.to_bucket, to_key)
        try:
            await self.conn.execute(
                "UPDATE kv SET bucket = $3, key = $4 WHERE bucket = $1 AND key = $2",
                w.bucket,
                w.key.encode(),
                w.to_bucket,
                to_key,
            )
        except asyncpg.exceptions.UniqueViolationError:  # put there by another node since the check
            raise RevisionConflict(f"key {w.to_key!r} in bucket {w.to_bucket!r} exists") from None
        return True

    async def _w_RenameBucket(self, w: base.RenameBucket, now: float) -> int:
        if await self.conn.fetchval("SELECT 1 FROM kv WHERE bucket = $1 LIMIT 1", w.to_bucket):
            raise Conflict(f"bucket {w.to_bucket!r} has entries")
        try:
            status = await self.conn.execute(
                "UPDATE kv SET bucket = $2 WHERE bucket = $1", w.bucket, w.to_bucket
            )
        except asyncpg.exceptions.UniqueViolationError:
            raise Conflict(f"bucket {w.to_bucket!r} has entries") from None
        return _rowcount(status)


def _rowcount(status: str) -> int:
    """The row count of a command status such as "DELETE 3"."""
    return int(status.rpartition(" ")[2] or 0)
