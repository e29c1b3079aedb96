"""A stack operation that a restart cut short is marked failed when the server opens the store again, instead of
staying *_IN_PROGRESS forever."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pipework.app import Pipework, Settings
from pipework.services.cloudformation import model
from pipework.services.cloudformation.model import Stack


def test_an_interrupted_operation_is_marked_failed_on_start(tmp_path: Path) -> None:
    async def scenario() -> None:
        settings = Settings(data_dir=tmp_path)
        first = await Pipework.open(settings)
        stack = Stack(
            name="cut",
            stack_id=model.stack_arn("000000000000", "us-east-1", "cut", "u"),
            account="000000000000",
            region="us-east-1",
            status="CREATE_IN_PROGRESS",
            template="Resources: {Q: {Type: AWS::SQS::Queue}}",
            parameters={},
            created=first.clock.now(),
        )
        await first.cloudformation.runner.save(stack)  # as a crash in the middle of CreateStack leaves it
        await first.close()
        second = await Pipework.open(settings)
        try:
            found = await second.cloudformation.runner.load("000000000000", "us-east-1", "cut")
            assert found is not None
            assert found.status == "CREATE_FAILED"
            assert found.reason == "Pipework restarted while the operation ran"
        finally:
            await second.close()

    asyncio.run(scenario())
