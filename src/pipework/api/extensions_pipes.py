"""Pipework's own HTTP operations for pipes, beyond AWS's Pipes API, under ``/_pipework/pipes/``. JSON in, JSON
out, errors in AWS's shape (``__type``, ``message``); the AWS operations are never changed by these.

    POST /_pipework/pipes/{name}/invoke            {"Records": [{...}, ...]} -> what each stage did:
                                                   {"ExecutionId", "Status": SUCCEEDED | PARTIALLY_FAILED |
                                                   FAILED | FILTERED, "Stages": [{"Stage": FILTER | ENRICHMENT |
                                                   TARGET, "Status", "Input", "Output", "Error", "DurationMs"}],
                                                   "FailedRecords": [...], "Error"}
    GET  /_pipework/pipes/{name}/metrics           {"PipeName", "PipeArn", "Metrics": {AWS name: statistics}}
    GET  /_pipework/pipes/dead-letters?pipe=P&limit=N
                                                   {"DeadLetters": [{"Id", "PipeName", "Error", "DeadLetteredAt",
                                                   "Record"}]} (full records)
    POST /_pipework/pipes/dead-letters/redrive     {"Pipe": "P", "Ids": [...] (default: all)} -> {"Redriven": n}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pipework.services.base import ServiceError

if TYPE_CHECKING:
    from pipework.app import Pipework
    from pipework.services.pipes import Pipes


def _json(value: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(value), status_code=status, media_type="application/json")


def _error(code: str, message: str, status: int) -> Response:
    return _json({"__type": code, "message": message}, status)


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.body() or b"{}")
    except orjson.JSONDecodeError:
        raise ServiceError("SerializationException", "The body is not valid JSON.", 400) from None
    if not isinstance(body, dict):
        raise ServiceError("ValidationException", "The body must be a JSON object.", 400)
    return body


def routes(current: Callable[[], Pipework]) -> list[Route]:
    """The routes, for the instance `current()` returns (the one the app's lifespan opened)."""

    def pipes() -> Pipes:
        return current().pipes

    def guarded(handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            try:
                return _json(await handler(request))
            except ServiceError as exc:
                return _error(exc.code, exc.message, exc.status)

        return endpoint

    async def invoke(request: Request) -> Any:
        body = await _body(request)
        records: Any = body.get("Records")
        if records is None and "Record" in body:
            records = [body["Record"]]
        return await pipes().invoke(request.path_params["name"], records)

    async def metrics(request: Request) -> Any:
        return pipes().pipe_metrics(request.path_params["name"])

    async def dead_letters(request: Request) -> Any:
        q = request.query_params
        items = await pipes().dead_letters(q.get("pipe"), limit=int(q.get("limit", "1000")))
        return {"DeadLetters": items}

    async def redrive(request: Request) -> Any:
        body = await _body(request)
        name, ids = body.get("Pipe"), body.get("Ids")
        if not isinstance(name, str):
            raise ServiceError("ValidationException", "Pipe (the pipe name) is required.", 400)
        if ids is not None and not (isinstance(ids, list) and all(isinstance(i, str) for i in ids)):
            raise ServiceError("ValidationException", "Ids must be a list of strings.", 400)
        return {"Redriven": await pipes().redrive(name, ids)}

    return [
        Route("/_pipework/pipes/dead-letters", guarded(dead_letters), methods=["GET"]),
        Route("/_pipework/pipes/dead-letters/redrive", guarded(redrive), methods=["POST"]),
        Route("/_pipework/pipes/{name}/invoke", guarded(invoke), methods=["POST"]),
        Route("/_pipework/pipes/{name}/metrics", guarded(metrics), methods=["GET"]),
    ]
