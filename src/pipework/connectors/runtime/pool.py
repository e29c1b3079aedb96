"""`WorkerPool`: the server's side of deployed functions — worker processes (`worker.py`) started on demand, kept
warm between invocations of the same function revision, killed when an invocation outlives the function's Timeout.

One worker runs one invocation at a time; at most `max_workers` invocations run at once (the rest wait their
turn). A worker that crashes (exit, signal, MemoryError at import) fails only the invocation it was running.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("pipework.functions")

WORKER_SCRIPT = str(Path(__file__).with_name("worker.py"))
#: Environment variables Lambda reserves: a function's own Variables cannot set them.
RESERVED = frozenset(
    {
        "_HANDLER",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)
#: Seconds a worker's init phase (starting Python, importing the handler's module) may take: Lambda's limit.
INIT_TIMEOUT = 10.0
#: The dummy credentials a function's SDK signs with (Pipework accepts any).
ACCESS_KEY = "pipework"
SECRET_KEY = "pipework"


@dataclass(frozen=True)
class FunctionSpec:
    """What running one revision of a function needs.

    Parameters:
        arn: the unqualified function ARN; name: the function name.
        handler: ``module.function`` (Lambda's Handler); code_dir: the unpacked package (the task root).
        revision: changes with every change of code or configuration (workers of an older one are not reused).
        runtime: Lambda's Runtime (``python3.12``); the worker runs on the server's own Python.
        timeout: seconds an invocation may run; memory: MemorySize in MiB (the worker's address-space cap).
        environment: the function's environment variables; region, account: where its SDK calls go.
        role: the execution role (its temporary credentials are what the SDK signs with when auth is on).
    """

    arn: str
    name: str
    handler: str
    code_dir: Path
    revision: str
    runtime: str = "python3.12"
    timeout: float = 3.0
    memory: int = 128
    environment: dict[str, str] = field(default_factory=dict)
    region: str = "us-east-1"
    account: str = "000000000000"
    role: str = ""


@dataclass(frozen=True)
class InvocationResult:
    """What an invocation came to: the response payload (JSON text bytes), ``error`` ("Unhandled") when the
    payload is an error document, the logs it wrote, and how long it ran (seconds)."""

    payload: bytes
    error: str | None = None
    logs: str = ""
    duration: float = 0.0

    def error_document(self) -> dict[str, Any]:
        """The error payload as JSON (``errorType``, ``errorMessage``, ...); {} when it is not an error."""
        if self.error is None:
            return {}
        try:
            found = json.loads(self.payload)
        except ValueError:
            return {"errorMessage": self.payload.decode("utf-8", "replace")}
        return found if isinstance(found, dict) else {"errorMessage": str(found)}


class _Worker:
    """One worker process and the revision it runs; `init_logs` is what its init phase printed (until an
    invocation takes it)."""

    def __init__(self, process: asyncio.subprocess.Process, revision: str) -> None:
        self.process = process
        self.revision = revision
        self.init_logs = ""

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    async def ready(self) -> bool:
        """Wait for the end of the init phase; False if the worker died first."""
        answer = await self.read()
        if answer is None:
            return False
        self.init_logs = str(answer.get("logs") or "")
        return True

    async def call(self, request: dict[str, Any]) -> dict[str, Any] | None:
        """Send one request and read its answer; None if the worker died first."""
        assert self.process.stdin is not None
        data = json.dumps(request).encode()
        try:
            self.process.stdin.write(struct.pack(">I", len(data)) + data)
            await self.process.stdin.drain()
        except (ConnectionError, BrokenPipeError):
            return None
        return await self.read()

    async def read(self) -> dict[str, Any] | None:
        assert self.process.stdout is not None
        try:
            header = await self.process.stdout.readexactly(4)
            body = await self.process.stdout.readexactly(struct.unpack(">I", header)[0])
        except (asyncio.IncompleteReadError, ConnectionError, BrokenPipeError):
            return None
        answer = json.loads(body)
        return answer if isinstance(answer, dict) else None

    async def kill(self) -> None:
        """Kill the worker's process group (what the function started too) and reap it. Not `Process.kill`:
        Popen polls (reaps) the child first, racing the child watcher, which then reports exit status 255."""
        if self.alive:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            await self.process.wait()


class WorkerPool:
    """Worker processes of deployed functions.

    Parameters:
        endpoint_url: the server's URL as the function's SDK should call it (read at each worker start: a server
            learns its port once it listens).
        max_workers: invocations running at once, across functions. idle_per_function: warm workers kept per
            function between invocations.
    """

    def __init__(
        self, endpoint_url: Callable[[], str], *, max_workers: int = 8, idle_per_function: int = 2
    ) -> None:
        self.endpoint_url = endpoint_url
        self.max_workers = max_workers
        self.idle_per_function = idle_per_function
        self._slots = asyncio.Semaphore(max_workers)
        self._idle: dict[str, list[_Worker]] = {}
        self._busy: set[_Worker] = set()
        self._reaping: set[asyncio.Future[None]] = set()
        self._closed = False

    def environment(self, spec: FunctionSpec, credentials: dict[str, str] | None = None) -> dict[str, str]:
        """The worker's environment: the server's (less its AWS settings), the function's Variables, and what
        Lambda sets — AWS_ENDPOINT_URL pointing at this server, the region, and the execution role's temporary
        `credentials` (dummy ones with auth off)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({k: v for k, v in spec.environment.items() if k not in RESERVED})
        env.update(
            {
                "AWS_ENDPOINT_URL": self.endpoint_url(),
                "AWS_REGION": spec.region,
                "AWS_DEFAULT_REGION": spec.region,
                "AWS_ACCESS_KEY_ID": ACCESS_KEY,
                "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
                "AWS_LAMBDA_FUNCTION_NAME": spec.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
                "AWS_LAMBDA_LOG_STREAM_NAME": f"pipework/[$LATEST]{os.getpid()}",
                "LAMBDA_TASK_ROOT": str(spec.code_dir),
                "_HANDLER": spec.handler,
                "PYTHONUNBUFFERED": "1",
                "PYTHONDONTWRITEBYTECODE": "1",
            }
        )
        env.update(credentials or {})
        env.setdefault("AWS_ENDPOINT_URL", self.endpoint_url())
        return env

    async def _start(self, spec: FunctionSpec, credentials: dict[str, str] | None) -> _Worker:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            WORKER_SCRIPT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=str(spec.code_dir),
            env=self.environment(spec, credentials),
            start_new_session=True,  # a signal to the server's process group does not reach the workers
        )
        return _Worker(process, spec.revision)

    async def invoke(
        self,
        spec: FunctionSpec,
        payload: bytes,
        *,
        request_id: str,
        client_context: Any = None,
        credentials: dict[str, str] | None = None,
    ) -> InvocationResult:
        """Run one invocation of ``spec`` with the event ``payload`` (JSON text); its SDK signs with
        `credentials` (the execution role's; a warm worker is handed the current ones with each invocation)."""
        async with self._slots:
            started = time.monotonic()
            worker = self._take_idle(spec)
            if worker is None:
                worker = await self._start(spec, credentials)
                self._busy.add(worker)
                try:
                    ready = await asyncio.wait_for(worker.ready(), INIT_TIMEOUT)
                except TimeoutError:
                    ready = False
                if not ready:
                    self._busy.discard(worker)
                    await worker.kill()
                    return self._error(
                        "Runtime.InitError",
                        f"RequestId: {request_id} Error: the function's init phase did not finish "
                        f"(exit status {worker.process.returncode})",
                        started,
                    )
            self._busy.add(worker)
            init_logs, worker.init_logs = worker.init_logs, ""
            request = {
                "payload": payload.decode("utf-8", "replace"),
                "request_id": request_id,
                "arn": spec.arn,
                "timeout": spec.timeout,
                "client_context": client_context,
            }
            if credentials:
                request["credentials"] = credentials
            keep = False
            try:
                try:
                    answer = await asyncio.wait_for(worker.call(request), spec.timeout)
                except TimeoutError:
                    return self._error(
                        "Sandbox.Timedout",
                        f"RequestId: {request_id} Error: Task timed out after {spec.timeout:.2f} seconds",
                        started,
                    )
                if answer is None:
                    await worker.kill()
                    code = worker.process.returncode
                    status = f"signal: {-code}" if code is not None and code < 0 else f"exit status {code}"
                    return self._error(
                        "Runtime.ExitError",
                        f"RequestId: {request_id} Error: Runtime exited with error: {status}",
                        started,
                    )
                keep = True
                logs = init_logs + str(answer.get("logs") or "")
                if "error" in answer:
                    return InvocationResult(
                        json.dumps(answer["error"]).encode(), "Unhandled", logs, time.monotonic() - started
                    )
                return InvocationResult(
                    str(answer.get("payload", "null")).encode(), None, logs, time.monotonic() - started
                )
            finally:
                self._busy.discard(worker)
                if keep and not self._closed:
                    self._put_idle(spec, worker)
                else:
                    # Killed on timeout (and every other way out): a worker in an unknown state is not reused.
                    await worker.kill()

    @staticmethod
    def _error(kind: str, message: str, started: float) -> InvocationResult:
        document = {"errorType": kind, "errorMessage": message}
        return InvocationResult(
            json.dumps(document).encode(), "Unhandled", message + "\n", time.monotonic() - started
        )

    def _take_idle(self, spec: FunctionSpec) -> _Worker | None:
        idle = self._idle.get(spec.arn, [])
        while idle:
            worker = idle.pop()
            if worker.alive and worker.revision == spec.revision:
                return worker
            self._discard(worker)
        return None

    def _put_idle(self, spec: FunctionSpec, worker: _Worker) -> None:
        idle = self._idle.setdefault(spec.arn, [])
        if worker.alive and worker.revision == spec.revision and len(idle) < self.idle_per_function:
            idle.append(worker)
        else:
            self._discard(worker)

    def _discard(self, worker: _Worker) -> None:
        task = asyncio.ensure_future(worker.kill())
        self._reaping.add(task)
        task.add_done_callback(self._reaping.discard)

    async def retire(self, arn: str) -> None:
        """Stop the idle workers of a function (changed or deleted); running ones end with their invocation."""
        for worker in self._idle.pop(arn, []):
            await worker.kill()

    async def close(self) -> None:
        """Kill every worker (idle and running)."""
        self._closed = True
        workers = [w for idle in self._idle.values() for w in idle] + list(self._busy)
        self._idle.clear()
        for worker in workers:
            await worker.kill()
