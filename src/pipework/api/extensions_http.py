"""What Pipework's own routes (``/_pipework/...``) share: JSON responses, errors in AWS's shape (``__type``,
``message``) for bad input and for failures alike, and the checks of their query parameters and bodies."""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from pipework.services.base import ServiceError

log = logging.getLogger(__name__)
_REGION = re.compile(r"[a-z]{2}(-[a-z0-9]+)+-\d{1,2}")

Endpoint = Callable[[Request], Awaitable[Response]]


def json_response(value: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(value), status_code=status, media_type="application/json")


def error_response(code: str, message: str, status: int) -> Response:
    return json_response({"__type": code, "message": message}, status)


def guarded(handler: Callable[[Request], Awaitable[Any]]) -> Endpoint:
    """An endpoint answering `handler`'s result as JSON (or as is, if it is a `Response`), a `ServiceError` as its
    AWS-shaped error, and anything else as a logged ``InternalFailure`` (never Starlette's plain-text 500)."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        try:
            result = await handler(request)
        except ServiceError as exc:
            return error_response(exc.code, exc.message, exc.status)
        except Exception:
            log.exception("internal failure in %s %s", request.method, request.url.path)
            return error_response(
                "InternalFailure", "We encountered an internal error. Please try again.", 500
            )
        return result if isinstance(result, Response) else json_response(result)

    return endpoint


class OpenStreams:
    """The live streams a server is answering (a bus's tail in the console), so that shutting down can end them
    at once instead of waiting for each browser to go away. A stream registers the queue it reads from and ends
    when it reads `END` from it."""

    END = None

    def __init__(self) -> None:
        self.queues: set[asyncio.Queue[Any]] = set()

    def end(self) -> None:
        """Tell every open stream to end (called when the server starts shutting down)."""
        for queue in self.queues:
            while queue.full():  # the end matters more than lines a slow reader had not read
                queue.get_nowait()
            queue.put_nowait(self.END)


def validation(message: str) -> ServiceError:
    return ServiceError("ValidationException", message, 400)


def query_limit(request: Request, default: int = 1000) -> int:
    """The ``limit`` query parameter: a positive integer."""
    raw = request.query_params.get("limit")
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise validation(
            f"1 validation error detected: Value '{raw}' at 'limit' failed to satisfy constraint: "
            "Member must be an integer greater than or equal to 1"
        )
    return int(raw)


def query_region(request: Request) -> str | None:
    """The ``region`` query parameter (None: the server's default region), shaped like an AWS region name."""
    raw = request.query_params.get("region")
    if raw is None:
        return None
    if not _REGION.fullmatch(raw):
        raise validation(
            f"1 validation error detected: Value '{raw}' at 'region' failed to satisfy constraint: "
            "Member must be a region name such as us-east-1"
        )
    return raw


async def json_body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object (an empty body is ``{}``)."""
    try:
        body = orjson.loads(await request.body() or b"{}")
    except orjson.JSONDecodeError:
        raise ServiceError("SerializationException", "The body is not valid JSON.", 400) from None
    if not isinstance(body, dict):
        raise validation("The body must be a JSON object.")
    return body


def optional_text(body: dict[str, Any], name: str) -> str | None:
    """A body member that must be a string when present."""
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise validation(f"{name} must be a string.")
    return value


def optional_ids(body: dict[str, Any]) -> list[str] | None:
    """The ``Ids`` member: a list of strings, or absent (all)."""
    ids = body.get("Ids")
    if ids is not None and not (isinstance(ids, list) and all(isinstance(i, str) for i in ids)):
        raise validation("Ids must be a list of strings.")
    return ids
