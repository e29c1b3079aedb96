"""Archives and replays: the API side. An archive is a managed rule whose target appends to the archive's log;
a replay is a resource the `Replayer` (`replay.py`) moves through AWS's states.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pipework.patterns import InvalidPatternError, compile_pattern
from pipework.store.base import Batch

from . import model
from .errors import already_exists, illegal_status, invalid_pattern, limit_exceeded, not_found, validation
from .state import EventsState

JSON = dict[str, Any]
MAX_ACTIVE_REPLAYS = 10
ACTIVE_REPLAY_STATES = ("STARTING", "RUNNING", "CANCELLING")


def _epoch(value: Any) -> float:
    return value.timestamp() if isinstance(value, dt.datetime) else float(value)


class ArchiveOperations(EventsState):
    """Mixed into `EventsService`."""

    def archive_rule(self, archive: JSON) -> JSON:
        """The managed rule that feeds ``archive``, as AWS shows it (`model.archive_target`)."""
        bus = model.name_from_arn(archive["EventSourceArn"])
        name = model.ARCHIVE_RULE_PREFIX + archive["ArchiveName"]
        return {
            "Name": name,
            "Arn": self.arns.rule(bus, name),
            "EventBusName": bus,
            "EventPattern": model.archive_rule_pattern(archive.get("EventPattern")),
            "State": "ENABLED" if archive["State"] == "ENABLED" else "DISABLED",
            "ManagedBy": model.ARCHIVE_RULE_MANAGER,
            "Description": f"Managed rule of archive {archive['ArchiveName']}",
            "Targets": [model.archive_target(self.region, archive["ArchiveName"])],
            "Tags": {},
        }

    async def _save_archive(self, archive: JSON) -> None:
        # The archive and its rule in one commit: a crash never leaves an archive that nothing feeds.
        rule = self.archive_rule(archive)
        batch = self.store.batch()
        batch.put_resource(model.KIND_ARCHIVE, archive["ArchiveName"], archive)
        batch.put_resource(model.KIND_RULE, model.rule_key(rule["EventBusName"], rule["Name"]), rule)
        await self.store.commit(batch)
        self.archives[archive["ArchiveName"]] = archive
        self.remember_rule(rule)

    def _archive(self, name: str) -> JSON:
        archive = self.archives.get(name)
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

    async def op_CreateArchive(self, params: JSON) -> JSON:
        name = params["ArchiveName"]
        if name in self.archives:
            raise already_exists(f"Archive {name} already exists.")
        bus = model.name_from_arn(params["EventSourceArn"])
        if bus not in self.buses or self.buses[bus]["Arn"] != params["EventSourceArn"]:
            raise not_found(f"Event bus {bus} does not exist.")
        self._check_pattern(params.get("EventPattern"))
        archive: JSON = {
            "ArchiveName": name,
            "ArchiveArn": self.arns.archive(name),
            "EventSourceArn": params["EventSourceArn"],
            "State": "ENABLED",
            "RetentionDays": params.get("RetentionDays", 0),
            "CreationTime": self.clock.now(),
        }
        for key in ("Description", "EventPattern", "KmsKeyIdentifier"):
            if params.get(key) is not None:
                archive[key] = params[key]
        await self._save_archive(archive)
        return {k: archive[k] for k in ("ArchiveArn", "State", "CreationTime")}

    async def op_DescribeArchive(self, params: JSON) -> JSON:
        archive = dict(self._archive(params["ArchiveName"]))
        stats = await self.store.log_stats(model.archive_log(archive["ArchiveName"]))
        archive["EventCount"] = stats.count
        archive["SizeBytes"] = stats.size_bytes
        return archive

    async def op_UpdateArchive(self, params: JSON) -> JSON:
        archive = dict(self._archive(params["ArchiveName"]))
        self._check_pattern(params.get("EventPattern"))
        for key in ("Description", "EventPattern", "RetentionDays", "KmsKeyIdentifier"):
            if key in params:
                archive[key] = params[key]
        await self._save_archive(archive)
        return {k: archive[k] for k in ("ArchiveArn", "State", "CreationTime")}

    async def op_ListArchives(self, params: JSON) -> JSON:
        prefix = params.get("NamePrefix", "")
        found = [
            a
            for n, a in sorted(self.archives.items())
            if n.startswith(prefix)
            and params.get("EventSourceArn", a["EventSourceArn"]) == a["EventSourceArn"]
            and params.get("State", a["State"]) == a["State"]
        ]
        page, token = model.page(found, params.get("NextToken"), params.get("Limit"))
        archives = []
        for a in page:
            stats = await self.store.log_stats(model.archive_log(a["ArchiveName"]))
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

    async def op_DeleteArchive(self, params: JSON) -> JSON:
        archive = self._archive(params["ArchiveName"])
        bus = model.name_from_arn(archive["EventSourceArn"])
        rule_name = model.ARCHIVE_RULE_PREFIX + archive["ArchiveName"]
        await self.store.delete_resource(model.KIND_RULE, model.rule_key(bus, rule_name))
        self.rules.pop((bus, rule_name), None)
        self.router.remove_rule(bus, rule_name)
        await self.store.delete_log(model.archive_log(archive["ArchiveName"]))
        await self.store.delete_resource(model.KIND_ARCHIVE, archive["ArchiveName"])
        del self.archives[archive["ArchiveName"]]
        return {}

    async def trim_archives(self) -> int:
        """Delete archived events older than their archive's RetentionDays (0 keeps them forever); returns how
        many went. Age is counted from the event's time, the time replays select by."""
        now = self.clock.now()
        trimmed = 0
        for archive in list(self.archives.values()):
            days = archive.get("RetentionDays") or 0
            if days > 0:
                trimmed += await self.store.trim_log(
                    model.archive_log(archive["ArchiveName"]), before=now - days * 86_400
                )
        return trimmed

    # -- replays -----------------------------------------------------------------------------------------------
    def _replay(self, name: str) -> JSON:
        replay = self.replays.get(name)
        if replay is None:
            raise not_found(f"Replay {name} does not exist.")
        return replay

    async def save_replay(self, replay: JSON, batch: Batch | None = None) -> None:
        """Store ``replay``, in one commit with ``batch``'s writes if given (a replayed batch's deliveries)."""
        batch = batch if batch is not None else self.store.batch()
        batch.put_resource(model.KIND_REPLAY, replay["ReplayName"], replay)
        await self.store.commit(batch)
        self.replays[replay["ReplayName"]] = replay

    async def op_StartReplay(self, params: JSON) -> JSON:
        name = params["ReplayName"]
        if name in self.replays:
            raise already_exists(f"Replay {name} already exists.")
        archive_name = model.name_from_arn(params["EventSourceArn"])
        archive = self.archives.get(archive_name)
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
            if not any(r["Arn"] == arn for (b, _), r in self.rules.items() if b == bus):
                raise validation(
                    f"Parameter Destination.FilterArns is not valid. Reason: Rule {arn} does not exist."
                )
        active = sum(1 for r in self.replays.values() if r["State"] in ACTIVE_REPLAY_STATES)
        if active >= MAX_ACTIVE_REPLAYS:
            raise limit_exceeded()
        replay: JSON = {
            "ReplayName": name,
            "ReplayArn": self.arns.replay(name),
            "EventSourceArn": params["EventSourceArn"],
            "Destination": destination,
            "EventStartTime": start,
            "EventEndTime": end,
            "State": "STARTING",
            "ReplayStartTime": self.clock.now(),
        }
        if params.get("Description"):
            replay["Description"] = params["Description"]
        await self.save_replay(replay)
        if self.on_replay_started is not None:
            await self.on_replay_started(name)
        return {k: replay[k] for k in ("ReplayArn", "State", "ReplayStartTime")}

    async def op_DescribeReplay(self, params: JSON) -> JSON:
        return {k: v for k, v in self._replay(params["ReplayName"]).items() if not k.startswith("_")}

    async def op_ListReplays(self, params: JSON) -> JSON:
        prefix = params.get("NamePrefix", "")
        found = [
            r
            for n, r in sorted(self.replays.items())
            if n.startswith(prefix)
            and params.get("State", r["State"]) == r["State"]
            and params.get("EventSourceArn", r["EventSourceArn"]) == r["EventSourceArn"]
        ]
        page, token = model.page(found, params.get("NextToken"), params.get("Limit"))
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

    async def op_CancelReplay(self, params: JSON) -> JSON:
        replay = dict(self._replay(params["ReplayName"]))
        if replay["State"] not in ("STARTING", "RUNNING"):
            raise illegal_status(f"Replay {replay['ReplayName']} is not in a valid state for this operation.")
        replay["State"] = "CANCELLING"
        await self.save_replay(replay)
        return {"ReplayArn": replay["ReplayArn"], "State": "CANCELLING"}
