"""Targets: where a matched event (or a pipe's batch, or a schedule's input) is delivered. One module per kind."""

from .base import TargetError

__all__ = ["TargetError"]
