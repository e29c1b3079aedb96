"""Concurrent changes to one pipe on the durable store (its commits yield to the event loop): every change reads
the pipe as the previous one left it, so none writes a stale copy back over another (tags, desired and current
state), whether the change comes from a request or from the runner stopping the pipe itself."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from pipework.app import Pipework, Settings
from pipework.clock import ManualClock
from pipework.services.base import RequestContext, ServiceError
from pipework.services.pipes import Pipes, model

pytestmark = pytest.mark.anyio
ACCOUNT = "000000000000"
QUEUE = f"arn:aws:sqs:us-east-1:{ACCOUNT}:source"
FN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:target"
ARN = f"arn:aws:pipes:us-east-1:{ACCOUNT}:pipe/p"
KEY = f"{ACCOUNT}/us-east-1/p"  # where pipe p is stored and run


class Instance:
    def __init__(self, pipework: Pipework) -> None:
        self.pipework = pipework

    @property
    def pipes(self) -> Pipes:
        return self.pipework.pipes

    async def call(self, operation: str, service: str = "pipes", **params: Any) -> dict[str, Any]:
        ctx = RequestContext(service, operation, "us-east-1", ACCOUNT, "req")
        served = {s.name: s for s in self.pipework.served}
        return await served[service].handle(operation, params, ctx)

    async def create(self, **extra: Any) -> dict[str, Any]:
        role = f"arn:aws:iam::{ACCOUNT}:role/pipe"
        return await self.call("CreatePipe", Name="p", Source=QUEUE, Target=FN, RoleArn=role, **extra)

    async def stored(self) -> dict[str, Any]:
        resource = await self.pipework.store.get_resource(model.KIND_PIPE, KEY)
        assert resource is not None
        assert resource.body == self.pipes.pipes_api.pipes[KEY].to_store()  # memory and store agree
        return resource.body


@pytest.fixture
async def instance(tmp_path: Path) -> AsyncIterator[Instance]:
    pipework = await Pipework.open(
        Settings(data_dir=tmp_path),
        clock=ManualClock(start=1_800_000_000.0),
        functions={"target": lambda event, context: None},
    )
    created = Instance(pipework)
    await created.call("CreateQueue", "sqs", QueueName="source")
    yield created
    await pipework.close()


async def test_concurrent_tag_requests_keep_every_tag(instance: Instance) -> None:
    await instance.create(Tags={"a": "1"})
    await asyncio.gather(
        instance.call("TagResource", resourceArn=ARN, tags={"b": "2"}),
        instance.call("TagResource", resourceArn=ARN, tags={"c": "3"}),
        instance.call("UntagResource", resourceArn=ARN, tagKeys=["a"]),
    )
    assert (await instance.stored())["Tags"] == {"b": "2", "c": "3"}


async def test_a_tag_request_does_not_undo_a_concurrent_stop(instance: Instance) -> None:
    await instance.create()
    await asyncio.gather(
        instance.call("StopPipe", Name="p"),
        instance.call("TagResource", resourceArn=ARN, tags={"b": "2"}),
    )
    body = await instance.stored()
    assert (body["DesiredState"], body["CurrentState"], body["Tags"]) == ("STOPPED", "STOPPED", {"b": "2"})
    assert KEY not in instance.pipes.runners


async def test_a_pipe_stopping_itself_is_not_undone_by_a_concurrent_tag_request(instance: Instance) -> None:
    await instance.create()
    runner = instance.pipes.runners[KEY]
    await asyncio.gather(
        runner.on_stopped("The target keeps failing."),
        instance.call("TagResource", resourceArn=ARN, tags={"b": "2"}),
    )
    body = await instance.stored()
    assert (body["CurrentState"], body["StateReason"], body["Tags"]) == (
        "STOPPED",
        "The target keeps failing.",
        {"b": "2"},
    )
    assert KEY not in instance.pipes.runners


async def test_a_runner_replaced_meanwhile_does_not_stop_the_updated_pipe(instance: Instance) -> None:
    await instance.create()
    old = instance.pipes.runners[KEY]
    await instance.call("UpdatePipe", Name="p", RoleArn=f"arn:aws:iam::{ACCOUNT}:role/other")
    await old.on_stopped("The target keeps failing.")  # the replaced runner's last word comes late
    assert (await instance.stored())["CurrentState"] == "RUNNING"
    assert instance.pipes.runners[KEY] is not old


async def test_creating_a_pipe_twice_at_once_conflicts(instance: Instance) -> None:
    results = await asyncio.gather(
        instance.create(Tags={"first": "1"}), instance.create(Tags={"second": "2"}), return_exceptions=True
    )
    conflicts = [r for r in results if isinstance(r, ServiceError) and r.code == "ConflictException"]
    assert len(conflicts) == 1
    assert (await instance.stored())["Tags"] == {"first": "1"}
