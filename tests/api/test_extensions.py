"""Pipework's own routes (``/_pipework/...``) check their input and answer every error as JSON in AWS's shape."""

from __future__ import annotations

import httpx
import orjson
import pytest
from starlette.requests import Request

from pipework.api.extensions_http import guarded


@pytest.mark.parametrize("route", ["/_pipework/events/dead-letters", "/_pipework/pipes/dead-letters"])
@pytest.mark.parametrize("limit", ["abc", "-1", "0", "1.5", "١"])
def test_dead_letter_listings_reject_a_limit_that_is_not_a_positive_integer(server, route, limit):
    response = httpx.get(server.endpoint_url + route, params={"limit": limit})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "__type": "ValidationException",
        "message": f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: "
        "Member must be an integer greater than or equal to 1",
    }
    assert httpx.get(server.endpoint_url + route, params={"limit": "5"}).json() == {"DeadLetters": []}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"Rule": 5}, "Rule must be a string."),
        ({"TargetId": ["t"]}, "TargetId must be a string."),
        ({"Ids": "a"}, "Ids must be a list of strings."),
        ([1], "The body must be a JSON object."),
    ],
)
def test_events_redrive_rejects_members_of_the_wrong_type(server, body, message):
    response = httpx.post(server.endpoint_url + "/_pipework/events/dead-letters/redrive", json=body)
    assert response.status_code == 400
    assert response.json() == {"__type": "ValidationException", "message": message}


@pytest.mark.anyio
async def test_an_unexpected_failure_is_an_aws_shaped_internal_failure():
    async def broken(request: Request) -> dict[str, str]:
        raise KeyError("boom")

    request = Request(
        {"type": "http", "method": "GET", "path": "/broken", "headers": [], "query_string": b""}
    )
    response = await guarded(broken)(request)
    assert response.status_code == 500
    assert orjson.loads(response.body) == {
        "__type": "InternalFailure",
        "message": "We encountered an internal error. Please try again.",
    }
