"""Replays: resend an archive's events of a time window to its bus, one minute of event time at a time, oldest
first, tagged with ``replay-name``; progress (EventLastReplayedTime), cancellation and restart survive a crash
(a slice interrupted by a crash is sent again: at-least-once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from pipework.services.events.api import EventsService

log = logging.getLogger("pipework.replay")
JSON = dict[str, Any]
SLICE = 60.0  # seconds of event time per step


def _name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


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
    """Runs the replays of an `EventsService`; one task per active replay."""

    def __init__(self, events: EventsService) -> None:
        self.events = events
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def start(self) -> None:
        """Resume replays that were active when the server stopped."""
        self.events.on_replay_started = self.launch
        for name, replay in list(self.events.replays.items()):
            if replay["State"] in ("STARTING", "RUNNING", "CANCELLING"):
                await self.launch(name)

    async def launch(self, name: str) -> None:
        if name not in self._tasks or self._tasks[name].done():
            self._tasks[name] = asyncio.create_task(self._run(name), name=f"replay:{name}")

    async def stop(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        for task in self._tasks.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def wait(self, name: str) -> None:
        """Wait for a replay's task to end (tests)."""
        task = self._tasks.get(name)
        if task is not None:
            await task

    async def _set(self, name: str, **changes: Any) -> JSON:
        replay = {**self.events.replays[name], **changes}
        await self.events.save_replay(replay)
        return replay

    async def _run(self, name: str) -> None:
        try:
            await self._replay(name)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("replay %s failed", name)
            await self._set(
                name, State="FAILED", StateReason=str(exc)[:512], ReplayEndTime=self.events.clock.now()
            )

    async def _replay(self, name: str) -> None:
        events = self.events
        replay = events.replays[name]
        if replay["State"] == "CANCELLING":
            await self._set(name, State="CANCELLED", ReplayEndTime=events.clock.now())
            return
        replay = await self._set(name, State="RUNNING")
        archive = _name(replay["EventSourceArn"])
        bus = _name(replay["Destination"]["Arn"])
        filters = replay["Destination"].get("FilterArns")
        only = None
        if filters:
            only = frozenset(
                r["Name"] for (b, _), r in events.rules.items() if b == bus and r["Arn"] in filters
            )
        cursor = float(replay.get("EventLastReplayedTime") or replay["EventStartTime"])
        end = float(replay["EventEndTime"])
        while cursor < end:
            if events.replays[name]["State"] == "CANCELLING":
                await self._set(name, State="CANCELLED", ReplayEndTime=events.clock.now())
                return
            slice_end = min(cursor + SLICE, end)
            await self._send_slice(archive, bus, name, cursor, slice_end, only)
            cursor = slice_end
            await self._set(name, EventLastReplayedTime=cursor)
        await self._set(name, State="COMPLETED", ReplayEndTime=events.clock.now())

    async def _send_slice(
        self, archive: str, bus: str, name: str, start: float, end: float, only: frozenset[str] | None
    ) -> None:
        events = self.events
        after = 0
        while True:
            records = await events.store.read_log_window(
                events.archive_log(archive), start, end, after=after, limit=500
            )
            if not records:
                return
            batch = events.store.batch()
            now = events.clock.now()
            for record in records:
                event = with_replay_name(orjson.loads(record.payload), name)
                events.route_into(
                    batch, bus, event, ingested=now, event_time=record.time, replay=name, only=only
                )
            if len(batch):
                await events.store.commit(batch)
            after = records[-1].position
