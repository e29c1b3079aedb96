"""Pipework's extensions to EventBridge (beyond AWS): deliveries that exhausted their retries are kept as dead
letters with their full payload (`DeadLetters.find`), and can be sent back to the one target each failed on
(`DeadLetters.redrive`)."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from pipework.clock import Clock
from pipework.engine.envelope import envelope_attributes
from pipework.engine.retry import RetryPolicy
from pipework.ids import random_uuid
from pipework.store.base import Store

from . import model
from .api import EventsService


class DeadLetters:
    """The dead letters of the delivery queue, of every account and region.

    Parameters: events (the server's default account and region), store, clock.
    """

    def __init__(self, events: EventsService, store: Store, clock: Clock) -> None:
        self.events = events
        self.store = store
        self.clock = clock
        # One redrive at a time: each reads the dead letters, then commits; two overlapping would both send them.
        self._redriving = asyncio.Lock()

    async def find(
        self,
        *,
        rule: str | None = None,
        target: str | None = None,
        bus: str | None = None,
        limit: int | None = 1000,
        region: str | None = None,
        account: str | None = None,
    ) -> list[dict[str, Any]]:
        """Deliveries of one account and region (default: the server's) that exhausted their retries, newest
        last: the full event, the rule, target and error; the first `limit` of them (None: all)."""
        store = self.store
        default = (self.events.account, self.events.region)
        wanted = (account or default[0], region or default[1])
        out: list[dict[str, Any]] = []
        after = 0
        while limit is None or len(out) < limit:
            page = await store.list_dead_letters(model.DELIVERIES, after_seq=after, limit=500)
            if not page:
                break
            for dead in page:
                payload = orjson.loads(dead.payload)
                if model.owner(payload, default) != wanted:
                    continue
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
        return out if limit is None else out[:limit]

    async def redrive(
        self,
        ids: list[str] | None = None,
        *,
        rule: str | None = None,
        target: str | None = None,
        region: str | None = None,
        account: str | None = None,
    ) -> int:
        """Send dead-lettered deliveries of one account and region (default: the server's) back to the one target
        each failed on, with fresh retries (a new event age and attempt count); other targets of the rule do not
        get the event again."""
        async with self._redriving:
            chosen = [
                d
                # Every dead letter the filters choose, however many: the store is paged through to its end.
                for d in await self.find(rule=rule, target=target, region=region, account=account, limit=None)
                if ids is None or d["Id"] in ids
            ]
            return await self._redrive({d["Id"] for d in chosen})

    async def discard(
        self,
        ids: list[str] | None = None,
        *,
        rule: str | None = None,
        target: str | None = None,
        region: str | None = None,
        account: str | None = None,
    ) -> int:
        """Delete dead-lettered deliveries of one account and region (default: the server's) for good: the given
        ids among those the filters choose; how many were deleted."""
        async with self._redriving:  # not while a redrive reads them
            chosen = [
                d["Id"]
                for d in await self.find(rule=rule, target=target, region=region, account=account, limit=None)
                if ids is None or d["Id"] in ids
            ]
            if not chosen:
                return 0
            return await self.store.delete_dead_letters(model.DELIVERIES, chosen)

    async def _redrive(self, wanted: set[str]) -> int:
        store = self.store
        default = (self.events.account, self.events.region)
        if not wanted:
            return 0
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
                    # A dead letter written before payloads named their account and region: name them now.
                    payload["account"], payload["region"] = model.owner(payload, default)
                    payload["ingested"] = now
                    payload["redrives"] = payload.get("redrives", 0) + 1
                    rule_target = payload["target"]
                    envelope = envelope_attributes(  # a new event age, counted from the redrive
                        target=rule_target["Arn"],
                        first_seen=now,
                        policy=RetryPolicy.from_api(rule_target.get("RetryPolicy")),
                    )
                    batch.enqueue(model.DELIVERIES, random_uuid(), orjson.dumps(payload), attributes=envelope)
            after = page[-1].seq
        # One commit: the new deliveries appear exactly when the dead letters disappear.
        batch.delete_dead_letters(model.DELIVERIES, sorted(wanted))
        await store.commit(batch)
        return len(wanted)
