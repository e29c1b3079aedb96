"""Circuit breakers: one per target (what fails together), shared by every rule, pipe and schedule delivering to it.

`Breakers` owns them: their configuration and state, kept durably in the store (resource kind ``breaker``); the
state machine (CLOSED → OPEN → HALF_OPEN → CLOSED, and PAUSED by hand); the health checks; and the resume of the
deliveries parked while a breaker was not closed. The `CircuitBreaker` middleware
(`pipework.engine.middleware.breaker`) is its face on the delivery path: it parks deliveries of a breaker that is
not closed into the breaker's parking queue of each dispatcher (`Dispatcher.unpark` / `release`), and reports every
outcome back here. Pipe runners ask `blocked` / `wait_open` before they read their source, so a pipe stops
consuming while its target's or enrichment's breaker is open.

On closing, parked deliveries resume one at a time in the order their events were first accepted, at the resume
rate, before new ones: while a resume runs, new deliveries to the breaker join the parking queue behind the parked
ones. Each state change is announced through `publish` (the composition root puts it on the default bus).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from pipework.clock import Clock
from pipework.connectors.ports import ApiDestinationCatalog
from pipework.connectors.targets import TargetError
from pipework.connectors.targets.base import HELD
from pipework.engine.envelope import Envelope
from pipework.jsontypes import JSON
from pipework.store.base import Store
from pipework.store.waiting import Notifier, wait_either

from .config import BreakerConfig, BreakerConfigError

__all__ = [
    "CLOSED",
    "HALF_OPEN",
    "OPEN",
    "PAUSED",
    "Breaker",
    "BreakerConfig",
    "BreakerConfigError",
    "BreakerNotFound",
    "Breakers",
    "Parking",
    "counts_as_failure",
]

log = logging.getLogger("pipework.breakers")

CLOSED, OPEN, HALF_OPEN, PAUSED = "CLOSED", "OPEN", "HALF_OPEN", "PAUSED"
#: The store resource kind holding each breaker (configuration and state).
KIND = "breaker"
#: Deliveries resumed per second when neither the breaker nor the API destination names a rate.
DEFAULT_RESUME_RATE = 100.0
#: Seconds (clock time) between two sweeps of a breaker's parking queues (stranded deliveries, park retention).
SWEEP = 10.0
#: Seconds (clock time) a resume waits for one released delivery to be settled before it releases the next.
SETTLE_BOUND = 30.0
#: The error codes that count as the target being down: throttling (429), 5xx, timeouts, connection errors.
COUNTED = frozenset({"THROTTLING", "SERVICE_UNAVAILABLE", "TIMEOUT", "INTERNAL_FAILURE", "FUNCTION_ERROR"})
#: The ERROR_CODE of a delivery dead-lettered because it stayed parked longer than the park retention.
PARK_EXPIRED = "PARK_RETENTION_EXCEEDED"
DETAIL_TYPE = "Circuit Breaker State Change"
SOURCE = "pipework.breaker"


def counts_as_failure(error: TargetError) -> bool:
    """Whether a failed call says the target is down (5xx, 429, timeouts, connection errors; never a 4xx)."""
    return error.retryable and error.code in COUNTED


class BreakerNotFound(LookupError):
    """No breaker of that name."""


class Parking(Protocol):
    """Where deliveries are parked: a dispatcher (its parking queues, one per key)."""

    async def parked_items(self, key: str) -> list[tuple[float, int, str]]:
        """(first seen, seq, item id) of every delivery parked under `key`, oldest first seen first."""
        ...

    async def release(self, key: str, item_id: str) -> bool:
        """Make one parked delivery due now; False if it is no longer parked."""
        ...

    async def parked(self, key: str) -> int: ...

    async def expire_parked(self, key: str, item_ids: Sequence[str], code: str, message: str) -> int:
        """Dead-letter these parked deliveries with `code` (their dead-letter queue is told, as for any)."""
        ...


def iso(epoch: float) -> str:
    moment = dt.datetime.fromtimestamp(epoch, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(eq=False)
class Breaker:
    """One breaker's configuration and live state (the durable part is `to_store`)."""

    name: str
    config: BreakerConfig
    state: str = CLOSED
    since: float = 0.0
    reason: str = ""
    open_until: float | None = None
    open_seconds: float = 0.0  # the current open period (doubled after each failed probe)
    failures: int = 0  # consecutive counted failures
    calls: deque[tuple[float, bool]] = field(
        default_factory=deque
    )  # (time, counted failure), for FailureRate
    probe_item: str | None = None  # the parked delivery released as the HALF_OPEN probe
    probe: Envelope | None = None  # the probe delivery in flight
    resuming: bool = False
    releasing: set[str] = field(default_factory=set)
    healthy: int = 0
    unhealthy: int = 0
    held: int = 0  # records pipes hold in memory, not consuming their source

    @property
    def lot(self) -> str:
        """The parking key of this breaker's deliveries in each dispatcher."""
        return f"breaker:{self.name}"

    def to_store(self) -> JSON:
        return {
            "Name": self.name,
            "Config": self.config.to_api(),
            "State": self.state,
            "Since": self.since,
            "Reason": self.reason,
            "OpenUntil": self.open_until,
            "OpenSeconds": self.open_seconds,
        }

    @classmethod
    def from_store(cls, body: JSON) -> Breaker:
        return cls(
            name=body["Name"],
            config=BreakerConfig.from_api(body["Config"]),
            state=body["State"],
            since=float(body["Since"]),
            reason=body.get("Reason") or "",
            open_until=body.get("OpenUntil"),
            open_seconds=float(body.get("OpenSeconds") or 0.0),
        )


