"""Retry decisions for deliveries: exponential backoff with full jitter, bounded by attempts and event age.

EventBridge retries a failed invocation until MaximumRetryAttempts (default 185) or MaximumEventAgeInSeconds
(default 86400) runs out, whichever comes first; errors that are not retryable skip the retries.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

#: EventBridge's defaults for a target without a RetryPolicy.
DEFAULT_MAXIMUM_RETRY_ATTEMPTS = 185
DEFAULT_MAXIMUM_EVENT_AGE = 86400


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before retry ``n`` (1-based): uniform in [0, min(cap, base * 2 ** (n - 1))] (full jitter)."""

    base: float = 1.0
    cap: float = 300.0

    def delay(self, retry: int, rng: random.Random | None = None) -> float:
        ceiling = min(self.cap, self.base * 2 ** min(retry - 1, 62))
        return (rng or random).uniform(0, ceiling)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """A target's RetryPolicy as the API gives it."""

    maximum_retry_attempts: int = DEFAULT_MAXIMUM_RETRY_ATTEMPTS
    maximum_event_age: float = DEFAULT_MAXIMUM_EVENT_AGE

    @classmethod
    def from_api(cls, value: dict[str, int] | None) -> RetryPolicy:
        value = value or {}
        return cls(
            value.get("MaximumRetryAttempts", DEFAULT_MAXIMUM_RETRY_ATTEMPTS),
            value.get("MaximumEventAgeInSeconds", DEFAULT_MAXIMUM_EVENT_AGE),
        )


@dataclass(frozen=True, slots=True)
class Retry:
    at: float  # when to try again


@dataclass(frozen=True, slots=True)
class GiveUp:
    condition: (
        str  # EXHAUSTED_RETRY_CONDITION: MaximumRetryAttempts | MaximumEventAgeInSeconds | "" (not retryable)
    )


def decide(
    policy: RetryPolicy,
    *,
    attempts: int,
    first_seen: float,
    now: float,
    retryable: bool,
    backoff: Backoff,
    rng: random.Random | None = None,
    not_before: float | None = None,
) -> Retry | GiveUp:
    """After failed attempt number ``attempts`` (1 = the first try): retry when, or give up and why.

    ``not_before`` is a lower bound the target asked for (HTTP ``Retry-After``).
    """
    if not retryable:
        return GiveUp("")
    retries_done = attempts - 1
    if retries_done >= policy.maximum_retry_attempts:
        return GiveUp("MaximumRetryAttempts")
    at = now + backoff.delay(retries_done + 1, rng)
    if not_before is not None and not_before > at:
        at = not_before
    if at - first_seen > policy.maximum_event_age:
        return GiveUp("MaximumEventAgeInSeconds")
    return Retry(at)
