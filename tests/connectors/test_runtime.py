"""The worker pool on its own: packages unpacked once, warm workers reused per revision, init errors, a handler
that is missing, results that are not JSON, and a timeout that kills the worker."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from pipework.connectors.runtime import FunctionSpec, WorkerPool, pack_directory, unpack
from support.lambdas import package

ARN = "arn:aws:lambda:us-east-1:000000000000:function:f"

CODE = """
import os
print("init")

def handler(event, context):
    return {"pid": os.getpid(), "event": event, "left": context.get_remaining_time_in_millis() > 0}

def not_json(event, context):
    return object()
"""


def spec(
    root: Path, files: dict[str, str], handler: str = "app.handler", timeout: float = 30.0
) -> FunctionSpec:
    directory = unpack(package(files), root)
    return FunctionSpec(
        arn=ARN, name="f", handler=handler, code_dir=directory, revision="r1", timeout=timeout
    )


def run(function: FunctionSpec, event: object) -> tuple[object, str | None]:
    """One invocation on a pool of its own (closed after it): the payload, parsed, and the error kind."""

    async def once() -> tuple[object, str | None]:
        pool = WorkerPool(lambda: "http://127.0.0.1:1")
        try:
            result = await pool.invoke(function, json.dumps(event).encode(), request_id="r")
        finally:
            await pool.close()
        return json.loads(result.payload), result.error

    return asyncio.run(once())


def test_unpacking_is_once_per_package_and_a_directory_packs_reproducibly(tmp_path: Path) -> None:
    first = unpack(package({"app.py": CODE}), tmp_path)
    assert unpack(package({"app.py": CODE}), tmp_path) == first
    assert (first / "app.py").read_text() == CODE
    assert pack_directory(first) == pack_directory(first)


def test_a_warm_worker_serves_the_next_invocation_of_the_same_revision(tmp_path: Path) -> None:
    pool = WorkerPool(lambda: "http://127.0.0.1:1")
    function = spec(tmp_path, {"app.py": CODE})

    async def twice() -> tuple[str, str, object]:
        first = await pool.invoke(function, b'{"n": 1}', request_id="a")
        second = await pool.invoke(function, b'{"n": 2}', request_id="b")
        await pool.close()
        return first.logs, second.logs, (json.loads(first.payload)["pid"], json.loads(second.payload)["pid"])

    first_logs, second_logs, (first_pid, second_pid) = asyncio.run(twice())
    assert first_pid == second_pid
    assert "init" in first_logs and "init" not in second_logs  # the init phase's output, once


def test_an_import_error_is_each_invocations_error(tmp_path: Path) -> None:
    function = spec(tmp_path, {"app.py": "import no_such_module_here\n"})
    payload, error = run(function, {})
    assert error == "Unhandled"
    assert isinstance(payload, dict) and payload["errorType"] == "Runtime.ImportModuleError"
    assert "no_such_module_here" in str(payload["errorMessage"])


def test_a_missing_handler_and_a_result_that_is_not_json(tmp_path: Path) -> None:
    missing = spec(tmp_path, {"app.py": CODE}, handler="app.nope")
    payload, _ = run(missing, {})
    assert isinstance(payload, dict) and payload["errorType"] == "Runtime.HandlerNotFound"
    not_json = spec(tmp_path, {"app.py": CODE}, handler="app.not_json")
    payload, _ = run(not_json, {})
    assert isinstance(payload, dict) and payload["errorType"] == "Runtime.MarshalError"


def test_a_timeout_kills_the_worker(tmp_path: Path) -> None:
    code = "import time\n\ndef handler(event, context):\n    time.sleep(120)\n"
    function = spec(tmp_path, {"app.py": code}, timeout=0.5)
    payload, error = run(function, {})
    assert error == "Unhandled"
    assert isinstance(payload, dict) and payload["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 0.50 seconds" in str(payload["errorMessage"])
