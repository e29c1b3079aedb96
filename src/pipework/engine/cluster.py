"""`Cluster`: this node among the nodes that share one store, its heartbeat, and the singleton jobs it runs.

On a store that only this process opens (memory, SQLite) there is one node: a singleton job simply runs. On a
shared store (PostgreSQL) every node asks to run every singleton job (a pipe's source lane, a replay, a message
move task, the TTL sweeper, archive retention, a ticker), and each job runs only on the node that holds its lease
(`Store.acquire_lease`), with the lease's fencing token:

- the holder renews the lease every third of the lease time; a holder that could not renew it for two thirds of
  the lease time stops the job before the lease can run out, so two nodes never run it at once (as long as a
  node's pauses stay shorter than a third of the lease time);
- the other nodes try to take it every tenth of the lease time (at most every second), so a job whose node died
  moves to another node at most about 1.1 lease times after that node's last renewal;
- a job that ends by itself (a replay that finished) releases its lease.

Each node also holds the lease ``node/<id>`` as its heartbeat: `pipework cluster status` lists those as the nodes.
The lease time is `lease_time` seconds (default 30; `pipework serve --lease-time`, `PIPEWORK_LEASE_TIME`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pipework.clock import Clock
from pipework.store.base import FENCE, Lease, Store

log = logging.getLogger("pipework.cluster")

DEFAULT_LEASE_TIME = 30.0
NODE_PREFIX = "node/"


def new_node_id() -> str:
    """`<host>-<pid>-<random>`: unique per process start, and says where the process runs."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


@dataclass
class Held:
    """A lease this node holds: its name, fencing token, and when it was last renewed (monotonic seconds)."""

    name: str
    token: int
    renewed: float


