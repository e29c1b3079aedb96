"""At-least-once across a crash: every event PutEvents acknowledged is delivered, even when the server is killed
with SIGKILL while producers run and deliveries are in flight."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError

from pipework.store import open_store

LOG_GROUP = "arn:aws:logs:us-east-1:000000000000:log-group:crash"


def delivered_offline(data_dir: Path) -> set[str]:
    """The ids of the events the log group holds, read from the data directory while no server runs."""

    async def read() -> set[str]:
        store = await open_store(str(data_dir))
        ids: set[str] = set()
        try:
            after = 0
            while records := await store.read_log(
                "logs/event/000000000000/us-east-1/crash", after=after, limit=1000
            ):
                ids.update(json.loads(json.loads(r.payload)["m"])["id"] for r in records)
                after = records[-1].position
        finally:
            await store.close()
        return ids

    return asyncio.run(read())


def delivered_ids(server: Any) -> set[str]:
    """The ids of the events the log group holds, through the logs API."""
    pages = server.client("logs").get_paginator("filter_log_events").paginate(logGroupName="crash")
    return {json.loads(event["message"])["id"] for page in pages for event in page["events"]}


@pytest.mark.slow
def test_no_acknowledged_event_is_lost_across_sigkill(server_process, tmp_path: Path) -> None:
    first = server_process(tmp_path)
    events = first.client("events")
    events.put_rule(Name="all", EventPattern=json.dumps({"source": ["crash-test"]}))
    events.put_targets(Rule="all", Targets=[{"Id": "log", "Arn": LOG_GROUP}])

    acknowledged: list[str] = []
    stop = threading.Event()

    def produce(worker: int) -> None:
        client = first.client("events")
        n = 0
        while not stop.is_set():
            entries = [
                {"Source": "crash-test", "DetailType": "t", "Detail": json.dumps({"w": worker, "n": n + i})}
                for i in range(10)
            ]
            n += 10
            try:
                answer = client.put_events(Entries=entries)
            except BotoCoreError:
                return  # the server died mid-call (no answer): this batch was not acknowledged
            if "Entries" not in answer:
                # Killed while writing the answer: botocore parses a cut-off JSON body as an answer without
                # members. Nothing was acknowledged.
                return
            acknowledged.extend(e["EventId"] for e in answer["Entries"] if "EventId" in e)

    unexpected: list[BaseException] = []  # an error answer (not a dead server) would end a producer silently

    def recording(worker: int) -> None:
        try:
            produce(worker)
        except BaseException as error:
            unexpected.append(error)

    producers = [threading.Thread(target=recording, args=(w,)) for w in range(3)]
    for thread in producers:
        thread.start()
    deadline = time.monotonic() + 10
    while len(acknowledged) < 300 and time.monotonic() < deadline:
        time.sleep(0.05)
    first.kill()
    stop.set()
    for thread in producers:
        thread.join(10)
    assert not unexpected
    assert len(acknowledged) >= 300, "the producers made too little progress to test anything"
    assert set(acknowledged) - delivered_offline(tmp_path), (
        "the kill came after every delivery: nothing was tested"
    )

    second = server_process(tmp_path)
    deadline = time.monotonic() + 40  # in-flight leases expire within the dispatcher's visibility (10 s)
    missing = set(acknowledged) - delivered_ids(second)
    while missing and time.monotonic() < deadline:
        time.sleep(0.2)
        missing = set(acknowledged) - delivered_ids(second)
    assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged events were never delivered"
    second.stop()
