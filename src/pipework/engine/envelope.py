"""The delivery envelope: what the engine needs to deliver a body to a target (target key, first-seen time, retry
policy, attempt number, time spent parked), kept apart from the body, which belongs to the service.

A queued delivery stores its body as the item's payload and its envelope in the item's attributes: the fixed part
under ``"envelope"`` (written once, at enqueue; see `envelope_attributes`) and the parked time as the attributes
``"parked"`` and ``"parked_at"``, which `Store.retry` / `Store.release` merge as they change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import orjson

from pipework.jsontypes import JSON
from pipework.store.base import QueueItem

from .retry import RetryPolicy


@dataclass(slots=True)
class Envelope:
    """One delivery as the engine and its middleware see it.

    Parameters:
        target: the target key (what fails together: a target ARN); per-target counters and breakers use it.
        first_seen: when the delivery's event was first accepted (clock time): its age counts from here.
        policy: the retry policy (attempts and event age).
        body: what the service gave to deliver; the engine never reads it (middleware may, by agreement).
        attempt: this attempt's number, 1 = the first try (parks do not count).
        parked: seconds spent parked so far; excluded from the age (`age`).
        item: the work-queue item id of a queued delivery ("" for a pipe's): what parked deliveries are released by.
    """

    target: str
    first_seen: float
    policy: RetryPolicy
    body: Any
    attempt: int = 1
    parked: float = 0.0
    item: str = ""

    def age(self, now: float) -> float:
        """Seconds since first seen, not counting the time spent parked."""
        return now - self.first_seen - self.parked


def envelope_attributes(*, target: str, first_seen: float, policy: RetryPolicy) -> JSON:
    """The queue item attributes holding a new delivery's envelope (pass them to `Batch.enqueue`).

    The fixed part is one JSON text (``[target, first_seen, MaximumRetryAttempts, MaximumEventAgeInSeconds]``, an
    unbounded age as null): a store copies a string attribute at no cost, where a nested one is copied deeply.
    """
    age = policy.maximum_event_age
    header = [target, first_seen, policy.maximum_retry_attempts, None if math.isinf(age) else age]
    return {"envelope": orjson.dumps(header).decode()}


def parked_seconds(attributes: JSON, now: float) -> float:
    """Seconds a queue item spent parked up to `now`, from its ``parked`` / ``parked_at`` attributes."""
    parked = float(attributes.get("parked") or 0.0)
    parked_at = attributes.get("parked_at")
    if parked_at is not None:
        parked += max(0.0, now - float(parked_at))
    return parked


def open_envelope(item: QueueItem, now: float) -> Envelope:
    """The envelope of a leased queue item, its body parsed from the payload; ``attempt`` is the item's lease count.

    Items enqueued before envelopes existed (rule deliveries and schedule invocations: a payload with ``target``
    (``Arn``, ``RetryPolicy``) and ``ingested`` keys) are read as they were meant: same key, age and policy.
    """
    body = orjson.loads(item.payload)
    attributes = item.attributes
    parked = parked_seconds(attributes, now) if "parked" in attributes else 0.0
    header = attributes.get("envelope")
    if header is not None:
        target, first_seen, attempts, age = orjson.loads(header)
        return Envelope(
            target,
            first_seen,
            RetryPolicy(attempts, math.inf if age is None else age),
            body,
            item.attempts,
            parked,
            item.id,
        )
    target = body.get("target") if isinstance(body, dict) else None
    target = target if isinstance(target, dict) else {}
    first_seen = body.get("ingested", item.enqueued_at) if isinstance(body, dict) else item.enqueued_at
    return Envelope(
        str(target.get("Arn", "")),
        float(first_seen),
        RetryPolicy.from_api(target.get("RetryPolicy")),
        body,
        item.attempts,
        parked,
        item.id,
    )
