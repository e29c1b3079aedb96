"""`Retries`: the one retry rule. After a failed invocation it decides to retry (exponential backoff with full
jitter, no earlier than a target's Retry-After) or to give up: MaximumRetryAttempts, MaximumEventAgeInSeconds (time
parked excluded), or an error retries cannot fix.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from pipework.connectors.targets import TargetError
from pipework.engine.envelope import Envelope
from pipework.engine.retry import Backoff, GiveUp, Retry, decide

from . import Middleware, Result


def retryable_error(error: TargetError) -> bool:
    """The rule for rule targets and schedules: the target says whether its error is retryable."""
    return error.retryable


class Retries(Middleware):
    """Sets ``result.decision`` on every failed invocation (see the module docstring).

    Parameters:
        backoff: the delays between retries (default: 1 s doubling up to 300 s, full jitter).
        rng: randomness for the jitter (seed it in tests).
        retryable: which errors may be retried (default: the error's own ``retryable``); pipes retry any error but
            a malformed template, as AWS does.
    """

    def __init__(
        self,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
        retryable: Callable[[TargetError], bool] = retryable_error,
    ) -> None:
        self.backoff = backoff or Backoff()
        self.rng = rng or random.Random()
        self.retryable = retryable

    def after(self, delivery: Envelope, result: Result) -> None:
        if result.error is not None:
            result.decision = self.decide(delivery, result.error, now=result.at)

    def decide(self, delivery: Envelope, error: TargetError, *, now: float) -> Retry | GiveUp:
        """After `delivery`'s attempt failed with `error` at `now`: retry when, or give up and why."""
        return decide(
            delivery.policy,
            attempts=delivery.attempt,
            first_seen=delivery.first_seen + delivery.parked,  # time parked does not age the delivery
            now=now,
            retryable=self.retryable(error),
            backoff=self.backoff,
            rng=self.rng,
            not_before=now + error.retry_after if error.retry_after is not None else None,
        )
