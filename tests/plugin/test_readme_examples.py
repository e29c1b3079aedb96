"""The README's Python examples run as written: the SDK example against a real server (boto3 configured only by the
environment, as the README says), and every pytest example through the installed plugin."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["pytester"]

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
TESTS = [block for block in BLOCKS if re.search(r"^def test_", block, flags=re.M)]
SCRIPTS = [block for block in BLOCKS if block not in TESTS]


def test_the_readme_has_both_kinds_of_examples() -> None:
    assert SCRIPTS and TESTS


@pytest.mark.parametrize("index", range(len(SCRIPTS)))
def test_a_readme_script_runs_against_a_server(index: int, server: Any) -> None:
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": server.endpoint_url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPTS[index]], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("index", range(len(TESTS)))
def test_a_readme_pytest_example_passes(index: int, pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_readme=TESTS[index])
    result = pytester.runpytest_subprocess("-p", "pipework", "-q")
    result.assert_outcomes(passed=1)
