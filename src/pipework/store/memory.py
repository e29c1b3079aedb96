"""The in-memory Store: plain dicts, the same semantics as the SQLite backend, nothing persisted.

For tests and throwaway runs. A batch applies its writes in order while recording an undo log; any error rolls
the undo log back, so a batch is all-or-nothing exactly as a SQLite transaction is.
"""

from __future__ import annotations

import copy
import heapq
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from pipework.clock import Clock
from pipework.store import base
from pipework.store.base import (
    JSON,
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
    VersionConflict,
)
from pipework.store.waiting import Notifier, log_key, queue_key, wait_either, wait_until_due

_SCALARS = (str, int, float, bool, type(None))


def copy_attributes(attributes: JSON) -> JSON:
    """A copy of queue item attributes that shares nothing mutable with them; flat scalar values (a delivery's
    envelope, an SQS message's system attributes) are copied without `copy.deepcopy`'s cost."""
    if all(type(value) in _SCALARS for value in attributes.values()):
        return dict(attributes)
    return copy.deepcopy(attributes)


@dataclass
class _Item:
    queue: str
    id: str
    seq: int
    payload: bytes
    group_id: str | None
    attributes: JSON
    enqueued_at: float
    due_at: float
    attempts: int
    first_leased_at: float | None
    lease_token: str | None

    def view(self, now: float, token: str | None = None) -> QueueItem:
        return QueueItem(
            queue=self.queue,
            id=self.id,
            seq=self.seq,
            payload=self.payload,
            group_id=self.group_id,
            attributes=copy_attributes(self.attributes),
            enqueued_at=self.enqueued_at,
            due_at=self.due_at,
            attempts=self.attempts,
            first_leased_at=self.first_leased_at,
            lease_token=token,
            in_flight=self.lease_token is not None and self.due_at > now,
        )


@dataclass
class _Log:
    records: list[LogRecord]
    last_position: int = 0
    size_bytes: int = 0


