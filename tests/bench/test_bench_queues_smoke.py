"""bench/queues.py runs with auth off and on side by side (a tiny run: it works, and prints the cost line)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load_bench():
    if "bench_queues" in sys.modules:
        return sys.modules["bench_queues"]
    saved = list(sys.path)
    try:
        spec = importlib.util.spec_from_file_location("bench_queues", BENCH / "queues.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["bench_queues"] = module
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path[:] = saved


def test_queues_with_auth_off_and_on_in_one_run(capsys):
    bench = _load_bench()
    args = ["--peers", "pipework,pipework-sigv4", "--messages", "100", "--repeat", "1"]
    assert bench.main([*args, "--producers", "1", "--consumers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "pipework serve --auth sigv4" in printed
    assert "auth sigv4 costs" in printed


def test_auth_check_bench_runs(capsys):
    spec = importlib.util.spec_from_file_location("bench_auth_check", BENCH / "auth_check.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--smoke"]) == 0
    assert "µs CPU per request" in capsys.readouterr().out
