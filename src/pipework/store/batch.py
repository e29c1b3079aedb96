"""The writes a batch carries and `Batch`, the builder callers fill before `Store.commit` (all or nothing).

Backends interpret the write dataclasses; callers use only the `Batch` methods (re-exported by `pipework.store.base`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pipework.jsontypes import JSON

# ───────────────────────────────────── writes (the operations a batch carries) ─────────────────────────────────────
# Backends interpret these; callers build them through `Batch` methods, not directly.


@dataclass(frozen=True, slots=True)
class PutResource:
    kind: str
    name: str
    body: JSON
    expected_version: int | None


@dataclass(frozen=True, slots=True)
class DeleteResource:
    kind: str
    name: str
    expected_version: int | None


@dataclass(frozen=True, slots=True)
class Append:
    log: str
    payload: bytes
    time: float | None
    key: str | None


@dataclass(frozen=True, slots=True)
class TrimLog:
    log: str
    before: float


@dataclass(frozen=True, slots=True)
class DeleteLog:
    log: str


@dataclass(frozen=True, slots=True)
class Enqueue:
    queue: str
    item_id: str
    payload: bytes
    due_at: float | None
    group_id: str | None
    attributes: JSON


@dataclass(frozen=True, slots=True)
class Ack:
    queue: str
    item_id: str
    lease_token: str


@dataclass(frozen=True, slots=True)
class ChangeVisibility:
    queue: str
    item_id: str
    lease_token: str
    timeout: float
    require_in_flight: bool


@dataclass(frozen=True, slots=True)
class Retry:
    queue: str
    item_id: str
    lease_token: str
    due_at: float | None
    attributes: JSON | None


@dataclass(frozen=True, slots=True)
class Release:
    queue: str
    item_id: str
    lease_token: str
    due_at: float | None
    attributes: JSON | None


@dataclass(frozen=True, slots=True)
class Move:
    queue: str
    item_id: str
    to_queue: str
    lease_token: str | None
    due_at: float | None
    reset_attempts: bool


@dataclass(frozen=True, slots=True)
class DeadLetterItem:
    queue: str
    item_id: str
    lease_token: str | None
    error: dict[str, str]


@dataclass(frozen=True, slots=True)
class Redrive:
    queue: str
    item_ids: tuple[str, ...] | None
    limit: int | None
    due_at: float | None


@dataclass(frozen=True, slots=True)
class DeleteDeadLetters:
    queue: str
    item_ids: tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class Purge:
    queue: str


@dataclass(frozen=True, slots=True)
class Expire:
    queue: str
    enqueued_before: float


@dataclass(frozen=True, slots=True)
class DeleteQueue:
    queue: str


@dataclass(frozen=True, slots=True)
class KvPut:
    bucket: str
    key: str
    value: bytes
    ttl: float | None
    expected_revision: int | None


@dataclass(frozen=True, slots=True)
class KvDelete:
    bucket: str
    key: str
    expected_revision: int | None


# Renames: what store migrations (`pipework.store.migrations`) use to move data to a new namespace unchanged.


@dataclass(frozen=True, slots=True)
class RenameResource:
    kind: str
    name: str
    to_kind: str
    to_name: str


@dataclass(frozen=True, slots=True)
class RenameLog:
    log: str
    to_log: str


@dataclass(frozen=True, slots=True)
class RenameQueue:
    queue: str
    to_queue: str


@dataclass(frozen=True, slots=True)
class KvRename:
    bucket: str
    key: str
    to_bucket: str
    to_key: str


@dataclass(frozen=True, slots=True)
class RenameBucket:
    bucket: str
    to_bucket: str


Write = (
    PutResource
    | DeleteResource
    | Append
    | TrimLog
    | DeleteLog
    | Enqueue
    | Ack
    | ChangeVisibility
    | Retry
    | Release
    | Move
    | DeadLetterItem
    | Redrive
    | DeleteDeadLetters
    | Purge
    | Expire
    | DeleteQueue
    | KvPut
    | KvDelete
    | RenameResource
    | RenameLog
    | RenameQueue
    | KvRename
    | RenameBucket
)


@dataclass
class Batch:
    """Writes to commit together, atomically, in the order they were added: `await store.commit(batch)`.

    Each method appends one write and returns its index `i` in `CommitResult.results` (results documented per
    method). Errors (conflicts, stale tokens, unknown ids) surface at commit time and abort the whole batch.
    """

    writes: list[Write] = field(default_factory=list)

    def _add(self, write: Write) -> int:
        self.writes.append(write)
        return len(self.writes) - 1

    def __len__(self) -> int:
        return len(self.writes)

    # resources
    def put_resource(self, kind: str, name: str, body: JSON, *, expected_version: int | None = None) -> int:
        """Create or replace `(kind, name)`. `expected_version`: None = unconditional, 0 = must not exist,
        n = current version must be n (else `VersionConflict`). Result: the stored `Resource`."""
        return self._add(PutResource(kind, name, body, expected_version))

    def delete_resource(self, kind: str, name: str, *, expected_version: int | None = None) -> int:
        """Delete `(kind, name)`. With `expected_version` n, the current version must be n (else
        `VersionConflict`, also when absent). Result: True if something was deleted."""
        return self._add(DeleteResource(kind, name, expected_version))

    # logs
    def append(self, log: str, payload: bytes, *, time: float | None = None, key: str | None = None) -> int:
        """Append a record to `log` (created on first append). Result: the stored `LogRecord` (its position)."""
        return self._add(Append(log, payload, time, key))

    def trim_log(self, log: str, *, before: float) -> int:
        """Retention: delete records of `log` whose time < `before`. Result: number of records deleted."""
        return self._add(TrimLog(log, before))

    def delete_log(self, log: str) -> int:
        """Delete `log` and all its records; positions restart at 1 afterwards. Result: records deleted."""
        return self._add(DeleteLog(log))

    # work queues
    def enqueue(
        self,
        queue: str,
        item_id: str,
        payload: bytes,
        *,
        due_at: float | None = None,
        group_id: str | None = None,
        attributes: JSON | None = None,
    ) -> int:
        """Add an item to `queue` (created on first enqueue), due at `due_at` (None = now). Ids are unique per
        queue, including its dead-letter set (else `DuplicateItem`). Result: None."""
        return self._add(Enqueue(queue, item_id, payload, due_at, group_id, dict(attributes or {})))

    def ack(self, queue: str, item_id: str, lease_token: str) -> int:
        """Delete a leased item. `ItemNotFound` if absent; `StaleLease` if `lease_token` is not its latest
        token (an expired-but-not-re-leased lease still acks). Result: None."""
        return self._add(Ack(queue, item_id, lease_token))

    def change_visibility(
        self, queue: str, item_id: str, lease_token: str, timeout: float, *, require_in_flight: bool = False
    ) -> int:
        """Set the item's visibility deadline to now + `timeout` (0 = visible at once); the lease token stays
        valid. Errors as `ack`, plus `NotInFlight` if `require_in_flight` and the deadline had passed. Result: None.
        """
        return self._add(ChangeVisibility(queue, item_id, lease_token, timeout, require_in_flight))

    def retry(
        self,
        queue: str,
        item_id: str,
        lease_token: str,
        *,
        due_at: float | None = None,
        attributes: JSON | None = None,
    ) -> int:
        """Nak with delay: end the lease (the token becomes stale) and make the item due at `due_at` (None = now);
        `attributes`, if given, are merged into the item's (e.g. last error). `attempts` is kept. Errors as `ack`.
        Result: None."""
        return self._add(Retry(queue, item_id, lease_token, due_at, attributes))

    def release(
        self,
        queue: str,
        item_id: str,
        lease_token: str,
        *,
        due_at: float | None = None,
        attributes: JSON | None = None,
    ) -> int:
        """Put a leased item back as if this lease had not happened: the lease ends (the token becomes stale),
        `attempts` goes back down by one (and `first_leased_at` back to unset if that was the first lease), the item
        is due at `due_at` (None = now) and `attributes`, if given, are merged into its own. For a delivery that a
        middleware parks without attempting it (a circuit breaker): parking spends no attempt. Errors as `ack`.
        Result: None."""
        return self._add(Release(queue, item_id, lease_token, due_at, attributes))

    def move(
        self,
        queue: str,
        item_id: str,
        to_queue: str,
        *,
        lease_token: str | None = None,
        due_at: float | None = None,
        reset_attempts: bool = False,
    ) -> int:
        """Move an item to `to_queue` atomically (same id, payload, group, attributes, enqueued_at; a new seq, no
        lease, due at `due_at` or now). With `lease_token` it must be current (`StaleLease`). `reset_attempts`
        zeroes attempts and first_leased_at. `DuplicateItem` if the id exists there. Result: None."""
        return self._add(Move(queue, item_id, to_queue, lease_token, due_at, reset_attempts))

    def dead_letter(
        self, queue: str, item_id: str, *, lease_token: str | None = None, error: dict[str, str] | None = None
    ) -> int:
        """Move an item from `queue` into `queue`'s dead-letter set with `error` attributes (e.g. ERROR_CODE,
        ERROR_MESSAGE). Token checked as in `move`. Result: None."""
        return self._add(DeadLetterItem(queue, item_id, lease_token, dict(error or {})))

    def redrive(
        self,
        queue: str,
        item_ids: Sequence[str] | None = None,
        *,
        limit: int | None = None,
        due_at: float | None = None,
    ) -> int:
        """Move dead letters of `queue` back into it with attempts 0, in dead-letter order: the given ids (unknown
        ids are skipped) or all, at most `limit`. Due at `due_at` or now; `error` is dropped. Result: count moved."""
        return self._add(Redrive(queue, tuple(item_ids) if item_ids is not None else None, limit, due_at))

    def delete_dead_letters(self, queue: str, item_ids: Sequence[str] | None = None) -> int:
        """Delete the given dead letters of `queue` (or all). Result: count deleted."""
        return self._add(DeleteDeadLetters(queue, tuple(item_ids) if item_ids is not None else None))

    def purge(self, queue: str) -> int:
        """Delete every item of `queue` (visible, delayed and in flight; not dead letters). Result: count."""
        return self._add(Purge(queue))

    def expire(self, queue: str, *, enqueued_before: float) -> int:
        """Retention: delete items of `queue` (in any state) enqueued before the time. Result: count deleted."""
        return self._add(Expire(queue, enqueued_before))

    def delete_queue(self, queue: str) -> int:
        """Delete every item and dead letter of `queue`. Result: count of items + dead letters deleted."""
        return self._add(DeleteQueue(queue))

    # kv
    def kv_put(
        self,
        bucket: str,
        key: str,
        value: bytes,
        *,
        ttl: float | None = None,
        expected_revision: int | None = None,
    ) -> int:
        """Set `key` in `bucket`, expiring `ttl` seconds after the commit (None = never). `expected_revision`:
        None = unconditional, 0 = must be absent (expired counts as absent), n = current revision must be n
        (else `RevisionConflict`). Result: the stored `KvEntry`."""
        return self._add(KvPut(bucket, key, value, ttl, expected_revision))

    def kv_delete(self, bucket: str, key: str, *, expected_revision: int | None = None) -> int:
        """Delete `key`; with `expected_revision` n the current revision must be n (`RevisionConflict`).
        Result: True if a live entry was deleted."""
        return self._add(KvDelete(bucket, key, expected_revision))

    # renames (store migrations: the data keeps everything but its name)
    def rename_resource(self, kind: str, name: str, to_kind: str, to_name: str) -> int:
        """Give resource `(kind, name)` the identity `(to_kind, to_name)`, keeping its body, version and times.
        `VersionConflict` if `(to_kind, to_name)` exists. Result: True if renamed, False if there was none."""
        return self._add(RenameResource(kind, name, to_kind, to_name))

    def rename_log(self, log: str, to_log: str) -> int:
        """Give `log` (its records, positions and last position) the name `to_log`. `Conflict` if `to_log` has
        ever been appended to (and not deleted since). Result: number of records renamed."""
        return self._add(RenameLog(log, to_log))

    def rename_queue(self, queue: str, to_queue: str) -> int:
        """Give every item and dead letter of `queue` to `to_queue`, unchanged (seq, due time, attempts and lease
        tokens included: a lease taken before the rename acks after it). `Conflict` if `to_queue` has items or
        dead letters. Result: count of items + dead letters renamed."""
        return self._add(RenameQueue(queue, to_queue))

    def kv_rename(self, bucket: str, key: str, to_bucket: str, to_key: str) -> int:
        """Give the live entry `key` of `bucket` the place `to_key` of `to_bucket`, keeping its value, revision
        and expiry. `RevisionConflict` if a live entry is there. Result: True if renamed, False if none was live."""
        return self._add(KvRename(bucket, key, to_bucket, to_key))

    def rename_bucket(self, bucket: str, to_bucket: str) -> int:
        """Give every entry of `bucket` (expired ones too) to `to_bucket`, keeping keys, values, revisions and
        expiry: one statement however large the bucket. `Conflict` if `to_bucket` has entries. Result: entries
        renamed."""
        return self._add(RenameBucket(bucket, to_bucket))
