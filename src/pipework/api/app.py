"""The ASGI application: AWS requests to the served APIs, plus Pipework's own routes under ``/_pipework/``.

`AwsGateway` is the hot path (a raw ASGI callable: route, decode, validate, call the service, encode); `build_app`
wraps it in a Starlette app whose lifespan opens and closes the instance (an `Instance`: the composition root,
`pipework.app`, builds it and hands this module the opener; this module never imports it).
"""

from __future__ import annotations

import contextlib
import functools
import html
import itertools
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipework.api.auth import Caller, Guard
from pipework.api.auth.errors import AuthError
from pipework.api.auth.guard import condition_context
from pipework.api.auth.verify import SignedRequest
from pipework.api.errors import (
    CBOR_ERRORS,
    JSON_ERRORS,
    QUERY_ERRORS,
    REST_JSON_ERRORS,
    Headers,
    internal_failure,
    render_error,
    service_unavailable,
)
from pipework.api.extensions_http import OpenStreams
from pipework.api.instance import Instance
from pipework.api.protocols import (
    Operation,
    RestRouter,
    ServedApi,
    decode_cbor_body,
    decode_json_body,
    parse_query,
)
from pipework.api.query import form_tree, parse_form
from pipework.api.sigv4 import Authorization, parse_authorization, parse_presigned_query
from pipework.models import load_service_model
from pipework.services.base import RequestContext, Service, ServiceError
from pipework.store.errors import StoreUnavailable

log = logging.getLogger(__name__)


QUERY_PROTOCOL_MESSAGE = (
    "Pipework serves {service} over AWS's JSON protocol only; the query protocol (Action=...) is not supported. "
    "Use a current AWS SDK or CLI, which send JSON."
)


