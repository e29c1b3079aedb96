"""Fixtures for the SQS tests: a real server with a ManualClock (time moves only when a test says so), its boto3
`sqs` client, and helpers to create queues and move time on the server's event loop."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pipework.app import Settings, asgi_app
from pipework.clock import ManualClock
from pipework.testing import RunningServer

START = 1_800_000_000.0


class Sqs:
    """The server, its clock, and a boto3 client (`client`), with shortcuts used across the SQS tests."""

    def __init__(self, server: RunningServer, clock: ManualClock) -> None:
        self.server = server
        self.clock = clock
        self.client = server.client("sqs")
        # The other services' background loops sleep on the clock too (the server runs them all); once started
        # they stay asleep while the clock stands still, so what SQS adds is counted from here, once every loop has
        # reached its sleep (a move by 0 s returns when all background work is parked on the clock).
        server.advance(0)
        self._idle = self._count()

    def advance(self, seconds: float) -> None:
        """Move the server's clock forward, on its event loop (ManualClock is not thread-safe)."""

        async def advance() -> None:
            self.clock.advance(seconds)

        self.server.run(advance())

    def settle(self) -> None:
        """Return once the work started at the current clock time (e.g. a move task's batch) has run and every
        background task waits on the clock."""
        self.server.advance(0)

    def sleepers(self) -> int:
        """Sleepers on the clock beyond those of the other services' idle loops: SQS's waiting receives and
        move tasks."""
        return self._count() - self._idle

    def _count(self) -> int:
        async def count() -> int:
            return self.clock.sleepers

        return int(self.server.run(count()))

    def create(self, name: str, **attributes: Any) -> str:
        url: str = self.client.create_queue(
            QueueName=name, Attributes={k: str(v) for k, v in attributes.items()}
        )["QueueUrl"]
        return url

    def arn(self, url: str) -> str:
        arn: str = self.client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        return arn

    def attributes(self, url: str, *names: str) -> dict[str, str]:
        found: dict[str, str] = self.client.get_queue_attributes(
            QueueUrl=url, AttributeNames=list(names) or ["All"]
        ).get("Attributes", {})
        return found

    def receive(self, url: str, **params: Any) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = self.client.receive_message(QueueUrl=url, **params).get(
            "Messages", []
        )
        return messages

    def bodies(self, url: str, **params: Any) -> list[str]:
        return [m["Body"] for m in self.receive(url, **params)]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=START)


@pytest.fixture
def sqs(make_server: Callable[..., RunningServer], clock: ManualClock) -> Sqs:
    """A server on a ManualClock (every service; the SQS tests use SQS)."""
    return Sqs(make_server(clock=clock), clock)


@pytest.fixture
def durable_sqs(tmp_path: Path, clock: ManualClock) -> Iterator[Callable[[], Sqs]]:
    """``durable_sqs()`` starts a server on the SQLite store in `tmp_path` (the same directory each time, so
    a second one is the first restarted) and the test's ManualClock; ``sqs.server.stop()`` shuts one down."""
    started: list[RunningServer] = []

    def start() -> Sqs:
        server = RunningServer(asgi_app(Settings(data_dir=tmp_path), clock=clock))
        started.append(server)
        server.start()
        return Sqs(server, clock)

    yield start
    for server in started:
        if not server.loop.is_closed():
            server.stop()
