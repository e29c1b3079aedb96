"""API destinations: an HTTP call per delivery, with the connection's authorization and parameters, a 5 s
timeout, a per-destination rate limit, and EventBridge's retry rules (only 429, 5xx and network errors retry;
``Retry-After`` is honoured).
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from .base import TargetError

JSON = dict[str, Any]
TIMEOUT = 5.0


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        return None  # an HTTP date: not worth parsing for a local router; backoff applies


class RateLimiter:
    """Spaces calls to at most ``rate`` per second: each call takes the next free slot (no bursts)."""

    def __init__(self, now: Callable[[], float], sleep: Callable[[float], Awaitable[None]]) -> None:
        self._now = now
        self._sleep = sleep
        self._next: dict[str, float] = {}

    async def acquire(self, key: str, rate: float) -> None:
        now = self._now()
        slot = max(now, self._next.get(key, now))
        self._next[key] = slot + 1.0 / max(rate, 1e-9)
        if slot > now:
            await self._sleep(slot - now)


class HttpTarget:
    """Invokes API destinations. ``client`` is shared; OAuth tokens are cached per connection."""

    def __init__(self, client: httpx.AsyncClient, limiter: RateLimiter) -> None:
        self.client = client
        self.limiter = limiter
        self._tokens: dict[str, tuple[str, float]] = {}
        self._token_locks: dict[str, asyncio.Lock] = {}

    async def invoke(
        self, destination: JSON, connection: JSON, body: str, http_parameters: JSON | None
    ) -> httpx.Response:
        """Call the destination (rate limit, auth, parameters applied); the response on 2xx, else `TargetError`
        (retryable for 429 / 5xx / network errors, with any Retry-After)."""
        await self.limiter.acquire(
            destination["ApiDestinationArn"], destination.get("InvocationRateLimitPerSecond", 300)
        )
        response = await self._send(destination, connection, body, http_parameters or {}, refresh=False)
        if (
            response.status_code in (401, 407)
            and connection["AuthorizationType"] == "OAUTH_CLIENT_CREDENTIALS"
        ):
            response = await self._send(destination, connection, body, http_parameters or {}, refresh=True)
        self._check(response)
        return response

    @staticmethod
    def _check(response: httpx.Response) -> None:
        status = response.status_code
        if status < 300:
            return
        text = response.text[:256]
        retry_after = _retry_after(response.headers.get("Retry-After"))
        if status == 429:
            if retry_after is not None and retry_after < 0:
                raise TargetError(
                    "THROTTLING", f"Status 429 with a negative Retry-After: {text}", retryable=False
                )
            raise TargetError("THROTTLING", f"Status 429: {text}", retry_after=retry_after)
        if status >= 500:
            raise TargetError("SERVICE_UNAVAILABLE", f"Status {status}: {text}", retry_after=retry_after)
        raise TargetError("INVALID_PARAMETER", f"Status {status}: {text}", retryable=False)

    async def _send(
        self, destination: JSON, connection: JSON, body: str, params: JSON, *, refresh: bool
    ) -> httpx.Response:
        url = destination["InvocationEndpoint"]
        for value in params.get("PathParameterValues", []):
            url = url.replace("*", quote(value, safe=""), 1)
        headers: dict[str, str] = {"Content-Type": "application/json; charset=utf-8"}
        headers.update(params.get("HeaderParameters", {}))
        query: dict[str, str] = dict(params.get("QueryStringParameters", {}))
        auth = connection["AuthParameters"]
        # Connection parameters override the target's on a key conflict (AWS).
        invocation = auth.get("InvocationHttpParameters", {})
        for item in invocation.get("HeaderParameters", []):
            headers[item["Key"]] = item["Value"]
        for item in invocation.get("QueryStringParameters", []):
            query[item["Key"]] = item["Value"]
        extra_body = {item["Key"]: item["Value"] for item in invocation.get("BodyParameters", [])}
        content = body
        if extra_body:
            try:
                parsed = orjson.loads(body)
            except orjson.JSONDecodeError:
                parsed = None
            if isinstance(parsed, dict):
                content = orjson.dumps({**parsed, **extra_body}).decode()
        headers.update(await self._authorization(connection, refresh=refresh))
        method = destination["HttpMethod"]
        try:
            return await self.client.request(
                method,
                url,
                params=query or None,
                headers=headers,
                content=None if method in ("GET", "HEAD", "OPTIONS") else content.encode(),
                timeout=TIMEOUT,
            )
        except httpx.TimeoutException:
            raise TargetError("TIMEOUT", f"No response from {url} within {TIMEOUT:g} seconds.") from None
        except httpx.HTTPError as exc:
            raise TargetError("SERVICE_UNAVAILABLE", f"{type(exc).__name__}: {exc}") from None

    async def _authorization(self, connection: JSON, *, refresh: bool) -> dict[str, str]:
        kind = connection["AuthorizationType"]
        auth = connection["AuthParameters"]
        if kind == "API_KEY":
            key = auth["ApiKeyAuthParameters"]
            return {key["ApiKeyName"]: key["ApiKeyValue"]}
        if kind == "BASIC":
            basic = auth["BasicAuthParameters"]
            pair = f"{basic['Username']}:{basic['Password']}".encode()
            return {"Authorization": "Basic " + base64.b64encode(pair).decode()}
        return {"Authorization": "Bearer " + await self._oauth_token(connection, refresh=refresh)}

    async def _oauth_token(self, connection: JSON, *, refresh: bool) -> str:
        arn = connection["ConnectionArn"]
        seen = self._tokens.get(arn)
        # One fetch per connection at a time: concurrent deliveries wait for it and share the token.
        async with self._token_locks.setdefault(arn, asyncio.Lock()):
            cached = self._tokens.get(arn)
            fresh = cached is not None and cached[1] > time.monotonic()
            if fresh and cached is not None and (not refresh or cached is not seen):
                return cached[0]
            return await self._fetch_token(connection)

    async def _fetch_token(self, connection: JSON) -> str:
        oauth = connection["AuthParameters"]["OAuthParameters"]
        client = oauth["ClientParameters"]
        pair = f"{client['ClientID']}:{client.get('ClientSecret', '')}".encode()
        extra = oauth.get("OAuthHttpParameters", {})
        headers = {"Authorization": "Basic " + base64.b64encode(pair).decode()}
        headers.update({i["Key"]: i["Value"] for i in extra.get("HeaderParameters", [])})
        query = {i["Key"]: i["Value"] for i in extra.get("QueryStringParameters", [])}
        form = {
            "grant_type": "client_credentials",
            **{i["Key"]: i["Value"] for i in extra.get("BodyParameters", [])},
        }
        try:
            response = await self.client.request(
                oauth.get("HttpMethod", "POST"),
                oauth["AuthorizationEndpoint"],
                headers=headers,
                params=query or None,
                data=form if oauth.get("HttpMethod", "POST") != "GET" else None,
                timeout=TIMEOUT,
            )
        except httpx.HTTPError as exc:
            raise TargetError("SERVICE_UNAVAILABLE", f"OAuth endpoint: {type(exc).__name__}: {exc}") from None
        if response.status_code >= 300:
            raise TargetError(
                "NO_PERMISSIONS",
                f"OAuth endpoint answered {response.status_code}",
                retryable=response.status_code >= 500 or response.status_code == 429,
            )
        try:
            data = response.json()
            token = str(data["access_token"])
        except (ValueError, KeyError, TypeError):
            raise TargetError(
                "NO_PERMISSIONS", "OAuth endpoint gave no access_token", retryable=False
            ) from None
        lifetime = float(data.get("expires_in", 3600))
        self._tokens[connection["ConnectionArn"]] = (token, time.monotonic() + max(lifetime - 30, 1))
        return token
