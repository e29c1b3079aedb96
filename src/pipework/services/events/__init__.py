"""The EventBridge service: buses, rules, targets, PutEvents, archives, replays, connections, API destinations,
and the engine that delivers (the dispatcher) and replays."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .runtime import EventBridge

if TYPE_CHECKING:
    from pipework.app import Pipework


def create_service(pipework: Pipework) -> EventBridge:
    return EventBridge(pipework)


__all__ = ["EventBridge", "create_service"]
