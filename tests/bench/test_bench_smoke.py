"""The pattern benchmark runs (tiny, a few seconds) and Pipework agrees with its brute-force reference.

LocalStack and moto take part when installed; without them the benchmark measures Pipework alone.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load_bench():
    """bench/patterns.py as module ``bench_patterns`` (it puts bench/ on sys.path; taken off again here)."""
    if "bench_patterns" in sys.modules:
        return sys.modules["bench_patterns"]
    saved = list(sys.path)
    try:
        spec = importlib.util.spec_from_file_location("bench_patterns", BENCH / "patterns.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["bench_patterns"] = module
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path[:] = saved


def test_smoke_run_agrees_with_the_reference(tmp_path, capsys):
    bench = _load_bench()
    out = tmp_path / "result.json"
    assert bench.main(["--smoke", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "pipework agrees with the reference on every set" in printed
    rows = json.loads(out.read_text())
    names = {row["set"] for row in rows}
    assert {"exact", "wildcard", "complex_arrays", "multi_field", "mixed 10"} <= names
    for row in rows:
        assert row["pipework"]["mismatches"] == {}
        assert row["pipework"]["median_events_per_s"] > 0


def test_reference_evaluator_reads_the_pattern_language():
    bench = _load_bench()
    ref = bench.reference_match
    assert ref({"a": {"b": ["1"], "c": ["2"]}}, {"a": [{"b": "1", "c": "2"}]})
    assert not ref({"a": {"b": ["1"], "c": ["2"]}}, {"a": [{"b": "1"}, {"c": "2"}]})
    assert ref({"s": [{"anything-but": {"wildcard": "2*0*1*7"}}]}, {"s": "2107"})
    assert not ref({"s": [{"wildcard": "2*0*1*7"}]}, {"s": "2107"})
    assert ref({"s": [{"wildcard": "2*0*1*7"}]}, {"s": "2001017"})
    assert not ref({"s": [{"anything-but": "x"}]}, {})
    assert ref({"n": [{"numeric": [">", 0, "<=", 5]}]}, {"n": [9, 5]})
    assert ref({"n": [{"exists": False}]}, {"n": {"o": 1}})


def test_citylots_generator_is_deterministic():
    sys.path.insert(0, str(BENCH))
    try:
        from citylots import CityLots
    finally:
        sys.path.remove(str(BENCH))
    assert CityLots(3).lines(50) == CityLots(3).lines(50)
    assert CityLots(3).lines(5) != CityLots(4).lines(5)


def test_cluster_and_soak_smoke_runs(tmp_path):
    """bench/cluster.py (SQLite and one PostgreSQL node, a few hundred events) and bench/soak.py (a few hundred
    deliveries) run end to end and report what they measure."""
    import os
    import subprocess

    from support.postgres import require_postgres

    env = {**os.environ, "PIPEWORK_TEST_POSTGRES": require_postgres()}
    out = tmp_path / "cluster.json"
    run = subprocess.run(
        [sys.executable, str(BENCH / "cluster.py"), "--smoke", "--json", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    rows = {row["config"]: row for row in json.loads(out.read_text())}
    assert set(rows) == {"sqlite", "postgres-1"}
    for row in rows.values():
        assert (
            row["deliveries_per_s"] > 0 and row["sqs_msgs_per_s"] > 0 and row["p99_ms"] >= row["p50_ms"] > 0
        )
    assert rows["postgres-1"]["postgres_cpu_per_1000"] > 0  # the backends' CPU was found
    assert "saturates at N" in run.stdout
    soak = tmp_path / "soak.json"
    run = subprocess.run(
        [
            sys.executable,
            str(BENCH / "soak.py"),
            "--deliveries",
            "500",
            "--threads",
            "2",
            "--json",
            str(soak),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(soak.read_text())
    assert len(result["tenths"]) == 10 and all(rate > 0 for rate in result["tenths"])
    assert any(row["relation"] == "items" for row in result["end"])