class Cluster:
    """This node's view of the cluster. Build one per instance; `start()` begins the heartbeat, `stop()` ends every
    singleton job and gives up every lease (so other nodes take over at once rather than after the lease time).

    Parameters:
        store: the store the nodes share (`store.shared`) or this process alone owns.
        node_id: this node's id (default: `new_node_id()`).
        lease_time: seconds a lease lasts without renewal (and so the longest a job waits to move after its node
            died).
        address: where this node serves (shown by `pipework cluster status`).
        clock: the instance's clock; a `ManualClock` is told not to wait for the lease loops (they run on real
            time), only for the jobs themselves.
    """

    def __init__(
        self,
        store: Store,
        *,
        node_id: str | None = None,
        lease_time: float = DEFAULT_LEASE_TIME,
        address: str = "",
        clock: Clock | None = None,
    ) -> None:
        if lease_time <= 0:
            raise ValueError(f"lease_time must be positive, not {lease_time}")
        self.store = store
        self.node_id = node_id or new_node_id()
        self.lease_time = lease_time
        self.address = address
        self.clock = clock
        self.held: dict[str, Held] = {}
        self._jobs: dict[str, asyncio.Task[None]] = {}
        self._heartbeat: asyncio.Task[None] | None = None

    @property
    def shared(self) -> bool:
        return self.store.shared

    @property
    def holder(self) -> str:
        """What the leases record as their holder: the node id, and where it serves."""
        return f"{self.node_id} {self.address}".strip()

    async def start(self) -> None:
        if self.shared:
            await self._renew(NODE_PREFIX + self.node_id)
            self._heartbeat = self._background(asyncio.create_task(self._beat(), name="cluster:heartbeat"))

    async def stop(self) -> None:
        jobs = list(self._jobs.values())
        for job in jobs:
            job.cancel()
        for job in jobs:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await job
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
        if self.shared:
            for name in list(self.held):
                with contextlib.suppress(Exception):
                    await self.store.release_lease(name, self.holder)
        self.held.clear()

    # ── singleton jobs ──

    def singleton(self, name: str, body: Callable[[], Awaitable[object]]) -> asyncio.Task[None]:
        """Run `await body()` on exactly one node at a time, under the lease `name`; returns this node's task for
        it (cancel it to stop asking). On a store of one process the body just runs."""
        current = self._jobs.get(name)
        if current is not None and not current.done():
            return current
        task = asyncio.create_task(self._run(name, body), name=f"singleton:{name}")
        self._jobs[name] = task
        task.add_done_callback(lambda done: self._jobs.get(name) is done and self._jobs.pop(name))
        return task

    async def cancel(self, name: str) -> None:
        """Stop the singleton job `name` on this node (and give up its lease if held)."""
        task = self._jobs.pop(name, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _background(self, task: asyncio.Task[None]) -> asyncio.Task[None]:
        ignore = getattr(self.clock, "ignore", None)
        if ignore is not None:
            ignore([task])
        return task

    def token(self, name: str) -> int | None:
        """The fencing token of the lease `name` if this node holds it."""
        held = self.held.get(name)
        return held.token if held else None

    async def _run(self, name: str, body: Callable[[], Awaitable[object]]) -> None:
        if not self.shared:
            self.held[name] = Held(name, 1, time.monotonic())
            try:
                await body()
            finally:
                self.held.pop(name, None)
            return
        try:
            first = True
            while True:
                taken = await self._take(name)
                if (
                    first
                ):  # from now on it waits on real time or on its job, which a ManualClock tracks itself
                    first = False
                    current = asyncio.current_task()
                    if current is not None:
                        self._background(current)
                if not taken:
                    await asyncio.sleep(min(1.0, self.lease_time / 10))
                    continue
                if await self._hold_while_running(name, body):
                    return  # the body ended by itself
        finally:  # given up at once, so another node takes the job without waiting for the lease to run out
            if self.held.pop(name, None) is not None:
                with contextlib.suppress(Exception):
                    await asyncio.shield(self.store.release_lease(name, self.holder))

    async def _take(self, name: str) -> bool:
        try:
            return await self._renew(name)
        except Exception as error:  # the store is away: try again at the next turn
            log.debug("taking the lease %s failed: %s", name, error)
            return False

    async def _renew(self, name: str) -> bool:
        lease: Lease | None = await self.store.acquire_lease(name, self.holder, self.lease_time)
        if lease is None:
            self.held.pop(name, None)
            return False
        previous = self.held.get(name)
        if previous is None or previous.token != lease.token:
            log.info("node %s holds %s (token %d)", self.node_id, name, lease.token)
        self.held[name] = Held(name, lease.token, time.monotonic())
        return True

    async def _hold_while_running(self, name: str, body: Callable[[], Awaitable[object]]) -> bool:
        """Run the body while the lease is renewed; True if the body ended, False if the lease was lost."""
        fence = (name, self.holder, self.held[name].token)
        job = asyncio.create_task(_call(body, fence), name=f"job:{name}")
        try:
            while True:
                done, _ = await asyncio.wait({job}, timeout=self.lease_time / 3)
                if done:
                    job.result()  # a body that raised: the lease is given up and the error logged by the caller
                    return True
                try:
                    if await self._renew(name):
                        continue
                    log.warning(
                        "node %s lost the lease %s to another node; stopping its job", self.node_id, name
                    )
                except Exception as error:
                    held = self.held.get(name)
                    if held is not None and time.monotonic() - held.renewed < self.lease_time * 2 / 3:
                        continue  # the database may be back before the lease could run out
                    log.warning(
                        "node %s cannot renew the lease %s (%s); stopping its job", self.node_id, name, error
                    )
                self.held.pop(name, None)
                return False
        finally:
            if not job.done():
                job.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await job

    # ── heartbeat ──

    async def _beat(self) -> None:
        name = NODE_PREFIX + self.node_id
        while True:
            await asyncio.sleep(self.lease_time / 3)
            try:
                await self._renew(name)
            except Exception as error:
                log.warning("heartbeat of node %s failed: %s", self.node_id, error)

    async def nodes(self) -> list[Lease]:
        """The nodes whose heartbeat has not run out (on a store of one process: this node)."""
        if not self.shared:
            now = time.time()
            return [Lease(NODE_PREFIX + self.node_id, self.holder, 1, now + self.lease_time, now)]
        return await self.store.list_leases(NODE_PREFIX)

    async def leases(self) -> list[Lease]:
        """Every lease held now, nodes' heartbeats excepted."""
        if not self.shared:
            now = time.time()
            return [
                Lease(h.name, self.holder, h.token, now + self.lease_time, now) for h in self.held.values()
            ]
        return [lease for lease in await self.store.list_leases() if not lease.name.startswith(NODE_PREFIX)]


async def _call(body: Callable[[], Awaitable[object]], fence: tuple[str, str, int]) -> None:
    FENCE.set(fence)  # this task's context, and so every task the job starts: their commits are fenced
    await body()
