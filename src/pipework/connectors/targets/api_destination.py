"""The ``api-destination`` target: an HTTP call per message to an EventBridge API destination, with its
connection's authorization and parameters, a 5 s timeout, the destination's rate limit, and EventBridge's retry
rules (only 429, 5xx and network errors retry; ``Retry-After`` is honoured).

``arn:aws:events:<region>:<account>:api-destination/<name>/<id>``. There is one `ApiDestinationTarget` per
instance, so a destination's rate limit and a connection's OAuth token are shared by every rule, pipe and schedule
that uses them; both run on the instance's clock.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import quote

import httpx
import orjson

from pipework.clock import Clock
from pipework.connectors.ports import Admission, ApiDestinationCatalog
from pipework.jsontypes import JSON

from .base import (
    HELD,
    NOT_THIS_KIND,
    HttpParameters,
    Message,
    Problem,
    Sent,
    TargetError,
    arn_parts,
    held_back,
)

if TYPE_CHECKING:
    from typing import Self

    from pipework.connectors.bundle import Connectors

TIMEOUT = 5.0
DEFAULT_RATE = 300  # InvocationRateLimitPerSecond when the destination names none (AWS's default)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        return None  # an HTTP date: not worth parsing for a local router; backoff applies


class RateLimiter:
    """Spaces the calls to one destination at most ``1 / rate`` seconds apart on the clock: each call takes the
    next free slot (no bursts), whoever makes it."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._next: float | None = None

    async def acquire(self, rate: float) -> None:
        now = self._clock.now()
        slot = now if self._next is None else max(now, self._next)
        self._next = slot + 1.0 / max(rate, 1e-9)
        if slot > now:
            held_back(slot - now)
            await self._clock.sleep(slot - now)


class ApiDestinationTarget:
    """Calls API destinations: one rate limiter per destination, one OAuth token per connection, one HTTP client.

    Parameters:
        client: the shared HTTP client. clock: the instance's clock. catalog: the destinations and connections.
        admission: asked again once a call has its rate-limit slot (a breaker may have opened meanwhile).
    """

    kind: ClassVar[str] = "api-destination"

    def __init__(
        self,
        client: httpx.AsyncClient,
        clock: Clock,
        catalog: ApiDestinationCatalog,
        admission: Admission | None = None,
    ) -> None:
        self.admission = admission
        self.client = client
        self.clock = clock
        self.catalog = catalog
        self._limiters: dict[str, RateLimiter] = {}
        self._tokens: dict[str, tuple[str, float]] = {}
        self._token_locks: dict[str, asyncio.Lock] = {}

    @classmethod
    def build(cls, connectors: Connectors) -> Self:
        return cls(connectors.http, connectors.clock, connectors.destinations, connectors.admission)

    @staticmethod
    def matches(arn: str) -> bool:
        parts = arn_parts(arn)
        return parts is not None and parts[2] == "events" and parts[5].startswith("api-destination/")

    @staticmethod
    def check(arn: str, sample: Message) -> Problem | None:
        return None if ApiDestinationTarget.matches(arn) else Problem(NOT_THIS_KIND, arn)

    def resolve(self, arn: str) -> tuple[JSON, JSON]:
        """The destination and its connection; `TargetError` if either is gone or the connection is
        deauthorized (no retry fixes those)."""
        destination = self.catalog.api_destination_by_arn(arn)
        if destination is None:
            raise TargetError(
                "ResourceNotFoundException",
                f"API destination {arn} does not exist.",
                retryable=False,
                reason="NO_RESOURCE",
            )
        connection = self.catalog.connection_by_arn(destination["ConnectionArn"])
        if connection is None or connection["ConnectionState"] == "DEAUTHORIZED":
            raise TargetError(
                "AccessDeniedException",
                "The connection is not authorized.",
                retryable=False,
                reason="NO_PERMISSIONS",
            )
        return destination, connection

    async def send(self, arn: str, messages: Sequence[Message]) -> Sent:
        """One call per message, in order; the first failure is raised. Each response is the answer's JSON (or
        its text when it is not JSON)."""
        sent = Sent()
        for message in messages:
            destination, connection = self.resolve(arn)
            response = await self.invoke(destination, connection, message.text(), message.http)
            try:
                sent.responses.append(response.json())
            except ValueError:
                sent.responses.append(response.text)
        return sent

    async def invoke(
        self, destination: JSON, connection: JSON, body: str, http: HttpParameters | None
    ) -> httpx.Response:
        """Call the destination (rate limit, auth, parameters applied); the response on 2xx, else `TargetError`
        (retryable for 429 / 5xx / network errors, with any Retry-After)."""
        arn = destination["ApiDestinationArn"]
        limiter = self._limiters.get(arn)
        if limiter is None:
            limiter = self._limiters[arn] = RateLimiter(self.clock)
        await limiter.acquire(destination.get("InvocationRateLimitPerSecond", DEFAULT_RATE))
        if self.admission is not None and not self.admission.admitted(arn):
            # Its breaker opened while this call waited for its slot: it is parked, not sent to a target that is down.
            raise TargetError(HELD, f"The breaker of {arn} opened before the call was made.")
        params = http or HttpParameters()
        response = await self._send(destination, connection, body, params, refresh=False)
        if (
            response.status_code in (401, 407)
            and connection["AuthorizationType"] == "OAUTH_CLIENT_CREDENTIALS"
        ):
            response = await self._send(destination, connection, body, params, refresh=True)
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
        self, destination: JSON, connection: JSON, body: str, params: HttpParameters, *, refresh: bool
    ) -> httpx.Response:
        url = destination["InvocationEndpoint"]
        for value in params.path_values:
            url = url.replace("*", quote(value, safe=""), 1)
        headers: dict[str, str] = {"Content-Type": "application/json; charset=utf-8"}
        headers.update(params.headers)
        query: dict[str, str] = dict(params.query)
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
            fresh = cached is not None and cached[1] > self.clock.now()
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
        self._tokens[connection["ConnectionArn"]] = (token, self.clock.now() + max(lifetime - 30, 1))
        return token
