"""AWS's trace header as AWS carries it: ``X-Amzn-Trace-Id`` on SendMessage, or on PutEvents for a rule's queue
target, becomes the queue message's ``AWSTraceHeader`` system attribute."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


@contextlib.contextmanager
def traced(client: Any) -> Iterator[Any]:
    """The client, sending X-Amzn-Trace-Id with its requests inside the block (as the X-Ray SDK does)."""

    def add_header(request: Any, **_: Any) -> None:
        request.headers["X-Amzn-Trace-Id"] = TRACE

    client.meta.events.register("before-sign.*.*", add_header, unique_id="pipework-trace")
    try:
        yield client
    finally:
        client.meta.events.unregister("before-sign.*.*", unique_id="pipework-trace")


def test_send_message_with_a_trace_header_sets_aws_trace_header(server: Any) -> None:
    sqs = server.client("sqs")
    url = sqs.create_queue(QueueName="traced")["QueueUrl"]
    with traced(server.client("sqs")) as client:
        client.send_message(QueueUrl=url, MessageBody="x")
    sqs.send_message(QueueUrl=url, MessageBody="untraced")
    messages = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["AWSTraceHeader"]
    )
    traces = {m["Body"]: m.get("Attributes", {}).get("AWSTraceHeader") for m in messages["Messages"]}
    assert traces == {"x": TRACE, "untraced": None}


def test_put_events_trace_header_reaches_a_queue_target(server: Any) -> None:
    sqs = server.client("sqs")
    url = sqs.create_queue(QueueName="from-rule")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = server.client("events")
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["s"]}))
    events.put_targets(Rule="r", Targets=[{"Id": "q", "Arn": arn}])
    with traced(server.client("events")) as client:
        client.put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}"}])
    messages = sqs.receive_message(
        QueueUrl=url, WaitTimeSeconds=10, MessageSystemAttributeNames=["AWSTraceHeader"]
    )["Messages"]
    assert messages[0]["Attributes"]["AWSTraceHeader"] == TRACE