class AwsGateway:
    """Routes AWS requests to services by their protocol, and turns results and errors into AWS responses.

    Parameters: `services`, the served APIs (each ``name`` a botocore service name); `region` and `account`, the
    defaults put in each `RequestContext` (the region comes from the SigV4 credential scope when there is one).
    """

    def __init__(
        self,
        services: Iterable[Service],
        *,
        region: str,
        account: str,
        guard: Guard | None = None,
        body_limits: BodyLimits | None = None,
    ) -> None:
        self.region = region
        self.account = account
        self.guard = guard
        self.body_limits = body_limits or BodyLimits()
        self.apis: dict[str, ServedApi] = {}
        self._by_target: dict[str, ServedApi] = {}
        self._rest = RestRouter(())
        for service in services:
            self.register(service, rebuild=False)
        self._rebuild()

    def register(self, service: Service, *, rebuild: bool = True) -> None:
        api = ServedApi(service, load_service_model(service.name))
        self.apis[api.name] = api
        if rebuild:
            self._rebuild()

    def _rebuild(self) -> None:
        self._by_target = {api.target_prefix: api for api in self.apis.values() if api.target_prefix}
        self._rest = RestRouter(self.apis.values())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        request_id = next_request_id()
        limit = self.body_limits.for_request(headers, scope)
        declared = headers.get("content-length", "")
        body = None if declared.isdigit() and int(declared) > limit else await read_body(receive, limit)
        if body is None:
            status, response_headers, payload = self.too_large(headers, scope, limit)
        else:
            status, response_headers, payload = await self.respond(scope, headers, body, request_id)
        response_headers.append((b"x-amzn-requestid", request_id.encode()))
        response_headers.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": payload})

    async def respond(
        self, scope: Scope, headers: dict[str, str], body: bytes, request_id: str
    ) -> tuple[int, Headers, bytes]:
        """Answer one request: (status, headers, body). Never raises."""
        target = headers.get("x-amz-target")
        api: ServedApi | None = None
        rpc_v2 = _rpc_v2_path(scope["path"]) if not target else None
        error_style = CBOR_ERRORS if rpc_v2 else JSON_ERRORS if target else REST_JSON_ERRORS
        caller: Caller | None = None
        try:
            query = parse_query(scope.get("query_string", b""))
            auth = parse_authorization(headers.get("authorization", "")) or parse_presigned_query(query)
            if self.guard is not None and (
                target or rpc_v2 is not None or not _is_query_protocol(headers, body, query)
            ):
                try:
                    service = None
                    if target or rpc_v2 is not None:
                        named = target or f"{rpc_v2[0]}.{rpc_v2[1]}"  # type: ignore[index]
                        targeted = self._api_for_target(named.rpartition(".")[0], named, auth)
                        service = targeted.signing_name
                        if target or targeted.cbor:
                            error_style = targeted.error_style
                    caller = await self.guard.authenticate(
                        signed_request(scope, headers, body), auth, service=service
                    )
                except AuthError as error:
                    return render_error(error_style, error.as_service_error())
            if rpc_v2 is not None:
                prefix, name = rpc_v2
                api = self._api_for_target(prefix, f"{prefix}.{name}", auth)
                error_style = api.error_style if api.cbor else CBOR_ERRORS
                protocol = headers.get("smithy-protocol")
                if protocol != "rpc-v2-cbor" or not api.cbor:
                    raise ServiceError(
                        "UnknownOperationException",
                        f"Pipework serves {api.name} over {api.model.protocol}, not "
                        f"{protocol or 'a request without the smithy-protocol header'}.",
                        400,
                    )
                operation = api.operation(name)
                if operation is None:
                    raise ServiceError("UnknownOperationException", f"Unknown operation {prefix}.{name}", 400)
                params = decode_cbor_body(body)
            elif target:
                prefix, _, name = target.rpartition(".")
                api = self._api_for_target(prefix, target, auth)
                error_style = api.json_error_style
                operation = api.operation(name)
                if operation is None:
                    raise ServiceError("UnknownOperationException", f"Unknown operation {target}", 400)
                params = decode_json_body(body)
            elif _is_query_protocol(headers, body, query) or self._speaks_query(auth):
                if self.guard is not None:
                    try:
                        caller = await self.guard.authenticate(signed_request(scope, headers, body), auth)
                    except AuthError as error:
                        return render_error(QUERY_ERRORS, error.as_service_error(query=True), request_id)
                error_style = QUERY_ERRORS
                form = parse_form(scope.get("query_string", b""), body)
                api = self._query_api(form, auth)
                if api is None:
                    if auth is not None and not self._serves(auth.service):
                        return _query_protocol_error(
                            "UnknownServiceException", self._not_served(auth.service).message
                        )
                    return _query_protocol_error(
                        "InvalidAction", QUERY_PROTOCOL_MESSAGE.format(service=_named(auth))
                    )
                error_style = api.error_style
                action = form.get("Action")
                if not action:
                    raise ServiceError("MissingAction", "The request must contain the parameter Action.", 400)
                operation = api.operation(action)
                if operation is None or operation.query is None:
                    raise ServiceError(
                        "InvalidAction", f"The action {action} is not valid for this web service.", 400
                    )
                params = operation.query.gather(form_tree(form))
            else:
                api, operation, params = self._route_rest(scope, headers, body, query, auth)
                error_style = api.error_style
            decoded = operation.decode(params)
            region = auth.region if auth and auth.region else self.region
            if caller is not None and self.guard is not None:
                tls = scope.get("scheme") == "https"
                client = scope.get("client")
                guard = self.guard

                def context() -> dict[str, list[str]]:
                    source_ip = client[0] if client else None
                    return condition_context(
                        caller, region=region, source_ip=source_ip, tls=tls, now=guard.now()
                    )

                try:
                    await self.guard.authorize(
                        caller,
                        signing_name=api.signing_name,
                        operation=operation.name,
                        params=decoded,
                        region=region,
                        context=context,
                    )
                except AuthError as error:
                    return render_error(
                        error_style, error.as_service_error(query=error_style.query), request_id
                    )
            ctx = RequestContext(
                service=api.name,
                operation=operation.name,
                region=region,
                account=caller.account if caller is not None else self.account,
                request_id=request_id,
                access_key=auth.access_key if auth else None,
                host=headers.get("host", "localhost"),
                headers=headers,
            )
            result = await api.service.handle(operation.name, decoded, ctx)
            if operation.rest is not None:
                return operation.rest.encode(api.content_type, result or {})
            if rpc_v2 is not None:
                return api.encode_cbor(operation, result or {})
            if operation.query is not None:
                return operation.query.encode(result or {}, request_id)
            return api.encode_json(operation, result or {})
        except ServiceError as error:
            return render_error(error_style, error, request_id)
        except StoreUnavailable as error:  # the database is away: SDKs retry ServiceUnavailable
            log.warning(
                "store unavailable for %s (request %s): %s", target or scope.get("path"), request_id, error
            )
            return render_error(error_style, service_unavailable(), request_id)
        except Exception:
            where = f"{api.name} {target or scope.get('path')}" if api else scope.get("path")
            log.exception("internal failure in %s (request %s)", where, request_id)
            return render_error(error_style, internal_failure(), request_id)

    def _speaks_query(self, auth: Authorization | None) -> bool:
        """Whether the request is signed for a query-protocol API (whatever its content type: its errors are XML)."""
        return auth is not None and any(
            api.query and api.signing_name == auth.service for api in self.apis.values()
        )

    def _query_api(self, form: dict[str, str], auth: Authorization | None) -> ServedApi | None:
        """The query-protocol API a request is for: the SigV4 scope's service, else the one whose API version the
        request names (unsigned calls such as STS's AssumeRoleWithWebIdentity), else the only one serving its
        action, else the only one served."""
        query_apis = [api for api in self.apis.values() if api.query]
        if auth is not None and auth.service:
            return next((api for api in query_apis if api.signing_name == auth.service), None)
        version = form.get("Version")
        by_version = [api for api in query_apis if api.api_version == version]
        if len(by_version) == 1:
            return by_version[0]
        # Links SNS sends (SubscribeURL, UnsubscribeURL) carry neither: the one API serving the action.
        action = form.get("Action", "")
        by_action = [api for api in query_apis if api.operation(action) is not None]
        if len(by_action) == 1:
            return by_action[0]
        return query_apis[0] if len(query_apis) == 1 else None

    def too_large(self, headers: dict[str, str], scope: Scope, limit: int) -> tuple[int, Headers, bytes]:
        """The answer to a body over the protocol's limit (read no further than the limit), in its shape."""
        error = AuthError("too-large", f"Request body must be no longer than {limit} bytes.")
        if _rpc_v2_path(scope["path"]) is not None and not headers.get("x-amz-target"):
            return render_error(CBOR_ERRORS, error.as_service_error())
        if headers.get("x-amz-target") or not _is_query_form(headers, scope):
            style = JSON_ERRORS if headers.get("x-amz-target") else REST_JSON_ERRORS
            return render_error(style, error.as_service_error())
        return render_error(QUERY_ERRORS, error.as_service_error(query=True))

    def _serves(self, signing_name: str) -> bool:
        return signing_name in {api.signing_name for api in self.apis.values()}

    def _not_served(self, service: str) -> ServiceError:
        return ServiceError(
            "UnknownServiceException",
            f"Pipework does not serve '{service}'; it serves: {', '.join(sorted(self.apis))}.",
            400,
        )

    def _api_for_target(self, prefix: str, target: str, auth: Authorization | None) -> ServedApi:
        api = self._by_target.get(prefix)
        if api is None:
            if auth is not None and not self._serves(auth.service):
                raise self._not_served(auth.service)
            raise ServiceError(
                "UnknownServiceException",
                f"Pipework serves no API with the target prefix '{prefix}' (X-Amz-Target: {target}); "
                f"it serves: {', '.join(sorted(self.apis))}.",
                400,
            )
        return api

    def _route_rest(
        self,
        scope: Scope,
        headers: dict[str, str],
        body: bytes,
        query: dict[str, list[str]],
        auth: Authorization | None,
    ) -> tuple[ServedApi, Operation, dict[str, Any]]:
        raw_path = scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else scope["path"]
        path = path.split("?", 1)[0]
        found = self._rest.route(scope["method"], path, query, auth.service if auth else None)
        if found is None:
            if auth is not None and not self._serves(auth.service):
                raise self._not_served(auth.service)
            raise ServiceError(
                "UnknownOperationException", f"No operation serves {scope['method']} {scope['path']}", 404
            )
        route, labels = found
        operation = route.api.operation(route.operation)
        assert operation is not None and operation.rest is not None
        return route.api, operation, operation.rest.gather(labels, query, headers, body)


