"""The SQS service: standard and FIFO queues over the store's work queues, served with AWS's JSON protocol."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .api import SqsService

if TYPE_CHECKING:
    from pipework.app import Pipework


def create_service(pipework: Pipework) -> SqsService:
    return SqsService(pipework)


__all__ = ["SqsService", "create_service"]
