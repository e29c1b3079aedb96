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
    DELETE /_pipework/pipes/dead-letters           {"Pipe": "P", "Ids": [...] (default: all)} -> {"Discarded": n}

Each takes ``?region=R`` (default: the server's region, `--region`) for the pipes of another region; without a
pipe, dead-letters lists every pipe of that region.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.routing import Route

from pipework.api.extensions_http import (
    guarded,
    json_body,
    optional_ids,
    query_limit,
    query_region,
    validation,
)

if TYPE_CHECKING:
    from pipework.api.instance import Instance
    from pipework.services.pipes import Pipes


def routes(current: Callable[[], Instance]) -> list[Route]:
    """The routes, for the instance `current()` returns (the one the app's lifespan opened)."""

    def pipes() -> Pipes:
        return current().pipes

    async def invoke(request: Request) -> Any:
        body = await json_body(request)
        records: Any = body.get("Records")
        if records is None and "Record" in body:
            records = [body["Record"]]
        return await pipes().invoke(request.path_params["name"], records, region=query_region(request))

    async def metrics(request: Request) -> Any:
        return pipes().pipe_metrics(request.path_params["name"], region=query_region(request))

    async def dead_letters(request: Request) -> Any:
        limit, region = query_limit(request), query_region(request)
        items = await pipes().dead_letters(request.query_params.get("pipe"), limit=limit, region=region)
        return {"DeadLetters": items}

    async def redrive(request: Request) -> Any:
        body = await json_body(request)
        name, ids = body.get("Pipe"), optional_ids(body)
        if not isinstance(name, str):
            raise validation("Pipe (the pipe name) is required.")
        return {"Redriven": await pipes().redrive(name, ids, region=query_region(request))}

    async def discard(request: Request) -> Any:
        body = await json_body(request)
        name, ids = body.get("Pipe"), optional_ids(body)
        if not isinstance(name, str):
            raise validation("Pipe (the pipe name) is required.")
        return {"Discarded": await pipes().discard(name, ids, region=query_region(request))}

    return [
        Route("/_pipework/pipes/dead-letters", guarded(dead_letters), methods=["GET"]),
        Route("/_pipework/pipes/dead-letters", guarded(discard), methods=["DELETE"]),
        Route("/_pipework/pipes/dead-letters/redrive", guarded(redrive), methods=["POST"]),
        Route("/_pipework/pipes/{name}/invoke", guarded(invoke), methods=["POST"]),
        Route("/_pipework/pipes/{name}/metrics", guarded(metrics), methods=["GET"]),
    ]
