"""The target kinds and the registry mapping an ARN to its kind.

Adding a kind is one module implementing `Target` plus one line in `KINDS` (see docs/architecture.md).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .api_destination import ApiDestinationTarget
from .base import NOT_THIS_KIND, Message, Problem, Sent, Target, TargetError
from .bus import BusTarget
from .function import FunctionTarget
from .log_group import LogGroupTarget
from .queue import QueueTarget
from .sdk import SdkTarget
from .sns import SnsTarget

if TYPE_CHECKING:
    from pipework.connectors.bundle import Connectors

#: Every kind, first match wins (an ARN names at most one).
KINDS: tuple[type[Target], ...] = (
    QueueTarget,
    BusTarget,
    FunctionTarget,
    ApiDestinationTarget,
    LogGroupTarget,
    SnsTarget,
    SdkTarget,
)


@functools.lru_cache(maxsize=8192)
def kind_of(arn: str) -> type[Target] | None:
    """The kind an ARN names, or None (cached: a delivery resolves its target's kind on every attempt, and a
    server has few distinct target ARNs)."""
    for kind in KINDS:
        if kind.matches(arn):
            return kind
    return None


def kind_name(arn: str) -> str | None:
    """The name of the kind an ARN names (``queue``, ``bus``, ...), or None."""
    kind = kind_of(arn)
    return kind.kind if kind is not None else None


def check(arn: str, sample: Message | None = None) -> Problem | None:
    """What is wrong with a target (its ARN, and the parameters known when it is defined), if anything."""
    kind = kind_of(arn)
    if kind is None:
        return Problem(NOT_THIS_KIND, arn)
    return kind.check(arn, sample or Message())


class Targets:
    """The targets of one instance: one object per kind, built on the shared connectors, so what a kind keeps
    (an API destination's rate limit, a connection's token) is shared by every rule, pipe and schedule."""

    def __init__(self, connectors: Connectors) -> None:
        self._targets: dict[str, Target] = {kind.kind: kind.build(connectors) for kind in KINDS}
        self.access = connectors.access

    def target(self, arn: str) -> Target:
        """The target an ARN names; `TargetError` (not retryable) if no kind does."""
        kind = kind_of(arn)
        if kind is None:
            raise TargetError("NO_RESOURCE", f"Unsupported target {arn}.", retryable=False)
        return self._targets[kind.kind]

    async def send(
        self,
        arn: str,
        messages: Sequence[Message],
        *,
        account: str | None = None,
        role_arn: str | None = None,
        service: str | None = None,
    ) -> Sent:
        """Deliver `messages` to `arn`, as `role_arn` (a rule's, pipe's or schedule's RoleArn, assumed by the
        `service` principal) of `account` (the invoker's) when auth is on: a `TargetError` with reason
        NO_PERMISSIONS when they may not."""
        target = self.target(arn)
        if self.access is not None and (account is not None or role_arn is not None):
            await self.check_access(arn, account=account, role_arn=role_arn, service=service)
        return await target.send(arn, messages)

    async def check_access(
        self, arn: str, *, account: str | None, role_arn: str | None, service: str | None = None
    ) -> None:
        """Raise `TargetError` (NO_PERMISSIONS, not retryable) if `account` / `role_arn` may not invoke `arn`."""
        if self.access is not None and (account is not None or role_arn is not None):
            why = await self.access.denied(arn, account=account, role_arn=role_arn, service=service)
            if why is not None:
                raise TargetError("AccessDeniedException", why, retryable=False, reason="NO_PERMISSIONS")

    async def send_one(
        self,
        arn: str,
        message: Message,
        *,
        account: str | None = None,
        role_arn: str | None = None,
        service: str | None = None,
    ) -> Any:
        """Deliver one message; its response, or `TargetError`."""
        # `send` inlined: one coroutine less per delivery on the hot path.
        target = self.target(arn)
        if self.access is not None and (account is not None or role_arn is not None):
            await self.check_access(arn, account=account, role_arn=role_arn, service=service)
        sent = await target.send(arn, [message])
        if sent.failed:
            raise sent.failed[0]
        return sent.responses[0] if sent.responses else None
