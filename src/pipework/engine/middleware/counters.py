"""`Counters`: delivery counts per target key and in total, with EventBridge's names where it has one
(Invocations, FailedInvocations, Retries, DeadLetterInvocations) plus Pipework's (DroppedInvocations: given up with
no dead-letter queue reached; Parked: deliveries a middleware kept from being attempted).

Counted in memory since the process started; the metrics issue records them durably per minute.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from pipework.engine.envelope import Envelope
from pipework.engine.retry import Retry

from . import Failure, Middleware, Result


class Counters(Middleware):
    """Counts every outcome under its target key and in `total`; goes after `Retries` in a chain (it reads the
    retry decision)."""

    def __init__(self) -> None:
        self.total: Counter[str] = Counter()
        self.by_target: defaultdict[str, Counter[str]] = defaultdict(Counter)

    def of(self, target: str) -> Counter[str]:
        """The counts of one target key (empty if nothing was delivered to it)."""
        return self.by_target.get(target, Counter())

    def after(self, delivery: Envelope, result: Result) -> None:
        if result.error is None and result.parked is None:  # the hot path, inlined
            self.total["Invocations"] += 1
            self.by_target[delivery.target]["Invocations"] += 1
        elif result.parked is not None:
            self._count(delivery.target, "Parked")
        else:
            self._count(delivery.target, "FailedInvocations")
            if isinstance(result.decision, Retry):
                self._count(delivery.target, "Retries")

    def dead_lettered(self, delivery: Envelope, failure: Failure, sent: bool) -> None:
        self._count(delivery.target, "DeadLetterInvocations" if sent else "DroppedInvocations")

    def _count(self, target: str, name: str) -> None:
        self.total[name] += 1
        self.by_target[target][name] += 1