Publish = Callable[[Breaker, JSON], Awaitable[None]]


class Breakers:
    """The breakers of an instance (see the module docstring).

    Parameters:
        store, clock: the instance's. http: the client health checks use.
        destinations: API destinations by ARN (a connection's breaker covers each destination that uses it; an API
            destination's InvocationRateLimitPerSecond is its default resume rate).
        publish: awaited with the breaker and the event detail on every state change.
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        http: httpx.AsyncClient,
        destinations: ApiDestinationCatalog,
        publish: Publish | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.http = http
        self.destinations = destinations
        self.publish = publish
        self.breakers: dict[str, Breaker] = {}
        self.parkings: list[Parking] = []
        self._by_key: dict[str, Breaker | None] = {}
        self._tasks: dict[str, list[asyncio.Task[None]]] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._notifier = Notifier()
        self._lock = asyncio.Lock()
        self._started = False

    def attach(self, parking: Parking) -> None:
        """Park into (and resume from) this dispatcher too."""
        self.parkings.append(parking)

    # -- lifecycle -----------------------------------------------------------------------------------------------
    async def load(self) -> None:
        """Read the breakers from the store (before any delivery runs: an open breaker parks from the start)."""
        async for resource in self.store.all_resources(KIND):
            try:
                breaker = Breaker.from_store(resource.body)
            except (KeyError, TypeError, ValueError):
                log.exception("breaker %s: unreadable; skipped", resource.name)
                continue
            self.breakers[breaker.name] = breaker
            # A resume (or a park) interrupted by a stop goes on: the sweep finds what is still parked.

    def start(self) -> None:
        """Run each breaker's loop (open periods, probes, resumes, sweeps) and health checks."""
        self._started = True
        for breaker in self.breakers.values():
            self._run(breaker)

    async def stop(self) -> None:
        self._started = False
        tasks = [t for ts in self._tasks.values() for t in ts] + list(self._background)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    def _run(self, breaker: Breaker) -> None:
        tasks = [asyncio.create_task(self._drive(breaker), name=f"breaker:{breaker.name}")]
        if breaker.config.health_check is not None:
            tasks.append(
                asyncio.create_task(self._check_health(breaker), name=f"breaker:{breaker.name}:health")
            )
        self._tasks[breaker.name] = tasks

    async def _halt(self, name: str) -> None:
        tasks = self._tasks.pop(name, [])
        current = asyncio.current_task()
        for task in tasks:
            if task is not current:
                task.cancel()
        await asyncio.gather(*(t for t in tasks if t is not current), return_exceptions=True)

    # -- configuration (the API's operations) -------------------------------------------------------------------
    def get(self, name: str) -> Breaker:
        breaker = self.breakers.get(name)
        if breaker is None:
            raise BreakerNotFound(f"Breaker {name} does not exist.")
        return breaker

    async def put(self, name: str, config: BreakerConfig) -> Breaker:
        """Create or reconfigure a breaker; a reconfigured one keeps its state (and what it parked)."""
        async with self._lock:
            breaker = self.breakers.get(name)
            if breaker is None:
                breaker = Breaker(name, config, since=self.clock.now())
            else:
                await self._halt(name)
                breaker.config = config
            await self.store.put_resource(KIND, name, breaker.to_store())
            self.breakers[name] = breaker
            self._by_key.clear()
            if self._started:
                self._run(breaker)
            self._changed(breaker)
            return breaker

    async def delete(self, name: str) -> None:
        """Remove a breaker; what it parked resumes (released at once, oldest first seen first)."""
        async with self._lock:
            breaker = self.get(name)
            await self._halt(name)
            await self.store.delete_resource(KIND, name)
            del self.breakers[name]
            self._by_key.clear()
            for parking in self.parkings:
                for _, _, item_id in await parking.parked_items(breaker.lot):
                    await parking.release(breaker.lot, item_id)
            self._notifier.notify(["changed"])

    async def control(self, name: str, action: str) -> Breaker:
        """Manual control: ``open`` (as if tripped: probes may close it), ``close`` (closed now, parked deliveries
        resume), ``pause`` (parks until ``resume``, no probes: a maintenance window), ``resume``."""
        breaker = self.get(name)
        if action == "open":
            self._open(breaker, "Opened by hand", fresh=True)
        elif action == "pause":
            self._enter(breaker, PAUSED, "Paused by hand")
        elif action in ("close", "resume"):
            self._close(breaker, "Closed by hand" if action == "close" else "Resumed by hand")
        else:
            raise BreakerConfigError(f"Unknown action {action}.")
        await self._save(breaker)
        return breaker

    async def describe(self, breaker: Breaker) -> JSON:
        """The breaker as the API shows it: name, target, state, parked count, since, reason and configuration."""
        return {
            "Name": breaker.name,
            "Target": breaker.config.target,
            "State": breaker.state,
            "Parked": await self.parked(breaker),
            "Since": iso(breaker.since),
            "Reason": breaker.reason,
            **{k: v for k, v in breaker.config.to_api().items() if k != "Target"},
        }

    async def parked(self, breaker: Breaker) -> int:
        """Deliveries parked for `breaker` (in every dispatcher) plus the records pipes hold for it."""
        total = breaker.held
        for parking in self.parkings:
            total += await parking.parked(breaker.lot)
        return total

    # -- the delivery path (called by the middleware: plain functions, no awaiting) ----------------------------
    def for_key(self, key: str) -> Breaker | None:
        """The breaker guarding deliveries to the target key `key` (a target ARN), or None."""
        try:
            return self._by_key[key]
        except KeyError:
            pass
        found = next((b for b in self.breakers.values() if self._covers(b.config.target, key)), None)
        self._by_key[key] = found
        return found

    def _covers(self, target: str, key: str) -> bool:
        if not key:
            return False
        if target == key:
            return True
        if ":api-destination/" in key:
            if ":api-destination/" in target:  # an ARN without the destination's id suffix names it too
                return key.startswith(target.rstrip("/") + "/")
            if ":connection/" in target:
                destination = self.destinations.api_destination_by_arn(key)
                return destination is not None and destination.get("ConnectionArn") == target
        return False

    def admit(self, breaker: Breaker, delivery: Envelope) -> bool:
        """Whether `delivery` may call its target now (else it is parked)."""
        state = breaker.state
        if state == CLOSED:
            # While a resume runs, new deliveries queue up behind the parked ones (pipes keep their own order).
            return not breaker.resuming or not delivery.item or delivery.item in breaker.releasing
        if state != HALF_OPEN or breaker.config.health_check is not None or breaker.probe is not None:
            return False
        if breaker.probe_item is not None and delivery.item != breaker.probe_item:
            return False
        breaker.probe = delivery  # the one probe: the released parked delivery, or the first to come
        return True

    def outcome(self, breaker: Breaker, delivery: Envelope, error: TargetError | None, now: float) -> bool:
        """Learn from an attempted call; True when the failed call is to be parked instead of retried (the
        breaker is, or has just become, not closed)."""
        self.settle(breaker, delivery)
        if error is not None and error.code == HELD:
            # Not called: the breaker opened while the call waited for its rate-limit slot. Parked with the others
            # (if it has closed since, the resume picks it up).
            if breaker.state == CLOSED:
                breaker.resuming = True
                self._changed(breaker)
            return True
        counted = error is not None and counts_as_failure(error)
        if breaker.probe is delivery:
            breaker.probe, breaker.probe_item = None, None
            if counted:
                self._open(breaker, f"The probe failed: {error}", fresh=False)
                return True
            self._close(breaker, "The probe succeeded")
            return False
        if breaker.state != CLOSED:
            return counted  # a call begun before the breaker opened: parked, no retry spent
        config = breaker.config
        if counted:
            breaker.failures += 1
        else:
            breaker.failures = 0
        rate = config.failure_rate
        if rate is not None:
            breaker.calls.append((now, counted))
            while breaker.calls and breaker.calls[0][0] < now - rate.window:
                breaker.calls.popleft()
        if not counted:
            return False
        if breaker.failures >= config.failure_threshold:
            self._open(breaker, f"{breaker.failures} consecutive failures; the last: {error}", fresh=True)
            return True
        if rate is not None and len(breaker.calls) >= rate.minimum_calls:
            failed = sum(1 for _, f in breaker.calls if f)
            if failed * 100 >= rate.percent * len(breaker.calls):
                self._open(
                    breaker,
                    f"{failed} of {len(breaker.calls)} calls failed in {rate.window:g} s; the last: {error}",
                    fresh=True,
                )
                return True
        return False

    def settle(self, breaker: Breaker, delivery: Envelope) -> None:
        """A released delivery is done with (attempted, or parked again): the resume may release the next."""
        if delivery.item and delivery.item in breaker.releasing:
            breaker.releasing.discard(delivery.item)
            self._notifier.notify([f"settled:{breaker.name}"])

    # -- pipes: stop consuming while open -----------------------------------------------------------------------
    def admitted(self, target: str) -> bool:
        """Whether a call to `target` that already went through the middleware may still be made (a target that
        waited for its rate limit asks again: the breaker may have opened meanwhile)."""
        breaker = self.for_key(target)
        return breaker is None or breaker.state in (CLOSED, HALF_OPEN)

    def blocked(self, keys: Iterable[str]) -> bool:
        """Whether a delivery to any of these target keys would be parked now (a pipe then does not read)."""
        for key in keys:
            breaker = self.for_key(key)
            if breaker is None or breaker.state == CLOSED:
                continue
            if breaker.state != HALF_OPEN or breaker.config.health_check is not None:
                return True
            if breaker.probe is not None or breaker.probe_item is not None:
                return True
        return False

    async def wait_open(self, keys: Sequence[str], *, until: float | None = None) -> None:
        """Wait (on the clock) until `blocked(keys)` is false, or until `until` (clock time)."""
        while self.blocked(keys):
            future = self._notifier.future("changed")
            if not self.blocked(keys):
                return
            deadline = until if until is not None else self.clock.now() + 3600.0
            fired = await wait_either(future, self.clock, deadline, timer=until is not None)
            if not fired and until is not None and self.clock.now() >= until:
                return

    def hold(self, keys: Iterable[str], records: int) -> None:
        """A pipe holds `records` (read, not delivered) for the breakers of `keys` (negative: no longer)."""
        for key in keys:
            breaker = self.for_key(key)
            if breaker is not None:
                breaker.held = max(0, breaker.held + records)
                return

    # -- transitions -------------------------------------------------------------------------------------------
    def _enter(self, breaker: Breaker, state: str, reason: str) -> None:
        previous = breaker.state
        breaker.state = state
        breaker.since = self.clock.now()
        breaker.reason = reason[:1024]
        breaker.healthy = breaker.unhealthy = 0
        if state != HALF_OPEN:
            breaker.probe, breaker.probe_item = None, None
        if state != OPEN:
            breaker.open_until = None
        log.info("breaker %s: %s -> %s (%s)", breaker.name, previous, state, reason)
        self._spawn(self._announce(breaker, previous))
        self._changed(breaker)

    def _open(self, breaker: Breaker, reason: str, *, fresh: bool) -> None:
        config = breaker.config
        if fresh or breaker.open_seconds <= 0:
            breaker.open_seconds = config.open_seconds
        else:  # a failed probe: twice as long, up to the maximum
            breaker.open_seconds = min(config.max_open_seconds, breaker.open_seconds * 2)
        breaker.failures = 0
        breaker.calls.clear()
        self._enter(breaker, OPEN, reason)
        breaker.open_until = breaker.since + breaker.open_seconds
        self._spawn(self._save(breaker))

    def _close(self, breaker: Breaker, reason: str) -> None:
        breaker.failures = 0
        breaker.calls.clear()
        breaker.open_seconds = 0.0
        breaker.resuming = True  # until the parking queues are found empty
        self._enter(breaker, CLOSED, reason)
        self._spawn(self._save(breaker))

    def _changed(self, breaker: Breaker) -> None:
        self._notifier.notify([breaker.name, "changed", f"settled:{breaker.name}"])

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _save(self, breaker: Breaker) -> None:
        if self.breakers.get(breaker.name) is not breaker:
            return  # deleted meanwhile
        try:
            await self.store.put_resource(KIND, breaker.name, breaker.to_store())
        except Exception:
            log.exception("breaker %s: saving its state failed", breaker.name)

    async def _announce(self, breaker: Breaker, previous: str) -> None:
        if self.publish is None:
            return
        try:
            detail: JSON = {
                "Name": breaker.name,
                "Target": breaker.config.target,
                "State": breaker.state,
                "PreviousState": previous,
                "Reason": breaker.reason,
                "Parked": await self.parked(breaker),
            }
            await self.publish(breaker, detail)
        except Exception:
            log.exception("breaker %s: announcing its state change failed", breaker.name)

    # -- the breaker's own loop: open period, probe release, resume, sweeps ------------------------------------
    async def _drive(self, breaker: Breaker) -> None:
        next_sweep = self.clock.now()
        while True:
            try:
                future = self._notifier.future(breaker.name)
                now = self.clock.now()
                if breaker.state == OPEN and breaker.open_until is not None:
                    if now >= breaker.open_until:
                        self._enter(breaker, HALF_OPEN, "The open period ended; probing")
                        await self._save(breaker)
                        if breaker.config.health_check is None:
                            await self._release_probe(breaker)
                        continue
                    await wait_either(future, self.clock, breaker.open_until, timer=True)
                    continue
                if breaker.state == CLOSED and breaker.resuming:
                    await self._resume(breaker)
                    continue
                if now >= next_sweep:
                    await self._sweep(breaker)
                    next_sweep = self.clock.now() + SWEEP
                    continue
                await wait_either(future, self.clock, next_sweep, timer=False)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("breaker %s: a step failed; going on", breaker.name)
                await self.clock.sleep(1.0)

    async def _parked_in_order(self, breaker: Breaker) -> list[tuple[float, int, Parking, str]]:
        entries: list[tuple[float, int, Parking, str]] = []
        for parking in self.parkings:
            for first_seen, seq, item_id in await parking.parked_items(breaker.lot):
                entries.append((first_seen, seq, parking, item_id))
        entries.sort(key=lambda e: (e[0], e[1]))
        return entries

    async def _release_probe(self, breaker: Breaker) -> None:
        """HALF_OPEN without a health check: the oldest parked delivery is the probe (else the next to come)."""
        for _, _, parking, item_id in await self._parked_in_order(breaker):
            breaker.probe_item = item_id
            if await parking.release(breaker.lot, item_id):
                return
        breaker.probe_item = None
        self._notifier.notify(["changed"])  # pipes may send the probe

    async def _resume(self, breaker: Breaker) -> None:
        """Release the parked deliveries first accepted first, at the resume rate, at most `ResumeConcurrency` at
        once (by default one: each is settled — delivered, failed or parked again — before the next goes)."""
        interval = 1.0 / self._resume_rate(breaker)
        slot = self.clock.now()
        entries = await self._parked_in_order(breaker)
        if not entries:
            breaker.resuming = False  # new deliveries no longer queue behind parked ones
            self._notifier.notify(["changed"])
            return
        for _, _, parking, item_id in entries:
            if breaker.state != CLOSED or self.breakers.get(breaker.name) is not breaker:
                return
            if slot > self.clock.now():
                await self.clock.sleep_until(slot)
            slot = max(slot, self.clock.now()) + interval
            await self._settled(breaker, breaker.config.resume_concurrency - 1)
            if breaker.state != CLOSED:
                return
            breaker.releasing.add(item_id)
            # The item moves back to its dispatcher's queue in one commit: it is parked or due, never both.
            if not await parking.release(breaker.lot, item_id):
                breaker.releasing.discard(item_id)
        await self._settled(breaker, 0)

    async def _settled(self, breaker: Breaker, most: int) -> None:
        """Wait until at most `most` released deliveries are still unsettled (each waited for at most
        `SETTLE_BOUND` seconds: one not seen by then is forgotten)."""
        while len(breaker.releasing) > most:
            if breaker.state != CLOSED:
                breaker.releasing.clear()  # the resume stops; what was released is parked again on its way
                return
            settled = self._notifier.future(f"settled:{breaker.name}")
            if not await wait_either(settled, self.clock, self.clock.now() + SETTLE_BOUND, timer=False):
                breaker.releasing.clear()  # not seen within the bound: go on without them
                return

    def _resume_rate(self, breaker: Breaker) -> float:
        if breaker.config.resume_rate is not None:
            return breaker.config.resume_rate
        destination = (
            self.destinations.api_destination_by_arn(breaker.config.target)
            if ":api-destination/" in breaker.config.target
            else None
        )
        rate = (destination or {}).get("InvocationRateLimitPerSecond")
        return float(rate) if isinstance(rate, int | float) and rate > 0 else DEFAULT_RESUME_RATE

    async def _sweep(self, breaker: Breaker) -> None:
        """Dead-letter what stayed parked past the retention; resume what a closed breaker still has parked."""
        # Which breaker covers which key is cached: forget it now and then (an API destination may have moved to
        # another connection).
        self._by_key.clear()
        now = self.clock.now()
        limit = now - breaker.config.park_retention
        found = False
        for parking in self.parkings:
            items = await parking.parked_items(breaker.lot)
            found = found or bool(items)
            expired = [item_id for first_seen, _, item_id in items if first_seen < limit]
            if expired:
                await parking.expire_parked(
                    breaker.lot,
                    expired,
                    PARK_EXPIRED,
                    f"The delivery stayed parked by breaker {breaker.name} longer than "
                    f"{breaker.config.park_retention:g} seconds after its event was accepted.",
                )
        if found and breaker.state == CLOSED:
            breaker.resuming = True

    # -- health checks -----------------------------------------------------------------------------------------
    async def _check_health(self, breaker: Breaker) -> None:
        check = breaker.config.health_check
        assert check is not None
        while True:
            future = self._notifier.future(breaker.name)
            active = breaker.state in (OPEN, HALF_OPEN) or (breaker.state == CLOSED and check.while_closed)
            if not active:
                await wait_either(future, self.clock, self.clock.now() + 3600.0, timer=False)
                continue
            passed = await self._probe(check)
            self._health(breaker, passed)
            with contextlib.suppress(Exception):
                await wait_either(
                    self._notifier.future(f"health:{breaker.name}"),
                    self.clock,
                    self.clock.now() + check.interval,
                    timer=True,
                )

    async def _probe(self, check: Any) -> bool:
        try:
            response = await self.http.request(check.method, check.url, timeout=check.timeout)
        except httpx.HTTPError:
            return False
        return response.status_code in check.expect_status

    def _health(self, breaker: Breaker, passed: bool) -> None:
        check = breaker.config.health_check
        assert check is not None
        if passed:
            breaker.healthy += 1
            breaker.unhealthy = 0
        else:
            breaker.unhealthy += 1
            breaker.healthy = 0
        state = breaker.state
        if state == HALF_OPEN:
            if passed:
                self._close(breaker, "The health check passed")
            else:
                self._open(breaker, "The health check failed", fresh=False)
        elif state == OPEN and passed and breaker.healthy >= check.healthy_threshold:
            self._close(breaker, f"{breaker.healthy} health checks passed")
        elif state == CLOSED and not passed and breaker.unhealthy >= check.unhealthy_threshold:
            self._open(breaker, f"{breaker.unhealthy} health checks failed", fresh=True)
