"""Delivery middleware: small policies that run around every invocation of a target, owned by the engine.

The dispatcher (rule deliveries, schedule invocations) and the pipe runner (enrichment and target stages) call one
`Chain` around each invocation of a target, with the delivery's `Envelope` (target key, first-seen time, retry
policy, attempt number, time parked, body):

- ``before(delivery)`` runs in chain order before the target is called. It may return a `Park`: the delivery is
  then not attempted and spends no attempt; it comes back at ``Park.until`` (clock time), or, with ``until=None``,
  when whoever parked it releases its target key (`Dispatcher.unpark`). Its time parked is carried in the envelope
  and does not count toward MaximumEventAgeInSeconds. The first middleware that parks stops the ``before`` walk.
- ``after(delivery, result)`` runs in chain order after every delivery that went through ``before``: succeeded,
  failed (a `TargetError`, or any exception, wrapped as a retryable INTERNAL_FAILURE) or parked, with the call's
  duration. `Retries` sets ``result.decision`` (retry at / give up) on failures, so middleware that reads the
  decision (counters, metrics) goes after it in the chain. Without a `Retries` a failure is given up at once.
- ``dead_lettered(delivery, failure, sent)`` runs after a given-up delivery was handed to the dead-letter target.

Hooks are plain functions (no awaiting on the hot path); a hook that raises is logged and skipped, never losing the
delivery. Middleware lives in this package, one small module each: `retries` (the one retry rule), `attempts`
(telling the target its attempt number), `counters` (per-target counts and their total). A circuit breaker parks in
``before`` while its target key is open and learns from ``after``; metrics record from ``after``/``dead_lettered``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from pipework.connectors.targets import TargetError
from pipework.engine.envelope import Envelope
from pipework.engine.retry import GiveUp, Retry

log = logging.getLogger("pipework.middleware")

__all__ = ["Chain", "Failure", "Middleware", "Park", "Result"]


@dataclass(frozen=True, slots=True)
class Park:
    """A `before` hook's answer: do not attempt this delivery now.

    Parameters:
        until: clock time at which the delivery is due again; None = until its target key is released.
        reason: why (for logs and the parked deliveries' listing).
        key: with ``until=None``, the parking key it waits under (default: the delivery's target key); a circuit
            breaker parks all of its targets' deliveries under its own key.
    """

    until: float | None = None
    reason: str = ""
    key: str | None = None


@dataclass(slots=True)
class Result:
    """What one invocation came to, as `after` hooks see it.

    Parameters:
        at: clock time when the invocation ended (or was parked).
        duration: seconds the target call took (0 when parked).
        error: the failure, None on success or park; exception: the exception that was not a `TargetError`.
        parked: the `Park` that kept the delivery from being attempted; an `after` hook may set it on a failure
            (a breaker that just opened): the delivery is then parked instead of retried, its attempt uncounted.
        decision: on a failure, what `Retries` decided (`Retry` at a time, or `GiveUp` with the condition).
        held_back: seconds the target held the call back before making it (an API destination's rate limit),
            included in `duration`.
    """

    at: float
    duration: float = 0.0
    error: TargetError | None = None
    exception: BaseException | None = None
    parked: Park | None = None
    decision: Retry | GiveUp | None = None
    held_back: float = 0.0

    @property
    def succeeded(self) -> bool:
        return self.error is None and self.parked is None


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a delivery was given up, as the dead-letter message attributes name it."""

    code: str
    message: str
    condition: str  # EXHAUSTED_RETRY_CONDITION ("" when the error was not retryable)
    attempts: int  # retries made (RETRY_ATTEMPTS)


class Middleware:
    """A policy around invocations; override the hooks you need (the others do nothing and cost nothing)."""

    def before(self, delivery: Envelope) -> Park | None:
        """Called before the target is; return a `Park` to keep the delivery from being attempted now."""
        return None

    def after(self, delivery: Envelope, result: Result) -> None:
        """Called after each delivery that went through `before` (succeeded, failed or parked)."""

    def dead_lettered(self, delivery: Envelope, failure: Failure, sent: bool) -> None:
        """Called once a given-up delivery was handed to the dead-letter target (`sent`: it reached a queue)."""


M = TypeVar("M", bound=Middleware)


class Chain:
    """The middleware of one delivery path, in order (see the module docstring for the hooks' contract).

    Parameters:
        middleware: the policies, in the order their hooks run.
    """

    def __init__(self, middleware: Sequence[Middleware] = ()) -> None:
        self.middleware = tuple(middleware)
        # Only overridden hooks are called: a hook a middleware does not use costs nothing per delivery.
        used = self.middleware
        self._before: list[Callable[[Envelope], Park | None]] = [
            m.before for m in used if _overrides(m, "before")
        ]
        self._after: list[Callable[[Envelope, Result], None]] = [
            m.after for m in used if _overrides(m, "after")
        ]
        self._dead_lettered: list[Callable[[Envelope, Failure, bool], None]] = [
            m.dead_lettered for m in used if _overrides(m, "dead_lettered")
        ]

    def find(self, kind: type[M]) -> M | None:
        """The first middleware of `kind` in the chain, or None."""
        for middleware in self.middleware:
            if isinstance(middleware, kind):
                return middleware
        return None

    def before(self, delivery: Envelope) -> Park | None:
        """Run the `before` hooks in order until one parks the delivery; its `Park`, or None to go ahead.
        A hook that raises fails this attempt (the caller treats it as an INTERNAL_FAILURE of the target)."""
        for hook in self._before:
            park = hook(delivery)
            if park is not None:
                return park
        return None

    def after(self, delivery: Envelope, result: Result) -> None:
        for hook in self._after:
            try:
                hook(delivery, result)
            except Exception:  # a middleware bug must not lose the delivery: the caller still settles it
                log.exception("middleware after-hook %r failed", hook)

    def dead_lettered(self, delivery: Envelope, failure: Failure, sent: bool) -> None:
        for hook in self._dead_lettered:
            try:
                hook(delivery, failure, sent)
            except Exception:  # as in `after`: the dead letter is already kept
                log.exception("middleware dead-letter hook %r failed", hook)


def _overrides(middleware: Middleware, hook: str) -> bool:
    return getattr(type(middleware), hook) is not getattr(Middleware, hook)
