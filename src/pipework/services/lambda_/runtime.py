"""`Lambda`: the served ``lambda`` API and its background work for one instance — the dispatcher of asynchronous
(Event) invocations, with retries by the engine's one rule, and the runners of event source mappings.

Built by the composition root, which also makes it the `FunctionCatalog` of the connectors' function registry, so
rules, pipes and schedules targeting ``arn:aws:lambda:...:function:NAME`` run API-created functions too.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from pipework.clock import Clock
from pipework.connectors.ports import ApiClient, TableStreams
from pipework.connectors.targets.function import Functions
from pipework.connectors.targets.registry import Targets
from pipework.engine.dispatcher import Dispatcher, default_middleware
from pipework.engine.middleware.attempts import AttemptNumber
from pipework.engine.retry import Backoff
from pipework.services.base import RequestContext
from pipework.store.base import Store

from . import model
from .api import LambdaService
from .invoke import ATTEMPT_KEY

#: Lambda retries a failed asynchronous invocation after about a minute, then about two.
ASYNC_BACKOFF = Backoff(base=60.0, cap=120.0)


class Lambda:
    """The ``lambda`` service of an instance (see `LambdaService` for the operations).

    Parameters:
        store, clock, region, account: the instance's. functions: the connectors' function registry (which runs
            functions). code_directory: where packages are unpacked. targets: destinations, on-failure records.
        api, streams: what event source mappings read. backoff: between retries of a failing mapping batch.
        async_backoff: between retries of a failed asynchronous invocation. rng: retry jitter (seed it in tests).
    """

    name = "lambda"

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        region: str,
        account: str,
        functions: Functions,
        code_directory: Path,
        targets: Targets,
        api: ApiClient,
        streams: TableStreams,
        backoff: Backoff | None = None,
        async_backoff: Backoff | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.rng = rng or random.Random()
        self.service = LambdaService(
            store,
            clock,
            region=region,
            account=account,
            functions=functions,
            code_directory=code_directory,
            targets=targets,
            api=api,
            streams=streams,
            backoff=backoff,
        )
        self.dispatcher = Dispatcher(
            store,
            clock,
            queue=model.ASYNC_QUEUE,
            invoke=self.service.deliver_async,
            dead_letter=self.service.async_failed,
            # The record a destination gets says how often the function ran (approximateInvokeCount).
            middleware=[
                *default_middleware(async_backoff or ASYNC_BACKOFF, self.rng),
                AttemptNumber(ATTEMPT_KEY),
            ],
            concurrency=16,
        )

    async def start(self) -> None:
        await self.service.start_mappings()
        self.dispatcher.start()

    async def stop(self) -> None:
        await self.dispatcher.stop()
        await self.service.stop_mappings()

    async def handle(self, operation: str, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        return await self.service.handle(operation, params, ctx)
