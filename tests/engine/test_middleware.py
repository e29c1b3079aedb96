"""The delivery middleware chain around the dispatcher, on the memory store (and SQLite for stored deliveries) with a
ManualClock: parking spends no attempt and no event age, hooks run in chain order and see every outcome, the retry
rule gives up by attempts / age / non-retryable errors, counters are kept per target key, and deliveries stored
before envelopes existed are still delivered by their old shape."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import orjson
import pytest

from pipework.clock import ManualClock
from pipework.connectors.targets import TargetError
from pipework.engine.dispatcher import Dispatcher, parking_queue
from pipework.engine.envelope import Envelope, envelope_attributes
from pipework.engine.middleware import Failure, Middleware, Park, Result
from pipework.engine.middleware.attempts import AttemptNumber
from pipework.engine.middleware.counters import Counters
from pipework.engine.middleware.retries import Retries
from pipework.engine.retry import Backoff, GiveUp, Retry, RetryPolicy
from pipework.jsontypes import JSON
from pipework.store.base import Store
from pipework.store.memory import MemoryStore
from pipework.store.sqlite import SqliteStore

pytestmark = pytest.mark.anyio
QUEUE = "work"
TARGET = "arn:aws:lambda:us-east-1:000000000000:function:f"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Recorder(Middleware):
    """Records its hook calls in a shared journal; parks the deliveries `park` answers a Park for."""

    def __init__(self, name: str, journal: list[Any], park: Any = None) -> None:
        self.name = name
        self.journal = journal
        self.park = park or (lambda delivery: None)

    def before(self, delivery: Envelope) -> Park | None:
        self.journal.append((self.name, "before", delivery.body["n"]))
        parked: Park | None = self.park(delivery)
        return parked

    def after(self, delivery: Envelope, result: Result) -> None:
        self.journal.append((self.name, "after", delivery.body["n"], result))

    def dead_lettered(self, delivery: Envelope, failure: Failure, sent: bool) -> None:
        self.journal.append((self.name, "dead_lettered", delivery.body["n"], failure, sent))


class Target:
    """A target failing with the scripted errors in turn (then succeeding); records each body it received."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.bodies: list[JSON] = []

    async def __call__(self, body: JSON) -> None:
        self.bodies.append(dict(body))
        if self.errors:
            raise self.errors.pop(0)


async def dead_letter(body: JSON, failure: Failure) -> bool:
    return True


def make(store: Store, clock: ManualClock, target: Target, middleware: list[Middleware]) -> Dispatcher:
    return Dispatcher(
        store, clock, queue=QUEUE, invoke=target, dead_letter=dead_letter, middleware=middleware
    )


async def enqueue(
    store: Store, clock: ManualClock, n: int, *, policy: RetryPolicy | None = None, target: str = TARGET
) -> None:
    attributes = envelope_attributes(target=target, first_seen=clock.now(), policy=policy or RetryPolicy())
    await store.enqueue(QUEUE, f"i{n}", orjson.dumps({"n": n}), attributes=attributes)


def rng_retries() -> Retries:
    return Retries(Backoff(base=1.0, cap=1.0), random.Random(7))


# -- parking ---------------------------------------------------------------------------------------------------------


async def test_a_parked_delivery_is_not_attempted_spends_no_attempt_and_its_parked_time_is_not_its_age() -> (
    None
):
    clock = ManualClock()
    store = MemoryStore(clock)
    # One retry and a 60 s event age: a delivery that aged through a 100 s park would be given up on its failure.
    await enqueue(store, clock, 1, policy=RetryPolicy(1, 60))
    journal: list[Any] = []
    closed = False
    breaker = Recorder("breaker", journal, lambda d: None if closed else Park(reason="open"))
    target = Target(TargetError("SERVICE_UNAVAILABLE", "503"))
    d = make(store, clock, target, [breaker, AttemptNumber("attempt"), rng_retries(), Counters()])

    await d.drain()
    assert target.bodies == []
    assert await store.peek(QUEUE) == []
    (parked,) = await store.peek(parking_queue(QUEUE, TARGET))
    assert parked.attempts == 0 and await d.parked(TARGET) == 1
    assert d.metrics["Parked"] == 1

    clock.advance(100)
    await d.drain()  # still parked until released: nothing is due
    assert target.bodies == []
    closed = True
    assert await d.unpark(TARGET) == 1
    await d.drain()
    # Attempt 1 failed and, its age not counting the park, was scheduled for a retry (not given up on age).
    assert [body["attempt"] for body in target.bodies] == [1]
    result = journal[-1][3]
    assert isinstance(result.decision, Retry)
    (waiting,) = await store.peek(QUEUE)
    assert waiting.attempts == 1

    clock.advance(1)
    await d.drain()
    assert [body["attempt"] for body in target.bodies] == [1, 2]
    assert await store.peek(QUEUE) == [] and await store.list_dead_letters(QUEUE) == []
    assert d.metrics["Invocations"] == 1 and d.metrics["FailedInvocations"] == 1 and d.metrics["Retries"] == 1


