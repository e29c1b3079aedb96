"""Pipework's own HTTP operations, beyond AWS's APIs, under ``/_pipework/``: dead letters and their redrive,
and a live tail of a bus's events. JSON in, JSON out; AWS operations are never changed by these.

    GET  /_pipework/health                       the served APIs
    GET  /_pipework/events/dead-letters?rule=R&target=T&bus=B&limit=N
    POST /_pipework/events/dead-letters/redrive  {"Ids": [...], "Rule": "R", "TargetId": "T"} -> {"Redriven": n}
    GET  /_pipework/events/tail/{bus}[?matched=1] newline-delimited JSON, one line per event put on the bus:
                                                 {"Event": {...}, "MatchedRules": [...]}; matched=1 keeps
                                                 only events that matched at least one rule
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

if TYPE_CHECKING:
    from pipework.app import Pipework


def _json(value: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(value), status_code=status, media_type="application/json")


def _error(code: str, message: str, status: int) -> Response:
    return _json({"__type": code, "message": message}, status)


def routes(current: Callable[[], Pipework]) -> list[Route]:
    """The routes, for the instance `current()` returns (the one the app's lifespan opened)."""

    async def dead_letters(request: Request) -> Response:
        runtime = current().events
        q = request.query_params
        items = await runtime.dead_letters(
            rule=q.get("rule"), target=q.get("target"), bus=q.get("bus"), limit=int(q.get("limit", "1000"))
        )
        return _json({"DeadLetters": items})

    async def redrive(request: Request) -> Response:
        runtime = current().events
        try:
            body = orjson.loads(await request.body() or b"{}")
        except orjson.JSONDecodeError:
            return _error("SerializationException", "The body is not valid JSON.", 400)
        if not isinstance(body, dict):
            return _error("ValidationException", "The body must be a JSON object.", 400)
        ids = body.get("Ids")
        if ids is not None and not (isinstance(ids, list) and all(isinstance(i, str) for i in ids)):
            return _error("ValidationException", "Ids must be a list of strings.", 400)
        count = await runtime.redrive(ids, rule=body.get("Rule"), target=body.get("TargetId"))
        return _json({"Redriven": count})

    async def tail(request: Request) -> Response:
        runtime = current().events
        bus = request.path_params["bus"]
        if bus not in runtime.events.buses:
            return _error("ResourceNotFoundException", f"Event bus {bus} does not exist.", 404)
        only_matched = request.query_params.get("matched") in ("1", "true")
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=10_000)

        def listener(event_bus: str, event: dict[str, Any], rules: list[str]) -> None:
            if event_bus != bus or (only_matched and not rules):
                return
            if not queue.full():  # a slow reader loses lines, never slows PutEvents
                queue.put_nowait({"Event": event, "MatchedRules": rules})

        async def lines() -> AsyncIterator[bytes]:
            runtime.events.listeners.append(listener)
            try:
                yield b""  # send the headers at once
                while True:
                    event = await queue.get()
                    yield orjson.dumps(event) + b"\n"
            finally:
                runtime.events.listeners.remove(listener)

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    return [
        Route("/_pipework/events/dead-letters", dead_letters, methods=["GET"]),
        Route("/_pipework/events/dead-letters/redrive", redrive, methods=["POST"]),
        Route("/_pipework/events/tail/{bus:path}", tail, methods=["GET"]),
    ]
