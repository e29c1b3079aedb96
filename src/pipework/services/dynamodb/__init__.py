"""The DynamoDB service: tables with items, expressions, secondary indexes, TTL and a change stream per table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .api import DynamoDB

if TYPE_CHECKING:
    from pipework.app import Pipework


def create_service(pipework: Pipework) -> DynamoDB:
    return DynamoDB(pipework)


__all__ = ["DynamoDB", "create_service"]
