"""The EventBridge engine in process: PutEvents routing into the outbox, the dispatcher's retries with backoff on
an injected clock, dead-lettering with the full payload, redrive to the one failed target, archives and replays.
Targets here are real local ones (functions and log files); queues and HTTP are covered end to end in tests/e2e.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from pipework.app import Pipework, Settings
from pipework.clock import ManualClock
from pipework.services.base import RequestContext, ServiceError
from pipework.services.events import model
from pipework.services.events.api import EventsService

pytestmark = pytest.mark.anyio
FN = "arn:aws:lambda:us-east-1:000000000000:function:"


class Engine:
    """An instance built as the server builds it (`Pipework.open`), in memory, on a ManualClock; tests drive its
    events dispatcher with `drain()` and the clock."""

    def __init__(self, pipework: Pipework, clock: ManualClock) -> None:
        self.pipework = pipework
        self.clock = clock
        self.store = pipework.store
        self.events = pipework.events.events
        self.here = self.events.regional("000000000000", "us-east-1")  # what requests of us-east-1 see
        self.dispatcher = pipework.events.dispatcher
        self.replayer = pipework.events.replayer
        self.functions = pipework.functions
        self.calls: dict[str, list[Any]] = {}
        self.failures: dict[str, int] = {}

    def function(self, name: str, fail_times: int = 0) -> str:
        self.calls[name] = []
        self.failures[name] = fail_times

        def handler(event: Any, context: Any) -> None:
            self.calls[name].append(event)
            if self.failures[name] > 0:
                self.failures[name] -= 1
                raise RuntimeError("downstream unavailable")

        self.functions.register(name, handler)
        return FN + name

    async def call(self, operation: str, **params: Any) -> dict[str, Any]:
        ctx = RequestContext("events", operation, "us-east-1", "000000000000", "req")
        return await self.pipework.events.handle(operation, params, ctx)

    async def put(self, detail: dict[str, Any], **entry: Any) -> dict[str, Any]:
        base = {"Source": "orders", "DetailType": "OrderPlaced", "Detail": json.dumps(detail)}
        base.update(entry)
        return await self.call("PutEvents", Entries=[base])


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    clock = ManualClock(start=1_800_000_000.0)
    settings = Settings(memory=True, function_timeout=2.0, log_dir=tmp_path / "logs")
    pipework = await Pipework.open(settings, clock=clock)
    yield Engine(pipework, clock)
    await pipework.close()


async def test_put_events_delivers_to_every_target_of_every_matching_rule(engine: Engine):
    a, b = engine.function("a"), engine.function("b")
    await engine.call(
        "PutRule", Name="big", EventPattern=json.dumps({"detail": {"total": [{"numeric": [">", 100]}]}})
    )
    await engine.call("PutRule", Name="all", EventPattern=json.dumps({"source": ["orders"]}))
    await engine.call("PutTargets", Rule="big", Targets=[{"Id": "1", "Arn": a}])
    await engine.call("PutTargets", Rule="all", Targets=[{"Id": "1", "Arn": a}, {"Id": "2", "Arn": b}])
    result = await engine.put({"total": 150})
    assert result["FailedEntryCount"] == 0
    assert (await engine.store.counts(model.DELIVERIES)).visible == 3  # committed before PutEvents answered
    await engine.dispatcher.drain()
    assert len(engine.calls["a"]) == 2 and len(engine.calls["b"]) == 1
    event = engine.calls["b"][0]
    assert list(event) == [
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    ]
    assert event["id"] == result["Entries"][0]["EventId"]
    assert event["detail"] == {"total": 150}


async def test_disabled_rule_and_rule_changes_apply_to_the_next_event(engine: Engine):
    a = engine.function("a")
    await engine.call("PutRule", Name="r", EventPattern=json.dumps({"source": ["orders"]}))
    await engine.call("PutTargets", Rule="r", Targets=[{"Id": "1", "Arn": a}])
    await engine.call("DisableRule", Name="r")
    await engine.put({})
    await engine.call("EnableRule", Name="r")
    await engine.put({})
    await engine.call("PutRule", Name="r", EventPattern=json.dumps({"source": ["other"]}))
    await engine.put({})
    await engine.dispatcher.drain()
    assert len(engine.calls["a"]) == 1


async def test_input_transformer_shapes_what_the_target_receives(engine: Engine):
    a = engine.function("a")
    await engine.call("PutRule", Name="r", EventPattern=json.dumps({"source": ["orders"]}))
    target = {
        "Id": "1",
        "Arn": a,
        "InputTransformer": {
            "InputPathsMap": {"total": "$.detail.total"},
            "InputTemplate": '{"amount": <total>, "rule": "<aws.events.rule-name>"}',
        },
    }
    await engine.call("PutTargets", Rule="r", Targets=[target])
    await engine.put({"total": 7})
    await engine.dispatcher.drain()
    assert engine.calls["a"] == [{"amount": 7, "rule": "r"}]


async def test_failed_delivery_is_retried_with_backoff_until_it_succeeds(engine: Engine):
    a = engine.function("a", fail_times=2)
    await engine.call("PutRule", Name="r", EventPattern=json.dumps({"source": ["orders"]}))
    await engine.call("PutTargets", Rule="r", Targets=[{"Id": "1", "Arn": a}])
    await engine.put({})
    await engine.dispatcher.drain()
    assert len(engine.calls["a"]) == 1
    counts = await engine.store.counts(model.DELIVERIES)
    assert counts.delayed == 1  # waiting for its backoff, not busy-retrying
    for _ in range(20):
        engine.clock.advance(60)
        await engine.dispatcher.drain()
    assert len(engine.calls["a"]) == 3
    assert (await engine.store.counts(model.DELIVERIES)).visible == 0
    assert engine.dispatcher.metrics["Retries"] == 2


async def test_exhausted_retries_keep_the_full_event_and_redrive_resends_to_that_target_only(engine: Engine):
    bad, good = engine.function("bad", fail_times=100), engine.function("good")
    await engine.call("PutRule", Name="r", EventPattern=json.dumps({"source": ["orders"]}))
    await engine.call(
        "PutTargets",
        Rule="r",
        Targets=[
            {
                "Id": "bad",
                "Arn": bad,
                "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600},
            },
            {"Id": "good", "Arn": good},
        ],
    )
    await engine.put({"n": 1})
    for _ in range(10):
        await engine.dispatcher.drain()
        engine.clock.advance(600)
    assert len(engine.calls["bad"]) == 3  # the first try and 2 retries
    dead = await engine.store.list_dead_letters(model.DELIVERIES)
    assert len(dead) == 1
    assert dead[0].error["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
    assert dead[0].error["RETRY_ATTEMPTS"] == "2"
    assert orjson.loads(dead[0].payload)["event"]["detail"] == {"n": 1}
    engine.failures["bad"] = 0
    assert await engine.store.redrive(model.DELIVERIES) == 1
    await engine.dispatcher.drain()
    assert len(engine.calls["bad"]) == 4 and len(engine.calls["good"]) == 1


async def test_event_age_limit_gives_up_before_the_attempts_run_out(engine: Engine):
    bad = engine.function("bad", fail_times=100)
    await engine.call("PutRule", Name="r", EventPattern=json.dumps({"source": ["orders"]}))
    policy = {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 60}
    await engine.call("PutTargets", Rule="r", Targets=[{"Id": "bad", "Arn": bad, "RetryPolicy": policy}])
    await engine.put({})
    for _ in range(30):
        await engine.dispatcher.drain()
        engine.clock.advance(30)
    dead = await engine.store.list_dead_letters(model.DELIVERIES)
    assert [d.error["EXHAUSTED_RETRY_CONDITION"] for d in dead] == ["MaximumEventAgeInSeconds"]


async def test_missing_function_is_not_retried(engine: Engine):
    await engine.call("PutRule", Name="r", EventPattern=json.dumps({"source": ["orders"]}))
    await engine.call("PutTargets", Rule="r", Targets=[{"Id": "x", "Arn": FN + "nowhere"}])
    await engine.put({})
    await engine.dispatcher.drain()
    dead = await engine.store.list_dead_letters(model.DELIVERIES)
    assert dead[0].error["ERROR_CODE"] == "NO_RESOURCE"
    assert dead[0].error["RETRY_ATTEMPTS"] == "0"


async def test_an_object_inside_a_string_of_a_json_template_is_dead_lettered_not_delivered(engine: Engine):
    fn = engine.function("f")
    await engine.call("PutRule", Name="r", EventPattern=json.dumps({"source": ["orders"]}))
    in_string = {
        "InputPathsMap": {"p": "$.detail.payload"},
        "InputTemplate": '{"path": "users/<p>", "body": <p>}',
    }
    plain = {"InputPathsMap": {"p": "$.detail.payload"}, "InputTemplate": "Payload of <p>"}
    targets = [
        {"Id": "json", "Arn": fn, "InputTransformer": in_string},
        {"Id": "text", "Arn": fn, "InputTransformer": plain},
    ]
    await engine.call("PutTargets", Rule="r", Targets=targets)
    await engine.put({"payload": {"acc_id": "0a78", "sf_id": "baz"}})
    await engine.dispatcher.drain()
    assert engine.calls["f"] == ["Payload of {acc_id:0a78,sf_id:baz}"]
    dead = await engine.store.list_dead_letters(model.DELIVERIES)
    assert [orjson.loads(d.payload)["target"]["Id"] for d in dead] == ["json"]
    assert dead[0].error["ERROR_CODE"] == "INVALID_JSON" and dead[0].error["RETRY_ATTEMPTS"] == "0"


async def test_log_target_writes_each_event_to_the_log_group(engine: Engine, tmp_path: Path):
    arn = "arn:aws:logs:us-east-1:000000000000:log-group:/pipework/orders"
    await engine.call("PutRule", Name="r", EventPattern=json.dumps({"source": ["orders"]}))
    await engine.call("PutTargets", Rule="r", Targets=[{"Id": "log", "Arn": arn}])
    await engine.put({"n": 1})
    await engine.put({"n": 2})
    await engine.dispatcher.drain()
    ctx = RequestContext("logs", "FilterLogEvents", "us-east-1", "000000000000", "test")
    found = await engine.pipework.logs.handle("FilterLogEvents", {"logGroupName": "/pipework/orders"}, ctx)
    events = [json.loads(event["message"]) for event in found["events"]]
    assert sorted(event["detail"]["n"] for event in events) == [1, 2]
    # One stream per event, named after its id, as EventBridge writes them.
    assert {event["logStreamName"] for event in found["events"]} == {event["id"] for event in events}


async def test_event_bus_target_routes_the_same_event_on_the_other_bus(engine: Engine):
    a = engine.function("a")
    await engine.call("CreateEventBus", Name="downstream")
    await engine.call("PutRule", Name="fwd", EventPattern=json.dumps({"source": ["orders"]}))
    bus_arn = engine.here.buses["downstream"].arn
    await engine.call("PutTargets", Rule="fwd", Targets=[{"Id": "bus", "Arn": bus_arn}])
    await engine.call(
        "PutRule", Name="r", EventBusName="downstream", EventPattern=json.dumps({"source": ["orders"]})
    )
    await engine.call("PutTargets", Rule="r", EventBusName="downstream", Targets=[{"Id": "1", "Arn": a}])
    result = await engine.put({})
    await engine.dispatcher.drain()
    assert engine.calls["a"][0]["id"] == result["Entries"][0]["EventId"]


async def test_put_events_validates_each_entry_and_drops_unknown_buses_silently(engine: Engine):
    result = await engine.call(
        "PutEvents",
        Entries=[
            {"Source": "s", "DetailType": "t", "Detail": "[1]"},
            {"DetailType": "t", "Detail": "{}"},
            {"Source": "s", "DetailType": "t", "Detail": "{}", "EventBusName": "nope"},
            {"Source": "s", "DetailType": "t", "Detail": '{"a": 1}'},
        ],
    )
    assert result["FailedEntryCount"] == 2
    assert result["Entries"][0] == {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    assert (
        result["Entries"][1]["ErrorMessage"]
        == "Parameter Source is not valid. Reason: Source is a required argument."
    )
    assert "EventId" in result["Entries"][2] and "EventId" in result["Entries"][3]
    with pytest.raises(ServiceError, match="Total size"):
        await engine.call(
            "PutEvents",
            Entries=[{"Source": "s", "DetailType": "t", "Detail": json.dumps({"x": "y" * 300_000})}],
        )


async def test_archive_keeps_matching_events_and_replay_resends_the_window(engine: Engine):
    a = engine.function("a")
    bus_arn = engine.here.buses["default"].arn
    archive = await engine.call(
        "CreateArchive",
        ArchiveName="orders",
        EventSourceArn=bus_arn,
        EventPattern=json.dumps({"source": ["orders"]}),
    )
    t0 = engine.clock.now()
    await engine.put({"n": 1})
    await engine.put({"n": 2}, Source="other")
    engine.clock.advance(120)
    await engine.put({"n": 3})
    described = await engine.call("DescribeArchive", ArchiveName="orders")
    assert described["EventCount"] == 2 and described["SizeBytes"] > 0
    await engine.call("PutRule", Name="r", EventPattern=json.dumps({"source": ["orders"]}))
    await engine.call(
        "PutTargets",
        Rule="r",
        Targets=[{"Id": "1", "Arn": a, "InputPath": "$.replay-name"}],
    )
    started = await engine.call(
        "StartReplay",
        ReplayName="again",
        EventSourceArn=archive["ArchiveArn"],
        EventStartTime=t0 - 1,
        EventEndTime=t0 + 60,
        Destination={"Arn": bus_arn},
    )
    assert started["State"] == "STARTING"
    await engine.replayer.wait("again")
    described = await engine.call("DescribeReplay", ReplayName="again")
    assert described["State"] == "COMPLETED"
    assert described["EventLastReplayedTime"] == t0 + 60
    await engine.dispatcher.drain()
    assert engine.calls["a"] == ["again"]  # only the event inside the window, tagged, and never re-archived
    assert (await engine.call("DescribeArchive", ArchiveName="orders"))["EventCount"] == 2


async def test_replay_validation_matches_aws(engine: Engine):
    bus_arn = engine.here.buses["default"].arn
    archive = await engine.call("CreateArchive", ArchiveName="a", EventSourceArn=bus_arn)
    with pytest.raises(ServiceError, match="EventStartTime must be before EventEndTime"):
        await engine.call(
            "StartReplay",
            ReplayName="r",
            EventSourceArn=archive["ArchiveArn"],
            EventStartTime=10,
            EventEndTime=5,
            Destination={"Arn": bus_arn},
        )
    await engine.call("CreateEventBus", Name="other")
    with pytest.raises(ServiceError, match="Cross event bus replay is not permitted"):
        await engine.call(
            "StartReplay",
            ReplayName="r",
            EventSourceArn=archive["ArchiveArn"],
            EventStartTime=1,
            EventEndTime=5,
            Destination={"Arn": engine.here.buses["other"].arn},
        )


async def test_definitions_survive_a_restart_of_the_service(engine: Engine):
    await engine.call("CreateEventBus", Name="b")
    await engine.call("PutRule", Name="r", EventBusName="b", EventPattern=json.dumps({"source": ["x"]}))
    again = EventsService(engine.store, engine.clock, region="us-east-1", account="000000000000")
    await again.start()
    router = again.regional("000000000000", "us-east-1").router
    assert router.matching_rules("b", {"source": "x"})[0]["Name"] == "r"


async def test_an_archive_rule_stored_in_an_older_shape_is_rewritten_at_start(engine: Engine):
    bus_arn = engine.here.buses["default"].arn
    archive = await engine.call("CreateArchive", ArchiveName="a", EventSourceArn=bus_arn)
    old = engine.here.rules[("default", "Events-Archive-a")].to_store()
    old["Targets"] = [{"Id": "Events-Archive", "Arn": archive["ArchiveArn"], "ArchiveName": "a"}]
    key = model.store_key("000000000000", "us-east-1", "default", old["Name"])
    await engine.store.put_resource(model.KIND_RULE, key, old)
    again = EventsService(engine.store, engine.clock, region="us-east-1", account="000000000000")
    await again.start()
    stored = await engine.store.get_resource(model.KIND_RULE, key)
    assert stored is not None and [t["Id"] for t in stored.body["Targets"]] == ["Events-Archive-a"]


async def test_slow_function_times_out(engine: Engine):
    engine.functions.timeout = 0.05
    engine.functions.register("slow", lambda event, context: __import__("time").sleep(0.3))
    await engine.call("PutRule", Name="r", EventPattern=json.dumps({"source": ["orders"]}))
    await engine.call("PutTargets", Rule="r", Targets=[{"Id": "1", "Arn": FN + "slow"}])
    await engine.put({})
    await engine.dispatcher.drain()
    assert engine.dispatcher.metrics["FailedInvocations"] == 1
    await asyncio.sleep(0.3)