async def test_a_delivery_parked_until_a_time_comes_back_then_with_attempt_1_and_its_park_recorded() -> None:
    clock = ManualClock()
    store = MemoryStore(clock)
    await enqueue(store, clock, 1)
    start = clock.now()
    seen: list[Envelope] = []

    class Observe(Middleware):
        def after(self, delivery: Envelope, result: Result) -> None:
            seen.append(delivery)

    parks = [Park(until=start + 30)]
    target = Target()
    d = make(store, clock, target, [Recorder("p", [], lambda d: parks.pop() if parks else None), Observe()])
    await d.drain()
    assert target.bodies == []
    (item,) = await store.peek(QUEUE)
    assert item.attempts == 0 and item.due_at == start + 30
    clock.advance(29)
    await d.drain()
    assert target.bodies == []
    clock.advance(1)
    await d.drain()
    assert target.bodies == [{"n": 1}]
    delivered = seen[-1]
    assert (delivered.attempt, delivered.parked, delivered.age(clock.now())) == (1, 30.0, 0.0)


# -- hooks -----------------------------------------------------------------------------------------------------------


async def test_hooks_run_in_chain_order_and_a_park_stops_the_before_walk() -> None:
    clock = ManualClock()
    store = MemoryStore(clock)
    await enqueue(store, clock, 1)
    await enqueue(store, clock, 2)
    journal: list[Any] = []
    chain: list[Middleware] = [
        Recorder("a", journal),
        Recorder("b", journal, lambda d: Park(until=clock.now() + 5) if d.body["n"] == 1 else None),
        Recorder("c", journal),
    ]
    d = make(store, clock, Target(), chain)
    await d.drain()
    calls = {n: [(name, hook) for name, hook, m, *_ in journal if m == n] for n in (1, 2)}
    assert calls[1] == [("a", "before"), ("b", "before"), ("a", "after"), ("b", "after"), ("c", "after")]
    assert calls[2] == [
        ("a", "before"),
        ("b", "before"),
        ("c", "before"),
        ("a", "after"),
        ("b", "after"),
        ("c", "after"),
    ]


async def test_after_hooks_see_success_target_errors_exceptions_and_parks() -> None:
    clock = ManualClock()
    store = MemoryStore(clock)
    for n in range(4):
        await enqueue(store, clock, n)
    journal: list[Any] = []
    outcomes = {1: TargetError("THROTTLING", "slow down", retry_after=7.0), 2: ValueError("bug")}

    async def invoke(body: JSON) -> None:
        error = outcomes.get(body["n"])
        if error is not None:
            raise error

    chain = [rng_retries(), Recorder("r", journal, lambda d: Park(until=None) if d.body["n"] == 3 else None)]
    d = Dispatcher(store, clock, queue=QUEUE, invoke=invoke, dead_letter=dead_letter, middleware=chain)
    await d.drain()
    results: dict[int, Result] = {
        n: result for _, hook, n, *rest in journal if hook == "after" for result in rest
    }
    assert results[0].succeeded and results[0].error is None and results[0].duration >= 0
    assert results[1].error is not None and results[1].error.code == "THROTTLING"
    assert isinstance(results[1].decision, Retry) and results[1].decision.at >= results[1].at + 7.0
    assert results[2].error is not None and results[2].error.code == "INTERNAL_FAILURE"
    assert isinstance(results[2].exception, ValueError) and results[2].error.retryable
    assert results[3].parked == Park(until=None) and results[3].decision is None and not results[3].succeeded


async def test_a_hook_that_raises_in_after_does_not_lose_the_delivery() -> None:
    clock = ManualClock()
    store = MemoryStore(clock)
    await enqueue(store, clock, 1)

    class Broken(Middleware):
        def after(self, delivery: Envelope, result: Result) -> None:
            raise RuntimeError("middleware bug")

    counters = Counters()
    d = make(store, clock, Target(), [Broken(), counters])
    await d.drain()
    assert await store.peek(QUEUE) == [] and counters.total["Invocations"] == 1


async def test_without_a_retries_middleware_a_failure_is_dead_lettered_at_once() -> None:
    clock = ManualClock()
    store = MemoryStore(clock)
    await enqueue(store, clock, 1)
    d = make(store, clock, Target(TargetError("SERVICE_UNAVAILABLE", "503")), [])
    await d.drain()
    (dead,) = await store.list_dead_letters(QUEUE)
    assert dead.error["EXHAUSTED_RETRY_CONDITION"] == "" and dead.error["RETRY_ATTEMPTS"] == "0"


# -- the retry rule --------------------------------------------------------------------------------------------------

NOW = 1_000_000.0


