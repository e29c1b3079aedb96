"""The SNS benchmark runs (tiny, a few seconds): every message reaches every subscribed queue on each server."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load_bench():
    """bench/sns.py as module ``bench_sns`` (it puts bench/ on sys.path; taken off again here)."""
    if "bench_sns" in sys.modules:
        return sys.modules["bench_sns"]
    saved = list(sys.path)
    try:
        spec = importlib.util.spec_from_file_location("bench_sns", BENCH / "sns.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["bench_sns"] = module
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path[:] = saved


def test_smoke_run_delivers_every_message_to_every_queue(capsys):
    bench = _load_bench()
    medians = bench.main(["--smoke"])
    printed = capsys.readouterr().out
    assert "| pipework serve (SQLite, fsync) |" in printed
    assert medians["pipework"] > 0
    if bench.available("moto"):
        assert medians["moto"] > 0
        assert "pipework / moto:" in printed
