"""`EventBridge`: the served ``events`` API and its background work (delivery and replays) for one instance.

Built by the composition root on the open store; `start()` loads the definitions, resumes replays, and starts the
dispatcher, which also resumes deliveries that were in flight when the process stopped (their leases expire and
they run again).
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from pipework.clock import Clock
from pipework.connectors.targets.registry import Targets
from pipework.engine.dispatcher import Dispatcher
from pipework.engine.replay import Replayer
from pipework.services.base import RequestContext
from pipework.store.base import Store

from . import model
from .api import EventsService
from .delivery import RuleDelivery


class EventBridge:
    """The ``events`` service of an instance (see `EventsService` for the operations).

    Parameters:
        events: the buses, rules, archives, connections and API destinations (built first: targets reach them).
        store, clock: the instance's. targets: where deliveries go.
    """

    name = "events"

    def __init__(self, events: EventsService, store: Store, clock: Clock, *, targets: Targets) -> None:
        self.events = events
        self.store = store
        self.clock = clock
        delivery = RuleDelivery(targets)
        self.dispatcher = Dispatcher(
            store,
            clock,
            queue=model.DELIVERIES,
            invoke=delivery.invoke,
            dead_letter=delivery.dead_letter,
            policy_of=delivery.policy_of,
        )
        self.replayer = Replayer(events)

    async def start(self) -> None:
        await self.events.start()
        await self.replayer.start()
        self.dispatcher.start()

    async def stop(self) -> None:
        await self.dispatcher.stop()
        await self.replayer.stop()

    async def handle(self, operation: str, params: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        return await self.events.handle(operation, params, ctx)

    # -- Pipework extensions (beyond AWS): dead letters kept with their full payload, and redrive ------------------
    async def dead_letters(
        self, *, rule: str | None = None, target: str | None = None, bus: str | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """Deliveries that exhausted their retries, newest last: the full event, the rule, target and error."""
        store = self.store
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
        store = self.store
        chosen = [
            d for d in await self.dead_letters(rule=rule, target=target) if ids is None or d["Id"] in ids
        ]
        if not chosen:
            return 0
        wanted = {d["Id"] for d in chosen}
        batch = store.batch()
        now = self.clock.now()
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
                    batch.enqueue(model.DELIVERIES, str(uuid.uuid4()), orjson.dumps(payload))
            after = page[-1].seq
        # One commit: the new deliveries appear exactly when the dead letters disappear.
        batch.delete_dead_letters(model.DELIVERIES, sorted(wanted))
        await store.commit(batch)
        return len(wanted)
