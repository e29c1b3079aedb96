"""The STS API (query protocol): GetCallerIdentity answers who signed the request; AssumeRole hands out temporary
credentials for a role of the credentials file that trusts the caller's account (with auth off, any role name is
accepted and the credentials are as good as any other, since none are checked).

Who is who lives with the credentials (`pipework.api.auth`); this service reaches it through the `Identities`
port the composition root fills.
"""

from __future__ import annotations

import datetime as dt
import secrets
import string
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

from pipework.clock import Clock
from pipework.jsontypes import JSON
from pipework.services.base import Handler, RequestContext, ServiceError, dispatch

#: AssumeRole's DurationSeconds when not given, and the longest a role's session may last (AWS's default
#: MaxSessionDuration).
DEFAULT_DURATION = 3600
MAX_DURATION = 3600


class Identities(Protocol):
    """What STS needs of the credentials (None from both: auth is off)."""

    async def identity(self, access_key: str | None) -> JSON | None:
        """``{"Account", "Arn", "UserId"}`` of the key that signed a request."""
        ...

    async def assume(
        self, role_arn: str, session: str, seconds: int, caller_account: str, caller_arn: str | None = None
    ) -> JSON | None:
        """``{"AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration" (epoch), "AssumedRoleId", "Arn"}``;
        raise `ServiceError` when the role does not exist or does not trust the caller (`caller_arn` of
        `caller_account`)."""
        ...


def _random(prefix: str, length: int = 16) -> str:
    return prefix + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(length))


def validation(message: str) -> ServiceError:
    return ServiceError("ValidationError", message, 400)


class StsService:
    """GetCallerIdentity and AssumeRole. Parameters: `identities` (the port), `clock` (expiry times with auth
    off), `account` (the server's, with auth off)."""

    name = "sts"

    def __init__(self, identities: Identities, clock: Clock, *, account: str) -> None:
        self.identities = identities
        self.clock = clock
        self.account = account

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def handle(self, operation: str, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        return await dispatch(self, operation, params, ctx)

    @staticmethod
    def unknown_operation(operation: str) -> ServiceError:
        return ServiceError("InvalidAction", f"Pipework's STS does not serve {operation}.", 400)

    async def op_GetCallerIdentity(self, params: JSON, ctx: RequestContext) -> JSON:
        found = await self.identities.identity(ctx.access_key)
        if found is not None:
            return found
        return {"Account": ctx.account, "Arn": f"arn:aws:iam::{ctx.account}:root", "UserId": ctx.account}

    async def op_AssumeRole(self, params: JSON, ctx: RequestContext) -> JSON:
        seconds = params.get("DurationSeconds", DEFAULT_DURATION)
        if seconds > MAX_DURATION:
            raise validation(
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
            )
        role_arn, session = params["RoleArn"], params["RoleSessionName"]
        caller = await self.identities.identity(ctx.access_key)
        issued = await self.identities.assume(
            role_arn, session, seconds, ctx.account, caller["Arn"] if caller is not None else None
        )
        if issued is None:  # auth off: nothing is checked, so any well-formed credentials do
            parts = role_arn.split(":", 5)
            role = parts[5].rsplit("/", 1)[-1] if len(parts) == 6 else role_arn
            account = parts[4] if len(parts) == 6 and parts[4] else ctx.account
            role_id = _random("AROA")
            issued = {
                "AccessKeyId": _random("ASIA"),
                "SecretAccessKey": secrets.token_urlsafe(30)[:40],
                "SessionToken": secrets.token_urlsafe(96),
                "Expiration": self.clock.now() + seconds,
                "AssumedRoleId": f"{role_id}:{session}",
                "Arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
            }
        return {
            "Credentials": {
                "AccessKeyId": issued["AccessKeyId"],
                "SecretAccessKey": issued["SecretAccessKey"],
                "SessionToken": issued["SessionToken"],
                "Expiration": dt.datetime.fromtimestamp(issued["Expiration"], dt.UTC),
            },
            "AssumedRoleUser": {"AssumedRoleId": issued["AssumedRoleId"], "Arn": issued["Arn"]},
            "PackedPolicySize": 0,
        }

    operations: ClassVar[Mapping[str, Handler]] = {
        "GetCallerIdentity": op_GetCallerIdentity,
        "AssumeRole": op_AssumeRole,
    }
