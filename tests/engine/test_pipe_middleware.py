"""The pipe runner with the engine's middleware chain around its enrichment and target stages, on the memory store
and a ManualClock: a parked stage holds the records without spending retries or record age, stage calls are keyed by
the enrichment / target ARN, and failures follow the one retry rule (attempts, then the dead letters)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pipework.clock import ManualClock
from pipework.connectors.sources.base import SourceBatch
from pipework.connectors.targets import TargetError
from pipework.engine.envelope import Envelope
from pipework.engine.middleware import Chain, Middleware, Park, Result
from pipework.engine.pipes import (
    STREAM,
    DeadLetters,
    Execution,
    ExecutionLog,
    PipeDefinition,
    PipeMetrics,
    PipeRunner,
    TargetResult,
    redrive_queue,
)
from pipework.engine.retry import Backoff
from pipework.jsontypes import JSON
from pipework.store.memory import MemoryStore

pytestmark = pytest.mark.anyio
PIPE_ARN = "arn:aws:pipes:us-east-1:000000000000:pipe/p"
TARGET = "arn:aws:lambda:us-east-1:000000000000:function:target"
ENRICHMENT = "arn:aws:lambda:us-east-1:000000000000:function:enrich"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Records:
    """A stream source whose records carry their arrival time (only `arrival` is used: the tests call the runner's
    delivery directly)."""

    kind = STREAM
    event_source = "aws:dynamodb"

    async def receive(self, max_records: int, wait: float) -> SourceBatch | None:
        return None

    async def complete(self, batch: SourceBatch, done: list[JSON]) -> None:
        return None

    def arrival(self, record: JSON) -> float | None:
        value = record.get("arrived")
        return float(value) if value is not None else None

    async def close(self) -> None:
        return None


class Stages:
    """An enrichment that passes records through and a target failing with the scripted errors in turn."""

    def __init__(self, *errors: TargetError) -> None:
        self.errors = list(errors)
        self.enriched: list[list[Any]] = []
        self.delivered: list[list[Any]] = []

    async def enrich(self, pipe: PipeDefinition, payload: list[Any]) -> Any:
        self.enriched.append(payload)
        return payload

    async def deliver(
        self, pipe: PipeDefinition, items: list[Any], events: list[Any], trace: str | None = None
    ) -> TargetResult:
        self.delivered.append(items)
        if self.errors:
            raise self.errors.pop(0)
        return TargetResult()


class Breaker(Middleware):
    """Parks calls to one key (`until` a time, or until released) while the clock is before `closes`; records what
    it saw."""

    def __init__(self, clock: ManualClock, key: str, until: float | None, closes: float) -> None:
        self.clock = clock
        self.key = key
        self.until = until
        self.closes = closes
        self.seen: list[tuple[str, str, int]] = []

    def before(self, delivery: Envelope) -> Park | None:
        if delivery.target == self.key and self.clock.now() < self.closes:
            return Park(until=self.until, reason="open")
        return None

    def after(self, delivery: Envelope, result: Result) -> None:
        status = "parked" if result.parked else "ok" if result.succeeded else "failed"
        self.seen.append((delivery.target, status, delivery.attempt))


def runner(
    store: MemoryStore, clock: ManualClock, stages: Stages, chain: Chain, *, retries: int, age: int = -1
) -> PipeRunner:
    pipe = PipeDefinition(
        name="p",
        arn=PIPE_ARN,
        source="arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/1",
        source_kind=STREAM,
        event_source="aws:dynamodb",
        target=TARGET,
        enrichment=ENRICHMENT,
        maximum_retry_attempts=retries,
        maximum_record_age=age,
    )
    log = ExecutionLog(PIPE_ARN, "OFF", False, None, clock.now)
    execution = Execution(pipe, stages, clock, PipeMetrics(), log, middleware=chain)
    source: Any = Records()

    async def stopped(reason: str) -> None:
        raise AssertionError(reason)

    return PipeRunner(
        pipe,
        source,
        execution,
        DeadLetters(store, "p", PIPE_ARN),
        store=store,
        clock=clock,
        on_stopped=stopped,
        backoff=Backoff(base=1.0, cap=1.0),
    )


async def run_with_clock(clock: ManualClock, work: Any, step: float = 1.0, limit: int = 1000) -> None:
    """Run `work` while moving the clock `step` seconds each time every task has settled (at most `limit` steps)."""
    task = asyncio.ensure_future(work)
    for _ in range(limit):
        for _ in range(20):
            await asyncio.sleep(0)
        if task.done():
            break
        clock.advance(step)
    await task


async def test_a_parked_target_stage_spends_no_retry_and_no_record_age() -> None:
    clock = ManualClock()
    store = MemoryStore(clock)
    stages = Stages()
    breaker = Breaker(clock, TARGET, until=None, closes=clock.now() + 100)
    # No retries and a 60 s record age: a parked call counted as an attempt, or its time as age, dead-letters.
    r = runner(store, clock, stages, Chain([breaker]), retries=0, age=60)
    records = [{"eventID": "1", "arrived": clock.now()}]
    await run_with_clock(clock, r.deliver_in_order(records))
    assert stages.delivered == [[{"eventID": "1", "arrived": records[0]["arrived"]}]]
    assert await store.list_dead_letters(redrive_queue("p")) == []
    assert r.metrics.counts["Retries"] == 0 and r.metrics.counts["DeadLettered"] == 0
    target_calls = [(status, attempt) for key, status, attempt in breaker.seen if key == TARGET]
    assert target_calls[-1] == ("ok", 1) and {status for status, _ in target_calls[:-1]} == {"parked"}
    # The enrichment ran before each parked target call: only the target's key was parked.
    assert [key for key, status, _ in breaker.seen if status == "parked"] == [TARGET] * (
        len(target_calls) - 1
    )


async def test_a_parked_enrichment_holds_the_records_until_its_time() -> None:
    clock = ManualClock()
    store = MemoryStore(clock)
    stages = Stages()
    start = clock.now()
    breaker = Breaker(clock, ENRICHMENT, until=start + 30, closes=start + 30)
    r = runner(store, clock, stages, Chain([breaker]), retries=0, age=20)
    records = [{"eventID": "1", "arrived": start}]
    await run_with_clock(clock, r.deliver_in_order(records), step=30)
    assert len(stages.enriched) == 1 and len(stages.delivered) == 1
    assert [entry[:2] for entry in breaker.seen] == [
        (ENRICHMENT, "parked"),
        (ENRICHMENT, "ok"),
        (TARGET, "ok"),
    ]
    assert await store.list_dead_letters(redrive_queue("p")) == []


async def test_pipe_failures_follow_the_retry_rule_and_the_chain_sees_each_attempt() -> None:
    clock = ManualClock()
    store = MemoryStore(clock)
    error = TargetError("SERVICE_UNAVAILABLE", "503")
    stages = Stages(error, error, error)
    seen = Breaker(clock, "none", until=None, closes=0)
    r = runner(store, clock, stages, Chain([seen]), retries=2)
    await run_with_clock(clock, r.deliver_in_order([{"eventID": "1"}]))
    (dead,) = await store.list_dead_letters(redrive_queue("p"))
    assert (
        dead.error["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
        and dead.error["RETRY_ATTEMPTS"] == "2"
    )
    assert [entry for entry in seen.seen if entry[0] == TARGET] == [
        (TARGET, "failed", 1),
        (TARGET, "failed", 2),
        (TARGET, "failed", 3),
    ]
    assert r.metrics.counts["Retries"] == 2
