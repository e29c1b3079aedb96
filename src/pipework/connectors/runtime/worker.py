"""The worker process of a deployed function (the child's side of `pool.py`): Lambda's Python runtime in small.

Run as a script (``python worker.py``; it imports nothing of Pipework, so a function's own modules can have any
name). It caps its address space at the function's MemorySize, imports the handler's module from the task root (the init
phase: an import error becomes each invocation's error, as Lambda reports an init error), says it is ready, then
answers invocations one at a time: each request and response is one frame (a 4-byte big-endian length, then JSON) on the
process's original stdin / stdout. What the handler prints or logs is captured per invocation and sent back with
its response (the log tail); C-level writes to stdout go to stderr, never into the protocol.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import logging
import os
import resource
import struct
import sys
import time
import traceback
from typing import Any


def _cap_memory() -> None:
    """RLIMIT_AS = MemorySize MiB: an allocation beyond it raises MemoryError in the function (the closest a
    process gets to Lambda's memory limit; see docs/lambda.md)."""
    megabytes = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "0") or 0)
    if megabytes > 0:
        limit = megabytes * 1024 * 1024
        # A hard limit lower than that may already apply: then it stays.
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


class Context:
    """The ``context`` a handler receives (Lambda's LambdaContext attributes)."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.function_name: str = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version: str = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn: str = request.get("arn", "")
        self.memory_limit_in_mb: str = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.aws_request_id: str = request.get("request_id", "")
        self.log_group_name: str = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name: str = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = request.get("client_context")
        self._deadline: float = time.monotonic() + float(request.get("timeout", 3.0))

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class _Capture(io.TextIOBase):
    """Where sys.stdout and sys.stderr write during an invocation."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def text(self) -> str:
        return "".join(self.parts)


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A root logging handler writing to whatever sys.stdout is now (the invocation's capture)."""

    @property
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def _error(kind: str, message: str, request_id: str = "", stack: list[str] | None = None) -> dict[str, Any]:
    return {"errorMessage": message, "errorType": kind, "requestId": request_id, "stackTrace": stack or []}


class Runtime:
    def __init__(self, handler: str) -> None:
        self.handler_name = handler
        self.function: Any = None
        self.init_error: dict[str, Any] | None = None

    def load(self) -> None:
        module_name, _, attribute = self.handler_name.rpartition(".")
        if not module_name:
            self.init_error = _error(
                "Runtime.MalformedHandlerName",
                f"Bad handler '{self.handler_name}': not enough values to unpack",
            )
            return
        try:
            module = importlib.import_module(module_name.replace("/", "."))
        except Exception as exc:
            self.init_error = _error(
                "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}"
            )
            traceback.print_exc()
            return
        function = getattr(module, attribute, None)
        if not callable(function):
            self.init_error = _error(
                "Runtime.HandlerNotFound", f"Handler '{attribute}' missing on module '{module_name}'"
            )
            return
        self.function = function

    def invoke(self, request: dict[str, Any]) -> dict[str, Any]:
        request_id = request.get("request_id", "")
        # The execution role's current credentials: SDK clients made from here on sign with them (Lambda
        # refreshes a sandbox's credentials the same way, through its environment).
        os.environ.update(request.get("credentials") or {})
        if self.init_error is not None:
            return {"error": dict(self.init_error, requestId=request_id)}
        try:
            event = json.loads(request["payload"]) if request.get("payload") else {}
        except ValueError:
            event = request["payload"]
        print(f"START RequestId: {request_id} Version: $LATEST")
        try:
            result = self.function(event, Context(request))
        except BaseException as exc:  # every failure of the handler is the invocation's error
            stack = traceback.format_list(traceback.extract_tb(exc.__traceback__)[1:])
            traceback.print_exc()
            return {"error": _error(type(exc).__name__, str(exc), request_id, [s.rstrip() for s in stack])}
        try:
            payload = json.dumps(result, separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            return {"error": _error("Runtime.MarshalError", f"Unable to marshal response: {exc}", request_id)}
        return {"payload": payload}


def _read(stream: Any) -> dict[str, Any] | None:
    header = stream.read(4)
    if len(header) < 4:
        return None
    (length,) = struct.unpack(">I", header)
    data = stream.read(length)
    return json.loads(data)  # type: ignore[no-any-return]


def _write(stream: Any, message: dict[str, Any]) -> None:
    data = json.dumps(message, separators=(",", ":")).encode("utf-8", "replace")
    stream.write(struct.pack(">I", len(data)) + data)
    stream.flush()


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    task_root = os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    sys.path.insert(0, task_root)
    # The protocol keeps the original stdin / stdout; fd 1 then points at stderr, fd 0 at /dev/null.
    requests = os.fdopen(os.dup(0), "rb")
    responses = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    _cap_memory()
    root = logging.getLogger()
    root.addHandler(_StdoutHandler())
    root.setLevel(logging.INFO)
    runtime = Runtime(os.environ.get("_HANDLER", "lambda_function.lambda_handler"))
    real_out, real_err = sys.stdout, sys.stderr
    # The init phase (importing the handler's module) before the first request, as Lambda's: its time does not
    # count toward an invocation's Timeout; what it prints joins the first invocation's log.
    capture = _Capture()
    sys.stdout = sys.stderr = capture
    try:
        runtime.load()
    finally:
        sys.stdout, sys.stderr = real_out, real_err
    _write(responses, {"ready": True, "logs": capture.text()})
    while True:
        request = _read(requests)
        if request is None:
            return
        capture = _Capture()
        sys.stdout = sys.stderr = capture
        try:
            answer = runtime.invoke(request)
        finally:
            sys.stdout, sys.stderr = real_out, real_err
        answer["logs"] = capture.text()
        _write(responses, answer)


if __name__ == "__main__":
    main()