_REQUEST_ID_PREFIX = os.urandom(10).hex()
_request_numbers = itertools.count(int.from_bytes(os.urandom(4), "big") << 16)


def next_request_id() -> str:
    """A request id shaped like AWS's (a UUID): a random per-process prefix and a counter, so ids are unique without
    the cost of `uuid.uuid4()` on every request."""
    prefix, number = _REQUEST_ID_PREFIX, next(_request_numbers) & 0xFFFFFFFFFFFF
    return f"{prefix[:8]}-{prefix[8:12]}-4{prefix[12:15]}-{prefix[15:19]}-{number:012x}"


def _rpc_v2_path(path: str) -> tuple[str, str] | None:
    """(service, operation) of a smithy RPC v2 path, ``/service/<ServiceName>/operation/<OperationName>``."""
    if not path.startswith("/service/"):
        return None
    parts = path.split("/")
    if len(parts) == 5 and parts[0] == "" and parts[1] == "service" and parts[3] == "operation":
        return parts[2], parts[4]
    return None


def _is_query_protocol(headers: dict[str, str], body: bytes, query: dict[str, list[str]]) -> bool:
    if "Action" in query:
        return True
    content_type = headers.get("content-type", "")
    return content_type.startswith("application/x-www-form-urlencoded") and b"Action=" in body


