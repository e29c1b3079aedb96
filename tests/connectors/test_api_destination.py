"""The API destination target against a real local HTTP server, on a ManualClock: one rate limiter per
destination whoever calls, one OAuth token per connection until it expires on the clock, the connection's
parameters and authorization, and the failures no retry fixes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from pipework.clock import ManualClock
from pipework.connectors.targets import HttpParameters, Message, TargetError
from pipework.connectors.targets.api_destination import ApiDestinationTarget
from support.http import Endpoint

from .conftest import START

pytestmark = pytest.mark.anyio
PREFIX = "arn:aws:events:us-east-1:000000000000:"


class Catalog:
    """Destinations and connections by ARN (what EventBridge owns, through the port)."""

    def __init__(self) -> None:
        self.destinations: dict[str, dict[str, Any]] = {}
        self.connections: dict[str, dict[str, Any]] = {}

    def api_destination_by_arn(self, arn: str) -> dict[str, Any] | None:
        return self.destinations.get(arn)

    def connection_by_arn(self, arn: str) -> dict[str, Any] | None:
        return self.connections.get(arn)

    def add(self, name: str, url: str, *, rate: int = 300, auth: str = "API_KEY", params: Any = None) -> str:
        connection_arn = f"{PREFIX}connection/{name}/1"
        parameters: dict[str, Any] = {
            "API_KEY": {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "secret"}},
            "OAUTH_CLIENT_CREDENTIALS": {
                "OAuthParameters": {
                    "ClientParameters": {"ClientID": "id", "ClientSecret": "s"},
                    "AuthorizationEndpoint": url.rsplit("/", 1)[0] + "/oauth/token",
                    "HttpMethod": "POST",
                }
            },
        }[auth]
        if params:
            parameters["InvocationHttpParameters"] = params
        self.connections[connection_arn] = {
            "ConnectionArn": connection_arn,
            "AuthorizationType": auth,
            "AuthParameters": parameters,
            "ConnectionState": "AUTHORIZED",
        }
        arn = f"{PREFIX}api-destination/{name}/1"
        self.destinations[arn] = {
            "ApiDestinationArn": arn,
            "ConnectionArn": connection_arn,
            "InvocationEndpoint": url,
            "HttpMethod": "POST",
            "InvocationRateLimitPerSecond": rate,
        }
        return arn


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    served = Endpoint()
    yield served
    served.close()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as http:
        yield http


async def test_one_destination_lets_one_call_a_second_through_whoever_calls(client, endpoint) -> None:
    clock, catalog = ManualClock(start=START), Catalog()
    target = ApiDestinationTarget(client, clock, catalog)
    slow = catalog.add("slow", endpoint.url + "/slow", rate=1)
    other = catalog.add("other", endpoint.url + "/other", rate=1)
    await target.send(slow, [Message("1")])
    second = asyncio.create_task(target.send(slow, [Message("2")]))  # e.g. a pipe, after a rule's call
    await target.send(other, [Message("3")])  # another destination has its own limit
    while clock.sleepers == 0:
        await asyncio.sleep(0.001)
    assert [r["path"] for r in endpoint.requests] == ["/slow", "/other"]
    clock.advance(1.0)
    await second
    assert [r["body"] for r in endpoint.requests] == ["1", "3", "2"]


async def test_an_oauth_token_is_shared_until_it_expires_on_the_clock(client, endpoint) -> None:
    clock, catalog = ManualClock(start=START), Catalog()
    target = ApiDestinationTarget(client, clock, catalog)
    arn = catalog.add("oauth", endpoint.url + "/hook", auth="OAUTH_CLIENT_CREDENTIALS")
    await target.send(arn, [Message("a")])
    clock.advance(60)
    await target.send(arn, [Message("b")])
    clock.advance(3600)  # the token endpoint gave no expires_in: an hour, renewed 30 s early
    await target.send(arn, [Message("c")])
    tokens = [r["headers"]["Authorization"] for r in endpoint.requests]
    assert tokens == ["Bearer token-1", "Bearer token-1", "Bearer token-2"]
    assert endpoint.tokens_issued == 2


async def test_parameters_of_the_call_and_of_the_connection_are_applied(client, endpoint) -> None:
    catalog = Catalog()
    connection_params = {
        "HeaderParameters": [{"Key": "x-team", "Value": "ops", "IsValueSecret": False}],
        "BodyParameters": [{"Key": "source", "Value": "pipework", "IsValueSecret": False}],
    }
    arn = catalog.add("orders", endpoint.url + "/orders/*", params=connection_params)
    http = HttpParameters(path_values=("o 1",), headers={"x-team": "mine", "x-id": "7"}, query={"q": "1"})
    sent = await ApiDestinationTarget(client, ManualClock(), catalog).send(
        arn, [Message({"n": 1}, http=http)]
    )
    request = endpoint.requests[0]
    assert request["path"] == "/orders/o%201?q=1"
    assert (request["headers"]["x-team"], request["headers"]["x-id"], request["headers"]["x-api-key"]) == (
        "ops",  # the connection's parameters win on a conflict (AWS)
        "7",
        "secret",
    )
    assert json.loads(request["body"]) == {"n": 1, "source": "pipework"}
    assert sent.responses == [{}]  # the answer's JSON


@pytest.mark.parametrize(
    ("change", "code", "reason"),
    [
        ("deauthorize", "AccessDeniedException", "NO_PERMISSIONS"),
        ("delete", "ResourceNotFoundException", "NO_RESOURCE"),
    ],
)
async def test_a_gone_destination_or_deauthorized_connection_is_not_retried(
    client, endpoint, change: str, code: str, reason: str
) -> None:
    catalog = Catalog()
    arn = catalog.add("hook", endpoint.url + "/hook")
    if change == "deauthorize":
        next(iter(catalog.connections.values()))["ConnectionState"] = "DEAUTHORIZED"
    else:
        del catalog.destinations[arn]
    with pytest.raises(TargetError) as raised:
        await ApiDestinationTarget(client, ManualClock(), catalog).send(arn, [Message("x")])
    assert (raised.value.code, raised.value.reason, raised.value.retryable) == (code, reason, False)
    assert endpoint.requests == []


@pytest.mark.parametrize(
    ("status", "headers", "code", "retryable", "retry_after"),
    [
        (429, {"Retry-After": "7"}, "THROTTLING", True, 7.0),
        (503, {}, "SERVICE_UNAVAILABLE", True, None),
        (400, {}, "INVALID_PARAMETER", False, None),
    ],
)
async def test_only_429_and_5xx_answers_retry(
    client, endpoint, status, headers, code, retryable, retry_after
):
    catalog = Catalog()
    arn = catalog.add("hook", endpoint.url + "/hook")
    endpoint.script.append((status, headers, 0.0))
    with pytest.raises(TargetError) as raised:
        await ApiDestinationTarget(client, ManualClock(), catalog).send(arn, [Message("x")])
    assert (raised.value.code, raised.value.retryable, raised.value.retry_after) == (
        code,
        retryable,
        retry_after,
    )
