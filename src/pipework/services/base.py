"""The contract between the wire layer (`pipework.api`) and the services.

A service receives an operation already decoded and validated against botocore's model, and returns the output
shape as plain Python data (the wire layer serializes it for the service's protocol). Failures are raised as
`ServiceError` carrying the AWS error code, message and HTTP status; the wire layer turns them into AWS error shapes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol


class ServiceError(Exception):
    """An AWS error: `code` (e.g. ``ValidationException``), `message`, HTTP `status`, and who is at fault.

    `sender_fault` is False for server-side errors (5xx). `extra` holds additional members some error shapes carry.
    """

    def __init__(
        self,
        code: str,
        message: str,
        status: int = 400,
        *,
        sender_fault: bool = True,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.sender_fault = sender_fault
        self.extra = extra or {}


@dataclass(frozen=True)
class RequestContext:
    """What a service knows about the request besides its parameters."""

    service: (
        str  # botocore service name: "sqs", "events", "pipes", "scheduler", "dynamodb", "dynamodbstreams"
    )
    operation: str  # botocore operation name, e.g. "SendMessage"
    region: str
    account: str
    request_id: str
    access_key: str | None = None
    host: str = "localhost:4566"  # the Host header, for building URLs such as SQS queue URLs
    headers: dict[str, str] = field(default_factory=dict)


class Service(Protocol):
    """A served AWS API. `name` is botocore's service name; `handle` runs one operation.

    The composition root (`pipework.app.Pipework.open`) builds each service on the open store with its typed
    collaborators, then calls ``start()`` (load definitions, start background work) in dependency order;
    ``Pipework.close()`` calls ``stop()`` in reverse order before it closes the store.
    """

    name: str

    async def handle(self, operation: str, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        """Run `operation` with decoded `params`; return the output shape or raise `ServiceError`."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


#: An operation's handler: called with the service, the decoded parameters and the request; returns the output.
Handler = Callable[[Any, dict[str, Any], RequestContext], Awaitable[dict[str, Any]]]


class Operations(Protocol):
    """What `dispatch` needs of a service: its operations table, and the error its API answers for an operation
    it does not serve (each AWS API words that differently)."""

    operations: ClassVar[Mapping[str, Handler]]

    @staticmethod
    def unknown_operation(operation: str) -> ServiceError: ...


async def dispatch(
    service: Operations, operation: str, params: dict[str, Any], ctx: RequestContext
) -> dict[str, Any]:
    """Run `operation` through the service's operations table, or raise its unknown-operation error."""
    handler = service.operations.get(operation)
    if handler is None:
        raise service.unknown_operation(operation)
    return await handler(service, params, ctx)
