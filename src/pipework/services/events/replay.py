"""Replays: resend an archive's events of a time window to its bus, oldest event time first, tagged with
``replay-name``. The archive is read through its time index a batch of events at a time, so a replay costs what
the window holds, not what it spans; each batch's deliveries and the replay's progress are one commit, so a crash
neither loses a batch nor sends it twice, and cancellation and restart survive a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import orjson

from pipework.engine.cluster import Cluster
from pipework.jsontypes import JSON

from .model import KIND_REPLAY, Replay, name_from_arn

if TYPE_CHECKING:
    from pipework.store.base import Batch

    from .api import EventsService
    from .state import EventsRegion

log = logging.getLogger("pipework.replay")
#: Events read, routed and committed together (with the replay's progress).
BATCH_SIZE = 500


def with_replay_name(event: JSON, replay: str) -> JSON:
    """The event with ``replay-name`` placed after ``region``, where AWS puts it."""
    out: JSON = {}
    for key, value in event.items():
        if key == "replay-name":
            continue
        out[key] = value
        if key == "region":
            out["replay-name"] = replay
    out.setdefault("replay-name", replay)
    return out


class Replayer:
    """Runs the replays of an `EventsService`, of every account and region; one task per active replay.

    Parameters:
        events: the service whose archives, replays and router the replays use.
        batch_size: events per read and commit.
    """

    def __init__(
        self, events: EventsService, *, batch_size: int = BATCH_SIZE, cluster: Cluster | None = None
    ) -> None:
        self.events = events
        self.cluster = cluster or Cluster(events.store)
        self.batch_size = batch_size
        self._tasks: dict[tuple[str, str, str], asyncio.Task[None]] = {}  # by (account, region, replay name)

    async def start(self) -> None:
        """Resume replays that were active when the server stopped."""
        self.events.on_replay_started = self.launch
        for here in self.events.everywhere():
            for name, replay in list(here.replays.items()):
                if replay.active:
                    await self.launch(here, name)

    async def launch(self, here: EventsRegion, name: str) -> None:
        key = (here.account, here.region, name)
        if key not in self._tasks or self._tasks[key].done():
            # One node at a time runs a replay (its lease: "events/replay/<account>/<region>/<name>").
            self._tasks[key] = self.cluster.singleton(
                f"events/replay/{here.account}/{here.region}/{name}", lambda: self._run(here, name)
            )

    async def stop(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        for task in self._tasks.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def wait(self, name: str, *, region: str | None = None, account: str | None = None) -> None:
        """Wait for a replay's task to end (tests); the replay is the server's default region's unless
        ``region`` (and ``account``) name another."""
        events = self.events
        task = self._tasks.get((account or events.account, region or events.region, name))
        if task is not None:
            await task

    async def _commit(self, here: EventsRegion, name: str, batch: Batch | None = None, **changes: Any) -> str:
        """Commit ``batch`` (deliveries) with ``changes`` to the replay's record, and return the replay's state.

        The record is read and written under the service's lock, so a CancelReplay is never overwritten by a stale
        copy. Once a cancel is recorded the replayer sends nothing more: the batch is dropped and the replay ends
        CANCELLED (a FAILED replay still records its failure)."""
        events = self.events
        async with events.lock:
            current = here.replays[name]
            if current.state == "CANCELLING" and changes.get("state") != "FAILED":
                batch = None
                changes = {"state": "CANCELLED", "ended": events.clock.now()}
            replay = replace(current, **changes)
            await events.save_replay(here, replay, batch)
            return replay.state

    async def _run(self, here: EventsRegion, name: str) -> None:
        if (
            self.events.store.shared
        ):  # another node may have run it (to its end) before this one got the lease
            stored = await self.events.store.get_resource(KIND_REPLAY, here.key(name))
            if stored is None or not Replay.from_store(stored.body).active:
                return
            here.replays[name] = Replay.from_store(stored.body)
        try:
            await self._replay(here, name)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("replay %s failed", name)
            await self._commit(
                here, name, state="FAILED", state_reason=str(exc)[:512], ended=self.events.clock.now()
            )

    async def _replay(self, here: EventsRegion, name: str) -> None:
        events = self.events
        if await self._commit(here, name, state="RUNNING") != "RUNNING":
            return  # cancelled before it started
        replay = here.replays[name]
        archive = name_from_arn(replay.source_arn)
        bus = name_from_arn(replay.destination["Arn"])
        filters = replay.destination.get("FilterArns")
        only = None
        if filters:
            only = frozenset(r.name for (b, _), r in here.rules.items() if b == bus and r.arn in filters)
        start, end = float(replay.start), float(replay.end)
        # Resume after the last replayed event (a record written before positions were kept: after its time).
        last = replay.last_replayed
        after = (float(last), int(replay.position or 0)) if last is not None else None
        while True:
            records = await events.store.read_log_window(
                here.archive_log(archive), start, end, after=after, limit=self.batch_size
            )
            if not records:
                break
            batch = events.store.batch()
            now = events.clock.now()
            for record in records:
                event = with_replay_name(orjson.loads(record.payload), name)
                events.route_into(
                    batch, here, bus, event, ingested=now, event_time=record.time, replay=name, only=only
                )
            after = (records[-1].time, records[-1].position)
            if await self._commit(here, name, batch, last_replayed=after[0], position=after[1]) != "RUNNING":
                return  # cancelled: this batch was not sent
        await self._commit(here, name, state="COMPLETED", last_replayed=end, ended=events.clock.now())
