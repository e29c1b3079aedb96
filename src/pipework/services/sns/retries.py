"""`DeliveryPolicyRetries`: SNS's retry rule as delivery middleware. A failed delivery is retried by its delivery
policy (carried in the delivery's body): ``numNoDelayRetries`` at once, ``numMinDelayRetries`` after
``minDelayTarget`` seconds, then the backoff phase from ``minDelayTarget`` to ``maxDelayTarget`` by
``backoffFunction``, then ``numMaxDelayRetries`` after ``maxDelayTarget`` — ``numRetries`` retries in all. A client
error (an endpoint that does not exist, an HTTP 4xx) is not retried. Then the delivery goes to the subscription's
dead-letter queue, if it has one.
"""

from __future__ import annotations

from pipework.engine.envelope import Envelope
from pipework.engine.middleware import Middleware, Result
from pipework.engine.retry import GiveUp, Retry
from pipework.jsontypes import JSON


def retry_delay(policy: JSON, retry: int) -> float:
    """Seconds before retry number `retry` (1-based) under `policy` (a healthyRetryPolicy)."""
    no_delay = int(policy.get("numNoDelayRetries", 0))
    min_retries = int(policy.get("numMinDelayRetries", 0))
    max_retries = int(policy.get("numMaxDelayRetries", 0))
    total = int(policy.get("numRetries", 3))
    low = float(policy.get("minDelayTarget", 20))
    high = float(policy.get("maxDelayTarget", 20))
    if retry <= no_delay:
        return 0.0
    if retry <= no_delay + min_retries:
        return low
    backoff = max(0, total - no_delay - min_retries - max_retries)
    step = retry - no_delay - min_retries
    if step > backoff:
        return high
    share = step / backoff
    function = policy.get("backoffFunction", "linear")
    if function == "arithmetic":
        share = share * share
    elif function == "geometric":
        share = share**3
    elif function == "exponential":
        share = (2 ** (share * 10) - 1) / (2**10 - 1)
    return low + (high - low) * share


class DeliveryPolicyRetries(Middleware):
    """Sets ``result.decision`` on every failed SNS delivery (see the module docstring)."""

    def after(self, delivery: Envelope, result: Result) -> None:
        error = result.error
        if error is None:
            return
        if not error.retryable:
            result.decision = GiveUp("")
            return
        policy: JSON = delivery.body["policy"]
        done = delivery.attempt - 1  # retries made before this attempt
        if done >= int(policy.get("numRetries", 3)):
            result.decision = GiveUp("MaximumRetryAttempts")
            return
        result.decision = Retry(result.at + retry_delay(policy, done + 1))
