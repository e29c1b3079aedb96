"""The `Target` protocol every kind implements, what a delivery hands a target (`Message`) and gets back (`Sent`),
the structured `Problem` a kind reports about an ARN or its parameters, and `TargetError`.

Rules, pipes and schedules speak of their targets in their own AWS vocabularies (SqsParameters, SqsQueueParameters,
EventBridgeParameters, ...); each translates them into a `Message`, and words a `Problem` in its own API's terms.
"""

from __future__ import annotations

import contextvars
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import orjson

from pipework.jsontypes import JSON

if TYPE_CHECKING:
    from typing import Self

    from pipework.connectors.bundle import Connectors


#: Where the seconds a target held the running call back before making it (an API destination's rate limit) are
#: noted, for whoever set it (the dispatcher, per delivery: a held-back rule delivery counts as ThrottledRules).
HELD_BACK: contextvars.ContextVar[list[float] | None] = contextvars.ContextVar(
    "pipework_held_back", default=None
)


def held_back(seconds: float) -> None:
    """Note that the running call waited `seconds` before it was made (see `HELD_BACK`)."""
    noted = HELD_BACK.get()
    if noted is not None:
        noted.append(seconds)


class TargetError(Exception):
    """A failed invocation.

    Parameters:
        code: the target's own error code (a served API's, e.g. ``AWS.SimpleQueueService.NonExistentQueue``, or
            one of EventBridge's: THROTTLING, TIMEOUT, FUNCTION_ERROR, ...). Scheduler reports this one.
        message: the error message.
        retryable: False for errors retries cannot fix (resource gone, permission, bad request); they go straight
            to the dead-letter queue.
        retry_after: seconds the target asked to wait (HTTP ``Retry-After``), or None.
        reason: the code in EventBridge's ERROR_CODE vocabulary (NO_RESOURCE, NO_PERMISSIONS, ...), which rules
            and pipes report; defaults to `code`.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        retryable: bool = True,
        retry_after: float | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after
        self.reason = reason or code

    def as_reason(self) -> TargetError:
        """The same failure coded in EventBridge's vocabulary (rules' and pipes' ERROR_CODE)."""
        if self.reason == self.code:
            return self
        return TargetError(self.reason, self.message, retryable=self.retryable, retry_after=self.retry_after)


#: The error code of a call a target did not make because the target's circuit breaker opened while it waited.
HELD = "BREAKER_OPEN"

#: `Problem` codes: what a kind can find wrong with a target before anything is sent.
NOT_THIS_KIND = "not-this-kind"  # the ARN does not name a target of the kind
GROUP_ID_REQUIRED = "group-id-required"  # a FIFO queue needs a message group id
INPUT_REQUIRED = "input-required"  # the kind needs a body (an SDK call's parameters)
INPUT_NOT_JSON = "input-not-json"  # the kind takes JSON and the body is not JSON


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a target's ARN or parameters cannot be used (one of the codes above). The calling service words it:
    PutTargets, CreateSchedule and CreatePipe each say it their own way."""

    code: str
    arn: str


@dataclass(frozen=True, slots=True)
class HttpParameters:
    """What an API destination call adds to the destination's endpoint: ``*`` path values, headers, query."""

    path_values: tuple[str, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Message:
    """One thing to deliver. Each kind reads the members that apply to it and ignores the others.

    Parameters:
        body: what the target receives: text (a queue message, an HTTP body, a log line, an event's Detail) or
            JSON (a function's event, an SDK call's parameters); text that holds JSON is parsed where JSON is
            wanted. None only when checking a target's configuration before its body is known.
        group_id, deduplication_id, attributes: a queue message's MessageGroupId, MessageDeduplicationId and
            MessageAttributes.
        http: an API destination call's parameters.
        source, detail_type, resources, time: the event a bus target puts (defaults: PutEvents' own checks).
        event: a complete event a bus target routes as it is, keeping its id (a rule's event-bus target).
        account, region: those of the resource that sends it (a schedule), where a call that an ARN does not
            place acts (a universal target's); None: the server's defaults.
        trace: the X-Ray trace header the message carries on (a queue message's AWSTraceHeader, the
            X-Amzn-Trace-Id of a bus target's PutEvents).
    """

    body: Any = None
    group_id: str | None = None
    deduplication_id: str | None = None
    attributes: JSON | None = None
    http: HttpParameters | None = None
    source: str | None = None
    detail_type: str | None = None
    resources: tuple[str, ...] = ()
    time: dt.datetime | None = None
    event: JSON | None = None
    account: str | None = None
    region: str | None = None
    trace: str | None = None

    def text(self) -> str:
        """The body as text (JSON bodies serialized)."""
        return self.body if isinstance(self.body, str) else orjson.dumps(self.body).decode()

    def json(self) -> Any:
        """The body as JSON: text holding JSON is parsed; other text stays text (as Lambda gets it)."""
        if isinstance(self.body, str):
            try:
                return orjson.loads(self.body)
            except orjson.JSONDecodeError:
                return self.body
        return self.body


@dataclass(slots=True)
class Sent:
    """What a `Target.send` of several messages did: the messages that failed while others were delivered (by
    index), and what the target answered for each message (None where it answers nothing)."""

    failed: dict[int, TargetError] = field(default_factory=dict)
    responses: list[Any] = field(default_factory=list)


class Target(Protocol):
    """One kind of target (a module under `pipework.connectors.targets`, listed in `registry.KINDS`).

    `kind` is its name in Pipework's vocabulary; `matches` and `check` are pure (services call them when a rule,
    schedule or pipe is defined); `build` makes the instance from the shared connectors; `send` delivers.
    """

    kind: ClassVar[str]

    @staticmethod
    def matches(arn: str) -> bool:
        """Whether ``arn`` names a target of this kind."""
        ...

    @staticmethod
    def check(arn: str, sample: Message) -> Problem | None:
        """What is wrong with ``arn`` and the parameters known when the target is defined (``sample``), if
        anything."""
        ...

    @classmethod
    def build(cls, connectors: Connectors) -> Self:
        """The kind's instance, on the shared connectors (one HTTP client, one clock, the ports...)."""
        ...

    async def send(self, arn: str, messages: Sequence[Message]) -> Sent:
        """Deliver ``messages``; raise `TargetError` when none was delivered or a failure no retry can fix."""
        ...


def arn_parts(arn: str) -> list[str] | None:
    """The six parts of an ARN (``arn:partition:service:region:account:resource``), or None."""
    parts = arn.split(":", 5)
    return parts if len(parts) == 6 and parts[0] == "arn" else None


def is_json(text: str) -> bool:
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return True
