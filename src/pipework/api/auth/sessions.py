"""Temporary credentials of deployed functions' execution roles (`connectors.ports.FunctionCredentials`): with
auth on, each invocation's SDK signs with keys of its function's `Role`, assumed by Lambda as AWS does, so a
function may call what its role's policies allow and nothing else."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from pipework.api.auth.credentials import Key, Keyring

log = logging.getLogger(__name__)

#: how long a function's credentials last, and how long before they expire fresh ones are handed out
SESSION_SECONDS = 3600
RENEW_BEFORE = 900
LAMBDA = "lambda.amazonaws.com"


class FunctionSessions:
    """Hands out (and reuses until `RENEW_BEFORE` their expiry) temporary keys of functions' roles.

    Parameters: `keyring`, where roles are found and temporary keys issued; `now`, the wall clock."""

    def __init__(self, keyring: Keyring, *, now: Callable[[], float] = time.time) -> None:
        self.keyring = keyring
        self.now = now
        self._issued: dict[tuple[str, str, str], Key] = {}
        self._refused: set[tuple[str, str]] = set()

    async def credentials(self, role_arn: str, account: str, session: str) -> dict[str, str] | None:
        issued = self._issued.get((role_arn, account, session))
        if issued is not None and (issued.expires or 0) - self.now() > RENEW_BEFORE:
            return _environment(issued)
        role = await self.keyring.find_role(role_arn)
        if role is None or not role.trusts(account, service=LAMBDA):
            if (role_arn, account) not in self._refused:  # say it once per role, not per invocation
                self._refused.add((role_arn, account))
                log.warning(
                    "function %s: its role %s does not exist or does not trust %s; its SDK calls will be refused",
                    session,
                    role_arn,
                    LAMBDA,
                )
            return None
        self._refused.discard((role_arn, account))
        key = self.keyring.assume(role, session, SESSION_SECONDS)
        self._issued[(role_arn, account, session)] = key
        return _environment(key)


def _environment(key: Key) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": key.access_key,
        "AWS_SECRET_ACCESS_KEY": key.secret,
        "AWS_SESSION_TOKEN": key.token or "",
    }
