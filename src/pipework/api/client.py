"""`LocalClient`: in-process calls to the served APIs, decoded and validated as the wire layer does (botocore's
models, AWS's wording), so a target calling SQS or EventBridge in process gets what a request over HTTP would.

It implements the connectors' `ApiClient` port; a `ServiceError` becomes a `TargetError` in `target_error`, the
one place that decides which service errors a retry can fix.
"""

from __future__ import annotations

from collections.abc import Iterable

from pipework.connectors.targets import TargetError
from pipework.ids import random_uuid
from pipework.jsontypes import JSON
from pipework.models import load_service_model
from pipework.services.base import RequestContext, Service, ServiceError

from .protocols import ServedApi

#: Error codes (or parts of them) that mean the resource is not there, in each served API's wording.
_MISSING = ("NotFound", "NonExistent", "DoesNotExist")


def target_error(exc: ServiceError) -> TargetError:
    """A served API's error as a target failure: retryable when the server is at fault (5xx) or throttling; coded
    NO_RESOURCE / NO_PERMISSIONS in EventBridge's vocabulary when the resource is missing or access denied."""
    throttled = "Throttl" in exc.code
    reason = exc.code
    if any(part in exc.code for part in _MISSING):
        reason = "NO_RESOURCE"
    elif "AccessDenied" in exc.code:
        reason = "NO_PERMISSIONS"
    elif throttled:
        reason = "THROTTLING"
    retryable = exc.status >= 500 or not exc.sender_fault or throttled
    return TargetError(exc.code, exc.message, retryable=retryable, reason=reason)


class LocalClient:
    """Calls the served APIs in process (see the module docstring).

    Parameters:
        region, account: what a call's `RequestContext` carries unless the call names its own (a target calls in
            the region and account of the resource it names).

    The services are handed over with `serve` once built: targets (built before the services that use them) hold
    the client, and a schedule's universal target may call any served API, the scheduler's own included.
    """

    def __init__(self, *, region: str, account: str) -> None:
        self.region = region
        self.account = account
        self._apis: dict[str, ServedApi] = {}

    def serve(self, services: Iterable[Service]) -> None:
        for service in services:
            self._apis[service.name] = ServedApi(service, load_service_model(service.name))

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
        api = self._apis.get(service)
        if api is None:
            raise TargetError(
                "ValidationException", f"Service {service} is not served by this server.", retryable=False
            )
        found = api.operation(operation)
        if found is None:
            raise TargetError(
                "ValidationException", f"{service} has no operation {operation}.", retryable=False
            )
        ctx = RequestContext(
            service, found.name, region or self.region, account or self.account, random_uuid()
        )
        if trace is not None:
            ctx.headers["x-amzn-trace-id"] = trace
        try:
            decoded = found.decode(params)
            return await api.service.handle(found.name, decoded, ctx)
        except ServiceError as exc:
            raise target_error(exc) from None

    def signing_name(self, service: str) -> str:
        """The name `service`'s requests are signed for, which is its IAM actions' prefix (``monitoring`` for
        CloudWatch, as the gateway authorizes it); `service` itself when it is not served."""
        api = self._apis.get(service)
        return api.signing_name if api is not None else service
