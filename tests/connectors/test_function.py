"""Local functions as targets: the Lambda-like context, errors and timeouts."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from pipework.connectors.targets import TargetError
from pipework.connectors.targets.function import Functions

ARN = "arn:aws:lambda:us-east-1:000000000000:function:"


def test_context_counts_down_the_remaining_time() -> None:
    def handler(event: Any, context: Any) -> dict[str, Any]:
        first = context.get_remaining_time_in_millis()
        time.sleep(0.2)
        return {
            "first": first,
            "later": context.get_remaining_time_in_millis(),
            "name": context.function_name,
        }

    functions = Functions({"f": handler}, timeout=2.0)
    result = asyncio.run(functions.invoke(ARN + "f", {}))
    assert 1500 < result["first"] <= 2000
    assert result["first"] - result["later"] >= 150
    assert result["name"] == "f"


@pytest.mark.parametrize(
    ("handler", "code"),
    [
        (lambda event, context: time.sleep(1.0), "TIMEOUT"),
        (lambda event, context: 1 / 0, "FUNCTION_ERROR"),
    ],
    ids=["timeout", "raises"],
)
def test_failures_become_target_errors(handler: Any, code: str) -> None:
    functions = Functions({"f": handler}, timeout=0.2)
    with pytest.raises(TargetError) as raised:
        asyncio.run(functions.invoke(ARN + "f", {}))
    assert raised.value.code == code


def test_a_missing_function_is_not_retryable() -> None:
    with pytest.raises(TargetError) as raised:
        asyncio.run(Functions().invoke(ARN + "nope", {}))
    assert (raised.value.code, raised.value.retryable) == ("NO_RESOURCE", False)


def test_request_ids_are_unique_and_uuid_shaped() -> None:
    def handler(event: Any, context: Any) -> str:
        return str(context.aws_request_id)

    functions = Functions({"f": handler})

    async def many() -> list[str]:
        return list(await asyncio.gather(*(functions.invoke(ARN + "f", {}) for _ in range(50))))

    ids = asyncio.run(many())
    assert len(set(ids)) == 50
    assert all(len(i) == 36 and [len(p) for p in i.split("-")] == [8, 4, 4, 4, 12] for i in ids)


def test_cancelling_the_caller_is_a_cancellation_not_a_timeout() -> None:
    functions = Functions({"f": lambda event, context: time.sleep(0.3)}, timeout=5.0)

    async def cancelled() -> None:
        task = asyncio.create_task(functions.invoke(ARN + "f", {}))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancelled())
