"""The ``function`` target: Lambda functions, addressed as ``arn:aws:lambda:<region>:<account>:function:<name>``.

Two sources, one registry (`Functions`): functions deployed through the Lambda API (looked up through the
`FunctionCatalog` port the Lambda service fills, run in worker processes: `pipework.connectors.runtime`), and local
Python functions (``--functions`` modules, the pytest plugin's dict) — ``handler(event, context)`` run off the event
loop in threads, with a timeout. A local function wins over a deployed one of the same name (the Lambda API
refuses to create one under a local function's name).

`load_functions` reads a module (dotted name) or a ``.py`` file: every public top-level function becomes a
function named after it; a module may instead define ``FUNCTIONS = {"name": callable}``.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import inspect
import itertools
import logging
import os
import queue
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import orjson

from pipework.connectors.runtime import FunctionSpec, InvocationResult, WorkerPool

from .base import INPUT_NOT_JSON, NOT_THIS_KIND, Message, Problem, Sent, TargetError, arn_parts, is_json

if TYPE_CHECKING:
    from typing import Self

    from pipework.connectors.bundle import Connectors
    from pipework.connectors.ports import FunctionCatalog, FunctionCredentials, LogGroups

Handler = Callable[[Any, Any], Any]

log = logging.getLogger("pipework.functions")

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


class _Crew:
    """The worker threads started since the last `HandlerPool.shutdown`, and how many of them wait for a job."""

    def __init__(self) -> None:
        self.threads: list[threading.Thread] = []
        self.idle = 0


class HandlerPool:
    """Worker threads that run handlers and hand their outcomes back to the event loop in batches.

    `run_in_executor` costs, per call, a concurrent future chained to an asyncio future and one wake-up of the loop
    (a write to its self-pipe) per completion. Here a call is one tuple on a `queue.SimpleQueue`, and a completion
    wakes the loop only if no wake-up is pending yet: under a burst, one wake-up resolves every outcome that arrived
    meanwhile. Threads start when a call finds none idle (up to `workers`) and are daemons (a handler still running
    at exit does not block it).
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._crew = _Crew()
        # Outcomes waiting for their loop: (future, ok, value) by loop; a loop's key exists iff a wake-up is pending.
        self._outcomes: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}

    def submit(self, handler: Handler, event: Any, context: Any) -> asyncio.Future[Any]:
        """Run ``handler(event, context)`` on a worker; the future (of the running loop) gets its outcome."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        crew = self._crew
        if crew.idle == 0 and len(crew.threads) < self.workers:  # read without the lock: a hint
            self._start_thread()
        self._jobs.put((loop, future, handler, event, context))
        return future

    def _start_thread(self) -> None:
        with self._lock:
            crew = self._crew
            if len(crew.threads) < self.workers:
                thread = threading.Thread(
                    target=self._work,
                    args=(crew,),
                    name=f"pipework-function-{len(crew.threads)}",
                    daemon=True,
                )
                crew.threads.append(thread)
                thread.start()

    def _work(self, crew: _Crew) -> None:
        try:
            self._serve(crew)
        finally:
            with self._lock:
                crew.threads.remove(threading.current_thread())

    def _serve(self, crew: _Crew) -> None:
        while True:
            with self._lock:
                crew.idle += 1
            job = self._jobs.get()
            with self._lock:
                crew.idle -= 1
            if job is None:
                return
            loop, future, handler, event, context = job
            if future.cancelled():  # timed out (or its caller gone) before it started
                continue
            try:
                outcome = (future, True, handler(event, context))
            except BaseException as exc:  # delivered to the caller, whatever it is
                outcome = (future, False, exc)
            with self._lock:
                pending = self._outcomes.get(loop)
                if pending is not None:
                    pending.append(outcome)
                    continue
                self._outcomes[loop] = [outcome]
            try:
                loop.call_soon_threadsafe(self._resolve, loop)
            except RuntimeError:  # the loop is closed: nobody waits for these outcomes any more
                with self._lock:
                    self._outcomes.pop(loop, None)

    def _resolve(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            outcomes = self._outcomes.pop(loop, [])
        for future, ok, value in outcomes:
            if future.done():  # cancelled on timeout: the outcome has nobody to go to
                continue
            if ok:
                future.set_result(value)
            elif isinstance(value, Exception):
                future.set_exception(value)
            else:  # SystemExit or KeyboardInterrupt in a handler: a failure of that call, not of the server
                future.set_exception(RuntimeError(f"handler raised {type(value).__name__}"))

    def shutdown(self) -> None:
        """Ask the running workers to exit once their current handler returns. A call made afterwards starts a new
        crew, so it always has a worker, whichever threads the exit requests reach first."""
        with self._lock:
            crew, self._crew = self._crew, _Crew()
        for _ in range(len(crew.threads)):
            self._jobs.put(None)


class Functions:
    """The registered functions and how to invoke them.

    Local handlers run on a `HandlerPool` of their own (not the event loop's default executor): no coroutine, task
    or concurrent future wraps the thread hop, which matters when a burst of schedules fires. Deployed functions
    (found through `catalog`, attached by the composition root) run on the `WorkerPool`.

    Parameters:
        functions: local handlers by name. timeout: seconds a local handler may run.
        endpoint_url: the server's URL, which deployed functions' SDKs call (set again once the server listens).
        max_workers: deployed-function invocations running at once. log_directory: where each deployed
            function's log is appended (``lambda/<name>.log``) when no log groups are attached (`attach`); None: nowhere.
    """

    def __init__(
        self,
        functions: dict[str, Handler] | None = None,
        *,
        timeout: float = 3.0,
        endpoint_url: str = "http://localhost:4566",
        max_workers: int = 8,
        log_directory: Path | None = None,
    ) -> None:
        self.functions: dict[str, Handler] = dict(functions or {})
        self.timeout = timeout
        self.endpoint_url = endpoint_url
        self.log_directory = log_directory
        self.catalog: FunctionCatalog | None = None
        #: the execution roles' credentials deployed functions sign with (None: auth off, dummy credentials)
        self.credentials: FunctionCredentials | None = None
        self.log_groups: LogGroups | None = None
        self._log_stream = f"{time.strftime('%Y/%m/%d', time.gmtime())}/[$LATEST]{uuid.uuid4().hex}"
        self.workers = WorkerPool(lambda: self.endpoint_url, max_workers=max_workers)
        # The size asyncio gives its default executor.
        self._pool = HandlerPool(min(32, (os.cpu_count() or 1) + 4))

    def register(self, name: str, handler: Handler) -> None:
        self.functions[name] = handler

    def attach(self, catalog: FunctionCatalog, logs: LogGroups | None = None) -> None:
        """Find deployed functions through ``catalog`` (the Lambda service); write their logs to ``logs``
        (CloudWatch Logs' ``/aws/lambda/<name>``) instead of files."""
        self.catalog = catalog
        self.log_groups = logs

    def shutdown(self) -> None:
        """Stop the worker threads once their current handler returns (a later `invoke` starts new ones)."""
        self._pool.shutdown()

    async def close(self) -> None:
        """Stop the threads (as `shutdown`) and kill the worker processes."""
        self.shutdown()
        await self.workers.close()

    async def deployed(self, arn: str) -> FunctionSpec | None:
        """The deployed function ``arn`` names, or None."""
        if self.catalog is None:
            return None
        return await self.catalog.function_spec(arn)

    async def run(
        self, spec: FunctionSpec, payload: bytes, *, request: str | None = None, client_context: Any = None
    ) -> InvocationResult:
        """One invocation of a deployed function (its error, if any, is in the result, not raised)."""
        rid = request or request_id()
        credentials = (
            await self.credentials.credentials(spec.role, spec.account, spec.name)
            if self.credentials is not None and spec.role
            else None
        )
        result = await self.workers.invoke(
            spec, payload, request_id=rid, client_context=client_context, credentials=credentials
        )
        await self._write_log(spec, rid, result)
        return result

    async def _write_log(self, spec: FunctionSpec, rid: str, result: InvocationResult) -> None:
        millis = result.duration * 1000
        text = (
            f"{result.logs}END RequestId: {rid}\n"
            f"REPORT RequestId: {rid}\tDuration: {millis:.2f} ms\tBilled Duration: {int(millis) + 1} ms\t"
            f"Memory Size: {spec.memory} MB\n"
        )
        if self.log_groups is not None:
            lines = [line for line in text.splitlines() if line]
            try:
                await self.log_groups.write(
                    spec.account, spec.region, f"/aws/lambda/{spec.name}", self._log_stream, lines
                )
            except Exception as exc:  # logs are a convenience: a failing write fails no invocation
                log.warning("cannot write the log of function %s: %s", spec.name, exc)
            return
        if self.log_directory is None:
            return
        try:
            directory = Path(self.log_directory or ".") / "lambda"
            directory.mkdir(parents=True, exist_ok=True)
            with open(directory / f"{spec.name}.log", "a", encoding="utf-8") as out:
                out.write(text)
        except OSError as exc:  # logs are a convenience: an unwritable directory fails no invocation
            log.warning("cannot write the log of function %s: %s", spec.name, exc)

    async def run_local(self, name: str, arn: str, event: Any) -> InvocationResult:
        """One invocation of a local handler, reported like a deployed function's (no logs are captured: local
        handlers share the server's stdout)."""
        started = time.monotonic()
        try:
            value = await self._call_local(name, arn, event)
        except TargetError as exc:
            kind = "Sandbox.Timedout" if exc.code == "TIMEOUT" else "Unhandled"
            cause = exc.__cause__
            if cause is not None:
                kind = type(cause).__name__
            message = str(cause) if cause is not None else exc.message
            document = {"errorMessage": message, "errorType": kind}
            return InvocationResult(orjson.dumps(document), "Unhandled", "", time.monotonic() - started)
        try:
            payload = orjson.dumps(value)
        except TypeError as exc:
            document = {
                "errorMessage": f"Unable to marshal response: {exc}",
                "errorType": "Runtime.MarshalError",
            }
            return InvocationResult(orjson.dumps(document), "Unhandled", "", time.monotonic() - started)
        return InvocationResult(payload, None, "", time.monotonic() - started)

    async def invoke(self, arn: str, event: Any) -> Any:
        """Run the function with ``event``; its result, or `TargetError` (missing, raised, timed out)."""
        name = function_name(arn)
        # A local handler is found without a store read (a burst of schedules invokes them at a high rate).
        spec = None if name in self.functions else await self.deployed(arn)
        if spec is not None:
            result = await self.run(spec, orjson.dumps(event))
            if result.error is None:
                return orjson.loads(result.payload) if result.payload else None
            document = result.error_document()
            kind = str(document.get("errorType", "Unhandled"))
            code = "TIMEOUT" if kind == "Sandbox.Timedout" else "FUNCTION_ERROR"
            raise TargetError(code, f"{kind}: {document.get('errorMessage', '')}")
        return await self._call_local(name, arn, event)

    async def _call_local(self, name: str, arn: str, event: Any) -> Any:
        handler = self.functions.get(name)
        if handler is None:
            raise TargetError("NO_RESOURCE", f"Function not found: {arn}", retryable=False)
        context = Context(name, arn, timeout=self.timeout)
        loop = asyncio.get_running_loop()
        future = self._pool.submit(handler, event, context)
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


class FunctionTarget:
    """Invokes a local function once per message with the message's body as the event (text holding JSON is
    parsed, as Lambda receives JSON); the function's result is the message's response."""

    kind: ClassVar[str] = "function"

    def __init__(self, functions: Functions) -> None:
        self.functions = functions

    @classmethod
    def build(cls, connectors: Connectors) -> Self:
        return cls(connectors.functions)

    @staticmethod
    def matches(arn: str) -> bool:
        parts = arn_parts(arn)
        return parts is not None and parts[2] == "lambda" and parts[5].startswith("function:")

    @staticmethod
    def check(arn: str, sample: Message) -> Problem | None:
        if not FunctionTarget.matches(arn):
            return Problem(NOT_THIS_KIND, arn)
        if isinstance(sample.body, str) and not is_json(sample.body):
            return Problem(INPUT_NOT_JSON, arn)
        return None

    async def send(self, arn: str, messages: Sequence[Message]) -> Sent:
        sent = Sent()
        for message in messages:
            sent.responses.append(await self.functions.invoke(arn, message.json()))
        return sent
