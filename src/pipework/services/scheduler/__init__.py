"""EventBridge Scheduler: the ``scheduler`` API (schedules, groups, tags) and the engine that fires schedules —
at(), rate() and cron() in any time zone — into queues, buses, functions, API destinations and served APIs."""

from __future__ import annotations

from .runtime import Scheduler

__all__ = ["Scheduler"]
