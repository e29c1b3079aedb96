"""EventBridge Scheduler: the ``scheduler`` API (schedules, groups, tags) and the engine that fires schedules —
at(), rate() and cron() in any time zone — into queues, buses, functions, API destinations and served APIs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .runtime import Scheduler

if TYPE_CHECKING:
    from pipework.app import Pipework


def create_service(pipework: Pipework) -> Scheduler:
    return Scheduler(pipework)


__all__ = ["Scheduler", "create_service"]