def _named(auth: Authorization | None) -> str:
    return auth.service if auth else "this service"


def _query_protocol_error(code: str, message: str, status: int = 400) -> tuple[int, Headers, bytes]:
    """An error in the query protocol's XML shape, so its clients show the reason instead of a parse failure."""
    body = (
        f'<?xml version="1.0"?><ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>'
        f"<Message>{html.escape(message)}</Message></Error><RequestId>0</RequestId></ErrorResponse>"
    )
    return status, [(b"content-type", b"text/xml")], body.encode()


def _is_query_form(headers: dict[str, str], scope: Scope) -> bool:
    return headers.get("content-type", "").startswith("application/x-www-form-urlencoded") or (
        b"Action=" in scope.get("query_string", b"")
    )


def signed_request(scope: Scope, headers: dict[str, str], body: bytes) -> SignedRequest:
    """The request as its signer saw it: the path and query exactly as sent."""
    raw_path = scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else scope["path"]
    return SignedRequest(
        method=scope["method"],
        path=path.split("?", 1)[0],
        query_string=scope.get("query_string", b"").decode("latin-1"),
        headers=headers,
        body=body,
        tls=scope.get("scheme") == "https",
    )


class BodyLimits:
    """The largest request body each protocol takes, in bytes: `json` (JSON 1.0/1.1, routed by X-Amz-Target, and
    rpc-v2-cbor), `rest_json` (restJson1) and `query` (form-encoded). A declared Content-Length over the limit is refused before
    anything is read; a body that grows past it is refused once it does, without buffering the rest."""

    def __init__(
        self, *, json: int = 16 * 1024 * 1024, rest_json: int = 6 * 1024 * 1024, query: int = 1024 * 1024
    ):
        self.json = json
        self.rest_json = rest_json
        self.query = query

    def for_request(self, headers: dict[str, str], scope: Scope) -> int:
        if headers.get("x-amz-target") or _rpc_v2_path(scope["path"]) is not None:
            return self.json  # JSON 1.0/1.1, and rpc-v2-cbor (the same operations in CBOR)
        if _is_query_form(headers, scope):
            return self.query
        return self.rest_json


