"""A real local HTTP server for tests of HTTP targets (API destinations, OAuth token endpoints), and polling."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def wait_for(condition: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll `condition` until it returns something truthy (returned), or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


class Endpoint:
    """Answers every request from `script`, a list of (status, headers, delay) consumed in order (then 200 `{}`),
    and records each request (path, method, headers, body, monotonic time) in `requests`. Requests to
    ``/oauth/token`` get an OAuth access token (`tokens_issued` counts them) and are recorded in `token_requests`.
    """

    def __init__(self) -> None:
        self.script: list[tuple[int, dict[str, str], float]] = []
        self.requests: list[dict[str, Any]] = []
        self.token_requests: list[dict[str, Any]] = []
        self.tokens_issued = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                request = {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": self.rfile.read(length).decode(),
                    "at": time.monotonic(),
                }
                if self.path.startswith("/oauth/token"):
                    outer.token_requests.append(request)
                    outer.tokens_issued += 1
                    self._answer(200, {}, json.dumps({"access_token": f"token-{outer.tokens_issued}"}))
                    return
                outer.requests.append(request)
                status, headers, delay = outer.script.pop(0) if outer.script else (200, {}, 0.0)
                time.sleep(delay)
                self._answer(status, headers, "{}")

            def _answer(self, status: int, headers: dict[str, str], body: str) -> None:
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body.encode())
                except OSError:
                    pass

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
