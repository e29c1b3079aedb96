"""API destinations against a real local HTTP server: OAuth client credentials, the invocation rate limit, the
5-second timeout; and `pipework tail` showing live events with the rules they matched."""

from __future__ import annotations

import base64
import json
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest

from support.http import Endpoint, wait_for


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    e = Endpoint()
    yield e
    e.close()


def api_destination_rule(
    events: Any, endpoint: Endpoint, auth: dict[str, Any], kind: str, **dest: Any
) -> None:
    connection = events.create_connection(Name="c", AuthorizationType=kind, AuthParameters=auth)
    destination = events.create_api_destination(
        Name="d",
        ConnectionArn=connection["ConnectionArn"],
        InvocationEndpoint=endpoint.url + "/hook",
        HttpMethod="POST",
        **dest,
    )
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["shop"]}))
    events.put_targets(Rule="r", Targets=[{"Id": "d", "Arn": destination["ApiDestinationArn"]}])


def put(events: Any, count: int) -> None:
    for start in range(0, count, 10):
        events.put_events(
            Entries=[
                {"Source": "shop", "DetailType": "Order", "Detail": json.dumps({"n": n})}
                for n in range(start, min(count, start + 10))
            ]
        )


def test_oauth_client_credentials_token_is_fetched_cached_and_refreshed_on_401(server, endpoint):
    events = server.client("events")
    auth = {
        "OAuthParameters": {
            "ClientParameters": {"ClientID": "app", "ClientSecret": "s3cret"},
            "AuthorizationEndpoint": endpoint.url + "/oauth/token",
            "HttpMethod": "POST",
            "OAuthHttpParameters": {
                "BodyParameters": [{"Key": "scope", "Value": "orders", "IsValueSecret": False}]
            },
        }
    }
    api_destination_rule(events, endpoint, auth, "OAUTH_CLIENT_CREDENTIALS")
    put(events, 2)
    wait_for(lambda: len(endpoint.requests) == 2)
    assert [r["headers"]["Authorization"] for r in endpoint.requests] == ["Bearer token-1"] * 2
    assert len(endpoint.token_requests) == 1  # cached between calls
    token_request = endpoint.token_requests[0]
    assert token_request["headers"]["Authorization"] == "Basic " + base64.b64encode(b"app:s3cret").decode()
    assert parse_qs(token_request["body"]) == {"grant_type": ["client_credentials"], "scope": ["orders"]}

    endpoint.script = [(401, {}, 0.0)]  # the token was revoked: fetch a new one and try again
    put(events, 1)
    wait_for(lambda: len(endpoint.requests) == 4)
    assert endpoint.requests[-1]["headers"]["Authorization"] == "Bearer token-2"
    assert len(endpoint.token_requests) == 2


def test_invocation_rate_limit_spaces_the_calls(server, endpoint):
    events = server.client("events")
    auth = {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "k"}}
    api_destination_rule(events, endpoint, auth, "API_KEY", InvocationRateLimitPerSecond=10)
    put(events, 11)
    wait_for(lambda: len(endpoint.requests) == 11, timeout=20)
    times = sorted(r["at"] for r in endpoint.requests)
    # 10 intervals at 10 calls/s: at least ~1 s from the first call to the last (no burst).
    assert times[-1] - times[0] >= 0.9
    assert all(r["headers"]["x-api-key"] == "k" for r in endpoint.requests)


@pytest.mark.slow
def test_a_destination_that_does_not_answer_within_5_seconds_is_retried(server, endpoint):
    events = server.client("events")
    auth = {"BasicAuthParameters": {"Username": "u", "Password": "p"}}
    api_destination_rule(events, endpoint, auth, "BASIC")
    endpoint.script = [(200, {}, 6.0)]
    started = time.monotonic()
    put(events, 1)
    wait_for(lambda: len(endpoint.requests) == 2, timeout=30)
    assert time.monotonic() - started >= 5.0


def test_tail_prints_live_events_with_the_rules_they_matched(server):
    events = server.client("events")
    events.put_rule(Name="orders", EventPattern=json.dumps({"source": ["shop"]}))
    events.put_rule(Name="big", EventPattern=json.dumps({"detail": {"total": [{"numeric": [">", 100]}]}}))
    command = [
        sys.executable,
        "-m",
        "pipework.cli.main",
        "tail",
        "default",
        "--endpoint-url",
        server.endpoint_url,
    ]
    listeners = server.pipework.events.events.listeners
    before = len(listeners)  # the metrics' own listener is always there
    tail = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        # the CLI is connected once its listener is registered; events put before that are not tailed
        wait_for(lambda: len(listeners) > before)
        events.put_events(
            Entries=[
                {"Source": "other", "DetailType": "Noise", "Detail": "{}"},
                {"Source": "shop", "DetailType": "Order", "Detail": json.dumps({"total": 150})},
            ]
        )
        assert tail.stdout is not None
        ready, _, _ = select.select([tail.stdout], [], [], 10)
        line = tail.stdout.readline() if ready else ""
    finally:
        tail.kill()
        tail.wait()
    assert "shop" in line and "Order" in line and "rules=big,orders" in line
    assert "other" not in line  # events that matched nothing are left out without --all
