"""Amazon SNS: topics (standard and FIFO), subscriptions (sqs, http/https, lambda) with filter policies, raw delivery,
delivery policies and dead-letter queues, and signed messages — served with AWS's query protocol."""

from __future__ import annotations

from .runtime import Sns

__all__ = ["Sns"]
