"""Local Python functions as Lambda-style targets: ``handler(event, context)`` run off the event loop, with a
timeout, addressed as ``arn:aws:lambda:<region>:<account>:function:<name>``.

`load_functions` reads a module (dotted name) or a ``.py`` file: every public top-level function becomes a
function named after it; a module may instead define ``FUNCTIONS = {"name": callable}``.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import inspect
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .base import TargetError

Handler = Callable[[Any, Any], Any]


def function_name(arn: str) -> str:
    """The function name of a Lambda ARN (a version or alias suffix is ignored)."""
    parts = arn.split(":")
    if len(parts) < 7 or parts[2] != "lambda" or parts[5] != "function":
        raise TargetError("NO_RESOURCE", f"{arn} is not a function ARN.", retryable=False)
    return parts[6]


@dataclass
class Context:
    """What a handler receives as ``context`` (the attributes of Lambda's that make sense locally)."""

    function_name: str
    invoked_function_arn: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    timeout: float = 3.0
    started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the invocation times out (0 once it has)."""
        return max(0, int((self.timeout - (time.monotonic() - self.started)) * 1000))


def load_functions(spec: str) -> dict[str, Handler]:
    """The functions of a module name or a path to a ``.py`` file."""
    if spec.endswith(".py") or Path(spec).is_file():
        path = Path(spec).resolve()
        module_name = f"pipework_functions_{path.stem}"
        loader_spec = importlib.util.spec_from_file_location(module_name, path)
        if loader_spec is None or loader_spec.loader is None:
            raise ValueError(f"cannot load functions from {spec}")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[module_name] = module
        loader_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(spec)
    table = getattr(module, "FUNCTIONS", None)
    if isinstance(table, dict):
        return {str(k): v for k, v in table.items() if callable(v)}
    return {
        name: value
        for name, value in vars(module).items()
        if not name.startswith("_") and inspect.isfunction(value) and value.__module__ == module.__name__
    }


class Functions:
    """The registered functions and how to invoke them."""

    def __init__(self, functions: dict[str, Handler] | None = None, *, timeout: float = 3.0) -> None:
        self.functions: dict[str, Handler] = dict(functions or {})
        self.timeout = timeout

    def register(self, name: str, handler: Handler) -> None:
        self.functions[name] = handler

    async def invoke(self, arn: str, event: Any) -> Any:
        """Run the function with ``event``; its result, or `TargetError` (missing, raised, timed out)."""
        name = function_name(arn)
        handler = self.functions.get(name)
        if handler is None:
            raise TargetError("NO_RESOURCE", f"Function not found: {arn}", retryable=False)
        context = Context(name, arn, timeout=self.timeout)
        try:
            # A thread cannot be killed: on timeout the call is abandoned and keeps running to its end.
            return await asyncio.wait_for(asyncio.to_thread(handler, event, context), self.timeout)
        except TimeoutError:
            raise TargetError("TIMEOUT", f"Function {name} timed out after {self.timeout} seconds.") from None
        except TargetError:
            raise
        except Exception as exc:
            raise TargetError("FUNCTION_ERROR", f"{type(exc).__name__}: {exc}") from exc
