"""`Scheduler`: the served ``scheduler`` API and its background work for one instance — the ticker (due ticks →
invocations) and the dispatcher (invocations → targets, with retries, backoff and dead-letter queues).

Built before the store opens; `start()` loads the definitions and starts both loops. Ticks and invocations are
store work-queue items, so after a restart the ticker applies the catch-up rules to what was missed and the
dispatcher resumes invocations that were in flight (their leases expire and they run again).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

import httpx

from pipework.connectors.targets.http import HttpTarget, RateLimiter
from pipework.engine.dispatcher import Dispatcher, default_middleware
from pipework.engine.middleware.attempts import AttemptNumber
from pipework.engine.scheduler import Ticker
from pipework.services.base import RequestContext, ServiceError

from . import model
from .api import SchedulerService
from .invoke import ATTEMPT_KEY, ScheduleInvoker

if TYPE_CHECKING:
    from pipework.app import Pipework


class Scheduler:
    """The ``scheduler`` service of a `Pipework` instance (see `SchedulerService` for the operations).

    Parameters:
        pipework: the instance. rng: randomness for flexible windows and retry jitter (seed it in tests).
        concurrency: invocations in flight at once.
    """

    name = "scheduler"

    def __init__(
        self, pipework: Pipework, *, rng: random.Random | None = None, concurrency: int = 1024
    ) -> None:
        self.pipework = pipework
        self.rng = rng or random.Random()
        self.concurrency = concurrency
        self.service: SchedulerService | None = None
        self.ticker: Ticker | None = None
        self.dispatcher: Dispatcher | None = None
        self._http: httpx.AsyncClient | None = None

    @property
    def schedules(self) -> SchedulerService:
        if self.service is None:
            raise ServiceError(
                "ServiceUnavailable", "The scheduler service is not started.", 503, sender_fault=False
            )
        return self.service

    async def start(self) -> None:
        pipework = self.pipework
        store, clock, settings = pipework.store, pipework.clock, pipework.settings
        self.service = SchedulerService(
            store, clock, region=settings.region, account=settings.account, rng=self.rng
        )
        await self.service.start()
        self._http = httpx.AsyncClient()
        invoker = ScheduleInvoker(
            pipework, HttpTarget(self._http, RateLimiter(clock.now, clock.sleep)), self.service.completed
        )
        self.dispatcher = Dispatcher(
            store,
            clock,
            queue=model.INVOCATIONS,
            invoke=invoker.invoke,
            dead_letter=invoker.dead_letter,
            # <aws.scheduler.attempt-number> is the envelope's attempt, written into the invocation.
            middleware=[*default_middleware(rng=self.rng), AttemptNumber(ATTEMPT_KEY)],
            concurrency=self.concurrency,
        )
        self.ticker = Ticker(store, clock, queue=model.TICKS, fire=self.service.fire)
        self.ticker.start()
        self.dispatcher.start()

    async def stop(self) -> None:
        if self.ticker is not None:
            await self.ticker.stop()
        if self.dispatcher is not None:
            await self.dispatcher.stop()
        if self._http is not None:
            await self._http.aclose()

    async def handle(self, operation: str, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        return await self.schedules.handle(operation, params, ctx)

    def metrics(self) -> dict[str, int]:
        """Counters of the ticker, the dispatcher and the schedules (AWS's names where AWS has one)."""
        out: dict[str, int] = {}
        for source in (self.ticker, self.dispatcher, self.service):
            if source is not None:
                out.update(source.metrics)
        return out
