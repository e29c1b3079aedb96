"""What the store returns: resources, log records, queue items, dead letters, counts, kv entries, commit results.

Frozen dataclasses shared by every backend (re-exported by `pipework.store.base`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipework.jsontypes import JSON

# ───────────────────────────────────────── records returned by the store ─────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class Resource:
    """A stored definition. `version` starts at 1 and grows by 1 on every put; `created`/`updated` are times."""

    kind: str
    name: str
    body: JSON
    version: int
    created: float
    updated: float


@dataclass(frozen=True, slots=True)
class ResourcePage:
    """One page of `list_resources`, ordered by name; pass `next_token` back to get the next page (None = end)."""

    items: list[Resource]
    next_token: str | None


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One record of a log. `position` is unique and strictly increasing per log and never reused (both current
    backends assign 1, 2, 3, …; a JetStream backend may leave gaps, so rely on order, not density)."""

    log: str
    position: int
    time: float
    key: str | None
    payload: bytes


@dataclass(frozen=True, slots=True)
class LogStats:
    """Size of a log now: record count, total payload bytes, first/last position present (0 when empty).

    `last_position` is the highest position ever assigned (it survives trimming), so `read_log(after=last)`
    waits for genuinely new records.
    """

    count: int
    size_bytes: int
    first_position: int
    last_position: int


@dataclass(frozen=True, slots=True)
class QueueItem:
    """A work-queue item.

    - `seq`: enqueue order within the store (FIFO order; moving an item to another queue gives it a new seq).
    - `due_at`: when the item is (or becomes again) visible. While leased it is the visibility deadline.
    - `attempts`: how many times it was leased (SQS ApproximateReceiveCount).
    - `first_leased_at`: time of the first lease, None if never leased (SQS ApproximateFirstReceiveTimestamp).
    - `enqueued_at`: time of the original enqueue (SQS SentTimestamp); kept across `move` and `retry`.
    - `lease_token`: set only on items returned by `lease` (a fresh token per lease); None from `peek`/`get_item`.
    - `in_flight`: leased and its visibility deadline not yet passed (as of the read).
    """

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
    lease_token: str | None = None
    in_flight: bool = False


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An item in a queue's dead-letter set: the full item plus the `error` attributes it was dead-lettered with."""

    queue: str
    id: str
    seq: int
    payload: bytes
    group_id: str | None
    attributes: JSON
    enqueued_at: float
    attempts: int
    dead_lettered_at: float
    error: dict[str, str]


@dataclass(frozen=True, slots=True)
class QueueCounts:
    """Counts at a time: visible (due, not leased or lease expired), in flight (leased, not expired),
    delayed (not yet due and not leased: delay or `retry` backoff), dead letters (in the queue's dead-letter set).
    """

    visible: int
    in_flight: int
    delayed: int
    dead_letters: int


@dataclass(frozen=True, slots=True)
class KvEntry:
    """A kv value. `revision` is a store-wide number assigned on every put that never repeats (like a JetStream
    sequence), so a compare-and-set cannot succeed against a key deleted or expired and re-created since it was read.
    `expires_at` is None without TTL."""

    bucket: str
    key: str
    value: bytes
    revision: int
    expires_at: float | None


@dataclass(frozen=True, slots=True)
class CommitResult:
    """What a commit produced: `results[i]` is the result of the batch's i-th write (see each `Batch` method)."""

    results: tuple[Any, ...]

    @property
    def positions(self) -> list[int]:
        """Positions assigned to the batch's `append`s, in the order they were added."""
        return [r.position for r in self.results if isinstance(r, LogRecord)]


@dataclass(frozen=True, slots=True)
class Lease:
    """A named lease (`Store.acquire_lease`): who holds it, its fencing token (grows by 1 each time the lease
    changes hands, so work stamped with an older token can be told apart), and when it runs out (epoch seconds of
    the store's notion of time; a lease past it may be taken by anyone)."""

    name: str
    holder: str
    token: int
    expires_at: float
    acquired_at: float
