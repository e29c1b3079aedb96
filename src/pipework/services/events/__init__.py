"""The EventBridge service: buses, rules, targets, PutEvents, archives, replays, connections, API destinations,
and the engine that delivers (the dispatcher) and replays."""

from __future__ import annotations

from .runtime import EventBridge

__all__ = ["EventBridge"]
