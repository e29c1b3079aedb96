"""`Sns`: the served ``sns`` API and its background work for one instance — two dispatchers delivering queued
messages to subscriptions (standard topics' in any order; FIFO topics' in order per subscription and message group),
with SNS's delivery-policy retries and dead-letter queues.

Built by the composition root on the open store; `start()` loads topics and subscriptions and the signing key,
then starts the dispatchers, which also resume deliveries that were in flight when the process stopped.
"""

from __future__ import annotations

from typing import Any

import httpx

from pipework.clock import Clock
from pipework.connectors.targets.registry import Targets
from pipework.engine.dispatcher import Dispatcher
from pipework.engine.middleware.counters import Counters
from pipework.services.base import RequestContext
from pipework.store.base import Store

from . import model
from .api import SnsService
from .delivery import SnsDelivery
from .retries import DeliveryPolicyRetries


class Sns:
    """The ``sns`` service of an instance (see `SnsService` for the operations).

    Parameters:
        store, clock: the instance's. region, account: the server's defaults. targets: the queues and functions
            subscriptions deliver to. http: the HTTP client for HTTP/S subscriptions. concurrency: deliveries in
            flight at once, per dispatcher.
    """

    name = "sns"

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        region: str,
        account: str,
        targets: Targets,
        http: httpx.AsyncClient,
        concurrency: int = 256,
    ) -> None:
        self.topics = SnsService(store, clock, region=region, account=account)
        delivery = SnsDelivery(targets, http, subscribed=lambda arn: arn in self.topics.by_arn)
        self.dispatchers = [
            Dispatcher(
                store,
                clock,
                queue=queue,
                invoke=delivery.invoke,
                dead_letter=delivery.dead_letter,
                middleware=[DeliveryPolicyRetries(), Counters()],
                concurrency=concurrency,
                fifo=fifo,
            )
            for queue, fifo in ((model.DELIVERIES, False), (model.FIFO_DELIVERIES, True))
        ]

    @property
    def certificate_pem(self) -> bytes:
        """The certificate of the key that signs messages (what each message's SigningCertURL serves)."""
        return self.topics.signer.certificate_pem

    async def start(self) -> None:
        await self.topics.start()
        for dispatcher in self.dispatchers:
            dispatcher.start()

    async def stop(self) -> None:
        for dispatcher in self.dispatchers:
            await dispatcher.stop()

    async def drain(self) -> None:
        """Deliver everything due now and wait for it (tests)."""
        for dispatcher in self.dispatchers:
            await dispatcher.drain()

    async def handle(self, operation: str, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        return await self.topics.handle(operation, params, ctx)

    def metrics(self) -> dict[str, int]:
        out: dict[str, int] = dict(self.topics.metrics)
        for dispatcher in self.dispatchers:
            for key, value in dispatcher.metrics.items():
                out[key] = out.get(key, 0) + value
        return out
