"""What every SQS operation shares: the queue definitions (in the store, cached here), finding a queue by URL or
ARN, and the clock. The operations themselves are mixins over `SqsState` (queues.py, messaging.py, moves.py).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from pipework.clock import Clock
from pipework.engine.cluster import Cluster
from pipework.engine.metrics import Recorder
from pipework.jsontypes import JSON
from pipework.services.base import RequestContext
from pipework.store.base import Store

from .errors import queue_does_not_exist
from .model import KIND_QUEUE, Queue, parse_arn, parse_queue_url, queue_key

if TYPE_CHECKING:
    from .moves import MoveTask

_URL_CACHE_LIMIT = 10_000
DEDUP_BUCKET = "sqs/dedup"  # kv: FIFO deduplication ids, "<queue key>/<scope><id>", 5-minute TTL
EXPIRY_INTERVAL = 1.0  # seconds between retention sweeps of one queue (they run when the queue is read)


class SqsState:
    """Queues of one server, of every account and region, keyed ``"<account>/<region>/<name>"`` (`Queue.key`);
    definitions are written through to the store. A request sees the queues of its account and region only.

    Parameters:
        store, clock: the instance's. region, account: the defaults (a request's own region and account scope what it sees).
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        region: str,
        account: str,
        recorder: Recorder | None = None,
        cluster: Cluster | None = None,
    ) -> None:
        self.recorder = recorder  # AWS/SQS metrics (`SqsService.handle`, `sample_gauges`)
        self.store = store
        self.cluster = cluster or Cluster(store)
        self.clock = clock
        self.region = region
        self.account = account
        self.queues: dict[str, Queue] = {}
        # QueueUrl -> (account, name) from its path, or None if it names no queue; the region is the request's.
        self._owners_by_url: dict[str, tuple[str, str] | None] = {}
        # Serializes definition changes (create/delete/set attributes), so two CreateQueue calls agree.
        self.definitions = asyncio.Lock()
        self._purged_at: dict[str, float] = {}
        self._fifo_locks: dict[str, asyncio.Lock] = {}
        self._last_sequence = 0
        self.move_tasks: dict[str, list[MoveTask]] = {}  # by source queue ARN, oldest first
        self._next_expiry: dict[str, float] = {}

    async def refresh_queue(self, name: str) -> None:
        """Follow a change another node made to the queue stored as `name`."""
        resource = await self.store.get_resource(KIND_QUEUE, name)
        if resource is None:
            self.queues.pop(name, None)
        else:
            self.queues[name] = Queue.from_store(resource.body)

    async def load_queues(self) -> None:
        loaded: dict[str, Queue] = {}
        async for resource in self.store.all_resources(KIND_QUEUE):
            queue = Queue.from_store(resource.body)
            loaded[queue.key] = queue
        self.queues.clear()
        self.queues.update(loaded)

    def queue_for_url(self, url: str, ctx: RequestContext) -> Queue:
        """The queue a QueueUrl names in the request's region, or QueueDoesNotExist: by the URL's
        ``/<account>/<name>`` path whatever the host, or, as AWS also accepts, by a bare queue name in the caller's
        account."""
        if "/" not in url:
            queue = self.queues.get(queue_key(ctx.account, ctx.region, url))
            if queue is None:
                raise queue_does_not_exist()
            return queue
        try:
            owner = self._owners_by_url[url]
        except KeyError:
            owner = parse_queue_url(url)
            if len(self._owners_by_url) >= _URL_CACHE_LIMIT:
                self._owners_by_url.clear()
            self._owners_by_url[url] = owner
        queue = self.queues.get(queue_key(owner[0], ctx.region, owner[1])) if owner else None
        if queue is None:
            raise queue_does_not_exist()
        return queue

    def queue_for_arn(self, arn: str, region: str | None = None) -> Queue | None:
        """The queue an ARN names, or None; with `region` (the request's), None also for a queue of another
        region, which a regional SQS cannot see."""
        parsed = parse_arn(arn)
        if parsed is None or (region is not None and parsed[0] != region):
            return None
        return self.queues.get(queue_key(parsed[1], parsed[0], parsed[2]))

    async def save_queue(self, queue: Queue) -> None:
        await self.store.put_resource(KIND_QUEUE, queue.key, queue.to_store())
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

    async def peek(self, arn: str, *, limit: int = 10) -> JSON | None:
        """A look at a queue (None if `arn` names none) that changes nothing: no message is received, its
        visibility and receive count stay as they are. The first `limit` messages in store order (body, ids,
        times, receive count, whether in flight) and the age of the oldest message now (None when empty)."""
        queue = self.queue_for_arn(arn)
        if queue is None:
            return None
        now = self.clock.now()
        items = await self.store.peek(queue.store_queue, limit=max(limit, 100))
        oldest = min((item.enqueued_at for item in items), default=None)
        messages = [
            {
                "MessageId": item.id,
                "Body": item.payload.decode("utf-8", "replace"),
                "SentTimestamp": item.enqueued_at,
                "ReceiveCount": item.attempts,
                "InFlight": item.in_flight,
                "MessageGroupId": item.group_id,
            }
            for item in items[:limit]
        ]
        return {
            "Messages": messages,
            "AgeOfOldestMessage": None if oldest is None else max(0.0, now - oldest),
        }
