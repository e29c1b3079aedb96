"""Pipework's own HTTP operations, beyond AWS's APIs, under ``/_pipework/``: dead letters and their redrive,
and a live tail of a bus's events. JSON in, JSON out; AWS operations are never changed by these.

    GET  /_pipework/health                       the served APIs
    GET  /_pipework/events/dead-letters?rule=R&target=T&bus=B&limit=N&region=G
    POST /_pipework/events/dead-letters/redrive  {"Ids": [...], "Rule": "R", "TargetId": "T", "Region": "G"}
                                                 -> {"Redriven": n}
    DELETE /_pipework/events/dead-letters        {"Ids": [...], "Rule": "R", "TargetId": "T", "Region": "G"} or
                                                 {"All": true} -> {"Discarded": n}: deleted for good
    GET  /_pipework/events/tail/{bus}[?matched=1&region=G] newline-delimited JSON, one line per event put on the
                                                 bus: {"Event": {...}, "MatchedRules": [...]}; matched=1 keeps
                                                 only events that matched at least one rule

The events routes act in the server's region (``--region``) unless given another (``region``, ``Region``).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from pipework.api.extensions_http import (
    guarded,
    json_body,
    optional_ids,
    optional_text,
    query_limit,
    validation,
)
from pipework.clock import ManualClock
from pipework.services.base import ServiceError

if TYPE_CHECKING:
    from pipework.api.instance import Instance

_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+")


def region_of(given: str | None, default: str) -> str:
    """The region a route acts in: ``given`` (a region name), else the server's."""
    if given is None:
        return default
    if not _REGION.fullmatch(given):
        raise validation(
            f"Value '{given}' at 'region' failed to satisfy constraint: Member must be a region name"
        )
    return given


def routes(current: Callable[[], Instance]) -> list[Route]:
    """The routes, for the instance `current()` returns (the one the app's lifespan opened)."""

    async def dead_letters(request: Request) -> Any:
        runtime = current().events
        q = request.query_params
        limit = query_limit(request)
        region = region_of(q.get("region"), runtime.events.region)
        items = await runtime.dead_letters(
            rule=q.get("rule"), target=q.get("target"), bus=q.get("bus"), limit=limit, region=region
        )
        return {"DeadLetters": items}

    async def redrive(request: Request) -> Any:
        runtime = current().events
        body = await json_body(request)
        ids, rule, target = optional_ids(body), optional_text(body, "Rule"), optional_text(body, "TargetId")
        region = region_of(optional_text(body, "Region"), runtime.events.region)
        return {"Redriven": await runtime.redrive(ids, rule=rule, target=target, region=region)}

    async def discard(request: Request) -> Any:
        runtime = current().events
        body = await json_body(request)
        ids, rule, target = optional_ids(body), optional_text(body, "Rule"), optional_text(body, "TargetId")
        everything = body.get("All", False)
        if not isinstance(everything, bool):
            raise validation("All must be a boolean.")
        if ids is None and rule is None and target is None and not everything:
            raise validation(
                'Name what to discard: Ids, Rule or TargetId, or "All": true for every dead letter.'
            )
        region = region_of(optional_text(body, "Region"), runtime.events.region)
        return {"Discarded": await runtime.discard(ids, rule=rule, target=target, region=region)}

    async def tail(request: Request) -> Any:
        runtime = current().events
        bus = request.path_params["bus"]
        service = runtime.events
        region = region_of(request.query_params.get("region"), service.region)
        here = await service.opened(service.account, region)
        if bus not in here.buses:
            raise ServiceError("ResourceNotFoundException", f"Event bus {bus} does not exist.", 404)
        bus_arn = here.buses[bus].arn
        only_matched = request.query_params.get("matched") in ("1", "true")
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=10_000)

        def listener(event_bus_arn: str, event: dict[str, Any], rules: list[str]) -> None:
            if event_bus_arn != bus_arn or (only_matched and not rules):
                return
            if not queue.full():  # a slow reader loses lines, never slows PutEvents
                queue.put_nowait({"Event": event, "MatchedRules": rules})

        request_task = asyncio.current_task()

        async def lines() -> AsyncIterator[bytes]:
            clock = current().clock
            if isinstance(clock, ManualClock):  # an open tail is not work time travel should wait for
                clock.ignore(t for t in (request_task, asyncio.current_task()) if t is not None)
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
        Route("/_pipework/events/dead-letters", guarded(dead_letters), methods=["GET"]),
        Route("/_pipework/events/dead-letters", guarded(discard), methods=["DELETE"]),
        Route("/_pipework/events/dead-letters/redrive", guarded(redrive), methods=["POST"]),
        Route("/_pipework/events/tail/{bus:path}", guarded(tail), methods=["GET"]),
    ]
