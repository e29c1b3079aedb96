"""`DeliveryMetrics`: records each delivery's outcome as AWS's metrics of the service that owns the delivery
(AWS/Events for rule targets, AWS/Scheduler for schedules), into the instance's `Recorder`.

Which names an outcome counts under is the service's vocabulary (`Vocabulary`); which metric (account, region,
dimensions) a delivery belongs to the service reads from the delivery's body (`Labels`). Recording is in memory
(the recorder flushes per minute), so the hook costs a few dict operations per delivery.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pipework.engine.envelope import Envelope
from pipework.engine.metrics import Dimensions, Recorder
from pipework.engine.retry import Retry

from . import Failure, Middleware, Result

#: What a delivery is counted under: (account, region, dimensions), or None to leave it uncounted.
Labels = Callable[[Envelope], tuple[str, str, Dimensions] | None]


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The metric names a service counts delivery outcomes under (empty: not counted).

    Parameters:
        namespace: the CloudWatch namespace (``AWS/Events``).
        attempt: counted on every attempt; success / failure: on each succeeded / failed attempt; throttled: on
        a failed attempt whose error says throttled; retry: on a failure that will be retried; give_up: on a
        failure that will not; sent_to_dlq / dlq_failed / dropped: once a given-up delivery reached its
        dead-letter queue / had one but did not reach it / had none; start_latency / success_latency:
        milliseconds from first seen to the attempt's start / to its success; held: on a delivery a middleware
        parked (an open circuit breaker) or its target held back (an API destination's rate limit).
    """

    namespace: str
    attempt: tuple[str, ...] = ()
    success: tuple[str, ...] = ()
    failure: tuple[str, ...] = ()
    throttled: tuple[str, ...] = ()
    retry: tuple[str, ...] = ()
    give_up: tuple[str, ...] = ()
    sent_to_dlq: tuple[str, ...] = ()
    dlq_failed: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    start_latency: str = ""
    success_latency: str = ""
    held: tuple[str, ...] = ()


#: EventBridge's rule-target metrics (namespace AWS/Events, dimensions RuleName or EventBusName + RuleName).
EVENTS = Vocabulary(
    "AWS/Events",
    success=("Invocations",),
    give_up=("Invocations", "FailedInvocations"),
    retry=("RetryInvocationAttempts",),
    sent_to_dlq=("DeadLetterInvocations", "InvocationsSentToDlq"),
    dlq_failed=("DeadLetterInvocations", "InvocationsFailedToBeSentToDlq"),
    dropped=("DeadLetterInvocations",),
    start_latency="IngestionToInvocationStartLatency",
    success_latency="IngestionToInvocationSuccessLatency",
    held=("ThrottledRules",),
)

#: EventBridge Scheduler's metrics (namespace AWS/Scheduler, dimension ScheduleGroup).
SCHEDULER = Vocabulary(
    "AWS/Scheduler",
    attempt=("InvocationAttemptCount",),
    failure=("TargetErrorCount",),
    throttled=("TargetErrorThrottledCount",),
    sent_to_dlq=("InvocationsSentToDeadLetterCount",),
    dlq_failed=("InvocationsFailedToBeSentToDeadLetterCount", "InvocationDroppedCount"),
    dropped=("InvocationDroppedCount",),
)

THROTTLED = ("THROTTLING", "ThrottlingException", "TooManyRequestsException", "Throttled")


class DeliveryMetrics(Middleware):
    """Counts every delivery outcome in `recorder` with `vocabulary`'s names; goes after `Retries` (it reads the
    retry decision).

    Parameters: `recorder`, where samples go; `vocabulary`, the names; `labels`, the metric of a delivery;
    `has_dead_letter`, whether a delivery has a dead-letter queue (its body says; default: no).
    """

    def __init__(
        self,
        recorder: Recorder,
        vocabulary: Vocabulary,
        labels: Labels,
        has_dead_letter: Callable[[Envelope], bool] | None = None,
    ) -> None:
        self.recorder = recorder
        self.vocabulary = vocabulary
        self.labels = labels
        self.has_dead_letter = has_dead_letter or (lambda delivery: False)

    def _count(self, names: tuple[str, ...], labels: tuple[str, str, Dimensions], at: float) -> None:
        account, region, dims = labels
        count, namespace = self.recorder.count, self.vocabulary.namespace
        for name in names:
            count(account, region, namespace, name, dims, at)

    def after(self, delivery: Envelope, result: Result) -> None:
        if result.parked is not None:
            labels = self.labels(delivery)
            if labels is not None:  # Pipework's own: a delivery a middleware kept from being attempted
                target = (("Target", delivery.target),)
                self.recorder.count(
                    labels[0], labels[1], "Pipework/Dispatcher", "ParkedDeliveries", target, result.at
                )
                self._count(self.vocabulary.held, labels, result.at)
            return
        labels = self.labels(delivery)
        if labels is None:
            return
        words, at = self.vocabulary, result.at
        self._count(words.attempt, labels, at)
        if result.held_back:
            self._count(words.held, labels, at)
        if words.start_latency:
            started = at - result.duration
            latency = max(0.0, delivery.age(started)) * 1000.0
            self.recorder.add(
                labels[0],
                labels[1],
                words.namespace,
                words.start_latency,
                labels[2],
                latency,
                "Milliseconds",
                at,
            )
        if result.error is None:
            self._count(words.success, labels, at)
            if words.success_latency:
                latency = max(0.0, delivery.age(at)) * 1000.0
                self.recorder.add(
                    labels[0],
                    labels[1],
                    words.namespace,
                    words.success_latency,
                    labels[2],
                    latency,
                    "Milliseconds",
                    at,
                )
            return
        self._count(words.failure, labels, at)
        if words.throttled and result.error.code in THROTTLED:
            self._count(words.throttled, labels, at)
        self._count(words.retry if isinstance(result.decision, Retry) else words.give_up, labels, at)

    def dead_lettered(self, delivery: Envelope, failure: Failure, sent: bool) -> None:
        labels = self.labels(delivery)
        if labels is None:
            return
        words = self.vocabulary
        if sent:
            names = words.sent_to_dlq
        else:
            names = words.dlq_failed if self.has_dead_letter(delivery) else words.dropped
        self._count(names, labels, self.recorder.clock.now())
