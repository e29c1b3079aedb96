"""`CloudWatchLogs`: the served ``logs`` API (JSON 1.1, ``Logs_20140328.*``) over the log groups Pipework writes
(rule log-group targets, pipe execution logs) and those users create: groups, streams, PutLogEvents, GetLogEvents
and FilterLogEvents (filter patterns: `patterns.py`), retention. ``aws logs tail`` works against it.

Store layout: resources ``logs/log-group`` (``<account>/<region>/<group>``) and ``logs/log-stream``
(``<account>/<region>/<group>/<stream>``), names with ``/`` written ``%2F``; a group's events in the log
``logs/event/<account>/<region>/<group>``, one record per event at its timestamp, keyed by its stream, trimmed to
the group's retentionInDays by a sweep.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import orjson

from pipework.clock import Clock
from pipework.services.base import Handler, RequestContext, ServiceError, dispatch
from pipework.store.base import Store
from pipework.store.errors import StoreError

from .errors import exists, invalid, not_found
from .patterns import PatternError, compile_pattern

log = logging.getLogger("pipework.logs")

GROUPS = "logs/log-group"
STREAMS = "logs/log-stream"
EVENTS = "logs/event"
RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)
#: Seconds of clock time between two retention sweeps.
RETENTION_SWEEP = 3600.0
DAY_MS = 86_400_000


def _part(name: str) -> str:
    return name.replace("%", "%25").replace("/", "%2F")


class CloudWatchLogs:
    """The ``logs`` service of an instance. Parameters: `store`, `clock`, the instance's."""

    name = "logs"

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self._lock = asyncio.Lock()
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep(), name="logs:retention")

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper

    @staticmethod
    def unknown_operation(operation: str) -> ServiceError:
        return ServiceError("InvalidOperationException", f"Pipework does not serve {operation}.", 400)

    async def handle(self, operation: str, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        return await dispatch(self, operation, params, ctx)

    # -- keys ------------------------------------------------------------------------------------------------------
    @staticmethod
    def _group_key(account: str, region: str, group: str) -> str:
        return f"{account}/{region}/{_part(group)}"

    @staticmethod
    def _stream_key(account: str, region: str, group: str, stream: str) -> str:
        return f"{account}/{region}/{_part(group)}/{_part(stream)}"

    @staticmethod
    def _events_log(account: str, region: str, group: str) -> str:
        return f"{EVENTS}/{account}/{region}/{_part(group)}"

    async def _group(self, account: str, region: str, name: str) -> dict[str, Any]:
        found = await self.store.get_resource(GROUPS, self._group_key(account, region, name))
        if found is None:
            raise not_found("The specified log group does not exist.")
        return dict(found.body)

    @staticmethod
    def _group_name(params: dict[str, Any]) -> str:
        name = params.get("logGroupName")
        identifier = params.get("logGroupIdentifier")
        if name and identifier:
            raise invalid("LogGroup name and LogGroup identifier are mutually exclusive parameters.")
        if identifier:
            return str(identifier).split(":log-group:", 1)[-1].removesuffix(":*")
        if not name:
            raise invalid("Either logGroupName or logGroupIdentifier must be specified.")
        return str(name)

    # -- Pipework's own writers (rule log-group targets, pipe execution logs) --------------------------------------
    async def write(
        self, account: str, region: str, group: str, stream: str, messages: Sequence[str]
    ) -> None:
        """Append `messages` to `stream` of `group`, both created if missing (AWS's services create the streams they
        write; Pipework also creates the group, so a target works without a CreateLogGroup first)."""
        now_ms = int(self.clock.now() * 1000)
        async with self._lock:
            batch = self.store.batch()
            if await self.store.get_resource(GROUPS, self._group_key(account, region, group)) is None:
                batch.put_resource(
                    GROUPS, self._group_key(account, region, group), self._new_group(account, region, group)
                )
            stream_key = self._stream_key(account, region, group, stream)
            found = await self.store.get_resource(STREAMS, stream_key)
            body = dict(found.body) if found else self._new_stream(account, region, group, stream)
            self._append(batch, account, region, group, stream, body, [(now_ms, m) for m in messages], now_ms)
            await self.store.commit(batch)

    # -- groups ----------------------------------------------------------------------------------------------------
    def _new_group(self, account: str, region: str, name: str) -> dict[str, Any]:
        arn = f"arn:aws:logs:{region}:{account}:log-group:{name}"
        return {
            "logGroupName": name,
            "creationTime": int(self.clock.now() * 1000),
            "metricFilterCount": 0,
            "arn": arn + ":*",
            "logGroupArn": arn,
            "storedBytes": 0,
            "logGroupClass": "STANDARD",
        }

    async def op_CreateLogGroup(self, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        name = params["logGroupName"]
        async with self._lock:
            key = self._group_key(ctx.account, ctx.region, name)
            if await self.store.get_resource(GROUPS, key) is not None:
                raise exists("The specified log group already exists")
            body = self._new_group(ctx.account, ctx.region, name)
            if params.get("logGroupClass"):
                body["logGroupClass"] = params["logGroupClass"]
            if params.get("tags"):
                body["tags"] = params["tags"]
            await self.store.put_resource(GROUPS, key, body)
        return {}

    async def op_DescribeLogGroups(self, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        prefix, pattern = params.get("logGroupNamePrefix"), params.get("logGroupNamePattern")
        if prefix and pattern:
            raise invalid("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
        groups = [
            r.body async for r in self.store.all_resources(GROUPS, prefix=f"{ctx.account}/{ctx.region}/")
        ]
        identifiers = params.get("logGroupIdentifiers")
        selected = [
            g
            for g in groups
            if (not prefix or g["logGroupName"].startswith(prefix))
            and (not pattern or pattern.lower() in g["logGroupName"].lower())
            and (not identifiers or g["logGroupName"] in identifiers or g["logGroupArn"] in identifiers)
            and (not params.get("logGroupClass") or g.get("logGroupClass") == params["logGroupClass"])
        ]
        selected.sort(key=lambda g: g["logGroupName"])
        page, token = _page(selected, params.get("nextToken"), params.get("limit") or 50)
        out: dict[str, Any] = {"logGroups": [{k: v for k, v in g.items() if k != "tags"} for g in page]}
        if token:
            out["nextToken"] = token
        return out

    async def op_DeleteLogGroup(self, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        name = params["logGroupName"]
        async with self._lock:
            await self._group(ctx.account, ctx.region, name)
            prefix = self._group_key(ctx.account, ctx.region, name) + "/"
            batch = self.store.batch()
            async for stream in self.store.all_resources(STREAMS, prefix=prefix):
                batch.delete_resource(STREAMS, stream.name)
            batch.delete_resource(GROUPS, self._group_key(ctx.account, ctx.region, name))
            batch.delete_log(self._events_log(ctx.account, ctx.region, name))
            await self.store.commit(batch)
        return {}

    async def op_PutRetentionPolicy(self, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        days = params["retentionInDays"]
        if days not in RETENTION_DAYS:
            raise invalid(
                f"1 validation error detected: Value '{days}' at 'retentionInDays' failed to satisfy constraint: "
                f"Member must satisfy enum value set: {sorted(RETENTION_DAYS)}"
            )
        await self._set_retention(ctx, params["logGroupName"], days)
        await self.trim(ctx.account, ctx.region, params["logGroupName"], days)
        return {}

    async def op_DeleteRetentionPolicy(self, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        await self._set_retention(ctx, params["logGroupName"], None)
        return {}

    async def _set_retention(self, ctx: RequestContext, name: str, days: int | None) -> None:
        async with self._lock:
            body = await self._group(ctx.account, ctx.region, name)
            if days is None:
                body.pop("retentionInDays", None)
            else:
                body["retentionInDays"] = days
            await self.store.put_resource(GROUPS, self._group_key(ctx.account, ctx.region, name), body)

    async def trim(self, account: str, region: str, group: str, days: int) -> None:
        before = self.clock.now() - days * 86_400
        await self.store.trim_log(self._events_log(account, region, group), before=before)

    async def _sweep(self) -> None:
        while True:
            try:
                async for resource in self.store.all_resources(GROUPS):
                    days = resource.body.get("retentionInDays")
                    if days:
                        account, region, _ = resource.name.split("/", 2)
                        await self.trim(account, region, resource.body["logGroupName"], days)
            except StoreError:
                log.exception("trimming log groups failed; trying again at the next sweep")
            await self.clock.sleep_until(self.clock.now() + RETENTION_SWEEP, timer=False)

    # -- streams ---------------------------------------------------------------------------------------------------
    def _new_stream(self, account: str, region: str, group: str, name: str) -> dict[str, Any]:
        return {
            "logStreamName": name,
            "creationTime": int(self.clock.now() * 1000),
            "arn": f"arn:aws:logs:{region}:{account}:log-group:{group}:log-stream:{name}",
            "storedBytes": 0,
        }

    async def op_CreateLogStream(self, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        group, name = params["logGroupName"], params["logStreamName"]
        if ":" in name or "*" in name:
            raise invalid("The specified log stream name contains a colon or an asterisk.")
        async with self._lock:
            await self._group(ctx.account, ctx.region, group)
            key = self._stream_key(ctx.account, ctx.region, group, name)
            if await self.store.get_resource(STREAMS, key) is not None:
                raise exists("The specified log stream already exists")
            await self.store.put_resource(
                STREAMS, key, self._new_stream(ctx.account, ctx.region, group, name)
            )
        return {}

    async def op_DescribeLogStreams(self, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        group = self._group_name(params)
        await self._group(ctx.account, ctx.region, group)
        order = params.get("orderBy", "LogStreamName")
        prefix = params.get("logStreamNamePrefix")
        if prefix and order == "LastEventTime":
            raise invalid("Cannot order by LastEventTime with a logStreamNamePrefix.")
        streams = [
            r.body
            async for r in self.store.all_resources(
                STREAMS, prefix=self._group_key(ctx.account, ctx.region, group) + "/"
            )
        ]
        if prefix:
            streams = [s for s in streams if s["logStreamName"].startswith(prefix)]
        if order == "LastEventTime":
            streams.sort(key=lambda s: (s.get("lastEventTimestamp", 0), s["logStreamName"]))
        else:
            streams.sort(key=lambda s: s["logStreamName"])
        if params.get("descending"):
            streams.reverse()
        page, token = _page(streams, params.get("nextToken"), params.get("limit") or 50)
        out: dict[str, Any] = {"logStreams": page}
        if token:
            out["nextToken"] = token
        return out

    async def op_DeleteLogStream(self, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        group, name = params["logGroupName"], params["logStreamName"]
        async with self._lock:
            await self._group(ctx.account, ctx.region, group)
            if not await self.store.delete_resource(
                STREAMS, self._stream_key(ctx.account, ctx.region, group, name)
            ):
                raise not_found("The specified log stream does not exist.")
        return {}

    # -- events ----------------------------------------------------------------------------------------------------
    def _append(
        self,
        batch: Any,
        account: str,
        region: str,
        group: str,
        stream: str,
        body: dict[str, Any],
        events: Sequence[tuple[int, str]],
        now_ms: int,
    ) -> None:
        log_name = self._events_log(account, region, group)
        for timestamp, message in events:
            record = {"s": stream, "t": timestamp, "m": message, "i": now_ms}
            batch.append(log_name, orjson.dumps(record), time=timestamp / 1000, key=stream)
            body["storedBytes"] = body.get("storedBytes", 0) + len(message.encode())
        if events:
            first, last = events[0][0], events[-1][0]
            body["firstEventTimestamp"] = min(body.get("firstEventTimestamp", first), first)
            body["lastEventTimestamp"] = max(body.get("lastEventTimestamp", last), last)
            body["lastIngestionTime"] = now_ms
        batch.put_resource(STREAMS, self._stream_key(account, region, group, stream), body)

    async def op_PutLogEvents(self, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        group, stream, events = params["logGroupName"], params["logStreamName"], params["logEvents"]
        if not events:
            raise invalid(
                "1 validation error detected: Value '[]' at 'logEvents' failed to satisfy constraint: Member must have length greater than or equal to 1"
            )
        stamps = [e["timestamp"] for e in events]
        if stamps != sorted(stamps):
            raise invalid("Log events in a single PutLogEvents request must be in chronological order.")
        if stamps[-1] - stamps[0] > DAY_MS:
            raise invalid(
                "The batch of log events in a single PutLogEvents request cannot span more than 24 hours."
            )
        now_ms = int(self.clock.now() * 1000)
        async with self._lock:
            group_body = await self._group(ctx.account, ctx.region, group)
            found = await self.store.get_resource(
                STREAMS, self._stream_key(ctx.account, ctx.region, group, stream)
            )
            if found is None:
                raise not_found("The specified log stream does not exist.")
            retention = group_body.get("retentionInDays")
            oldest = now_ms - min(14, retention or 14) * DAY_MS
            newest = now_ms + 2 * 3600 * 1000
            too_old = sum(1 for t in stamps if t < oldest)
            too_new_from = next((i for i, t in enumerate(stamps) if t > newest), None)
            kept = [
                (e["timestamp"], e["message"])
                for i, e in enumerate(events)
                if i >= too_old and (too_new_from is None or i < too_new_from)
            ]
            batch = self.store.batch()
            self._append(batch, ctx.account, ctx.region, group, stream, dict(found.body), kept, now_ms)
            await self.store.commit(batch)
        out: dict[str, Any] = {}
        rejected: dict[str, int] = {}
        if too_old:
            rejected["tooOldLogEventEndIndex"] = too_old - 1
        if too_new_from is not None:
            rejected["tooNewLogEventStartIndex"] = too_new_from
        if rejected:
            out["rejectedLogEventsInfo"] = rejected
        return out

    async def _read(
        self,
        account: str,
        region: str,
        group: str,
        start_ms: int | None,
        end_ms: int | None,
        after: tuple[float, int] | None,
        limit: int,
    ) -> list[Any]:
        start = (start_ms or 0) / 1000
        end = (end_ms / 1000) if end_ms is not None else 1e12
        return await self.store.read_log_window(
            self._events_log(account, region, group), start, end, after=after, limit=limit
        )

    async def op_GetLogEvents(self, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        group = self._group_name(params)
        stream = params["logStreamName"]
        await self._group(ctx.account, ctx.region, group)
        if (
            await self.store.get_resource(STREAMS, self._stream_key(ctx.account, ctx.region, group, stream))
            is None
        ):
            raise not_found("The specified log stream does not exist.")
        limit = params.get("limit") or 10_000
        token = params.get("nextToken")
        after = _after(token) if token else None
        from_head = params.get("startFromHead", False) or (token or "").startswith("f/")
        found: list[tuple[Any, dict[str, Any]]] = []
        cursor = after
        while True:
            records = await self._read(
                ctx.account, ctx.region, group, params.get("startTime"), params.get("endTime"), cursor, 1000
            )
            for record in records:
                if record.key == stream:
                    found.append((record, orjson.loads(record.payload)))
            if len(records) < 1000 or (from_head and len(found) >= limit):
                break
            cursor = (records[-1].time, records[-1].position)
        found = found[:limit] if from_head else found[-limit:]
        events = [{"timestamp": e["t"], "message": e["m"], "ingestionTime": e["i"]} for _, e in found]
        if found:
            last, first = found[-1][0], found[0][0]
            forward = f"f/{last.time!r}/{last.position}"
            backward = f"b/{first.time!r}/{first.position}"
        else:
            forward = token if token and token.startswith("f/") else "f/0.0/0"
            backward = token if token and token.startswith("b/") else "b/0.0/0"
        return {"events": events, "nextForwardToken": forward, "nextBackwardToken": backward}

    async def op_FilterLogEvents(self, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        group = self._group_name(params)
        await self._group(ctx.account, ctx.region, group)
        names, prefix = params.get("logStreamNames"), params.get("logStreamNamePrefix")
        if names and prefix:
            raise invalid("logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")
        try:
            matches = compile_pattern(params.get("filterPattern") or "")
        except PatternError as exc:
            raise invalid(str(exc)) from None
        limit = params.get("limit") or 10_000
        token = params.get("nextToken")
        cursor = _after(token) if token else None
        out: list[dict[str, Any]] = []
        more = False
        while len(out) < limit:
            records = await self._read(
                ctx.account, ctx.region, group, params.get("startTime"), params.get("endTime"), cursor, 1000
            )
            for record in records:
                cursor = (record.time, record.position)
                if names and record.key not in names:
                    continue
                if prefix and not (record.key or "").startswith(prefix):
                    continue
                event = orjson.loads(record.payload)
                if not matches(event["m"]):
                    continue
                out.append(
                    {
                        "logStreamName": event["s"],
                        "timestamp": event["t"],
                        "message": event["m"],
                        "ingestionTime": event["i"],
                        "eventId": f"{record.position:056d}",
                    }
                )
                if len(out) >= limit:
                    more = True
                    break
            if len(records) < 1000:
                break
        result: dict[str, Any] = {"events": out, "searchedLogStreams": []}
        if more and cursor is not None:
            result["nextToken"] = f"f/{cursor[0]!r}/{cursor[1]}"
        return result

    operations: ClassVar[Mapping[str, Handler]] = {
        "CreateLogGroup": op_CreateLogGroup,
        "DescribeLogGroups": op_DescribeLogGroups,
        "DeleteLogGroup": op_DeleteLogGroup,
        "PutRetentionPolicy": op_PutRetentionPolicy,
        "DeleteRetentionPolicy": op_DeleteRetentionPolicy,
        "CreateLogStream": op_CreateLogStream,
        "DescribeLogStreams": op_DescribeLogStreams,
        "DeleteLogStream": op_DeleteLogStream,
        "PutLogEvents": op_PutLogEvents,
        "GetLogEvents": op_GetLogEvents,
        "FilterLogEvents": op_FilterLogEvents,
    }


def _after(token: str) -> tuple[float, int]:
    parts = token.split("/")
    try:
        if len(parts) != 3 or parts[0] not in ("f", "b"):
            raise ValueError(token)
        return float(parts[1]), int(parts[2])
    except ValueError:
        raise invalid("The specified nextToken is invalid.") from None


def _page(items: list[Any], token: str | None, limit: int) -> tuple[list[Any], str | None]:
    start = 0
    if token:
        if not token.startswith("p/") or not token[2:].isdigit():
            raise invalid("The specified nextToken is invalid.")
        start = int(token[2:])
    end = start + limit
    return items[start:end], (f"p/{end}" if end < len(items) else None)
