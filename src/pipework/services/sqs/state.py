"""What every SQS operation shares: the queue definitions (in the store, cached here), finding a queue by URL or
ARN, and the clock. The operations themselves are mixins over `SqsState` (queues.py, messaging.py, moves.py).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from pipework.clock import Clock
from pipework.store.base import Store

from .errors import queue_does_not_exist
from .model import KIND_QUEUE, Queue, parse_arn, parse_queue_url

if TYPE_CHECKING:
    from .moves import MoveTask

_URL_CACHE_LIMIT = 10_000
DEDUP_BUCKET = "sqs.dedup"  # kv: FIFO deduplication ids, "<account>/<queue>/<scope><id>", 5-minute TTL
EXPIRY_INTERVAL = 1.0  # seconds between retention sweeps of one queue (they run when the queue is read)


class SqsState:
    """Queues of one server, keyed ``"<account>/<name>"``; definitions are written through to the store.

    Parameters:
        store, clock: the instance's. region, account: what queue ARNs and URLs carry.
    """

    def __init__(self, store: Store, clock: Clock, *, region: str, account: str) -> None:
        self.store = store
        self.clock = clock
        self.region = region
        self.account = account
        self.queues: dict[str, Queue] = {}
        self._keys_by_url: dict[str, str | None] = {}
        # Serializes definition changes (create/delete/set attributes), so two CreateQueue calls agree.
        self.definitions = asyncio.Lock()
        self._purged_at: dict[str, float] = {}
        self._fifo_locks: dict[str, asyncio.Lock] = {}
        self._last_sequence = 0
        self.move_tasks: dict[str, list[MoveTask]] = {}  # by source queue ARN, oldest first
        self._next_expiry: dict[str, float] = {}

    async def load_queues(self) -> None:
        token: str | None = None
        while True:
            page = await self.store.list_resources(KIND_QUEUE, limit=1000, next_token=token)
            for resource in page.items:
                queue = Queue.from_json(resource.body)
                self.queues[queue.key] = queue
            token = page.next_token
            if token is None:
                return

    def queue_for_url(self, url: str) -> Queue:
        """The queue a QueueUrl names (by its ``/<account>/<name>`` path, whatever the host), or QueueDoesNotExist."""
        key = self._keys_by_url.get(url, "")
        if key == "":
            parsed = parse_queue_url(url)
            key = f"{parsed[0]}/{parsed[1]}" if parsed else None
            if len(self._keys_by_url) >= _URL_CACHE_LIMIT:
                self._keys_by_url.clear()
            self._keys_by_url[url] = key
        queue = self.queues.get(key) if key else None
        if queue is None:
            raise queue_does_not_exist()
        return queue

    def queue_for_arn(self, arn: str) -> Queue | None:
        parsed = parse_arn(arn)
        return self.queues.get(f"{parsed[0]}/{parsed[1]}") if parsed else None

    async def save_queue(self, queue: Queue) -> None:
        await self.store.put_resource(KIND_QUEUE, queue.key, queue.to_json())
        self.queues[queue.key] = queue

    async def expire(self, queue: Queue) -> None:
        """Delete messages older than the queue's MessageRetentionPeriod (at most once per EXPIRY_INTERVAL)."""
        now = self.clock.now()
        if now < self._next_expiry.get(queue.key, 0.0):
            return
        self._next_expiry[queue.key] = now + EXPIRY_INTERVAL
        await self.store.expire(
            queue.store_queue, enqueued_before=now - queue.integer("MessageRetentionPeriod")
        )
