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
import itertools
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .base import TargetError

Handler = Callable[[Any, Any], Any]

# Request ids: a random per-process UUID prefix plus a counter, UUID-shaped like Lambda's (a uuid4 per invocation
# was a measurable share of a burst's main-thread time).
_REQUEST_PREFIX = str(uuid.uuid4())[:24]
_request_numbers = itertools.count(1)


def request_id() -> str:
    """A new request id, unique in this process and (by its random prefix) across processes."""
    return f"{_REQUEST_PREFIX}{next(_request_numbers) & 0xFFFFFFFFFFFF:012x}"


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
    aws_request_id: str = field(default_factory=request_id)
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
    """The registered functions and how to invoke them.

    Handlers run on a thread pool of their own (not the event loop's default executor), entered with
    `run_in_executor`: no coroutine or task wraps the thread hop, which matters when a burst of schedules fires.
    """

    def __init__(self, functions: dict[str, Handler] | None = None, *, timeout: float = 3.0) -> None:
        self.functions: dict[str, Handler] = dict(functions or {})
        self.timeout = timeout
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def register(self, name: str, handler: Handler) -> None:
        self.functions[name] = handler

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            with self._pool_lock:
                if self._pool is None:
                    # The size asyncio gives its default executor.
                    workers = min(32, (os.cpu_count() or 1) + 4)
                    self._pool = ThreadPoolExecutor(workers, thread_name_prefix="pipework-function")
        return self._pool

    async def invoke(self, arn: str, event: Any) -> Any:
        """Run the function with ``event``; its result, or `TargetError` (missing, raised, timed out)."""
        name = function_name(arn)
        handler = self.functions.get(name)
        if handler is None:
            raise TargetError("NO_RESOURCE", f"Function not found: {arn}", retryable=False)
        context = Context(name, arn, timeout=self.timeout)
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor(), handler, event, context)
        # A thread cannot be killed: on timeout the call is abandoned (its future cancelled) and runs to its end.
        timed_out = False

        def expire() -> None:
            nonlocal timed_out
            if not future.done():
                timed_out = True
                future.cancel()

        timer = loop.call_later(self.timeout, expire)
        try:
            return await future
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if timed_out and (task is None or not task.cancelling()):
                raise TargetError(
                    "TIMEOUT", f"Function {name} timed out after {self.timeout} seconds."
                ) from None
            raise
        except TargetError:
            raise
        except Exception as exc:
            raise TargetError("FUNCTION_ERROR", f"{type(exc).__name__}: {exc}") from exc
        finally:
            timer.cancel()
