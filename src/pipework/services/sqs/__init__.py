"""The SQS service: standard and FIFO queues over the store's work queues, served with AWS's JSON protocol."""

from __future__ import annotations

from .api import SqsService

__all__ = ["SqsService"]
