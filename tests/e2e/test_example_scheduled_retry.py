"""examples/scheduled-retry end to end: the consumer's failures become at() schedules that put the message back
after 60 s and 120 s and delete themselves; the third failure dead-letters it. boto3 over real HTTP, injected clock."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from pipework.clock import ManualClock

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "scheduled-retry" / "consumer.py"


def load_example() -> Any:
    spec = importlib.util.spec_from_file_location("scheduled_retry_consumer", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_failing_message_is_retried_by_schedules_with_backoff_then_dead_lettered(make_server: Any) -> None:
    example = load_example()
    clock = ManualClock(start=1_800_000_000.0)
    srv = make_server(clock=clock)
    sqs, scheduler = srv.client("sqs"), srv.client("scheduler")
    queues = example.setup(sqs)
    sqs.send_message(QueueUrl=queues["url"], MessageBody=json.dumps({"payload": {"order": 42}, "attempt": 1}))
    seen: list[Any] = []

    def process(payload: Any) -> None:
        seen.append(payload)
        raise RuntimeError("payment service unavailable")

    def step() -> str | None:
        return example.handle_one(sqs, scheduler, queues, process, now=clock.now)

    assert step() == "retry-scheduled"
    [schedule] = scheduler.list_schedules()["Schedules"]
    assert scheduler.get_schedule(Name=schedule["Name"])["ScheduleExpression"] == "at(2027-01-15T08:01:00)"
    srv.advance(59)
    assert step() is None  # not back before the backoff has passed
    srv.advance(1)
    assert step() == "retry-scheduled"  # attempt 2 failed: the next wait is 120 s
    assert len(scheduler.list_schedules()["Schedules"]) == 1  # the first schedule deleted itself
    srv.advance(120)
    assert step() == "dead-lettered"
    srv.advance(0)
    assert scheduler.list_schedules()["Schedules"] == []
    dead = sqs.receive_message(QueueUrl=queues["dlq_url"])["Messages"][0]
    body = json.loads(dead["Body"])
    assert body["attempt"] == 3 and body["payload"] == {"order": 42} and "unavailable" in body["error"]
    assert seen == [{"order": 42}] * 3
