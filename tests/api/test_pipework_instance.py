"""The `Pipework` instance: the composition root builds every served API on the open store, and closing undoes
it; use in process without HTTP."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from pipework.app import Pipework, Settings
from pipework.clock import ManualClock
from pipework.connectors.targets import TargetError
from pipework.services.cloudformation import CloudFormation
from pipework.services.dynamodb import DynamoDB
from pipework.services.dynamodbstreams import DynamoDBStreams
from pipework.services.events import EventBridge
from pipework.services.lambda_ import Lambda
from pipework.services.pipes import Pipes
from pipework.services.scheduler import Scheduler
from pipework.services.sns import Sns
from pipework.services.sqs import SqsService


def test_open_builds_every_service_on_the_open_store_and_close_undoes_it():
    clock = ManualClock()

    async def scenario() -> None:
        pipework = await Pipework.open(Settings(memory=True), clock=clock, functions={"f": lambda e, c: e})
        assert pipework.store.clock is clock
        assert isinstance(pipework.sqs, SqsService)
        assert isinstance(pipework.dynamodb, DynamoDB)
        assert isinstance(pipework.dynamodbstreams, DynamoDBStreams)
        assert isinstance(pipework.lambda_, Lambda)
        assert isinstance(pipework.events, EventBridge)
        assert isinstance(pipework.pipes, Pipes)
        assert isinstance(pipework.scheduler, Scheduler)
        assert isinstance(pipework.sns, Sns)
        assert isinstance(pipework.cloudformation, CloudFormation)
        assert [s.name for s in pipework.served] == [
            "sqs",
            "dynamodb",
            "dynamodbstreams",
            "lambda",
            "events",
            "pipes",
            "scheduler",
            "sns",
            "cloudwatch",
            "logs",
            "sts",
            "cloudformation",
        ]
        assert (
            "default" in pipework.events.events.regional("000000000000", "us-east-1").buses
        )  # started: definitions loaded
        assert await pipework.functions.invoke("arn:aws:lambda:us-east-1:000000000000:function:f", 7) == 7
        await pipework.store.kv_put("b", "k", b"v")
        await pipework.close()
        await pipework.close()  # a second close is harmless
        assert pipework.connectors.http.is_closed

    asyncio.run(scenario())


def test_an_in_process_call_is_validated_like_a_request_over_http():
    async def scenario() -> None:
        pipework = await Pipework.open(Settings(memory=True))
        try:
            with pytest.raises(TargetError) as raised:
                await pipework.api.call("sqs", "SendMessage", {"QueueUrl": "http://localhost/0/q"})
            assert (raised.value.code, raised.value.retryable) == ("MissingRequiredParameterException", False)
        finally:
            await pipework.close()

    asyncio.run(scenario())


def test_endpoint_url_names_localhost_for_wildcard_hosts():
    assert Settings(host="0.0.0.0", port=4566).endpoint_url == "http://localhost:4566"
    assert Settings(host="127.0.0.1", port=9).endpoint_url == "http://127.0.0.1:9"


def test_the_server_fixture_serves_the_default_apis(server):
    health = httpx.get(server.endpoint_url + "/_pipework/health").json()
    assert health["status"] == "ok"
    assert health["services"] == sorted(s.name for s in server.pipework.served)
    # One node on its own store: it runs every singleton job, under leases of its own.
    assert health["store"] == "memory://" and health["node"] == server.pipework.cluster.node_id
    assert health["leaseTime"] == 30.0
    names = {lease["name"] for lease in health["leases"]}
    assert {"dynamodb/sweeper", "events/archive-retention", "ticker/scheduler/ticks"} <= names