@pytest.mark.parametrize(
    ("policy", "attempt", "age", "parked", "error", "expected"),
    [
        (RetryPolicy(2, 3600), 2, 0, 0, TargetError("E", "503"), "retry"),
        (RetryPolicy(2, 3600), 3, 0, 0, TargetError("E", "503"), "MaximumRetryAttempts"),
        (RetryPolicy(185, 60), 1, 61, 0, TargetError("E", "503"), "MaximumEventAgeInSeconds"),
        (RetryPolicy(185, 60), 1, 61, 30, TargetError("E", "503"), "retry"),
        (RetryPolicy(185, 3600), 1, 0, 0, TargetError("E", "400", retryable=False), ""),
        (
            RetryPolicy(185, 60),
            1,
            0,
            0,
            TargetError("E", "429", retry_after=61.0),
            "MaximumEventAgeInSeconds",
        ),
    ],
    ids=[
        "retries-left",
        "gives-up-by-attempts",
        "gives-up-by-age",
        "parked-time-is-not-age",
        "gives-up-on-a-non-retryable-error",
        "retry-after-beyond-the-age",
    ],
)
def test_the_retry_rule(
    policy: RetryPolicy, attempt: int, age: float, parked: float, error: TargetError, expected: str
) -> None:
    delivery = Envelope(TARGET, NOW - age, policy, {}, attempt, parked)
    decision = rng_retries().decide(delivery, error, now=NOW)
    if expected == "retry":
        assert isinstance(decision, Retry) and NOW <= decision.at <= NOW + 1
    else:
        assert decision == GiveUp(expected)


async def test_given_up_deliveries_are_dead_lettered_with_the_condition_and_counted_per_target() -> None:
    clock = ManualClock()
    store = MemoryStore(clock)
    other = "arn:aws:sqs:us-east-1:000000000000:q"
    await enqueue(store, clock, 1, policy=RetryPolicy(1, 3600))
    await enqueue(store, clock, 2, target=other)
    journal: list[Any] = []
    counters = Counters()

    async def invoke(body: JSON) -> None:
        if body["n"] == 1:
            raise TargetError("SERVICE_UNAVAILABLE", "503")

    chain = [rng_retries(), counters, Recorder("r", journal)]
    d = Dispatcher(store, clock, queue=QUEUE, invoke=invoke, dead_letter=dead_letter, middleware=chain)
    await d.drain()
    clock.advance(1)
    await d.drain()
    (dead,) = await store.list_dead_letters(QUEUE)
    assert dead.id == "i1" and dead.error["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
    assert dead.error["RETRY_ATTEMPTS"] == "1"
    (dead_lettered,) = [entry for entry in journal if entry[1] == "dead_lettered"]
    assert dead_lettered[3] == Failure("SERVICE_UNAVAILABLE", "503", "MaximumRetryAttempts", 1)
    assert dict(counters.of(TARGET)) == {"FailedInvocations": 2, "Retries": 1, "DeadLetterInvocations": 1}
    assert dict(counters.of(other)) == {"Invocations": 1}
    assert counters.total["FailedInvocations"] == 2 and counters.total["Invocations"] == 1
    assert d.metrics["DeadLetterInvocations"] == 1


# -- deliveries stored before envelopes ------------------------------------------------------------------------------


async def test_deliveries_stored_in_the_old_shape_keep_their_target_age_and_policy(tmp_path: Path) -> None:
    clock = ManualClock()
    store = await SqliteStore.open(str(tmp_path / "data"), clock)
    try:
        # As today's code wrote them: the envelope inside the payload ("ingested", the target's RetryPolicy).
        policy = {"MaximumRetryAttempts": 5, "MaximumEventAgeInSeconds": 60}
        for n, ingested in ((1, clock.now() - 120), (2, clock.now())):
            payload = {"n": n, "target": {"Arn": TARGET, "RetryPolicy": policy}, "ingested": ingested}
            await store.enqueue(QUEUE, f"i{n}", orjson.dumps(payload))
    finally:
        await store.close()
    store = await SqliteStore.open(str(tmp_path / "data"), clock)
    try:
        counters = Counters()
        target = Target(TargetError("SERVICE_UNAVAILABLE", "503"), TargetError("SERVICE_UNAVAILABLE", "503"))
        d = make(store, clock, target, [rng_retries(), counters])
        await d.drain()
        (dead,) = await store.list_dead_letters(QUEUE)
        assert dead.id == "i1" and dead.error["EXHAUSTED_RETRY_CONDITION"] == "MaximumEventAgeInSeconds"
        (waiting,) = await store.peek(QUEUE)
        assert waiting.id == "i2"
        assert dict(counters.of(TARGET)) == {"FailedInvocations": 2, "Retries": 1, "DeadLetterInvocations": 1}
    finally:
        await store.close()


async def test_the_scheduler_attempt_number_comes_from_the_envelope() -> None:
    clock = ManualClock()
    store = MemoryStore(clock)
    await enqueue(store, clock, 1)
    target = Target(TargetError("E", "503"), TargetError("E", "503"))
    d = make(store, clock, target, [AttemptNumber("attempt"), rng_retries()])
    for _ in range(3):
        await d.drain()
        clock.advance(1)
    await asyncio.sleep(0)
    assert [body["attempt"] for body in target.bodies] == [1, 2, 3]
