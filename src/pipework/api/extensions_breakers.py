"""Pipework's own HTTP operations for circuit breakers, under ``/_pipework/breakers``. JSON in, JSON out, errors in
AWS's shape (``__type``, ``message``). See docs/breakers.md.

    PUT    /_pipework/breakers/{name}           {"Target": ARN, "FailureThreshold": 5, "FailureRate": {...},
                                                "OpenSeconds": 30, "MaxOpenSeconds": 600, "ResumeRatePerSecond": N,
                                                "HealthCheck": {...}, "ParkRetentionSeconds": S} -> the breaker
    GET    /_pipework/breakers                  {"Breakers": [{"Name", "Target", "State", "Parked", "Since",
                                                "Reason", ...configuration}]}
    GET    /_pipework/breakers/{name}           one breaker, unwrapped
    DELETE /_pipework/breakers/{name}           {} (its parked deliveries resume)
    POST   /_pipework/breakers/{name}/open|close|pause|resume    -> the breaker
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.routing import Route

from pipework.api.extensions_http import guarded, json_body, validation
from pipework.engine.breakers import BreakerConfig, BreakerConfigError, BreakerNotFound, Breakers
from pipework.engine.breakers.config import NAME
from pipework.services.base import ServiceError

if TYPE_CHECKING:
    from pipework.api.instance import Instance

ACTIONS = ("open", "close", "pause", "resume")


def routes(current: Callable[[], Instance]) -> list[Route]:
    """The routes, for the instance `current()` returns (the one the app's lifespan opened)."""

    def breakers() -> Breakers:
        return current().breakers

    def name_of(request: Request) -> str:
        name: str = request.path_params["name"]
        if not NAME.fullmatch(name):
            raise validation(
                f"Value '{name[:200]}' at 'name' failed to satisfy constraint: Member must match pattern "
                "[A-Za-z0-9_.-]{1,64}"
            )
        return name

    def found(name: str) -> Any:
        try:
            return breakers().get(name)
        except BreakerNotFound as exc:
            raise ServiceError("ResourceNotFoundException", str(exc), 404) from None

    async def put(request: Request) -> Any:
        name = name_of(request)
        try:
            config = BreakerConfig.from_api(await json_body(request))
        except BreakerConfigError as exc:
            raise validation(str(exc)) from None
        breaker = await breakers().put(name, config)
        return await breakers().describe(breaker)

    async def list_all(request: Request) -> Any:
        every = breakers()
        return {"Breakers": [await every.describe(b) for _, b in sorted(every.breakers.items())]}

    async def get(request: Request) -> Any:
        return await breakers().describe(found(name_of(request)))

    async def delete(request: Request) -> Any:
        name = name_of(request)
        found(name)
        try:
            await breakers().delete(name)
        except BreakerNotFound as exc:
            raise ServiceError("ResourceNotFoundException", str(exc), 404) from None
        return {}

    async def control(request: Request) -> Any:
        name, action = name_of(request), request.path_params["action"]
        if action not in ACTIONS:
            raise ServiceError("UnknownOperationException", f"Unknown breaker action {action[:100]}.", 404)
        found(name)
        breaker = await breakers().control(name, action)
        return await breakers().describe(breaker)

    async def one(request: Request) -> Any:
        # One route for every path under a breaker: a name holding "/" (encoded or not) gets a JSON error too.
        name, _, action = request.path_params["rest"].partition("/")
        request.path_params["name"] = name
        if action:
            if request.method != "POST" or "/" in action:
                raise ServiceError("UnknownOperationException", "No such breaker operation.", 404)
            request.path_params["action"] = action
            return await control(request)
        handler = {"GET": get, "PUT": put, "DELETE": delete}.get(request.method)
        if handler is None:
            raise ServiceError("UnknownOperationException", "No such breaker operation.", 405)
        return await handler(request)

    return [
        Route("/_pipework/breakers", guarded(list_all), methods=["GET"]),
        Route("/_pipework/breakers/{rest:path}", guarded(one), methods=["GET", "PUT", "DELETE", "POST"]),
    ]
