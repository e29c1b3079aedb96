"""Archives and replays: the API side. An archive is a managed rule whose target appends to the archive's log;
a replay is a resource the `Replayer` (`replay.py`) moves through AWS's states.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from pipework.jsontypes import JSON
from pipework.patterns import InvalidPatternError, compile_pattern
from pipework.services import paging
from pipework.store.base import Batch

from . import model
from .errors import already_exists, illegal_status, invalid_pattern, limit_exceeded, not_found, validation
from .model import Archive, Replay, Rule
from .state import EventsRegion, EventsState

MAX_ACTIVE_REPLAYS = 10


def _epoch(value: Any) -> float:
    return value.timestamp() if isinstance(value, dt.datetime) else float(value)


class ArchiveOperations(EventsState):
    """Mixed into `EventsService`."""

    @staticmethod
    def archive_rule(here: EventsRegion, archive: Archive) -> Rule:
        """The managed rule that feeds ``archive``, as AWS shows it (`model.archive_target`)."""
        bus, name = archive.bus, archive.rule_name
        target = {
            k: v for k, v in model.archive_target(here.region, archive.name).items() if k != "ArchiveName"
        }
        return Rule(
            name=name,
            arn=here.arns.rule(bus, name),
            bus=bus,
            pattern=model.archive_rule_pattern(archive.pattern),
            state="ENABLED" if archive.state == "ENABLED" else "DISABLED",
            managed_by=model.ARCHIVE_RULE_MANAGER,
            description=f"Managed rule of archive {archive.name}",
            targets=(target,),
            archive=archive.name,
        )

    async def _save_archive(self, here: EventsRegion, archive: Archive) -> None:
        # The archive and its rule in one commit: a crash never leaves an archive that nothing feeds.
        rule = self.archive_rule(here, archive)
        batch = self.store.batch()
        batch.put_resource(model.KIND_ARCHIVE, here.key(archive.name), archive.to_store())
        batch.put_resource(model.KIND_RULE, here.key(*rule.key), rule.to_store())
        await self.store.commit(batch)
        here.archives[archive.name] = archive
        self.remember_rule(here, rule)

    @staticmethod
    def _archive(here: EventsRegion, name: str) -> Archive:
        archive = here.archives.get(name)
        if archive is None:
            raise not_found(f"Archive {name} does not exist.")
        return archive

    @staticmethod
    def _check_pattern(pattern: str | None) -> None:
        if pattern:
            try:
                compile_pattern(pattern)
            except InvalidPatternError as exc:
                raise invalid_pattern(exc.message) from None

    @staticmethod
    def _created(archive: Archive) -> JSON:
        return {"ArchiveArn": archive.arn, "State": archive.state, "CreationTime": archive.created}

    async def op_CreateArchive(self, params: JSON, here: EventsRegion) -> JSON:
        name = params["ArchiveName"]
        if name in here.archives:
            raise already_exists(f"Archive {name} already exists.")
        bus = model.name_from_arn(params["EventSourceArn"])
        if bus not in here.buses or here.buses[bus].arn != params["EventSourceArn"]:
            raise not_found(f"Event bus {bus} does not exist.")
        self._check_pattern(params.get("EventPattern"))
        archive = Archive.from_api(params, arn=here.arns.archive(name), now=self.clock.now())
        await self._save_archive(here, archive)
        return self._created(archive)

    async def _counted(self, here: EventsRegion, archive: Archive, shown: JSON) -> JSON:
        stats = await self.store.log_stats(here.archive_log(archive.name))
        return {**shown, "EventCount": stats.count, "SizeBytes": stats.size_bytes}

    async def op_DescribeArchive(self, params: JSON, here: EventsRegion) -> JSON:
        archive = self._archive(here, params["ArchiveName"])
        return await self._counted(here, archive, archive.to_api())

    async def op_UpdateArchive(self, params: JSON, here: EventsRegion) -> JSON:
        archive = self._archive(here, params["ArchiveName"])
        self._check_pattern(params.get("EventPattern"))
        archive = archive.updated(params)
        await self._save_archive(here, archive)
        return self._created(archive)

    async def op_ListArchives(self, params: JSON, here: EventsRegion) -> JSON:
        prefix = params.get("NamePrefix", "")
        found = [
            a
            for n, a in sorted(here.archives.items())
            if n.startswith(prefix)
            and params.get("EventSourceArn", a.source_arn) == a.source_arn
            and params.get("State", a.state) == a.state
        ]
        page, token = paging.page("ListArchives", found, params.get("NextToken"), params.get("Limit"))
        out: JSON = {"Archives": [await self._counted(here, a, a.summary()) for a in page]}
        if token:
            out["NextToken"] = token
        return out

    async def op_DeleteArchive(self, params: JSON, here: EventsRegion) -> JSON:
        archive = self._archive(here, params["ArchiveName"])
        bus, rule_name = archive.bus, archive.rule_name
        await self.store.delete_resource(model.KIND_RULE, here.key(bus, rule_name))
        here.rules.pop((bus, rule_name), None)
        here.router.remove_rule(bus, rule_name)
        await self.store.delete_log(here.archive_log(archive.name))
        await self.store.delete_resource(model.KIND_ARCHIVE, here.key(archive.name))
        del here.archives[archive.name]
        return {}

    async def trim_archives(self) -> int:
        """Delete archived events older than their archive's RetentionDays (0 keeps them forever); returns how
        many went. Age is counted from the event's time, the time replays select by."""
        now = self.clock.now()
        trimmed = 0
        for here in self.everywhere():
            for archive in list(here.archives.values()):
                days = archive.retention_days or 0
                if days > 0:
                    trimmed += await self.store.trim_log(
                        here.archive_log(archive.name), before=now - days * 86_400
                    )
        return trimmed

    # -- replays -----------------------------------------------------------------------------------------------
    @staticmethod
    def _replay(here: EventsRegion, name: str) -> Replay:
        replay = here.replays.get(name)
        if replay is None:
            raise not_found(f"Replay {name} does not exist.")
        return replay

    async def save_replay(self, here: EventsRegion, replay: Replay, batch: Batch | None = None) -> None:
        """Store ``replay``, in one commit with ``batch``'s writes if given (a replayed batch's deliveries)."""
        batch = batch if batch is not None else self.store.batch()
        batch.put_resource(model.KIND_REPLAY, here.key(replay.name), replay.to_store())
        await self.store.commit(batch)
        here.replays[replay.name] = replay

    async def op_StartReplay(self, params: JSON, here: EventsRegion) -> JSON:
        name = params["ReplayName"]
        if name in here.replays:
            raise already_exists(f"Replay {name} already exists.")
        archive_name = model.name_from_arn(params["EventSourceArn"])
        archive = here.archives.get(archive_name)
        if archive is None or archive.arn != params["EventSourceArn"]:
            raise validation(
                f"Parameter EventSourceArn is not valid. Reason: Archive {archive_name} does not exist."
            )
        start, end = _epoch(params["EventStartTime"]), _epoch(params["EventEndTime"])
        if start >= end:
            raise validation(
                "Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime."
            )
        destination = params["Destination"]
        if destination["Arn"] != archive.source_arn:
            raise validation(
                "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted."
            )
        bus = archive.bus
        for arn in destination.get("FilterArns", []):
            if not any(r.arn == arn for (b, _), r in here.rules.items() if b == bus):
                raise validation(
                    f"Parameter Destination.FilterArns is not valid. Reason: Rule {arn} does not exist."
                )
        active = sum(1 for r in here.replays.values() if r.active)
        if active >= MAX_ACTIVE_REPLAYS:
            raise limit_exceeded()
        replay = Replay(
            name=name,
            arn=here.arns.replay(name),
            source_arn=params["EventSourceArn"],
            destination=destination,
            start=start,
            end=end,
            state="STARTING",
            started=self.clock.now(),
            description=params.get("Description") or None,
        )
        await self.save_replay(here, replay)
        if self.on_replay_started is not None:
            await self.on_replay_started(here, name)
        return {"ReplayArn": replay.arn, "State": replay.state, "ReplayStartTime": replay.started}

    async def op_DescribeReplay(self, params: JSON, here: EventsRegion) -> JSON:
        return self._replay(here, params["ReplayName"]).to_api()

    async def op_ListReplays(self, params: JSON, here: EventsRegion) -> JSON:
        prefix = params.get("NamePrefix", "")
        found = [
            r
            for n, r in sorted(here.replays.items())
            if n.startswith(prefix)
            and params.get("State", r.state) == r.state
            and params.get("EventSourceArn", r.source_arn) == r.source_arn
        ]
        page, token = paging.page("ListReplays", found, params.get("NextToken"), params.get("Limit"))
        out: JSON = {"Replays": [r.summary() for r in page]}
        if token:
            out["NextToken"] = token
        return out

    async def op_CancelReplay(self, params: JSON, here: EventsRegion) -> JSON:
        replay = self._replay(here, params["ReplayName"])
        if replay.state not in ("STARTING", "RUNNING"):
            raise illegal_status(f"Replay {replay.name} is not in a valid state for this operation.")
        replay = replace(replay, state="CANCELLING")
        await self.save_replay(here, replay)
        return {"ReplayArn": replay.arn, "State": "CANCELLING"}
