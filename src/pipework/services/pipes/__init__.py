"""The EventBridge Pipes service: the restJson1 API (`api.py`), the runners that move records from a source to a
target (`pipework.engine.pipes`), and Pipework's extensions: invoke, metrics, dead letters and redrive."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .runtime import Pipes

if TYPE_CHECKING:
    from pipework.app import Pipework


def create_service(pipework: Pipework) -> Pipes:
    return Pipes(pipework)


__all__ = ["Pipes", "create_service"]