async def read_body(receive: Receive, limit: int | None = None) -> bytes | None:
    """The whole request body, or None as soon as it passes `limit` bytes."""
    message = await receive()
    body: bytes = message.get("body", b"")
    if limit is not None and len(body) > limit:
        return None
    if not message.get("more_body"):
        return body
    chunks = [body]
    size = len(body)
    while message.get("more_body"):
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def build_app(open_instance: Callable[[], Awaitable[Instance]]) -> PipeworkApp:
    """The one ASGI app of a Pipework instance: its lifespan opens the instance (``await open_instance()``),
    serves its APIs and Pipework's own routes, and closes it."""
    from pipework.api import (
        console,
        extensions,
        extensions_breakers,
        extensions_clock,
        extensions_keys,
        extensions_pipes,
        extensions_sns,
        prometheus,
    )

    app: PipeworkApp

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            pipework = await open_instance()
        except Exception as error:
            app.startup_error = error  # `pipework serve` says why the server did not start
            raise
        app.attach(pipework)
        try:
            yield
        finally:
            await pipework.close()

    def current() -> Instance:
        assert app.pipework is not None, (
            "the app serves requests only once its lifespan has opened the instance"
        )
        return app.pipework

    routes: list[BaseRoute] = [
        Route("/_pipework/health", _health(lambda: app.gateway, lambda: app.pipework)),
        Route(METRICS_PATH, prometheus.endpoint(current), methods=["GET"]),
    ]
    routes += extensions.routes(current) + extensions_pipes.routes(current) + extensions_clock.routes(current)
    routes += extensions_sns.routes(current)
    routes += extensions_breakers.routes(current)
    routes += extensions_keys.routes(current)
    streams = OpenStreams()
    gate = console.Gate(current)
    routes += console.routes(current, streams, gate)
    app = PipeworkApp(routes=routes, lifespan=lifespan)
    app.streams = streams
    app.console_gate = gate
    return app


def gateway_app(services: Iterable[Service], *, region: str, account: str) -> PipeworkApp:
    """An ASGI app serving only `services` (no instance, no store): for tests of the wire layer."""
    app = PipeworkApp()
    app.gateway = AwsGateway(services, region=region, account=account)
    app.router.routes.append(Route("/_pipework/health", _health(lambda: app.gateway)))
    return app


def _health(
    gateway: Callable[[], AwsGateway | None], instance: Callable[[], Instance | None] = lambda: None
) -> Callable[[Request], Awaitable[JSONResponse]]:
    async def health(request: Request) -> JSONResponse:
        served = gateway()
        out: dict[str, Any] = {"status": "ok", "services": sorted(served.apis) if served else []}
        pipework = instance()
        if pipework is not None:  # from memory: answers at once even while the database is away
            cluster = pipework.cluster
            out["store"] = pipework.store_description
            out["node"] = cluster.node_id
            out["leaseTime"] = cluster.lease_time
            out["leases"] = [
                {"name": h.name, "token": h.token}
                for h in sorted(cluster.held.values(), key=lambda h: h.name)
            ]
        return JSONResponse(out)

    return health