class MemoryStore(Store):
    """A Store kept in process memory. Parameters: `clock`, the time source (a `ManualClock` in tests)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._resources: dict[tuple[str, str], Resource] = {}
        self._logs: dict[str, _Log] = {}
        self._items: dict[str, dict[str, _Item]] = {}
        self._dead: dict[str, dict[str, DeadLetter]] = {}
        self._kv: dict[str, dict[str, KvEntry]] = {}  # bucket -> key -> entry
        self._seq = 0
        self._revision = 0
        self._notifier = Notifier()
        self._closed = False
        # The undo log of the batch being applied (None outside commit).
        self._undo: list[Callable[[], None]] = []
        self._touched: set[str] = set()

    # ── lifecycle and commit ──

    async def close(self) -> None:
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosed("the store is closed")

    async def _commit(self, batch: Batch) -> CommitResult:
        self._check_open()
        now = self.clock.now()
        self._undo = []
        self._touched = set()
        results: list[Any] = []
        try:
            for write in batch.writes:
                results.append(self._apply(write, now))
        except BaseException:
            for undo in reversed(self._undo):
                undo()
            raise
        finally:
            touched, self._undo, self._touched = self._touched, [], set()
        self._notifier.notify(touched)
        return CommitResult(tuple(results))

    def _set(self, mapping: dict[Any, Any], key: Any, value: Any) -> None:
        """Set mapping[key] = value, recording how to restore the previous state."""
        if key in mapping:
            old = mapping[key]
            self._undo.append(lambda: mapping.__setitem__(key, old))
        else:
            self._undo.append(lambda: mapping.pop(key, None))
        mapping[key] = value

    def _pop(self, mapping: dict[Any, Any], key: Any) -> Any:
        value = mapping.pop(key)
        self._undo.append(lambda: mapping.__setitem__(key, value))
        return value

    def _next_seq(self) -> int:
        # Sequence numbers are not rolled back: gaps are harmless, reuse would not be.
        self._seq += 1
        return self._seq

    def _apply(self, write: base.Write, now: float) -> Any:
        handler = getattr(self, "_w_" + type(write).__name__)
        return handler(write, now)

    # ── resources ──

    def _w_PutResource(self, w: base.PutResource, now: float) -> Resource:
        current = self._resources.get((w.kind, w.name))
        version = current.version if current else 0
        if w.expected_version is not None and w.expected_version != version:
            raise VersionConflict(f"{w.kind} {w.name!r} is at version {version}, not {w.expected_version}")
        resource = Resource(
            w.kind, w.name, copy.deepcopy(w.body), version + 1, current.created if current else now, now
        )
        self._set(self._resources, (w.kind, w.name), resource)
        return resource

    def _w_DeleteResource(self, w: base.DeleteResource, now: float) -> bool:
        current = self._resources.get((w.kind, w.name))
        version = current.version if current else 0
        if w.expected_version is not None and w.expected_version != version:
            raise VersionConflict(f"{w.kind} {w.name!r} is at version {version}, not {w.expected_version}")
        if current is None:
            return False
        self._pop(self._resources, (w.kind, w.name))
        return True

    async def get_resource(self, kind: str, name: str) -> Resource | None:
        self._check_open()
        resource = self._resources.get((kind, name))
        return replace(resource, body=copy.deepcopy(resource.body)) if resource else None

    async def list_resources(
        self, kind: str, *, prefix: str = "", limit: int = 100, next_token: str | None = None
    ) -> ResourcePage:
        self._check_open()
        names = sorted(
            name
            for (k, name) in self._resources
            if k == kind and name.startswith(prefix) and (next_token is None or name > next_token)
        )
        page = [
            replace(r, body=copy.deepcopy(r.body))
            for r in (self._resources[(kind, n)] for n in names[:limit])
        ]
        return ResourcePage(page, page[-1].name if len(names) > limit else None)

    # ── logs ──

    def _log_state(self, log: str) -> _Log:
        state = self._logs.get(log)
        if state is None:
            state = _Log([])
            self._set(self._logs, log, state)
        return state

    def _w_Append(self, w: base.Append, now: float) -> LogRecord:
        state = self._log_state(w.log)
        before = (state.last_position, state.size_bytes)
        record = LogRecord(
            w.log, state.last_position + 1, now if w.time is None else w.time, w.key, w.payload
        )
        state.records.append(record)
        state.last_position += 1
        state.size_bytes += len(w.payload)

        def undo() -> None:
            state.records.pop()
            state.last_position, state.size_bytes = before

        self._undo.append(undo)
        self._touched.add(log_key(w.log))
        return record

    def _replace_records(self, state: _Log, keep: list[LogRecord]) -> int:
        old_records, old_size = state.records, state.size_bytes
        state.records = keep
        state.size_bytes = sum(len(r.payload) for r in keep)

        def undo() -> None:
            state.records, state.size_bytes = old_records, old_size

        self._undo.append(undo)
        return len(old_records) - len(keep)

    def _w_TrimLog(self, w: base.TrimLog, now: float) -> int:
        state = self._logs.get(w.log)
        if state is None:
            return 0
        return self._replace_records(state, [r for r in state.records if r.time >= w.before])

    def _w_DeleteLog(self, w: base.DeleteLog, now: float) -> int:
        if w.log not in self._logs:
            return 0
        return len(self._pop(self._logs, w.log).records)

    async def read_log(self, log: str, *, after: int = 0, limit: int = 100) -> list[LogRecord]:
        self._check_open()
        state = self._logs.get(log)
        if state is None:
            return []
        return [r for r in state.records if r.position > after][:limit]

    async def read_log_window(
        self, log: str, start: float, end: float, *, after: tuple[float, int] | None = None, limit: int = 1000
    ) -> list[LogRecord]:
        self._check_open()
        state = self._logs.get(log)
        if state is None:
            return []
        cursor = after if after is not None else (start, 0)
        found = [r for r in state.records if start <= r.time < end and (r.time, r.position) > cursor]
        return heapq.nsmallest(limit, found, key=lambda r: (r.time, r.position))

    async def log_stats(self, log: str) -> LogStats:
        self._check_open()
        state = self._logs.get(log)
        if state is None:
            return LogStats(0, 0, 0, 0)
        first = state.records[0].position if state.records else 0
        return LogStats(len(state.records), state.size_bytes, first, state.last_position)

    async def wait_for_log(self, log: str, *, after: int, timeout: float) -> bool:
        self._check_open()
        future = self._notifier.future(log_key(log))
        deadline = self.clock.now() + timeout  # absolute: time that passes while reading counts
        if (await self.log_stats(log)).last_position > after:
            return True
        await wait_either(future, self.clock, deadline, timer=False)
        return (await self.log_stats(log)).last_position > after

    # ── work queues: writes ──

    def _queue(self, queue: str) -> dict[str, _Item]:
        items = self._items.get(queue)
        if items is None:
            items = {}
            self._set(self._items, queue, items)
        return items

    def _dead_set(self, queue: str) -> dict[str, DeadLetter]:
        dead = self._dead.get(queue)
        if dead is None:
            dead = {}
            self._set(self._dead, queue, dead)
        return dead

    def _check_new_id(self, queue: str, item_id: str) -> None:
        if item_id in self._items.get(queue, {}) or item_id in self._dead.get(queue, {}):
            raise DuplicateItem(f"item {item_id!r} already exists in queue {queue!r}")

    def _leased(self, queue: str, item_id: str, token: str | None) -> _Item:
        """The item, checking `token` (when given) is its latest lease token."""
        item = self._items.get(queue, {}).get(item_id)
        if item is None:
            raise ItemNotFound(f"no item {item_id!r} in queue {queue!r}")
        if token is not None and item.lease_token != token:
            raise StaleLease(f"lease token of {item_id!r} in queue {queue!r} is stale")
        return item

    def _update(self, item: _Item, **changes: Any) -> None:
        old = {name: getattr(item, name) for name in changes}
        for name, value in changes.items():
            setattr(item, name, value)

        def undo() -> None:
            for name, value in old.items():
                setattr(item, name, value)

        self._undo.append(undo)
        self._touched.add(queue_key(item.queue))

    def _w_Enqueue(self, w: base.Enqueue, now: float) -> None:
        self._check_new_id(w.queue, w.item_id)
        item = _Item(
            w.queue,
            w.item_id,
            self._next_seq(),
            w.payload,
            w.group_id,
            copy_attributes(w.attributes),
            now,
            now if w.due_at is None else w.due_at,
            0,
            None,
            None,
        )
        self._set(self._queue(w.queue), w.item_id, item)
        self._touched.add(queue_key(w.queue))

    def _w_Ack(self, w: base.Ack, now: float) -> None:
        self._leased(w.queue, w.item_id, w.lease_token)
        self._pop(self._items[w.queue], w.item_id)
        self._touched.add(queue_key(w.queue))

    def _w_ChangeVisibility(self, w: base.ChangeVisibility, now: float) -> None:
        item = self._leased(w.queue, w.item_id, w.lease_token)
        if w.require_in_flight and item.due_at <= now:
            raise NotInFlight(f"item {w.item_id!r} in queue {w.queue!r} is not in flight")
        self._update(item, due_at=now + w.timeout)

    def _w_Retry(self, w: base.Retry, now: float) -> None:
        item = self._leased(w.queue, w.item_id, w.lease_token)
        attributes = item.attributes
        if w.attributes is not None:
            attributes = {**item.attributes, **copy.deepcopy(w.attributes)}
        self._update(
            item, lease_token=None, due_at=now if w.due_at is None else w.due_at, attributes=attributes
        )

    def _w_Release(self, w: base.Release, now: float) -> None:
        item = self._leased(w.queue, w.item_id, w.lease_token)
        attributes = item.attributes
        if w.attributes is not None:
            attributes = {**item.attributes, **copy.deepcopy(w.attributes)}
        attempts = max(0, item.attempts - 1)
        self._update(
            item,
            lease_token=None,
            due_at=now if w.due_at is None else w.due_at,
            attributes=attributes,
            attempts=attempts,
            first_leased_at=item.first_leased_at if attempts else None,
        )

    def _move(self, item: _Item, to_queue: str, due_at: float, reset_attempts: bool) -> None:
        self._check_new_id(to_queue, item.id)
        self._pop(self._items[item.queue], item.id)
        moved = _Item(
            to_queue,
            item.id,
            self._next_seq(),
            item.payload,
            item.group_id,
            item.attributes,
            item.enqueued_at,
            due_at,
            0 if reset_attempts else item.attempts,
            None if reset_attempts else item.first_leased_at,
            None,
        )
        self._set(self._queue(to_queue), item.id, moved)
        self._touched.update((queue_key(item.queue), queue_key(to_queue)))

    def _w_Move(self, w: base.Move, now: float) -> None:
        item = self._leased(w.queue, w.item_id, w.lease_token)
        self._move(item, w.to_queue, now if w.due_at is None else w.due_at, w.reset_attempts)

    def _w_DeadLetterItem(self, w: base.DeadLetterItem, now: float) -> None:
        item = self._leased(w.queue, w.item_id, w.lease_token)
        self._pop(self._items[w.queue], w.item_id)
        dead = DeadLetter(
            w.queue,
            item.id,
            self._next_seq(),
            item.payload,
            item.group_id,
            item.attributes,
            item.enqueued_at,
            item.attempts,
            now,
            dict(w.error),
        )
        self._set(self._dead_set(w.queue), item.id, dead)
        self._touched.add(queue_key(w.queue))

    def _dead_selection(self, queue: str, item_ids: tuple[str, ...] | None) -> list[DeadLetter]:
        dead = self._dead.get(queue, {})
        chosen = dead.values() if item_ids is None else [dead[i] for i in set(item_ids) if i in dead]
        return sorted(chosen, key=lambda d: d.seq)

    def _w_Redrive(self, w: base.Redrive, now: float) -> int:
        chosen = self._dead_selection(w.queue, w.item_ids)
        if w.limit is not None:
            chosen = chosen[: w.limit]
        for dead in chosen:
            self._pop(self._dead[w.queue], dead.id)
            item = _Item(
                w.queue,
                dead.id,
                self._next_seq(),
                dead.payload,
                dead.group_id,
                dead.attributes,
                dead.enqueued_at,
                now if w.due_at is None else w.due_at,
                0,
                None,
                None,
            )
            self._set(self._queue(w.queue), dead.id, item)
        if chosen:
            self._touched.add(queue_key(w.queue))
        return len(chosen)

    def _w_DeleteDeadLetters(self, w: base.DeleteDeadLetters, now: float) -> int:
        chosen = self._dead_selection(w.queue, w.item_ids)
        for dead in chosen:
            self._pop(self._dead[w.queue], dead.id)
        return len(chosen)

    def _delete_items(self, queue: str, keep: Callable[[_Item], bool]) -> int:
        items = self._items.get(queue, {})
        doomed = [item_id for item_id, item in items.items() if not keep(item)]
        for item_id in doomed:
            self._pop(items, item_id)
        if doomed:
            self._touched.add(queue_key(queue))
        return len(doomed)

    def _w_Purge(self, w: base.Purge, now: float) -> int:
        return self._delete_items(w.queue, lambda item: False)

    def _w_Expire(self, w: base.Expire, now: float) -> int:
        return self._delete_items(w.queue, lambda item: item.enqueued_at >= w.enqueued_before)

    def _w_DeleteQueue(self, w: base.DeleteQueue, now: float) -> int:
        count = self._delete_items(w.queue, lambda item: False)
        dead = self._dead.get(w.queue, {})
        doomed = list(dead)
        for item_id in doomed:
            self._pop(dead, item_id)
        return count + len(doomed)

    # ── work queues: lease and reads ──

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
        self._check_open()
        now = self.clock.now()
        items = self._items.get(queue, {})
        if fifo:
            candidates = self._fifo_candidates(sorted(items.values(), key=lambda i: i.seq), now)
        else:
            candidates = sorted(
                (i for i in items.values() if i.due_at <= now), key=lambda i: (i.due_at, i.seq)
            )
        self._undo, self._touched = [], set()
        leased: list[QueueItem] = []
        try:
            for item in candidates:
                if len(leased) >= max_items:
                    break
                if (
                    max_receive_count is not None
                    and dead_letter_queue is not None
                    and item.attempts >= max_receive_count
                ):
                    self._move(item, dead_letter_queue, now, reset_attempts=False)
                    continue
                token = secrets.token_hex(16)
                self._update(
                    item,
                    attempts=item.attempts + 1,
                    first_leased_at=now if item.first_leased_at is None else item.first_leased_at,
                    due_at=now + visibility_timeout,
                    lease_token=token,
                )
                leased.append(item.view(now, token))
        except BaseException:
            for undo in reversed(self._undo):
                undo()
            raise
        finally:
            touched, self._undo, self._touched = self._touched, [], set()
        self._notifier.notify(touched)
        return leased

    @staticmethod
    def _fifo_candidates(in_seq_order: list[_Item], now: float) -> list[_Item]:
        """Due items whose group has no earlier item still pending (in flight or not yet due), in seq order."""
        blocked: set[str] = set()
        out: list[_Item] = []
        for item in in_seq_order:
            if item.group_id is not None and item.group_id in blocked:
                continue
            if item.due_at <= now:
                out.append(item)
            elif item.group_id is not None:
                blocked.add(item.group_id)
        return out

    async def get_item(self, queue: str, item_id: str) -> QueueItem | None:
        self._check_open()
        item = self._items.get(queue, {}).get(item_id)
        return item.view(self.clock.now()) if item else None

    async def peek(self, queue: str, *, after_seq: int = 0, limit: int = 100) -> list[QueueItem]:
        self._check_open()
        now = self.clock.now()
        items = sorted(
            (i for i in self._items.get(queue, {}).values() if i.seq > after_seq), key=lambda i: i.seq
        )
        return [i.view(now) for i in items[:limit]]

    async def counts(self, queue: str, *, now: float | None = None) -> QueueCounts:
        self._check_open()
        at = self.clock.now() if now is None else now
        visible = in_flight = delayed = 0
        for item in self._items.get(queue, {}).values():
            if item.due_at <= at:
                visible += 1
            elif item.lease_token is not None:
                in_flight += 1
            else:
                delayed += 1
        return QueueCounts(visible, in_flight, delayed, len(self._dead.get(queue, {})))

    async def list_dead_letters(
        self, queue: str, *, after_seq: int = 0, limit: int = 100
    ) -> list[DeadLetter]:
        self._check_open()
        dead = sorted(
            (d for d in self._dead.get(queue, {}).values() if d.seq > after_seq), key=lambda d: d.seq
        )
        return [replace(d, attributes=copy.deepcopy(d.attributes)) for d in dead[:limit]]

    async def wait_for_due(self, queue: str, *, timeout: float, fifo: bool = False) -> bool:
        self._check_open()
        future = self._notifier.future(queue_key(queue))
        now = self.clock.now()
        items = self._items.get(queue, {}).values()
        if fifo:
            if self._fifo_candidates(sorted(items, key=lambda i: i.seq), now):
                return True
            next_due = min((i.due_at for i in items if i.due_at > now), default=None)
        else:
            next_due = min((i.due_at for i in items), default=None)
        return await wait_until_due(future, self.clock, now=now, timeout=timeout, next_due=next_due)

    # ── kv ──

    def _live(self, bucket: str, key: str, now: float) -> KvEntry | None:
        entry = self._kv.get(bucket, {}).get(key)
        if entry is None or (entry.expires_at is not None and entry.expires_at <= now):
            return None
        return entry

    def _w_KvPut(self, w: base.KvPut, now: float) -> KvEntry:
        current = self._live(w.bucket, w.key, now)
        revision = current.revision if current else 0
        if w.expected_revision is not None and w.expected_revision != revision:
            raise RevisionConflict(f"key {w.key!r} in bucket {w.bucket!r} is at revision {revision}")
        self._revision += 1
        entry = KvEntry(w.bucket, w.key, w.value, self._revision, None if w.ttl is None else now + w.ttl)
        self._set(self._kv.setdefault(w.bucket, {}), w.key, entry)
        return entry

    def _w_KvDelete(self, w: base.KvDelete, now: float) -> bool:
        current = self._live(w.bucket, w.key, now)
        revision = current.revision if current else 0
        if w.expected_revision is not None and w.expected_revision != revision:
            raise RevisionConflict(f"key {w.key!r} in bucket {w.bucket!r} is at revision {revision}")
        if w.key in self._kv.get(w.bucket, {}):
            self._pop(self._kv[w.bucket], w.key)
        return current is not None

    # ── renames (store migrations) ──

    def _w_RenameResource(self, w: base.RenameResource, now: float) -> bool:
        if (w.to_kind, w.to_name) in self._resources:
            raise VersionConflict(f"{w.to_kind} {w.to_name!r} already exists")
        current = self._resources.get((w.kind, w.name))
        if current is None:
            return False
        self._pop(self._resources, (w.kind, w.name))
        self._set(self._resources, (w.to_kind, w.to_name), replace(current, kind=w.to_kind, name=w.to_name))
        return True

    def _w_RenameLog(self, w: base.RenameLog, now: float) -> int:
        if w.to_log in self._logs:
            raise Conflict(f"log {w.to_log!r} already exists")
        state = self._logs.get(w.log)
        if state is None:
            return 0
        self._pop(self._logs, w.log)
        renamed = _Log(
            [replace(r, log=w.to_log) for r in state.records], state.last_position, state.size_bytes
        )
        self._set(self._logs, w.to_log, renamed)
        self._touched.update((log_key(w.log), log_key(w.to_log)))
        return len(renamed.records)

    def _w_RenameQueue(self, w: base.RenameQueue, now: float) -> int:
        if self._items.get(w.to_queue) or self._dead.get(w.to_queue):
            raise Conflict(f"queue {w.to_queue!r} has items")
        count = 0
        items = self._items.get(w.queue)
        if items is not None:
            self._pop(self._items, w.queue)
            self._set(
                self._items, w.to_queue, {i: replace(item, queue=w.to_queue) for i, item in items.items()}
            )
            count += len(items)
        dead = self._dead.get(w.queue)
        if dead is not None:
            self._pop(self._dead, w.queue)
            self._set(self._dead, w.to_queue, {i: replace(d, queue=w.to_queue) for i, d in dead.items()})
            count += len(dead)
        self._touched.update((queue_key(w.queue), queue_key(w.to_queue)))
        return count

    def _w_KvRename(self, w: base.KvRename, now: float) -> bool:
        if self._live(w.to_bucket, w.to_key, now) is not None:
            raise RevisionConflict(f"key {w.to_key!r} in bucket {w.to_bucket!r} exists")
        current = self._live(w.bucket, w.key, now)
        if current is None:
            return False
        self._pop(self._kv[w.bucket], w.key)
        moved = replace(current, bucket=w.to_bucket, key=w.to_key)
        self._set(self._kv.setdefault(w.to_bucket, {}), w.to_key, moved)
        return True

    def _w_RenameBucket(self, w: base.RenameBucket, now: float) -> int:
        if self._kv.get(w.to_bucket):
            raise Conflict(f"bucket {w.to_bucket!r} has entries")
        entries = self._kv.get(w.bucket)
        if not entries:
            return 0
        self._pop(self._kv, w.bucket)
        self._set(self._kv, w.to_bucket, {k: replace(e, bucket=w.to_bucket) for k, e in entries.items()})
        return len(entries)

    async def kv_get(self, bucket: str, key: str) -> KvEntry | None:
        self._check_open()
        return self._live(bucket, key, self.clock.now())

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
        self._check_open()
        now = self.clock.now()
        keys = sorted(
            (
                k
                for k in self._kv.get(bucket, {})
                if k.startswith(prefix) and (start is None or k >= start) and (end is None or k < end)
            ),
            reverse=reverse,
        )
        live = (self._live(bucket, k, now) for k in keys)
        return [e for e in live if e is not None][:limit]

    async def kv_stats(self, bucket: str) -> tuple[int, int]:
        self._check_open()
        now = self.clock.now()
        live = [e for e in self._kv.get(bucket, {}).values() if e.expires_at is None or e.expires_at > now]
        return len(live), sum(len(e.value) for e in live)
