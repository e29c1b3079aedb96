"""`AttemptNumber`: tells the target which attempt it receives, by writing the envelope's attempt number (1 = the
first try; parks do not count) into the body under a key the service chose (the scheduler's
``<aws.scheduler.attempt-number>``).
"""

from __future__ import annotations

from pipework.engine.envelope import Envelope

from . import Middleware, Park


class AttemptNumber(Middleware):
    """Sets ``body[key] = attempt`` before each invocation (the body must be a JSON object).

    Parameters:
        key: the body key the service's target code reads the attempt number from.
    """

    def __init__(self, key: str) -> None:
        self.key = key

    def before(self, delivery: Envelope) -> Park | None:
        delivery.body[self.key] = delivery.attempt
        return None
