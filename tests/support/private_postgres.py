"""A PostgreSQL server of the test's own (initdb into a temporary directory, pg_ctl on a free port), for tests that
stop and restart the database: the machine's shared server is never restarted.

As root (CI), the server runs as the `postgres` system user (PostgreSQL refuses to run as root). Without the
server binaries the test skips, except under `CI=true`, where `.ci/run` installs them.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PrivatePostgres:
    """One throwaway PostgreSQL server: `url`, `stop(mode)`, `start()`, `restart()`, `destroy()`."""

    def __init__(self) -> None:
        binaries = _binaries()
        if binaries is None:
            if os.environ.get("CI") == "true":
                pytest.fail("CI needs the PostgreSQL server binaries (initdb, pg_ctl)")
            pytest.skip("the PostgreSQL server binaries (initdb, pg_ctl) are not installed")
        self.bin = binaries
        self.root = Path(tempfile.mkdtemp(prefix="pipework-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            shutil.chown(self.root, "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-U", "pipework", "--auth=trust", "-E", "UTF8")
        self.url = f"postgresql://pipework@127.0.0.1:{self.port}/postgres"
        self.start()

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self._as, str(self.bin / tool), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60"
        )
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start")
        deadline = time.monotonic() + 30
        while True:  # -w waits for the server; make sure TCP answers too
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self, mode: str = "fast") -> None:
        """`fast`: roll back open transactions and shut down cleanly; `immediate`: like a crash (recovery at the
        next start)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
