"""The bus target against a real instance's EventBridge: entries through PutEvents, a forwarded event keeping its
id, and a missing bus as an error (PutEvents alone would drop the entries silently)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from pipework.app import Pipework
from pipework.connectors.targets import Message, TargetError
from pipework.connectors.targets.bus import BusTarget

from .conftest import call

pytestmark = pytest.mark.anyio
BUS = "arn:aws:events:us-east-1:000000000000:event-bus/"


def capture(pipework: Pipework) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    pipework.events.events.listeners.append(lambda bus, event, rules: seen.append({"bus": bus, **event}))
    return seen


async def test_messages_become_events_with_their_source_detail_type_resources_and_time(
    pipework: Pipework,
) -> None:
    await call(pipework, "events", "CreateEventBus", Name="orders")
    seen = capture(pipework)
    when = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    messages = [
        Message(json.dumps({"n": n}), source="shop", detail_type="Order", resources=("r",), time=when)
        for n in range(12)
    ]
    sent = await BusTarget(pipework.api, pipework.events.events).send(BUS + "orders", messages)
    assert sent.failed == {}
    assert len(sent.responses) == 12 and all("EventId" in r for r in sent.responses)  # two PutEvents calls
    assert [e["detail"]["n"] for e in seen] == list(range(12))
    assert {(e["bus"], e["source"], e["detail-type"], e["time"]) for e in seen} == {
        ("orders", "shop", "Order", "2027-01-01T00:00:00Z")
    }


async def test_an_entry_putevents_refuses_is_a_failed_message(pipework: Pipework) -> None:
    target = BusTarget(pipework.api, pipework.events.events)
    sent = await target.send(
        BUS + "default", [Message("{}", source="shop", detail_type="Order"), Message("{}")]
    )
    assert list(sent.failed) == [1]  # no Source nor DetailType
    assert "EventId" in sent.responses[0]


async def test_a_forwarded_event_keeps_its_id(pipework: Pipework) -> None:
    seen = capture(pipework)
    event = {"version": "0", "id": "e-1", "source": "shop", "detail-type": "Order", "detail": {}}
    await BusTarget(pipework.api, pipework.events.events).send(BUS + "default", [Message(event=event)])
    assert [e["id"] for e in seen] == ["e-1"]


async def test_a_missing_bus_is_not_retryable_and_named_no_resource(pipework: Pipework) -> None:
    with pytest.raises(TargetError) as raised:
        await BusTarget(pipework.api, pipework.events.events).send(BUS + "gone", [Message("{}", source="s")])
    assert (raised.value.code, raised.value.reason, raised.value.retryable) == (
        "ResourceNotFoundException",
        "NO_RESOURCE",
        False,
    )
