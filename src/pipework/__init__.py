"""Pipework: an event router that runs EventBridge buses, pipes, schedules, queues and table streams for real."""

__version__ = "0.1.0"
