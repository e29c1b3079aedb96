"""A rule target's dead-letter message for an error no retry can fix: AWS's attributes, without an
EXHAUSTED_RETRY_CONDITION (no retry limit was exhausted; SQS attributes cannot be empty)."""

from __future__ import annotations

from support.queues import make_queue, receive_all

FN = "arn:aws:lambda:us-east-1:000000000000:function:"


def test_a_non_retryable_failure_has_no_exhausted_retry_condition(server):
    events = server.client("events")
    dlq_url, dlq_arn = make_queue(server, "dlq")
    events.put_rule(Name="r", EventPattern='{"source": ["shop"]}')
    events.put_targets(
        Rule="r", Targets=[{"Id": "fn", "Arn": FN + "nowhere", "DeadLetterConfig": {"Arn": dlq_arn}}]
    )
    events.put_events(Entries=[{"Source": "shop", "DetailType": "t", "Detail": "{}"}])
    (message,) = receive_all(server, dlq_url, 1)
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["ERROR_CODE"] == "NO_RESOURCE"
    assert attributes["RETRY_ATTEMPTS"] == "0"
    assert set(attributes) == {"RULE_ARN", "TARGET_ARN", "ERROR_CODE", "ERROR_MESSAGE", "RETRY_ATTEMPTS"}
