"""Local functions as targets: the Lambda-like context, errors and timeouts."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from pipework.connectors.targets import Message, TargetError
from pipework.connectors.targets.function import Functions, FunctionTarget

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


def test_a_burst_gets_every_outcome_to_its_own_caller() -> None:
    """Outcomes are handed back to the loop in batches; each caller still gets exactly its own result or error."""

    def handler(event: int, context: Any) -> int:
        if event % 7 == 0:
            raise ValueError(f"bad {event}")
        return event * 2

    functions = Functions({"f": handler})

    async def burst() -> list[Any]:
        return list(
            await asyncio.gather(
                *(functions.invoke(ARN + "f", n) for n in range(2000)), return_exceptions=True
            )
        )

    results = asyncio.run(burst())
    for n, result in enumerate(results):
        if n % 7 == 0:
            assert isinstance(result, TargetError) and result.message == f"ValueError: bad {n}"
        else:
            assert result == n * 2
    functions.shutdown()


def test_handlers_run_concurrently_on_several_threads() -> None:
    functions = Functions({"f": lambda event, context: time.sleep(0.2)}, timeout=5.0)

    async def four() -> float:
        started = time.monotonic()
        await asyncio.gather(*(functions.invoke(ARN + "f", {}) for _ in range(4)))
        return time.monotonic() - started

    assert asyncio.run(four()) < 0.6  # one thread would take 0.8 s
    functions.shutdown()


def test_system_exit_in_a_handler_fails_that_call_only() -> None:
    def handler(event: Any, context: Any) -> None:
        raise SystemExit(3)

    functions = Functions({"f": handler, "g": lambda event, context: "fine"})
    with pytest.raises(TargetError) as raised:
        asyncio.run(functions.invoke(ARN + "f", {}))
    assert raised.value.code == "FUNCTION_ERROR"
    assert asyncio.run(functions.invoke(ARN + "g", {})) == "fine"


def test_after_shutdown_the_next_invocation_starts_workers_again() -> None:
    functions = Functions({"f": lambda event, context: event})
    assert asyncio.run(functions.invoke(ARN + "f", 1)) == 1
    functions.shutdown()
    # Each run is a new event loop: outcomes go to the loop that asked.
    assert asyncio.run(functions.invoke(ARN + "f", 2)) == 2
    assert asyncio.run(functions.invoke(ARN + "f", 3)) == 3


def test_a_call_right_after_shutdown_still_runs() -> None:
    """Exit requests queued by shutdown may reach the new workers first; a call made after it never strands."""
    functions = Functions({"f": lambda event, context: event}, timeout=2.0)

    async def burst_then_call() -> list[Any]:
        await asyncio.gather(*(functions.invoke(ARN + "f", n) for n in range(50)))  # several workers started
        out = []
        for n in range(20):
            functions.shutdown()
            out.append(await functions.invoke(ARN + "f", n))
        return out

    assert asyncio.run(burst_then_call()) == list(range(20))


def test_the_function_target_passes_json_text_parsed_and_returns_each_result() -> None:
    seen: list[Any] = []

    def handler(event: Any, context: Any) -> Any:
        seen.append(event)
        return {"got": event}

    target = FunctionTarget(Functions({"f": handler}))
    sent = asyncio.run(target.send(ARN + "f", [Message('{"a": 1}'), Message("plain text"), Message([1, 2])]))
    assert seen == [{"a": 1}, "plain text", [1, 2]]
    assert sent.responses == [{"got": {"a": 1}}, {"got": "plain text"}, {"got": [1, 2]}]
