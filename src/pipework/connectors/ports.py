"""The ports through which connectors reach what the served APIs own: small protocols the composition root
(`pipework.app`) fills with the services. Connectors never import `pipework.services`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from pipework.connectors.runtime import FunctionSpec
from pipework.jsontypes import JSON


class ApiClient(Protocol):
    """Calls an API this server serves, in process, with the input checked against botocore's model as if it
    came over the wire. Failures are `TargetError`s carrying the service's error code."""

    async def call(
        self,
        service: str,
        operation: str,
        params: JSON,
        *,
        region: str | None = None,
        account: str | None = None,
        trace: str | None = None,
    ) -> JSON:
        """Run ``service``'s ``operation`` (botocore names: ``"sqs"``, ``"SendMessage"``) as a request of
        ``account`` in ``region`` (default: the server's), carrying the X-Ray trace header ``trace`` (its
        ``X-Amzn-Trace-Id``); its output shape."""
        ...


class Admission(Protocol):
    """Whether a call to a target may still go ahead (the circuit breakers): asked by a target that waited before
    calling (a rate limit), since a breaker may have opened meanwhile."""

    def admitted(self, target: str) -> bool:
        """False: the target's breaker is open; raise `TargetError` with the code `HELD` instead of calling."""
        ...


class EventBuses(Protocol):
    """The event buses of this server, for targets that need more than PutEvents."""

    def has_bus(self, arn: str) -> bool:
        """Whether the bus ``arn`` names exists, in the ARN's account and region (PutEvents silently drops entries
        for a missing bus; a target must not)."""
        ...

    async def forward(self, arn: str, event: JSON, *, trace: str | None = None) -> bool:
        """Route an already-built event on the bus ``arn`` names, keeping its id (a rule's event-bus target), in
        the X-Ray trace ``trace`` names; False if the bus does not exist."""
        ...


class TargetAccess(Protocol):
    """Whether a rule, pipe or schedule may invoke a target (auth on): as its role when it has one (the role's
    policies must allow the target's action), else as its account (a target in another account must allow it by
    its resource policy)."""

    async def denied(
        self,
        arn: str,
        *,
        account: str | None,
        role_arn: str | None,
        service: str | None = None,
        params: JSON | None = None,
        region: str | None = None,
    ) -> str | None:
        """Why invoking ``arn`` is not allowed (AWS's AccessDenied wording), or None when it is. `service`: the
        service principal that assumes the role (``events.amazonaws.com`` for a rule, ``pipes.amazonaws.com``,
        ``scheduler.amazonaws.com``), which the role's trust policy must name (None: any of them). A universal
        target (``arn:aws:scheduler:::aws-sdk:...``) names its resources in the call's `params` (in `region`)."""
        ...


class ApiDestinationCatalog(Protocol):
    """API destinations and connections by ARN (EventBridge owns them)."""

    def api_destination_by_arn(self, arn: str) -> JSON | None: ...

    def connection_by_arn(self, arn: str) -> JSON | None: ...


class StreamReader(Protocol):
    """A reader of one table stream with a durable checkpoint."""

    batch_size: int

    async def read(self, *, wait: float | None = None) -> Any:
        """The next batch (its ``records`` and what `checkpoint` takes), or None after waiting ``wait`` seconds."""
        ...

    async def checkpoint(self, batch: Any) -> None: ...


class TableStreams(Protocol):
    """Subscriptions to table streams (DynamoDB Streams owns them)."""

    def subscribe(self, stream_arn: str, *, consumer: str, start: str, batch_size: int) -> StreamReader:
        """A reader of ``stream_arn`` resuming from ``consumer``'s checkpoint (its reads raise `LookupError` if
        there is no such stream)."""
        ...

    async def shard_id(self, stream_arn: str) -> str | None:
        """The id of the stream's shard (what a pipe's dead-letter message names), or None if there is no such
        stream."""
        ...


class LogGroups(Protocol):
    """CloudWatch Logs' log groups (the ``logs`` service owns them), for the targets and pipes that write logs."""

    async def write(
        self, account: str, region: str, group: str, stream: str, messages: Sequence[str]
    ) -> None:
        """Append `messages` (stamped now) to `stream` of `group`, creating either if missing."""
        ...


class FunctionCredentials(Protocol):
    """Temporary credentials of a deployed function's execution role (auth on), which its SDK signs with."""

    async def credentials(self, role_arn: str, account: str, session: str) -> dict[str, str] | None:
        """``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN`` of `role_arn` assumed by
        Lambda for a function of `account` (session name `session`), or None when the role cannot be assumed."""
        ...


class FunctionCatalog(Protocol):
    """The functions deployed through the Lambda API (the Lambda service owns them)."""

    async def function_spec(self, arn: str) -> FunctionSpec | None:
        """What running the function ``arn`` names takes (its code unpacked on this node), or None if there is
        no such function (a qualifier other than ``$LATEST`` names none)."""
        ...
