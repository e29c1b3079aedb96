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
