"""`aws logs tail` (AWS CLI v2, Debian's `awscli` package at /usr/bin/aws) against a real server: a one-off tail
with `--since` and `--filter-pattern`, and `--follow` printing events written after it started.

Skipped where AWS CLI v2 is absent, except in CI (`CI=true`), where `.ci/run` installs it."""

from __future__ import annotations

import os
import queue
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from pipework.testing import RunningServer

AWS_V2 = Path("/usr/bin/aws")


def _cli_v2() -> bool:
    if not AWS_V2.exists():
        return False
    done = subprocess.run([str(AWS_V2), "--version"], capture_output=True, text=True, timeout=60)
    return done.stdout.startswith("aws-cli/2.")


pytestmark = pytest.mark.skipif(
    os.environ.get("CI") != "true" and not _cli_v2(), reason="AWS CLI v2 (/usr/bin/aws) is not installed"
)


def cli(server: RunningServer, *args: str) -> list[str]:
    return [str(AWS_V2), "--endpoint-url", server.endpoint_url, "--no-cli-pager", *args]


def env() -> dict[str, str]:
    return {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def put(logs: Any, *messages: str) -> None:
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName="/pipes/power",
        logStreamName="power",
        logEvents=[{"timestamp": now + i, "message": m} for i, m in enumerate(messages)],
    )


@pytest.fixture
def logs(server: RunningServer) -> Any:
    client = server.client("logs")
    client.create_log_group(logGroupName="/pipes/power")
    client.create_log_stream(logGroupName="/pipes/power", logStreamName="power")
    return client


def test_aws_logs_tail_prints_the_matching_events_since_a_time(server: RunningServer, logs: Any) -> None:
    assert _cli_v2(), "AWS CLI v2 must be installed in CI (.ci/run installs Debian's awscli)"
    put(logs, "ERROR first", "INFO skipped", "ERROR second")
    done = subprocess.run(
        cli(server, "logs", "tail", "/pipes/power", "--since", "10m", "--filter-pattern", "ERROR"),
        env=env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    # The detailed format: "<timestamp> <stream> <message>".
    assert [line.split(" ", 2)[2] for line in lines] == ["ERROR first", "ERROR second"]
    assert all(line.split(" ", 2)[1] == "power" for line in lines)


def test_aws_logs_tail_follow_prints_events_written_after_it_started(
    server: RunningServer, logs: Any
) -> None:
    assert _cli_v2(), "AWS CLI v2 must be installed in CI (.ci/run installs Debian's awscli)"
    put(logs, "before")
    follow = subprocess.Popen(
        cli(server, "logs", "tail", "/pipes/power", "--follow", "--since", "1h", "--format", "short"),
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert follow.stdout is not None
        for line in follow.stdout:
            lines.put(line.rstrip("\n"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()

    def next_message(timeout: float = 60.0) -> str:
        # The short format: "<timestamp> <message>". The CLI polls every 5 seconds.
        return lines.get(timeout=timeout).split(" ", 1)[1]

    try:
        assert next_message() == "before"
        put(logs, "after one", "after two")
        assert [next_message(), next_message()] == ["after one", "after two"]
        put(logs, "after three")
        assert next_message() == "after three"
        # Nothing is printed twice while the tail keeps polling (two more polls).
        with pytest.raises(queue.Empty):
            lines.get(timeout=11)
    finally:
        follow.terminate()
        follow.wait(timeout=30)
