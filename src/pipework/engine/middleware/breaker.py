"""`CircuitBreaker`: the breakers' face on the delivery path. ``before`` parks a delivery whose target's breaker is
not closed (into the breaker's parking queue, until released; no attempt spent); ``after`` reports each attempted
call to the breaker, and parks instead of retrying a counted failure once the breaker is (or has just become) open,
so a failing target's deliveries wait for it without spending retries or reaching the dead letters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipework.engine.envelope import Envelope

from . import Middleware, Park, Result

if TYPE_CHECKING:
    from pipework.engine.breakers import Breakers


class CircuitBreaker(Middleware):
    """Parks and learns for `breakers`; goes after `Retries` in a chain (it overrides the retry decision of a
    failure it parks), before counters.

    Parameters:
        breakers: the instance's breakers.
    """

    def __init__(self, breakers: Breakers) -> None:
        self.breakers = breakers

    def before(self, delivery: Envelope) -> Park | None:
        breaker = self.breakers.for_key(delivery.target)
        if breaker is None or self.breakers.admit(breaker, delivery):
            return None
        return Park(None, f"Breaker {breaker.name} is {breaker.state}", key=breaker.lot)

    def after(self, delivery: Envelope, result: Result) -> None:
        breaker = self.breakers.for_key(delivery.target)
        if breaker is None:
            return
        if result.parked is not None:
            self.breakers.settle(breaker, delivery)
            return
        if self.breakers.outcome(breaker, delivery, result.error, result.at):
            result.parked = Park(None, f"Breaker {breaker.name} is {breaker.state}", key=breaker.lot)
