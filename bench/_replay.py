"""Server capacity with boto3's own requests: botocore serializes and signs every request (the bytes boto3 would
send), before the clock starts; during the run a light asyncio client replays them over keep-alive connections.

A boto3 client spends several hundred microseconds of CPU per call, so on a small machine the clients, not the
server, can set the pace (the "busy" column of a benchmark tells). Replaying the prepared requests costs the client a
few tens of microseconds each, so the server under test becomes the limit, and two servers are compared on the same
bytes. Used by bench/tables.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from _peers import make_client


class _Captured(Exception):
    def __init__(self, request: Any) -> None:
        super().__init__("captured")
        self.request = request


def _capture(request: Any, **_: Any) -> None:
    raise _Captured(request)


def prepare(url: str, service: str, calls: Iterator[tuple[str, dict[str, Any]]]) -> list[bytes]:
    """The HTTP/1.1 bytes boto3 sends for each (operation, params) of `calls`, signed, nothing sent."""
    client = make_client(url, service, parameter_validation=False)
    client.meta.events.register("before-send", _capture)
    host = urlsplit(url).netloc
    out: list[bytes] = []
    for operation, params in calls:
        method: Callable[..., Any] = getattr(client, operation)
        try:
            method(**params)
        except _Captured as captured:
            request = captured.request
        else:
            raise RuntimeError("the request was sent")
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        path = urlsplit(request.url)
        target = (path.path or "/") + (f"?{path.query}" if path.query else "")
        lines = [f"{request.method} {target} HTTP/1.1", f"Host: {host}"]
        for name, value in request.headers.items():
            if name.lower() != "host":
                lines.append(f"{name}: {value.decode() if isinstance(value, bytes) else value}")
        if "content-length" not in {name.lower() for name in request.headers}:
            lines.append(f"Content-Length: {len(body)}")
        out.append(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    return out


async def _connection(
    host: str, port: int, requests: list[bytes], position: list[int], stop: float, counts: list[int]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < stop and position[0] < len(requests):
            request = requests[position[0]]
            position[0] += 1
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length, close = 0, False
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
            if length:
                await reader.readexactly(length)
            counts[0 if 200 <= status < 300 else 1] += 1
            if close:
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
    finally:
        writer.close()


def replay(url: str, requests: list[bytes], seconds: float, connections: int) -> tuple[int, int, float]:
    """Send `requests` in order over `connections` keep-alive connections for up to `seconds`:
    (answered 2xx, answered otherwise, elapsed seconds)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    counts = [0, 0]
    position = [0]

    async def run() -> float:
        started = time.perf_counter()
        stop = started + seconds
        await asyncio.gather(
            *(_connection(host, port, requests, position, stop, counts) for _ in range(connections))
        )
        return time.perf_counter() - started

    elapsed = asyncio.run(run())
    return counts[0], counts[1], elapsed
