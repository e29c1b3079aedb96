"""Archives and replays: the API side. An archive is a managed rule whose target appends to the archive's log;
a replay is a resource the `Replayer` (`replay.py`) moves through AWS's states.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pipework.jsontypes import JSON
from pipework.patterns import InvalidPatternError, compile_pattern
from pipework.services import paging
from pipework.store.base import Batch

from . import model
from .errors import already_exists, illegal_status, invalid_pattern, limit_exceeded, not_found, validation
from .state import EventsRegion, EventsState

MAX_ACTIVE_REPLAYS = 10
ACTIVE_REPLAY_STATES = ("STARTING", "RUNNING", "CANCELLING")


def _epoch(value: Any) -> float:
    return value.timestamp() if isinstance(value, dt.datetime) else float(value)


class ArchiveOperations(EventsState):
    """Mixed into `EventsService`."""

    @staticmethod
    def archive_rule(here: EventsRegion, archive: JSON) -> JSON:
        """The managed rule that feeds ``archive``, as AWS shows it (`model.archive_target`)."""
        bus = model.name_from_arn(archive["EventSourceArn"])
        name = model.ARCHIVE_RULE_PREFIX + archive["ArchiveName"]
        return {
            "Name": name,
            "Arn": here.arns.rule(bus, name),
            "EventBusName": bus,
            "EventPattern": model.archive_rule_pattern(archive.get("EventPattern")),
            "State": "ENABLED" if archive["State"] == "ENABLED" else "DISABLED",
            "ManagedBy": model.ARCHIVE_RULE_MANAGER,
            "Description": f"Managed rule of archive {archive['ArchiveName']}",
            "Targets": [model.archive_target(here.region, archive["ArchiveName"])],
            "Tags": {},
        }

    async def _save_archive(self, here: EventsRegion, archive: JSON) -> None:
        # The archive and its rule in one commit: a crash never leaves an archive that nothing feeds.
        rule = self.archive_rule(here, archive)
        batch = self.store.batch()
        batch.put_resource(model.KIND_ARCHIVE, here.key(archive["ArchiveName"]), archive)
        batch.put_resource(model.KIND_RULE, here.key(rule["EventBusName"], rule["Name"]), rule)
        await self.store.commit(batch)
        here.archives[archive["ArchiveName"]] = archive
        self.remember_rule(here, rule)

    @staticmethod
    def _archive(here: EventsRegion, name: str) -> JSON:
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

    async def op_CreateArchive(self, params: JSON, here: EventsRegion) -> JSON:
        name = params["ArchiveName"]
        if name in here.archives:
            raise already_exists(f"Archive {name} already exists.")
        bus = model.name_from_arn(params["EventSourceArn"])
        if bus not in here.buses or here.buses[bus]["Arn"] != params["EventSourceArn"]:
            raise not_found(f"Event bus {bus} does not exist.")
        self._check_pattern(params.get("EventPattern"))
        archive: JSON = {
            "ArchiveName": name,
            "ArchiveArn": here.arns.archive(name),
            "EventSourceArn": params["EventSourceArn"],
            "State": "ENABLED",
            "RetentionDays": params.get("RetentionDays", 0),
            "CreationTime": self.clock.now(),
        }
        for key in ("Description", "EventPattern", "KmsKeyIdentifier"):
            if params.get(key) is not None:
                archive[key] = params[key]
        await self._save_archive(here, archive)
        return {k: archive[k] for k in ("ArchiveArn", "State", "CreationTime")}

    async def op_DescribeArchive(self, params: JSON, here: EventsRegion) -> JSON:
        archive = dict(self._archive(here, params["ArchiveName"]))
        stats = await self.store.log_stats(here.archive_log(archive["ArchiveName"]))
        archive["EventCount"] = stats.count
        archive["SizeBytes"] = stats.size_bytes
        return archive

    async def op_UpdateArchive(self, params: JSON, here: EventsRegion) -> JSON:
        archive = dict(self._archive(here, params["ArchiveName"]))
        self._check_pattern(params.get("EventPattern"))
        for key in ("Description", "EventPattern", "RetentionDays", "KmsKeyIdentifier"):
            if key in params:
                archive[key] = params[key]
        await self._save_archive(here, archive)
        return {k: archive[k] for k in ("ArchiveArn", "State", "CreationTime")}

    async def op_ListArchives(self, params: JSON, here: EventsRegion) -> JSON:
        prefix = params.get("NamePrefix", "")
        found = [
            a
            for n, a in sorted(here.archives.items())
            if n.startswith(prefix)
            and params.get("EventSourceArn", a["EventSourceArn"]) == a["EventSourceArn"]
            and params.get("State", a["State"]) == a["State"]
        ]
        page, token = paging.page("ListArchives", found, params.get("NextToken"), params.get("Limit"))
        archives = []
        for a in page:
            stats = await self.store.log_stats(here.archive_log(a["ArchiveName"]))
            archives.append(
                {
                    **{
                        k: a[k]
                        for k in ("ArchiveName", "EventSourceArn", "State", "RetentionDays", "CreationTime")
                    },
                    "EventCount": stats.count,
                    "SizeBytes": stats.size_bytes,
                }
            )
        out: JSON = {"Archives": archives}
        if token:
            out["NextToken"] = token
        return out

    async def op_DeleteArchive(self, params: JSON, here: EventsRegion) -> JSON:
        archive = self._archive(here, params["ArchiveName"])
        bus = model.name_from_arn(archive["EventSourceArn"])
        rule_name = model.ARCHIVE_RULE_PREFIX + archive["ArchiveName"]
        await self.store.delete_resource(model.KIND_RULE, here.key(bus, rule_name))
        here.rules.pop((bus, rule_name), None)
        here.router.remove_rule(bus, rule_name)
        await self.store.delete_log(here.archive_log(archive["ArchiveName"]))
        await self.store.delete_resource(model.KIND_ARCHIVE, here.key(archive["ArchiveName"]))
        del here.archives[archive["ArchiveName"]]
        return {}

    async def trim_archives(self) -> int:
        """Delete archived events older than their archive's RetentionDays (0 keeps them forever); returns how
        many went. Age is counted from the event's time, the time replays select by."""
        now = self.clock.now()
        trimmed = 0
        for here in self.everywhere():
            for archive in list(here.archives.values()):
                days = archive.get("RetentionDays") or 0
                if days > 0:
                    trimmed += await self.store.trim_log(
                        here.archive_log(archive["ArchiveName"]), before=now - days * 86_400
                    )
        return trimmed

    # -- replays -----------------------------------------------------------------------------------------------
    @staticmethod
    def _replay(here: EventsRegion, name: str) -> JSON:
        replay = here.replays.get(name)
        if replay is None:
            raise not_found(f"Replay {name} does not exist.")
        return replay

    async def save_replay(self, here: EventsRegion, replay: JSON, batch: Batch | None = None) -> None:
        """Store ``replay``, in one commit with ``batch``'s writes if given (a replayed batch's deliveries)."""
        batch = batch if batch is not None else self.store.batch()
        batch.put_resource(model.KIND_REPLAY, here.key(replay["ReplayName"]), replay)
        await self.store.commit(batch)
        here.replays[replay["ReplayName"]] = replay

    async def op_StartReplay(self, params: JSON, here: EventsRegion) -> JSON:
        name = params["ReplayName"]
        if name in here.replays:
            raise already_exists(f"Replay {name} already exists.")
        archive_name = model.name_from_arn(params["EventSourceArn"])
        archive = here.archives.get(archive_name)
        if archive is None or archive["ArchiveArn"] != params["EventSourceArn"]:
            raise validation(
                f"Parameter EventSourceArn is not valid. Reason: Archive {archive_name} does not exist."
            )
        start, end = _epoch(params["EventStartTime"]), _epoch(params["EventEndTime"])
        if start >= end:
            raise validation(
                "Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime."
            )
        destination = params["Destination"]
        if destination["Arn"] != archive["EventSourceArn"]:
            raise validation(
                "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted."
            )
        bus = model.name_from_arn(archive["EventSourceArn"])
        for arn in destination.get("FilterArns", []):
            if not any(r["Arn"] == arn for (b, _), r in here.rules.items() if b == bus):
                raise validation(
                    f"Parameter Destination.FilterArns is not valid. Reason: Rule {arn} does not exist."
                )
        active = sum(1 for r in here.replays.values() if r["State"] in ACTIVE_REPLAY_STATES)
        if active >= MAX_ACTIVE_REPLAYS:
            raise limit_exceeded()
        replay: JSON = {
            "ReplayName": name,
            "ReplayArn": here.arns.replay(name),
            "EventSourceArn": params["EventSourceArn"],
            "Destination": destination,
            "EventStartTime": start,
            "EventEndTime": end,
            "State": "STARTING",
            "ReplayStartTime": self.clock.now(),
        }
        if params.get("Description"):
            replay["Description"] = params["Description"]
        await self.save_replay(here, replay)
        if self.on_replay_started is not None:
            await self.on_replay_started(here, name)
        return {k: replay[k] for k in ("ReplayArn", "State", "ReplayStartTime")}

    async def op_DescribeReplay(self, params: JSON, here: EventsRegion) -> JSON:
        return {k: v for k, v in self._replay(here, params["ReplayName"]).items() if not k.startswith("_")}

    async def op_ListReplays(self, params: JSON, here: EventsRegion) -> JSON:
        prefix = params.get("NamePrefix", "")
        found = [
            r
            for n, r in sorted(here.replays.items())
            if n.startswith(prefix)
            and params.get("State", r["State"]) == r["State"]
            and params.get("EventSourceArn", r["EventSourceArn"]) == r["EventSourceArn"]
        ]
        page, token = paging.page("ListReplays", found, params.get("NextToken"), params.get("Limit"))
        keys = (
            "ReplayName",
            "EventSourceArn",
            "State",
            "StateReason",
            "EventStartTime",
            "EventEndTime",
            "EventLastReplayedTime",
            "ReplayStartTime",
            "ReplayEndTime",
        )
        out: JSON = {"Replays": [{k: r[k] for k in keys if k in r} for r in page]}
        if token:
            out["NextToken"] = token
        return out

    async def op_CancelReplay(self, params: JSON, here: EventsRegion) -> JSON:
        replay = dict(self._replay(here, params["ReplayName"]))
        if replay["State"] not in ("STARTING", "RUNNING"):
            raise illegal_status(f"Replay {replay['ReplayName']} is not in a valid state for this operation.")
        replay["State"] = "CANCELLING"
        await self.save_replay(here, replay)
        return {"ReplayArn": replay["ReplayArn"], "State": "CANCELLING"}
