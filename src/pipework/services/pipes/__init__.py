"""The EventBridge Pipes service: the restJson1 API (`api.py`), the runners that move records from a source to a
target (`pipework.engine.pipes`), and Pipework's extensions: invoke, metrics, dead letters and redrive."""

from __future__ import annotations

from .runtime import Pipes

__all__ = ["Pipes"]
