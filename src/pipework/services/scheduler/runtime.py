"""`Scheduler`: the served ``scheduler`` API and its background work for one instance — the ticker (due ticks →
invocations) and the dispatcher (invocations → targets, with retries, backoff and dead-letter queues).

Built by the composition root on the open store; `start()` loads the definitions and starts both loops. Ticks and
invocations are store work-queue items, so after a restart the ticker applies the catch-up rules to what was missed
and the dispatcher resumes invocations that were in flight (their leases expire and they run again).
"""

from __future__ import annotations

import random
from typing import Any

from pipework.clock import Clock
from pipework.connectors.targets.registry import Targets
from pipework.engine.breakers import Breakers
from pipework.engine.cluster import Cluster
from pipework.engine.dispatcher import Dispatcher, default_middleware
from pipework.engine.envelope import Envelope
from pipework.engine.metrics import Dimensions, Recorder
from pipework.engine.middleware.attempts import AttemptNumber
from pipework.engine.middleware.metrics import SCHEDULER, DeliveryMetrics
from pipework.engine.scheduler import Ticker
from pipework.engine.tracing import DeliveryTracing, TraceContext, Tracer
from pipework.services.base import RequestContext
from pipework.store.base import Store

from . import model
from .api import SchedulerService
from .invoke import ATTEMPT_KEY, ScheduleInvoker


class Scheduler:
    """The ``scheduler`` service of an instance (see `SchedulerService` for the operations).

    Parameters:
        store, clock: the instance's. region, account: what ARNs carry. targets: where invocations go.
        rng: randomness for flexible windows and retry jitter (seed it in tests).
        concurrency: invocations in flight at once. recorder: where AWS/Scheduler metrics go. breakers: the
            circuit breakers invocations go through.
    """

    name = "scheduler"

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        region: str,
        account: str,
        targets: Targets,
        rng: random.Random | None = None,
        concurrency: int = 1024,
        cluster: Cluster | None = None,
        recorder: Recorder | None = None,
        tracer: Tracer | None = None,
        breakers: Breakers | None = None,
    ) -> None:
        self.rng = rng or random.Random()
        self.schedules = SchedulerService(store, clock, region=region, account=account, rng=self.rng)
        invoker = self.invoker = ScheduleInvoker(targets, self.schedules.completed)
        self.dispatcher = Dispatcher(
            store,
            clock,
            queue=model.INVOCATIONS,
            invoke=invoker.invoke,
            dead_letter=invoker.dead_letter,
            # <aws.scheduler.attempt-number> is the envelope's attempt, written into the invocation.
            middleware=[
                *default_middleware(rng=self.rng, breakers=breakers),
                AttemptNumber(ATTEMPT_KEY),
                *(
                    [DeliveryMetrics(recorder, SCHEDULER, schedule_labels, _has_dead_letter)]
                    if recorder is not None
                    else []
                ),
                *([DeliveryTracing(tracer, "scheduler.invoke", _execution_id)] if tracer is not None else []),
            ],
            concurrency=concurrency,
        )
        if breakers is not None:
            breakers.attach(self.dispatcher)
        # One node at a time ticks (its lease: "ticker/<queue>"); every node delivers invocations.
        self.ticker = Ticker(store, clock, queue=model.TICKS, fire=self.schedules.fire, cluster=cluster)

    async def start(self) -> None:
        await self.schedules.start()
        self.ticker.start()
        self.dispatcher.start()

    async def stop(self) -> None:
        await self.ticker.stop()
        await self.dispatcher.stop()

    async def handle(self, operation: str, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        return await self.schedules.handle(operation, params, ctx)

    #: The resource kinds whose changes by other nodes `refresh` follows.
    watched_kinds = frozenset({model.KIND_GROUP, model.KIND_SCHEDULE})

    async def refresh(self, kind: str, name: str | None) -> None:
        """Follow a change another node made to the group or schedule stored as `name` (None: all of `kind`)."""
        await self.schedules.refresh(kind, name)

    def metrics(self) -> dict[str, int]:
        """Counters of the ticker, the dispatcher and the schedules (AWS's names where AWS has one)."""
        out: dict[str, int] = {}
        for source in (self.ticker, self.dispatcher, self.schedules):
            out.update(source.metrics)
        return out


def schedule_labels(delivery: Envelope) -> tuple[str, str, Dimensions] | None:
    """A schedule invocation's metric: its account and region, dimension ScheduleGroup (from the schedule's ARN,
    ``arn:aws:scheduler:<region>:<account>:schedule/<group>/<name>``)."""
    invocation = delivery.body
    arn = invocation.get("arn") if isinstance(invocation, dict) else None
    if not isinstance(arn, str):
        return None
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return None
    group = parts[5].split("/")[1] if parts[5].count("/") >= 2 else "default"
    return parts[4], parts[3], (("ScheduleGroup", group),)


def _execution_id(delivery: Envelope) -> TraceContext | None:
    """A schedule invocation's trace, derived from its execution id (every attempt of one invocation in one
    trace)."""
    invocation = delivery.body
    ident = invocation.get("execution_id") if isinstance(invocation, dict) else None
    return TraceContext.derived(ident) if isinstance(ident, str) else None


def _has_dead_letter(delivery: Envelope) -> bool:
    """Whether a schedule invocation's target has a DeadLetterConfig."""
    invocation = delivery.body
    target = invocation.get("target") if isinstance(invocation, dict) else None
    return isinstance(target, dict) and bool((target.get("DeadLetterConfig") or {}).get("Arn"))
