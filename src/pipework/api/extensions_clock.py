"""Time travel over HTTP, under ``/_pipework/clock``: read the server's clock and, when it runs on a manual clock
(``pipework serve --manual-clock``), move it. JSON in, JSON out, errors in AWS's shape (``__type``, ``message``).

    GET  /_pipework/clock                     {"Now": EPOCH_SECONDS, "Manual": true | false}
    POST /_pipework/clock  {"Advance": SECONDS} or {"Set": EPOCH_SECONDS}
                                              -> {"Now": EPOCH_SECONDS}, once every timer due by then has run and
                                              the work it started has settled (`ManualClock.travel_to`)

A move that does not settle within the bounded wait answers 503 ``ClockNotSettledException`` with the time the
clock stopped at (``Now``) and the background tasks still busy in the message.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pipework.clock import ClockNotSettled, ManualClock

if TYPE_CHECKING:
    from pipework.api.instance import Instance


def _json(value: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(value), status_code=status, media_type="application/json")


def _invalid(message: str) -> Response:
    return _json({"__type": "ValidationException", "message": message}, 400)


def _seconds(value: Any) -> float | None:
    """A finite JSON number, or None (booleans are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def routes(current: Callable[[], Instance]) -> list[Route]:
    """The routes, for the instance `current()` returns (the one the app's lifespan opened)."""

    async def read(request: Request) -> Response:
        clock = current().clock
        return _json({"Now": clock.now(), "Manual": isinstance(clock, ManualClock)})

    async def move(request: Request) -> Response:
        clock = current().clock
        if not isinstance(clock, ManualClock):
            return _invalid(
                "The server's clock is not manual: start it with `pipework serve --manual-clock`."
            )
        try:
            body = orjson.loads(await request.body() or b"{}")
        except orjson.JSONDecodeError:
            return _json({"__type": "SerializationException", "message": "The body is not valid JSON."}, 400)
        if not isinstance(body, dict):
            return _invalid("The body must be a JSON object.")
        unknown = sorted(set(body) - {"Advance", "Set"})
        if unknown:
            return _invalid(f"Unknown field {unknown[0]}: the body takes Advance or Set.")
        if len(body) != 1:
            return _invalid("Exactly one of Advance (seconds) and Set (epoch seconds) is required.")
        ((field, value),) = body.items()
        seconds = _seconds(value)
        if seconds is None:
            return _invalid(f"{field} must be a number of seconds.")
        if field == "Advance" and seconds < 0:
            return _invalid("Advance must not be negative: the clock only moves forward.")
        if field == "Set" and seconds < clock.now():
            return _invalid(f"Set must not be earlier than the clock's current time ({clock.now()}).")
        try:
            reached = await (clock.travel(seconds) if field == "Advance" else clock.travel_to(seconds))
        except ValueError:  # another move got past `Set` meanwhile
            return _invalid(f"Set must not be earlier than the clock's current time ({clock.now()}).")
        except ClockNotSettled as exc:
            return _json({"__type": "ClockNotSettledException", "message": str(exc), "Now": exc.now}, 503)
        return _json({"Now": reached})

    return [
        Route("/_pipework/clock", read, methods=["GET"]),
        Route("/_pipework/clock", move, methods=["POST"]),
    ]
