"""`EventBridge`: the served ``events`` API and its background work (delivery and replays) for one instance.

Built before the store opens; `start()` loads the definitions, resumes replays, and starts the dispatcher, which
also resumes deliveries that were in flight when the process stopped (their leases expire and they run again).
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import orjson

from pipework.connectors.targets.function import Functions
from pipework.connectors.targets.http import HttpTarget, RateLimiter
from pipework.connectors.targets.log import LogTarget
from pipework.engine.dispatcher import Dispatcher
from pipework.engine.envelope import envelope_attributes
from pipework.engine.replay import Replayer
from pipework.engine.retry import RetryPolicy
from pipework.services.base import RequestContext, ServiceError

from . import model
from .api import EventsService
from .delivery import QueueSender, RuleDelivery

if TYPE_CHECKING:
    from pipework.app import Pipework


class EventBridge:
    """The ``events`` service of a `Pipework` instance (see `EventsService` for the operations)."""

    name = "events"

    def __init__(self, pipework: Pipework) -> None:
        self.pipework = pipework
        self.functions: Functions = pipework.functions
        self.service: EventsService | None = None
        self.dispatcher: Dispatcher | None = None
        self.replayer: Replayer | None = None
        self._http: httpx.AsyncClient | None = None

    @property
    def events(self) -> EventsService:
        if self.service is None:
            raise ServiceError(
                "ServiceUnavailable", "The events service is not started.", 503, sender_fault=False
            )
        return self.service

    def log_directory(self) -> Path:
        settings = self.pipework.settings
        if getattr(settings, "memory", False):
            return Path(tempfile.gettempdir()) / "pipework-logs"
        return Path(settings.data_dir) / "logs"

    async def start(self) -> None:
        pipework = self.pipework
        store, clock = pipework.store, pipework.clock
        settings = pipework.settings
        self.service = EventsService(store, clock, region=settings.region, account=settings.account)
        await self.service.start()
        sqs = pipework.services.get("sqs")
        queues = (
            QueueSender(sqs, region=settings.region, account=settings.account) if sqs is not None else None
        )
        self._http = httpx.AsyncClient()
        delivery = RuleDelivery(
            self.service,
            queues,
            functions=self.functions,
            logs=LogTarget(self.log_directory()),
            http=HttpTarget(self._http, RateLimiter(clock.now, clock.sleep)),
        )
        self.dispatcher = Dispatcher(
            store,
            clock,
            queue=model.DELIVERIES,
            invoke=delivery.invoke,
            dead_letter=delivery.dead_letter,
        )
        self.replayer = Replayer(self.service)
        await self.replayer.start()
        self.dispatcher.start()

    async def stop(self) -> None:
        if self.dispatcher is not None:
            await self.dispatcher.stop()
        if self.replayer is not None:
            await self.replayer.stop()
        if self._http is not None:
            await self._http.aclose()

    async def handle(self, operation: str, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        return await self.events.handle(operation, params, ctx)

    # -- Pipework extensions (beyond AWS): dead letters kept with their full payload, and redrive ------------------
    async def dead_letters(
        self, *, rule: str | None = None, target: str | None = None, bus: str | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """Deliveries that exhausted their retries, newest last: the full event, the rule, target and error."""
        store = self.pipework.store
        out: list[dict[str, Any]] = []
        after = 0
        while len(out) < limit:
            page = await store.list_dead_letters(model.DELIVERIES, after_seq=after, limit=500)
            if not page:
                break
            for dead in page:
                payload = orjson.loads(dead.payload)
                if rule is not None and payload["rule"] != rule:
                    continue
                if target is not None and payload["target"]["Id"] != target:
                    continue
                if bus is not None and payload["bus"] != bus:
                    continue
                out.append(
                    {
                        "Id": dead.id,
                        "EventBusName": payload["bus"],
                        "Rule": payload["rule"],
                        "TargetId": payload["target"]["Id"],
                        "TargetArn": payload["target"]["Arn"],
                        "Error": dead.error,
                        "DeadLetteredAt": dead.dead_lettered_at,
                        "Attempts": dead.attempts,
                        "Event": payload["event"],
                    }
                )
            after = page[-1].seq
        return out[:limit]

    async def redrive(
        self, ids: list[str] | None = None, *, rule: str | None = None, target: str | None = None
    ) -> int:
        """Send dead-lettered deliveries back to the one target each failed on, with fresh retries (a new event
        age and attempt count); other targets of the rule do not get the event again."""
        store = self.pipework.store
        chosen = [
            d for d in await self.dead_letters(rule=rule, target=target) if ids is None or d["Id"] in ids
        ]
        if not chosen:
            return 0
        wanted = {d["Id"] for d in chosen}
        batch = store.batch()
        now = self.pipework.clock.now()
        after = 0
        while True:
            page = await store.list_dead_letters(model.DELIVERIES, after_seq=after, limit=500)
            if not page:
                break
            for dead in page:
                if dead.id in wanted:
                    payload = orjson.loads(dead.payload)
                    payload["ingested"] = now
                    payload["redrives"] = payload.get("redrives", 0) + 1
                    rule_target = payload["target"]
                    envelope = envelope_attributes(  # a new event age, counted from the redrive
                        target=rule_target["Arn"],
                        first_seen=now,
                        policy=RetryPolicy.from_api(rule_target.get("RetryPolicy")),
                    )
                    batch.enqueue(
                        model.DELIVERIES, str(uuid.uuid4()), orjson.dumps(payload), attributes=envelope
                    )
            after = page[-1].seq
        # One commit: the new deliveries appear exactly when the dead letters disappear.
        batch.delete_dead_letters(model.DELIVERIES, sorted(wanted))
        await store.commit(batch)
        return len(wanted)
