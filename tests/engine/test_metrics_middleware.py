"""`DeliveryMetrics`: each delivery outcome counted under the owning service's names, read back from the
recorder's totals (no store needed)."""

from __future__ import annotations

from typing import Any

from pipework.clock import ManualClock
from pipework.connectors.targets import TargetError
from pipework.engine.envelope import Envelope
from pipework.engine.metrics import Recorder
from pipework.engine.middleware import Chain, Park, Result
from pipework.engine.middleware.metrics import EVENTS, SCHEDULER, DeliveryMetrics
from pipework.engine.retry import GiveUp, Retry, RetryPolicy

ACCOUNT, REGION = "000000000000", "us-east-1"
RULE = (("RuleName", "r"),)


def labels(delivery: Envelope) -> tuple[str, str, Any]:
    return ACCOUNT, REGION, RULE


def totals(recorder: Recorder) -> dict[tuple[str, str], float]:
    return {(series[2], series[3]): aggregate.total for series, aggregate in recorder.live_totals()}


def envelope() -> Envelope:
    return Envelope("arn:aws:sqs:us-east-1:000000000000:q", 1_000.0, RetryPolicy(2, 3600), {})


def test_rule_outcomes_count_as_aws_events_metrics() -> None:
    recorder = Recorder(None, ManualClock(start=1_060.0))  # type: ignore[arg-type]
    chain = Chain([DeliveryMetrics(recorder, EVENTS, labels)])
    chain.after(envelope(), Result(at=1_060.0, duration=0.5))
    chain.after(envelope(), Result(at=1_060.0, error=TargetError("X", "x"), decision=Retry(1_070.0)))
    chain.after(
        envelope(), Result(at=1_060.0, error=TargetError("X", "x"), decision=GiveUp("MaximumRetryAttempts"))
    )
    chain.dead_lettered(envelope(), failure=None, sent=True)  # type: ignore[arg-type]
    found = totals(recorder)
    assert found[("AWS/Events", "Invocations")] == 2.0  # the success and the failure given up
    assert found[("AWS/Events", "FailedInvocations")] == 1.0
    assert found[("AWS/Events", "RetryInvocationAttempts")] == 1.0
    assert found[("AWS/Events", "InvocationsSentToDlq")] == 1.0
    # From first seen to each attempt's start, in milliseconds (the first took 0.5 s); 60 s to the success.
    assert found[("AWS/Events", "IngestionToInvocationStartLatency")] == 59_500.0 + 2 * 60_000.0
    assert found[("AWS/Events", "IngestionToInvocationSuccessLatency")] == 60_000.0


def test_schedule_attempts_and_throttled_errors_count_as_aws_scheduler_metrics() -> None:
    recorder = Recorder(None, ManualClock(start=0.0))  # type: ignore[arg-type]
    chain = Chain([DeliveryMetrics(recorder, SCHEDULER, labels)])
    chain.after(envelope(), Result(at=60.0))
    chain.after(
        envelope(),
        Result(at=60.0, error=TargetError("ThrottlingException", "slow down"), decision=Retry(70.0)),
    )
    found = totals(recorder)
    assert found[("AWS/Scheduler", "InvocationAttemptCount")] == 2.0
    assert found[("AWS/Scheduler", "TargetErrorCount")] == 1.0
    assert found[("AWS/Scheduler", "TargetErrorThrottledCount")] == 1.0


def test_a_parked_delivery_counts_as_parked_and_throttled_not_as_an_invocation() -> None:
    recorder = Recorder(None, ManualClock(start=0.0))  # type: ignore[arg-type]
    chain = Chain([DeliveryMetrics(recorder, EVENTS, labels)])
    chain.after(envelope(), Result(at=60.0, parked=Park(until=None, reason="open")))
    assert totals(recorder) == {
        ("Pipework/Dispatcher", "ParkedDeliveries"): 1.0,
        ("AWS/Events", "ThrottledRules"): 1.0,
    }


def test_a_delivery_its_target_held_back_counts_as_throttled() -> None:
    recorder = Recorder(None, ManualClock(start=0.0))  # type: ignore[arg-type]
    chain = Chain([DeliveryMetrics(recorder, EVENTS, labels)])
    chain.after(envelope(), Result(at=60.0, duration=1.0, held_back=1.0))
    chain.after(envelope(), Result(at=60.0, duration=0.1))
    found = totals(recorder)
    assert found[("AWS/Events", "ThrottledRules")] == 1.0
    assert found[("AWS/Events", "Invocations")] == 2.0


def test_a_given_up_delivery_counts_by_whether_its_dead_letter_queue_was_reached() -> None:
    recorder = Recorder(None, ManualClock(start=0.0))  # type: ignore[arg-type]
    with_queue = Chain([DeliveryMetrics(recorder, SCHEDULER, labels, lambda delivery: True)])
    without = Chain([DeliveryMetrics(recorder, SCHEDULER, labels)])
    with_queue.dead_lettered(envelope(), failure=None, sent=True)  # type: ignore[arg-type]
    with_queue.dead_lettered(envelope(), failure=None, sent=False)  # type: ignore[arg-type]
    without.dead_lettered(envelope(), failure=None, sent=False)  # type: ignore[arg-type]
    found = totals(recorder)
    assert found[("AWS/Scheduler", "InvocationsSentToDeadLetterCount")] == 1.0
    assert found[("AWS/Scheduler", "InvocationsFailedToBeSentToDeadLetterCount")] == 1.0
    assert found[("AWS/Scheduler", "InvocationDroppedCount")] == 2.0
