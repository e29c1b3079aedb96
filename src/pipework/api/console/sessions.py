"""Console sign-ins behind ``--auth sigv4``: a browser cannot sign SigV4, so a person signs in once with an admin
key's id and secret and gets a session, a random id in an HttpOnly, SameSite=Strict cookie. The secret is checked
and forgotten: it is never stored, in the browser or here, nor logged.

Sessions live in the store (kv bucket ``console-sessions``, under the SHA-256 of their id, so a read of the store
hands out no usable session), so every node sharing the store knows them. Each request re-reads the key: a key
disabled, deleted or no longer admin ends its sessions within the keyring's cache time.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import orjson

from pipework.api.auth import Keyring
from pipework.store.base import Store

log = logging.getLogger(__name__)

BUCKET = "console-sessions"
#: A session ends this long after sign-in, whatever happens.
LIFETIME = 8 * 3600.0
#: ... and this long after its last request.
IDLE = 3600.0
#: How often a session's last use is written back (not on every request).
TOUCH_EVERY = 60.0
#: Failed sign-ins one client address may make per `FAILURE_WINDOW` seconds before it must wait.
FAILURES_ALLOWED = 10
FAILURE_WINDOW = 300.0


class SignInRefused(Exception):
    """Why a sign-in was refused, in words for the person trying (`status`: the page's HTTP status)."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Session:
    """A signed-in person: the admin `access_key` they signed in with, its `arn` and `account`, the `csrf` token
    their state-changing requests must carry, and when the session began, was last used and ends (epoch)."""

    access_key: str
    arn: str
    account: str
    csrf: str
    created: float
    last_used: float
    expires: float


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class Sessions:
    """Signs people in and out and finds their sessions.

    Parameters: `keyring`, the keys the server accepts; `store`, where sessions are kept; `now`, the wall clock
    (sessions run on real time, like signatures, whatever the emulated clock says); `lifetime` and `idle`, in
    seconds.
    """

    def __init__(
        self,
        keyring: Keyring,
        store: Store,
        *,
        now: Callable[[], float] = time.time,
        lifetime: float = LIFETIME,
        idle: float = IDLE,
    ) -> None:
        self.keyring = keyring
        self.store = store
        self.now = now
        self.lifetime = lifetime
        self.idle = idle
        self._failures: dict[str, list[float]] = {}

    async def sign_in(self, access_key: str, secret: str, *, client: str) -> tuple[str, Session]:
        """A new session (its id, for the cookie, and itself) for an enabled admin key whose secret is `secret`;
        else `SignInRefused`. `client`: the address asking, whose failures are counted."""
        now = self.now()
        recent = [t for t in self._failures.get(client, []) if now - t < FAILURE_WINDOW]
        if len(recent) >= FAILURES_ALLOWED:
            wait = int(FAILURE_WINDOW - (now - recent[0])) + 1
            raise SignInRefused(
                f"Too many failed sign-ins from this address; try again in {wait} seconds.", 429
            )
        access_key = access_key.strip()
        key = await self.keyring.find(access_key) if access_key else None
        # Unknown key and wrong secret read alike: the page must not tell which key ids exist.
        if key is None or not hmac.compare_digest(key.secret.encode(), secret.encode()):
            self._failures[client] = [*recent, now][-FAILURES_ALLOWED:]
            if len(self._failures) > 10_000:  # bound what a flood of addresses can cost
                self._failures.clear()
            # The id as typed, quoted (it may hold anything, a line break included); never the secret.
            log.warning("console sign-in refused for access key %r from %s", access_key[:128], client)
            raise SignInRefused("The access key ID or the secret access key is wrong.")
        if not key.enabled:
            raise SignInRefused(f"The access key {key.access_key} is disabled.", 403)
        if key.token is not None:
            raise SignInRefused("Temporary keys (from AssumeRole) cannot sign in to the console.", 403)
        caller = key.caller
        if not caller.admin:
            raise SignInRefused(
                f'{caller.arn} is not an admin: the console needs a key with "Admin": true.', 403
            )
        self._failures.pop(client, None)
        session_id = secrets.token_urlsafe(32)
        session = Session(
            access_key=key.access_key,
            arn=caller.arn,
            account=caller.account,
            csrf=secrets.token_urlsafe(32),
            created=now,
            last_used=now,
            expires=now + self.lifetime,
        )
        await self._save(session_id, session)
        log.info("console sign-in by %s (%s) from %s", caller.arn, key.access_key, client)
        return session_id, session

    async def find(self, session_id: str | None) -> Session | None:
        """The live session with this id, or None (none, expired, idle too long, or its key no longer an enabled
        admin key)."""
        if not session_id or len(session_id) > 128:
            return None
        entry = await self.store.kv_get(BUCKET, _digest(session_id))
        if entry is None:
            return None
        try:
            session = Session(**orjson.loads(entry.value))
        except (orjson.JSONDecodeError, TypeError):
            return None
        now = self.now()
        if now >= session.expires or now - session.last_used >= self.idle:
            await self.store.kv_delete(BUCKET, _digest(session_id))
            return None
        key = await self.keyring.find(session.access_key)
        if key is None or not key.enabled or not key.admin:
            await self.store.kv_delete(BUCKET, _digest(session_id))
            return None
        if now - session.last_used >= TOUCH_EVERY:
            session = Session(**{**asdict(session), "last_used": now})
            await self._save(session_id, session)
        return session

    async def sign_out(self, session_id: str) -> None:
        await self.store.kv_delete(BUCKET, _digest(session_id))

    async def _save(self, session_id: str, session: Session) -> None:
        # The store's TTL (on the emulated clock) only sweeps old entries; `find` decides expiry on real time.
        ttl = max(1.0, session.expires - self.now())
        await self.store.kv_put(BUCKET, _digest(session_id), orjson.dumps(asdict(session)), ttl=ttl)
