"""The one exception of the transformation library."""

from __future__ import annotations


class TransformError(ValueError):
    """An input setting is invalid (at PutTargets / CreatePipe time) or rendered something undeliverable (at
    delivery time, e.g. a template that produced invalid JSON). The message is meant for the user."""