class PipeworkApp(Starlette):
    """Starlette for the lifespan and Pipework's own routes; AWS requests (every path outside ``/_pipework/``) go
    straight to the gateway, which never raises and answers every error itself, so they skip the middleware and
    routing layers (a measurable share of a request's CPU).

    Attributes: `pipework`, the instance once the lifespan opened it; `gateway`, the AWS APIs it serves;
    `startup_error`, why opening the instance failed; `streams`, the live streams it answers (`end_streams`).
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.pipework: Instance | None = None
        self.gateway: AwsGateway | None = None
        self.guard: Guard | None = None
        self.startup_error: Exception | None = None
        self.streams = OpenStreams()
        self.console_gate: ConsoleGate | None = None

    def end_streams(self) -> None:
        """End the live streams being answered (the server is shutting down: it need not wait for them)."""
        self.streams.end()

    def attach(self, pipework: Instance) -> None:
        """Serve `pipework`'s APIs."""
        self.pipework = pipework
        settings = pipework.settings
        self.guard = pipework.guard
        self.gateway = AwsGateway(
            pipework.served, region=settings.region, account=settings.account, guard=self.guard
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] == "http"
            and not (path.startswith(OWN_PATH_PREFIXES) or path == "/console")
            and not (path == METRICS_PATH and scope["method"] == "GET")
        ):
            assert self.gateway is not None, "uvicorn serves requests only after the lifespan started"
            await self.gateway(scope, receive, send)
            return
        if (
            self.console_gate is not None
            and scope["type"] == "http"
            and (path == CONSOLE_PATH_PREFIX or path.startswith(CONSOLE_PATH_PREFIX + "/"))
        ):
            # A browser cannot sign SigV4: the console has its own sign-in (an admin key, then a session).
            await self.console_gate(scope, receive, send, functools.partial(Starlette.__call__, self))
            return
        # Health (load balancers) and /metrics (Prometheus, which cannot sign SigV4) stay open with auth on.
        if (
            scope["type"] == "http"
            and self.guard is not None
            and scope["path"] not in (HEALTH_PATH, METRICS_PATH)
        ):
            await self._own_route_signed(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def _own_route_signed(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pipework's own routes with auth on: only a request signed by an admin key (service ``pipework``)."""
        assert self.guard is not None
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        body = await read_body(receive, OWN_ROUTE_BODY_LIMIT)
        try:
            if body is None:
                raise AuthError(
                    "too-large", f"Request body must be no longer than {OWN_ROUTE_BODY_LIMIT} bytes."
                )
            caller = await self.guard.authenticate(signed_request(scope, headers, body), service="pipework")
            if not caller.admin:
                raise AuthError(
                    "denied",
                    f"User: {caller.arn} is not authorized to perform: pipework:{scope['method']} on resource: "
                    f'{scope["path"]}: Pipework\'s own routes need a key with "Admin": true',
                )
        except AuthError as error:
            status, response_headers, payload = render_error(REST_JSON_ERRORS, error.as_service_error())
            response_headers.append((b"content-length", str(len(payload)).encode()))
            await send({"type": "http.response.start", "status": status, "headers": response_headers})
            await send({"type": "http.response.body", "body": payload})
            return
        scope = {**scope, "state": {**scope.get("state", {}), "pipework_caller": caller}}
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await super().__call__(scope, replay, send)


class ConsoleGate(Protocol):
    """What stands before the console's routes (`pipework.api.console.Gate`): answers a request itself or passes
    it to `app`."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> None: ...


OWN_PATH_PREFIX = "/_pipework"
HEALTH_PATH = "/_pipework/health"  # load balancers probe it: never signed
OWN_ROUTE_BODY_LIMIT = 16 * 1024 * 1024
CONSOLE_PATH_PREFIX = "/console"
#: Paths Starlette routes (Pipework's own routes and the console); every other path is an AWS request.
OWN_PATH_PREFIXES = (OWN_PATH_PREFIX, CONSOLE_PATH_PREFIX + "/")
#: Prometheus scrapes here (no AWS API uses GET /metrics).
METRICS_PATH = "/metrics"
