"""The DynamoDB service: tables with items, expressions, secondary indexes, TTL and a change stream per table."""

from __future__ import annotations

from .api import DynamoDB

__all__ = ["DynamoDB"]
