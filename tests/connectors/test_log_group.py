"""The log-group target: one JSON line per message in the log group's file, stamped with the clock's time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipework.clock import ManualClock
from pipework.connectors.targets import Message
from pipework.connectors.targets.log_group import LogGroupTarget

from .conftest import START

pytestmark = pytest.mark.anyio
ARN = "arn:aws:logs:us-east-1:000000000000:log-group:"


async def test_messages_are_appended_as_json_lines_stamped_by_the_clock(tmp_path: Path) -> None:
    clock = ManualClock(start=START)
    target = LogGroupTarget(tmp_path, clock)
    await target.send(ARN + "/app/orders:*", [Message("one"), Message({"n": 2})])
    clock.advance(1.5)
    await target.send(ARN + "/app/orders", [Message("three")])
    lines = [json.loads(line) for line in (tmp_path / "app_orders.jsonl").read_text().splitlines()]
    assert lines == [
        {"timestamp": int(START * 1000), "message": "one"},
        {"timestamp": int(START * 1000), "message": '{"n":2}'},
        {"timestamp": int(START * 1000) + 1500, "message": "three"},
    ]
