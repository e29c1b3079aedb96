"""A fake voucher vendor: ``GET /status`` (200 ``{"status": "up"}`` or 503 ``{"status": "down"}``) and
``POST /vouchers`` (a voucher per order, idempotent by ``orderId``; 503 while down). Switch it with `down()` / `up()`.

Every call is recorded (`calls`: path, order id, status answered, whether the vendor was up), so a test or a demo
can count what reached the vendor during an outage and in which order vouchers were issued.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Call:
    path: str
    order: str | None
    status: int
    up: bool
    at: float


class Vendor:
    """The vendor, listening on 127.0.0.1 on a free port (`url`) until `close()`."""

    def __init__(self) -> None:
        self.is_up = True
        self.calls: list[Call] = []
        self.vouchers: dict[str, str] = {}  # order id -> voucher code, in the order they were issued
        self.lock = threading.Lock()
        vendor = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                up = vendor.is_up
                vendor.record(Call(self.path, None, 200 if up else 503, up, time.monotonic()))
                self.answer(200 if up else 503, {"status": "up" if up else "down"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                try:
                    order = str(json.loads(self.rfile.read(length) or b"{}").get("orderId"))
                except ValueError:
                    self.answer(400, {"message": "not JSON"})
                    return
                with vendor.lock:
                    up = vendor.is_up
                    vendor.calls.append(Call(self.path, order, 200 if up else 503, up, time.monotonic()))
                    if up:
                        # Idempotent: an order sent twice gets the voucher it already has.
                        code = vendor.vouchers.setdefault(order, f"V-{len(vendor.vouchers) + 1:05d}")
                if not up:
                    self.answer(503, {"message": "vendor is down"})
                    return
                self.answer(200, {"orderId": order, "voucher": code})

            def answer(self, status: int, body: Any) -> None:
                payload = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the caller gave up (a timeout)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def record(self, call: Call) -> None:
        with self.lock:
            self.calls.append(call)

    def down(self) -> None:
        with self.lock:
            self.is_up = False

    def up(self) -> None:
        with self.lock:
            self.is_up = True

    def voucher_calls(self) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.path.startswith("/vouchers")]

    def issued(self) -> list[str]:
        """Order ids in the order their vouchers were issued."""
        with self.lock:
            return list(self.vouchers)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
