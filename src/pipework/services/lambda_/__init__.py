"""AWS Lambda: the ``lambda`` API (functions, invocations, asynchronous invocation configuration, event source
mappings) over functions that really run — Python code in worker processes (`pipework.connectors.runtime`) — and
event source mappings run by the pipes engine."""

from __future__ import annotations

from .runtime import Lambda

__all__ = ["Lambda"]
