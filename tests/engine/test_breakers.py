"""Circuit breakers on the delivery path, on the memory store with a ManualClock and a real dispatcher: what
counts as a failure, the failure rate, the park retention, and the resume order of deliveries accepted together.
(The HTTP shapes, health checks, pipes, events and restarts are in tests/e2e/test_breakers.py.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from pipework.clock import ManualClock
from pipework.connectors.targets import TargetError
from pipework.engine.breakers import PARK_EXPIRED, BreakerConfig, Breakers, counts_as_failure
from pipework.engine.dispatcher import Dispatcher, default_middleware
from pipework.engine.envelope import envelope_attributes
from pipework.engine.middleware import Failure
from pipework.engine.retry import RetryPolicy
from pipework.jsontypes import JSON
from pipework.store.memory import MemoryStore

pytestmark = pytest.mark.anyio
QUEUE = "work"
TARGET = "arn:aws:lambda:us-east-1:000000000000:function:vendor"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class NoDestinations:
    def api_destination_by_arn(self, arn: str) -> JSON | None:
        return None

    def connection_by_arn(self, arn: str) -> JSON | None:
        return None


class Vendor:
    """A target failing with `error` while `down`; records the order of the bodies it accepted."""

    def __init__(self) -> None:
        self.error: TargetError | None = None
        self.calls: list[int] = []
        self.accepted: list[int] = []

    async def __call__(self, body: JSON) -> None:
        self.calls.append(body["n"])
        if self.error is not None:
            raise self.error
        self.accepted.append(body["n"])


class World:
    def __init__(self) -> None:
        self.clock = ManualClock()
        self.store = MemoryStore(self.clock)
        self.vendor = Vendor()
        self.dead: list[Failure] = []
        self.http = httpx.AsyncClient()
        self.breakers = Breakers(self.store, self.clock, http=self.http, destinations=NoDestinations())

        async def dead_letter(body: JSON, failure: Failure) -> bool:
            self.dead.append(failure)
            return True

        self.dispatcher = Dispatcher(
            self.store,
            self.clock,
            queue=QUEUE,
            invoke=self.vendor,
            dead_letter=dead_letter,
            middleware=default_middleware(breakers=self.breakers),
        )
        self.breakers.attach(self.dispatcher)

    async def put(self, *numbers: int) -> None:
        batch = self.store.batch()
        for n in numbers:
            attributes = envelope_attributes(
                target=TARGET, first_seen=self.clock.now(), policy=RetryPolicy(2)
            )
            batch.enqueue(QUEUE, f"i{n}", orjson.dumps({"n": n}), attributes=attributes)
        await self.store.commit(batch)

    async def advance(self, seconds: float) -> None:
        # anyio's test runner task waits for the test to end: not work time travel should wait for.
        self.clock.ignore(t for t in asyncio.all_tasks() if "TestRunner" in repr(t.get_coro()))
        await self.clock.travel(seconds)


@pytest.fixture
async def world() -> AsyncIterator[World]:
    w = World()
    await w.breakers.load()
    w.dispatcher.start()
    w.breakers.start()
    yield w
    await w.breakers.stop()
    await w.dispatcher.stop()
    await w.http.aclose()


@pytest.mark.parametrize(
    ("error", "counted"),
    [
        (TargetError("SERVICE_UNAVAILABLE", "Status 503"), True),
        (TargetError("THROTTLING", "Status 429"), True),
        (TargetError("TIMEOUT", "no answer"), True),
        (TargetError("SERVICE_UNAVAILABLE", "ConnectError: refused"), True),
        (TargetError("INVALID_PARAMETER", "Status 400", retryable=False), False),
        (TargetError("INVALID_PARAMETER", "Status 404", retryable=False), False),
        (TargetError("ResourceNotFoundException", "gone", retryable=False, reason="NO_RESOURCE"), False),
    ],
)
def test_what_counts_as_the_target_being_down(error: TargetError, counted: bool) -> None:
    assert counts_as_failure(error) is counted


async def test_4xx_answers_never_open_the_breaker(world: World) -> None:
    await world.breakers.put("b", BreakerConfig.from_api({"Target": TARGET, "FailureThreshold": 2}))
    world.vendor.error = TargetError("INVALID_PARAMETER", "Status 400", retryable=False)
    await world.put(1, 2, 3, 4)
    await world.advance(1)
    assert world.breakers.get("b").state == "CLOSED"
    assert len(world.dead) == 4  # not retryable: dead-lettered as without a breaker


async def test_a_failure_rate_opens_the_breaker_and_the_failure_that_trips_it_is_parked(world: World) -> None:
    config = {
        "Target": TARGET,
        "FailureThreshold": 100,
        "FailureRate": {"Percent": 50, "WindowSeconds": 60, "MinimumCalls": 4},
    }
    await world.breakers.put("b", BreakerConfig.from_api(config))
    calls = [None, TargetError("SERVICE_UNAVAILABLE", "503"), None, TargetError("SERVICE_UNAVAILABLE", "503")]
    for n, error in enumerate(calls):
        world.vendor.error = error
        await world.put(n)
        await world.advance(0)
    breaker = world.breakers.get("b")
    assert breaker.state == "OPEN" and breaker.reason.startswith("2 of 4 calls failed")
    assert await world.breakers.parked(breaker) == 1  # the tripping call, not retried
    await world.advance(2)  # the first failure's retry comes due (backoff up to 1 s): parked, not sent
    assert world.vendor.calls == [0, 1, 2, 3]
    assert await world.breakers.parked(breaker) == 2 and world.dead == []


async def test_deliveries_accepted_at_the_same_moment_resume_in_the_order_they_were_accepted(
    world: World,
) -> None:
    await world.breakers.put("b", BreakerConfig.from_api({"Target": TARGET, "ResumeRatePerSecond": 10}))
    await world.breakers.control("b", "pause")
    await world.put(*range(30))  # one commit, one clock time: only the queue order tells them apart
    await world.advance(1)
    assert world.vendor.calls == [] and await world.breakers.parked(world.breakers.get("b")) == 30
    await world.breakers.control("b", "resume")
    await world.advance(2)
    assert 15 <= len(world.vendor.accepted) <= 25  # 10 per second
    await world.advance(2)
    assert world.vendor.accepted == list(range(30))


async def test_a_delivery_parked_past_the_retention_is_dead_lettered_with_its_own_error_code(
    world: World,
) -> None:
    config = {"Target": TARGET, "ParkRetentionSeconds": 3600}
    await world.breakers.put("b", BreakerConfig.from_api(config))
    await world.breakers.control("b", "pause")
    await world.put(1)
    await world.advance(1800)
    await world.put(2)
    await world.advance(1801 + 10)  # the first passes its retention; the next sweep dead-letters it
    assert [f.code for f in world.dead] == [PARK_EXPIRED]
    (dead,) = await world.store.list_dead_letters(QUEUE)
    assert dead.id == "i1" and dead.error["ERROR_CODE"] == PARK_EXPIRED
    assert await world.breakers.parked(world.breakers.get("b")) == 1
    await world.breakers.control("b", "resume")
    await world.advance(1)
    assert world.vendor.accepted == [2]


async def test_a_breaker_and_what_it_parked_are_read_back_from_the_store(world: World) -> None:
    await world.breakers.put("b", BreakerConfig.from_api({"Target": TARGET, "OpenSeconds": 600}))
    await world.breakers.control("b", "open")
    await world.put(1, 2)
    await world.advance(1)
    again = Breakers(world.store, world.clock, http=world.http, destinations=NoDestinations())
    again.attach(world.dispatcher)
    await again.load()
    breaker = again.get("b")
    assert breaker.state == "OPEN" and breaker.open_until == world.breakers.get("b").open_until
    assert await again.parked(breaker) == 2
    described: Any = await again.describe(breaker)
    assert described["Reason"] == "Opened by hand" and described["OpenSeconds"] == 600


async def test_a_resume_concurrency_releases_several_at_once_and_still_resumes_all(world: World) -> None:
    config = {"Target": TARGET, "ResumeRatePerSecond": 1000, "ResumeConcurrency": 8}
    await world.breakers.put("b", BreakerConfig.from_api(config))
    await world.breakers.control("b", "pause")
    await world.put(*range(40))
    await world.advance(1)
    await world.breakers.control("b", "resume")
    await world.advance(1)
    assert sorted(world.vendor.accepted) == list(range(40)) and len(world.vendor.calls) == 40
    assert await world.breakers.parked(world.breakers.get("b")) == 0
