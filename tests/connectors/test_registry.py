"""The registry: which kind an ARN names, and a kind's checks of a target before anything is sent."""

from __future__ import annotations

import pytest

from pipework.connectors.targets import Message
from pipework.connectors.targets import registry as targets
from pipework.connectors.targets.base import GROUP_ID_REQUIRED, INPUT_NOT_JSON, INPUT_REQUIRED, NOT_THIS_KIND

A = "arn:aws:{}:us-east-1:000000000000:{}"


@pytest.mark.parametrize(
    ("arn", "kind"),
    [
        (A.format("sqs", "orders"), "queue"),
        (A.format("sqs", "orders.fifo"), "queue"),
        (A.format("events", "event-bus/default"), "bus"),
        (A.format("events", "api-destination/hook/1234"), "api-destination"),
        (A.format("lambda", "function:notify"), "function"),
        (A.format("logs", "log-group:/app/orders"), "log-group"),
        (A.format("logs", "log-group:/app/orders:*"), "log-group"),
        ("arn:aws:scheduler:::aws-sdk:sqs:sendMessage", "sdk"),
        (A.format("events", "rule/orders"), None),
        (A.format("lambda", "layer:x"), None),
        (A.format("logs", "log-group:"), None),
        (A.format("sns", "topic"), "sns"),
        (A.format("sns", "topic.fifo"), "sns"),
        (A.format("sns", "topic:subscription-id"), None),  # a subscription, not a topic
        ("arn:aws:scheduler:::aws-sdk:sqs", None),
        ("not-an-arn", None),
    ],
)
def test_an_arn_names_at_most_one_kind(arn: str, kind: str | None) -> None:
    assert targets.kind_name(arn) == kind
    assert sum(1 for k in targets.KINDS if k.matches(arn)) == (0 if kind is None else 1)


@pytest.mark.parametrize(
    ("arn", "sample", "problem"),
    [
        (A.format("sqs", "orders.fifo"), Message(), GROUP_ID_REQUIRED),
        (A.format("sqs", "orders.fifo"), Message(group_id="g"), None),
        (A.format("sqs", "orders"), Message(), None),
        (A.format("events", "event-bus/default"), Message("not json"), INPUT_NOT_JSON),
        (A.format("lambda", "function:f"), Message("{oops"), INPUT_NOT_JSON),
        (A.format("lambda", "function:f"), Message(), None),
        ("arn:aws:scheduler:::aws-sdk:sqs:sendMessage", Message(), INPUT_REQUIRED),
        ("arn:aws:scheduler:::aws-sdk:sqs:sendMessage", Message("{x"), INPUT_NOT_JSON),
        ("arn:aws:scheduler:::aws-sdk:sqs:sendMessage", Message("{}"), None),
        (A.format("sns", "topic"), Message(), None),
        (A.format("sns", "topic.fifo"), Message(), GROUP_ID_REQUIRED),
        (A.format("sns", "topic.fifo"), Message(group_id="g"), None),
        (A.format("sns", "topic:sub"), Message(), NOT_THIS_KIND),
    ],
)
def test_each_kind_reports_a_structured_problem_the_service_words(
    arn: str, sample: Message, problem: str | None
) -> None:
    found = targets.check(arn, sample)
    assert (found.code if found else None) == problem
