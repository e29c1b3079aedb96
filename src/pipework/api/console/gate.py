"""Who may use the console. Every request under ``/console`` passes the `Gate` first:

- auth off (``--auth off``, the loopback default): the console is open; a state-changing request whose ``Origin``
  names another site is refused (a page elsewhere cannot drive the console of a server on your laptop);
- ``--auth sigv4``: a person signs in at ``/console/login`` with an admin key (`sessions`); every other page
  needs the session's cookie (without it a page redirects to the sign-in form, a button's request gets a JSON
  401), and every state-changing request also the session's CSRF token (the ``X-CSRF-Token`` header the
  console's script sends, or the ``csrf`` form field of the sign-out button) and an ``Origin`` of this site.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, quote, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from pipework.api.extensions_http import error_response

from .sessions import Session, Sessions, SignInRefused

if TYPE_CHECKING:
    from pipework.api.instance import Instance

COOKIE = "pipework_console"
LOGIN_PATH = "/console/login"
LOGOUT_PATH = "/console/logout"
STATIC_PREFIX = "/console/static/"
SAFE_METHODS = frozenset({"GET", "HEAD"})
#: The sign-in form's body is two short fields: anything longer is not a sign-in.
LOGIN_BODY_LIMIT = 8 * 1024

#: Renders a page: (request, template, status, **context) -> response (the pages module's `render`).
Render = Callable[..., Response]


def _cookie(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key, _, found = part.strip().partition("=")
                if key == COOKIE:
                    return str(found)
    return None


def _header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == wanted:
            return str(value.decode("latin-1"))
    return None


def same_origin(scope: Scope) -> bool:
    """Whether the request comes from this site, or names no origin (not a browser's cross-site request)."""
    origin = _header(scope, b"origin")
    if origin is None:
        return _header(scope, b"sec-fetch-site") not in ("cross-site", "same-site")
    if origin == "null":
        return False
    return urlsplit(origin).netloc.lower() == (_header(scope, b"host") or "").lower()


def account_of(request: Request) -> str | None:
    """The account the console shows for this request: the signed-in key's (None: auth is off, the server's)."""
    session: Session | None = request.scope.get("state", {}).get("console_session")
    return session.account if session is not None else None


def safe_next(raw: str | None) -> str:
    """Where to go after signing in: a console path on this site, never elsewhere."""
    if raw and raw.startswith("/console/") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return "/console/"


class Gate:
    """Lets a request through to the console, or answers it itself (see the module docstring).

    Parameters: `current`, the running instance (its guard says whether auth is on; its keyring and store hold
    the keys and sessions).
    """

    def __init__(self, current: Callable[[], Instance]) -> None:
        self.current = current
        self._sessions: Sessions | None = None

    @property
    def sessions(self) -> Sessions | None:
        """The sign-ins (None: auth is off, nobody signs in)."""
        pipework = self.current()
        if pipework.guard is None:
            return None
        if self._sessions is None:
            self._sessions = Sessions(pipework.guard.keyring, pipework.store)
        return self._sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> None:
        if scope["type"] != "http" or scope["path"].startswith(STATIC_PREFIX):
            await app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        state = scope.setdefault("state", {})
        sessions = self.sessions
        if method not in SAFE_METHODS and not same_origin(scope):
            await self._refuse(
                scope, receive, send, 403, "AccessDeniedException", "Cross-site request refused."
            )
            return
        if sessions is None or path in (LOGIN_PATH, LOGOUT_PATH):
            await app(scope, receive, send)
            return
        session = await sessions.find(_cookie(scope))
        if session is None:
            if method in SAFE_METHODS and not path.startswith("/console/api/"):
                query = scope.get("query_string", b"").decode("latin-1")
                target = path + (f"?{query}" if query else "")
                await RedirectResponse(f"{LOGIN_PATH}?next={quote(target, safe='')}", 303)(
                    scope, receive, send
                )
                return
            await self._refuse(
                scope,
                receive,
                send,
                401,
                "MissingAuthenticationTokenException",
                f"Sign in to the console at {LOGIN_PATH} (there is no session, or it ended).",
            )
            return
        if method not in SAFE_METHODS:
            token = _header(scope, b"x-csrf-token") or ""
            if not hmac.compare_digest(token.encode(), session.csrf.encode()):
                await self._refuse(
                    scope,
                    receive,
                    send,
                    403,
                    "AccessDeniedException",
                    "The request's CSRF token is missing or wrong: reload the page.",
                )
                return
        state["console_session"] = session
        await app(scope, receive, send)

    @staticmethod
    async def _refuse(
        scope: Scope, receive: Receive, send: Send, status: int, code: str, message: str
    ) -> None:
        await error_response(code, message, status)(scope, receive, send)


def routes(gate: Gate, render: Render) -> list[Route]:
    """The sign-in form and the sign-out button's route."""

    def secure(request: Request) -> bool:
        return request.url.scheme == "https"

    async def login_form(request: Request) -> Response:
        if gate.sessions is None:
            return RedirectResponse("/console/", 303)  # auth off: nothing to sign in to
        return render(
            request,
            "login.html",
            title="Sign in",
            next=safe_next(request.query_params.get("next")),
            signed_out=request.query_params.get("signed-out") == "1",
        )

    async def login(request: Request) -> Response:
        sessions = gate.sessions
        if sessions is None:
            return RedirectResponse("/console/", 303)
        body = await _read_limited(request)
        fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True) if body is not None else {}
        access_key = fields.get("AccessKeyId", [""])[0]
        secret = fields.get("SecretAccessKey", [""])[0]
        target = safe_next(fields.get("next", [None])[0])
        client = request.client.host if request.client else "unknown"
        try:
            if body is None:
                raise SignInRefused("The sign-in form is too large.", 413)
            if not access_key or not secret:
                raise SignInRefused("Enter an access key ID and its secret access key.", 400)
            session_id, session = await sessions.sign_in(access_key, secret, client=client)
        except SignInRefused as refused:
            return render(
                request,
                "login.html",
                refused.status,
                title="Sign in",
                next=target,
                error=refused.message,
                access_key=access_key[:128],
            )
        response = RedirectResponse(target, 303)
        _set_cookie(response, session_id, session, secure=secure(request))
        return response

    async def logout(request: Request) -> Response:
        sessions = gate.sessions
        response = RedirectResponse(f"{LOGIN_PATH}?signed-out=1", 303)
        if sessions is None:
            return RedirectResponse("/console/", 303)
        body = await _read_limited(request)
        fields = parse_qs(body.decode("utf-8", "replace")) if body is not None else {}
        session_id = request.cookies.get(COOKIE)
        session = await sessions.find(session_id)
        token = fields.get("csrf", [""])[0]
        if session is None or session_id is None:
            response.delete_cookie(
                COOKIE, path="/console", secure=secure(request), httponly=True, samesite="strict"
            )
            return response
        if not hmac.compare_digest(token.encode(), session.csrf.encode()):
            return error_response(
                "AccessDeniedException", "The request's CSRF token is missing or wrong: reload the page.", 403
            )
        await sessions.sign_out(session_id)
        response.delete_cookie(
            COOKIE, path="/console", secure=secure(request), httponly=True, samesite="strict"
        )
        return response

    return [
        Route(LOGIN_PATH, login_form, methods=["GET"]),
        Route(LOGIN_PATH, login, methods=["POST"]),
        Route(LOGOUT_PATH, logout, methods=["POST"]),
    ]


def _set_cookie(response: Response, session_id: str, session: Session, *, secure: bool) -> None:
    response.set_cookie(
        COOKIE,
        session_id,
        max_age=int(session.expires - session.created),
        path="/console",
        secure=secure,
        httponly=True,
        samesite="strict",
    )


async def _read_limited(request: Request) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > LOGIN_BODY_LIMIT:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
