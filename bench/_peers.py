"""The servers benchmarks compare, each started as a subprocess on a free port: `pipework serve` (SQLite store in a
temporary directory, fsync-safe as shipped) and its Python peers (moto's `moto_server`). Shared by the bench scripts.

    with start("pipework", cpus={0}) as peer:
        client = peer.client("sqs")
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

START_TIMEOUT = 30.0
BIN = Path(sys.executable).parent


@dataclass
class Peer:
    """A running server: its `name`, `endpoint_url` and `process` (plus whatever must be removed afterwards)."""

    name: str
    endpoint_url: str
    process: subprocess.Popen[bytes]
    cleanup: list[str] = field(default_factory=list)
    credentials: tuple[str, str] = ("test", "test")

    def client(self, service: str, **config: Any) -> Any:
        return make_client(self.endpoint_url, service, credentials=self.credentials, **config)

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server process has used so far (Linux; 0.0 elsewhere)."""
        try:
            with open(f"/proc/{self.process.pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_client(
    endpoint_url: str, service: str, *, credentials: tuple[str, str] = ("test", "test"), **config: Any
) -> Any:
    """A boto3 client with `credentials` (dummy ones by default) and no retries (a benchmark should see every
    failure)."""
    import boto3
    from botocore.config import Config

    options: dict[str, Any] = {"retries": {"total_max_attempts": 1}, "max_pool_connections": 4}
    options.update(config)
    return boto3.session.Session().client(
        service,
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=credentials[0],
        aws_secret_access_key=credentials[1],
        config=Config(**options),
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


#: The key of `pipework-sigv4`: the same server with --auth sigv4, so one run measures what checking signatures
#: and policies costs. The load runs as SIGV4_USER, whose policy is evaluated on every request.
SIGV4_KEY = ("AKIABENCH0000000001", "bench-secret-000000000000000000000")
SIGV4_USER = ("AKIABENCHUSER000001", "bench-user-secret-0000000000000000")


def write_credentials(data_dir: str) -> str:
    """The credentials file of `pipework-sigv4`: the admin key, and a user allowed sqs:* by a policy."""
    import json

    path = os.path.join(data_dir, "credentials.json")
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}
    keys = [
        {"AccessKeyId": SIGV4_KEY[0], "SecretAccessKey": SIGV4_KEY[1], "Account": "000000000000",
         "Principal": "bench", "Admin": True},
        {"AccessKeyId": SIGV4_USER[0], "SecretAccessKey": SIGV4_USER[1], "Account": "000000000000",
         "Principal": "bench-user", "Policies": [policy]},
    ]  # fmt: skip
    with open(path, "w") as out:
        json.dump({"Keys": keys}, out)
    return path


def commands(name: str, port: int, data_dir: str) -> list[str]:
    """How to start each known peer on `port`."""
    if name == "pipework-sigv4":
        auth = ["--auth", "sigv4", "--credentials", write_credentials(data_dir)]
        return commands("pipework", port, data_dir) + auth
    if name == "pipework":
        return [
            str(BIN / "pipework"),
            "serve",
            "--port",
            str(port),
            "--data",
            data_dir,
            "--log-level",
            "warning",
        ]
    if name == "moto":
        return [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)]
    raise ValueError(f"unknown peer {name!r} (known: pipework, moto)")


def available(name: str) -> bool:
    """Whether the peer's executable is installed (moto comes with `pip install 'moto[server]'`)."""
    executable = {"pipework": "pipework", "pipework-sigv4": "pipework", "moto": "moto_server"}[name]
    return (BIN / executable).exists() or shutil.which(executable) is not None


@contextlib.contextmanager
def start(name: str, *, cpus: Iterable[int] | None = None) -> Iterator[Peer]:
    """Run peer `name` for the duration of the block, pinned to `cpus` if given (Linux), then stop it."""
    port = free_port()
    data_dir = tempfile.mkdtemp(prefix=f"bench-{name}-")
    process = subprocess.Popen(
        commands(name, port, data_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    if cpus is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(process.pid, set(cpus))
    credentials = SIGV4_USER if name == "pipework-sigv4" else ("test", "test")
    peer = Peer(name, f"http://127.0.0.1:{port}", process, [data_dir], credentials)
    try:
        wait_until_answering(peer)
        yield peer
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for path in peer.cleanup:
            shutil.rmtree(path, ignore_errors=True)


def wait_until_answering(peer: Peer) -> None:
    """Wait until the server answers HTTP at all (any status counts)."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if peer.process.poll() is not None:
            raise RuntimeError(f"{peer.name} exited with status {peer.process.returncode} while starting")
        try:
            urllib.request.urlopen(peer.endpoint_url + "/", timeout=1).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{peer.name} did not answer on {peer.endpoint_url}") from None
            time.sleep(0.05)
