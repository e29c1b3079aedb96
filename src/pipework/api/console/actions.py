"""What the console's buttons do, as JSON routes under ``/console/api/`` (errors in AWS's shape, like the
``/_pipework`` routes), and the live tail of a bus as server-sent events.

    POST /console/api/events/put                {"EventBusName", "Source", "DetailType", "Detail"} -> PutEvents
    POST /console/api/events/test-pattern       {"EventPattern", "Event"} -> {"Result", "Mismatched": [paths]}
    POST /console/api/dead-letters/redrive      {"Rule": [ids], "Pipe": {"NAME": [ids]}} -> {"Redriven": n}
    POST /console/api/dead-letters/discard      same body -> {"Discarded": n}
    POST /console/api/pipes/{name}/start | stop -> StartPipe / StopPipe
    POST /console/api/pipes/{name}/invoke       {"Records": [...]} -> each stage's input and output
    POST /console/api/replays/start             {"ReplayName", "ArchiveName", "Start", "End" (ISO), "Rules": [names]}
    POST /console/api/replays/cancel            {"ReplayName"}
    GET  /console/api/replays                   {"Replays": [...]}: state and progress
    POST /console/api/schedules/state           {"Name", "GroupName", "State": ENABLED | DISABLED}
    GET  /console/api/queues/peek?arn=ARN       {"Messages": [...], "AgeOfOldestMessage"} (nothing is received)
    POST /console/api/queues/redrive            {"SourceArn"} -> StartMessageMoveTask
    POST /console/api/breakers/{name}/open | close | pause | resume -> the breaker, as /_pipework/breakers has it
    GET  /console/api/tail/{bus}                text/event-stream: one ``data:`` line per event put on the bus,
                                                {"Event", "MatchedRules"}, matched or not
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from pipework.api.extensions_http import OpenStreams, guarded, json_body, optional_text, validation
from pipework.clock import ManualClock
from pipework.engine.breakers import BreakerNotFound
from pipework.jsontypes import JSON
from pipework.patterns import InvalidEventError, InvalidPatternError
from pipework.patterns.explain import mismatched_fields
from pipework.services.base import ServiceError

from . import reads
from .gate import account_of
from .reads import ConsoleError

if TYPE_CHECKING:
    from pipework.api.instance import Instance

#: Events a slow tail reader may fall behind by before it loses some (PutEvents never waits for it).
TAIL_BUFFER = 1000


def _required(body: JSON, name: str) -> str:
    value = optional_text(body, name)
    if not value:
        raise validation(f"{name} is required.")
    return value


def _ids(value: Any, name: str) -> list[str]:
    if not (isinstance(value, list) and all(isinstance(i, str) for i in value)):
        raise validation(f"{name} must be a list of ids.")
    return value


def _epoch(text: str, name: str) -> float:
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise validation(f"{name} must be a time such as 2026-01-31T12:00:00Z.") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


def routes(current: Callable[[], Instance], streams: OpenStreams) -> list[Route]:
    async def run(request: Request, service: str, operation: str, params: JSON) -> JSON:
        """An AWS operation in the account the console shows (the signed-in key's, or the server's)."""
        try:
            return await reads.call(current(), service, operation, params, account=account_of(request))
        except ConsoleError as exc:
            raise ServiceError(exc.code, exc.message, 400) from None

    async def put_event(request: Request) -> Any:
        body = await json_body(request)
        entry = {
            "EventBusName": optional_text(body, "EventBusName") or "default",
            "Source": _required(body, "Source"),
            "DetailType": _required(body, "DetailType"),
            "Detail": optional_text(body, "Detail") or "{}",
        }
        return await run(request, "events", "PutEvents", {"Entries": [entry]})

    async def test_pattern(request: Request) -> Any:
        body = await json_body(request)
        pattern, event = _required(body, "EventPattern"), _required(body, "Event")
        try:
            mismatched = mismatched_fields(pattern, event)
        except InvalidPatternError as exc:
            raise ServiceError("InvalidEventPatternException", exc.message, 400) from None
        except InvalidEventError as exc:
            raise validation(f"The event is not valid: {exc}") from None
        return {"Result": not mismatched, "Mismatched": mismatched}

    def chosen(body: JSON) -> tuple[list[str], dict[str, list[str]]]:
        rule_ids = _ids(body.get("Rule", []), "Rule")
        by_pipe = body.get("Pipe", {})
        if not isinstance(by_pipe, dict):
            raise validation("Pipe must map pipe names to lists of ids.")
        return rule_ids, {name: _ids(ids, f"Pipe.{name}") for name, ids in by_pipe.items()}

    async def redrive(request: Request) -> Any:
        rule_ids, by_pipe = chosen(await json_body(request))
        pipework = current()
        account = account_of(request)
        count = await pipework.events.redrive(rule_ids, account=account) if rule_ids else 0
        for name, ids in by_pipe.items():
            count += await pipework.pipes.redrive(name, ids, account=account) if ids else 0
        return {"Redriven": count}

    async def discard(request: Request) -> Any:
        rule_ids, by_pipe = chosen(await json_body(request))
        pipework = current()
        account = account_of(request)
        count = await pipework.events.discard(rule_ids, account=account) if rule_ids else 0
        for name, ids in by_pipe.items():
            # no ids would mean all
            count += await pipework.pipes.discard(name, ids, account=account) if ids else 0
        return {"Discarded": count}

    async def pipe_state(request: Request) -> Any:
        action = request.path_params["action"]
        if action not in ("start", "stop"):
            raise ServiceError("UnknownOperationException", f"A pipe cannot {action}: start or stop.", 404)
        operation = "StartPipe" if action == "start" else "StopPipe"
        return await run(request, "pipes", operation, {"Name": request.path_params["name"]})

    async def invoke(request: Request) -> Any:
        body = await json_body(request)
        records: Any = body.get("Records")
        return await current().pipes.invoke(request.path_params["name"], records, account=account_of(request))

    async def start_replay(request: Request) -> Any:
        body = await json_body(request)
        name, archive_name = _required(body, "ReplayName"), _required(body, "ArchiveName")
        start, end = _epoch(_required(body, "Start"), "Start"), _epoch(_required(body, "End"), "End")
        archive = await run(request, "events", "DescribeArchive", {"ArchiveName": archive_name})
        bus_arn = archive["EventSourceArn"]
        destination: JSON = {"Arn": bus_arn}
        rule_names = _ids(body.get("Rules", []), "Rules")
        if rule_names:
            bus_name = bus_arn.rsplit("/", 1)[-1]
            destination["FilterArns"] = [
                (await run(request, "events", "DescribeRule", {"Name": n, "EventBusName": bus_name}))["Arn"]
                for n in rule_names
            ]
        params = {
            "ReplayName": name,
            "EventSourceArn": archive["ArchiveArn"],
            "EventStartTime": start,
            "EventEndTime": end,
            "Destination": destination,
        }
        return await run(request, "events", "StartReplay", params)

    async def cancel_replay(request: Request) -> Any:
        body = await json_body(request)
        return await run(request, "events", "CancelReplay", {"ReplayName": _required(body, "ReplayName")})

    async def list_replays(request: Request) -> Any:
        return {"Replays": reads.replays(current(), account=account_of(request))}

    async def schedule_state(request: Request) -> Any:
        body = await json_body(request)
        name, group = _required(body, "Name"), optional_text(body, "GroupName") or "default"
        state = _required(body, "State")
        if state not in ("ENABLED", "DISABLED"):
            raise validation("State must be ENABLED or DISABLED.")
        found = await run(request, "scheduler", "GetSchedule", {"Name": name, "GroupName": group})
        keep = (
            "Name",
            "GroupName",
            "ScheduleExpression",
            "ScheduleExpressionTimezone",
            "StartDate",
            "EndDate",
            "Description",
            "Target",
            "FlexibleTimeWindow",
            "KmsKeyArn",
            "ActionAfterCompletion",
        )
        params = {k: found[k] for k in keep if k in found}
        params["State"] = state
        await run(request, "scheduler", "UpdateSchedule", params)
        return {"Name": name, "State": state}

    async def peek(request: Request) -> Any:
        arn = request.query_params.get("arn", "")
        found = await current().sqs.peek(arn, limit=10)
        if found is None:
            raise ServiceError("AWS.SimpleQueueService.NonExistentQueue", f"No queue {arn}.", 400)
        for message in found["Messages"]:
            message["SentTimestamp"] = reads.iso(message["SentTimestamp"])
        return found

    async def move(request: Request) -> Any:
        body = await json_body(request)
        return await run(request, "sqs", "StartMessageMoveTask", {"SourceArn": _required(body, "SourceArn")})

    async def tail(request: Request) -> Any:
        pipework = current()
        name = request.path_params["bus"]
        found = await reads.bus(pipework, name, account=account_of(request))
        if found is None:
            raise ServiceError("ResourceNotFoundException", f"Event bus {name} does not exist.", 404)
        bus_arn = found["Arn"]
        queue: asyncio.Queue[JSON | None] = asyncio.Queue(maxsize=TAIL_BUFFER)
        listeners = pipework.events.events.listeners

        def listener(event_bus_arn: str, event: JSON, rules: list[str]) -> None:
            # Called after each PutEvents commit, only while someone watches; a full buffer drops the line.
            if event_bus_arn == bus_arn and not queue.full():
                queue.put_nowait({"Event": event, "MatchedRules": rules})

        request_task = asyncio.current_task()

        async def stream() -> AsyncIterator[bytes]:
            clock = pipework.clock
            if isinstance(clock, ManualClock):  # an open tail is not work time travel should wait for
                clock.ignore(t for t in (request_task, asyncio.current_task()) if t is not None)
            listeners.append(listener)
            streams.queues.add(queue)
            try:
                yield b": open\n\n"  # the headers and a comment at once: the browser's EventSource opens
                while (event := await queue.get()) is not OpenStreams.END:
                    yield b"data: " + orjson.dumps(event) + b"\n\n"
            finally:
                listeners.remove(listener)
                streams.queues.discard(queue)

        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)

    async def breaker(request: Request) -> Any:
        name, action = request.path_params["name"], request.path_params["action"]
        if action not in ("open", "close", "pause", "resume"):
            raise ServiceError(
                "UnknownOperationException",
                f"A breaker cannot {action[:100]}: open, close, pause or resume.",
                404,
            )
        every = current().breakers
        try:
            every.get(name)
        except BreakerNotFound as exc:
            raise ServiceError("ResourceNotFoundException", str(exc), 404) from None
        return await every.describe(await every.control(name, action))

    async def unknown(request: Request) -> Any:
        raise ServiceError(
            "UnknownOperationException",
            f"No console operation serves {request.method} {request.url.path}",
            404,
        )

    return [
        Route("/console/api/events/put", guarded(put_event), methods=["POST"]),
        Route("/console/api/events/test-pattern", guarded(test_pattern), methods=["POST"]),
        Route("/console/api/dead-letters/redrive", guarded(redrive), methods=["POST"]),
        Route("/console/api/dead-letters/discard", guarded(discard), methods=["POST"]),
        Route("/console/api/pipes/{name}/invoke", guarded(invoke), methods=["POST"]),
        Route("/console/api/pipes/{name}/{action:str}", guarded(pipe_state), methods=["POST"]),
        Route("/console/api/replays", guarded(list_replays), methods=["GET"]),
        Route("/console/api/replays/start", guarded(start_replay), methods=["POST"]),
        Route("/console/api/replays/cancel", guarded(cancel_replay), methods=["POST"]),
        Route("/console/api/schedules/state", guarded(schedule_state), methods=["POST"]),
        Route("/console/api/queues/peek", guarded(peek), methods=["GET"]),
        Route("/console/api/queues/redrive", guarded(move), methods=["POST"]),
        Route("/console/api/breakers/{name}/{action}", guarded(breaker), methods=["POST"]),
        Route("/console/api/tail/{bus:path}", guarded(tail), methods=["GET"]),
        # Anything else under /console/api/ (a pipe name with a slash, say) is a JSON error too.
        Route("/console/api/{rest:path}", guarded(unknown), methods=["GET", "POST"]),
    ]
