"""The power-dispatch example as `make run` starts it: ``pipework serve --functions … --load setup.py``, then the
dispatch script's writes arrive on the queue (deletions filtered out) and at the function."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from support.http import wait_for

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "power-dispatch"


def load(name: str) -> Any:
    sys.path.insert(0, str(EXAMPLE))
    try:
        spec = importlib.util.spec_from_file_location(f"power_dispatch_{name}", EXAMPLE / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(EXAMPLE))


def test_power_dispatch_example_runs_from_serve_load(server_process, tmp_path):
    process = server_process(
        tmp_path,
        "--functions",
        str(EXAMPLE / "functions.py"),
        "--load",
        str(EXAMPLE / "setup.py"),
    )
    wait_for(lambda: "power-dispatch example ready" in process.read_output(), timeout=20)
    events = load("dispatch").dispatch(process.endpoint_url, count=3)
    details = sorted((e["detail"]["subjectId"], e["detail"]["megawatts"]) for e in events)
    assert details == [("plant-0", "10"), ("plant-0", "42"), ("plant-1", "20"), ("plant-2", "30")]
    assert {(e["source"], e["detail-type"]) for e in events} == {("energy.dispatch", "PowerDispatch")}
    wait_for(lambda: process.read_output().count("notify_dispatcher: PowerDispatch") == 4)


def test_power_dispatch_setup_is_idempotent(server):
    setup = load("setup")
    first = setup.setup(server.endpoint_url)
    assert setup.setup(server.endpoint_url) == first
    assert server.client("pipes").describe_pipe(Name="power-dispatch")["CurrentState"] == "RUNNING"
