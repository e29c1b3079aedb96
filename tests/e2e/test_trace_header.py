"""AWS's trace header as AWS carries it: ``X-Amzn-Trace-Id`` on SendMessage, or on PutEvents for a rule's queue
target, becomes the queue message's ``AWSTraceHeader`` system attribute; a pipe hands its record's on to its target
(a queue's message, a bus's events and their rules' targets). Without ``--otlp-endpoint`` the header goes on
unchanged (`test_otlp_traces.py`: with it, each hop names its own span as the Parent)."""

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


def test_a_pipe_carries_its_record_trace_header_to_its_target_and_through_a_bus(server: Any) -> None:
    sqs = server.client("sqs")

    def queue(name: str) -> tuple[str, str]:
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]

    (source_url, source), (_, middle), (end_url, end) = queue("source"), queue("middle"), queue("end")
    events = server.client("events")
    bus = events.create_event_bus(Name="relay")["EventBusArn"]
    events.put_rule(Name="r", EventBusName="relay", EventPattern=json.dumps({"source": ["Pipe to-bus"]}))
    events.put_targets(Rule="r", EventBusName="relay", Targets=[{"Id": "q", "Arn": end}])
    pipes = server.client("pipes")
    role = "arn:aws:iam::000000000000:role/r"
    pipes.create_pipe(Name="to-queue", Source=source, Target=middle, RoleArn=role)
    pipes.create_pipe(Name="to-bus", Source=middle, Target=bus, RoleArn=role)
    with traced(server.client("sqs")) as client:
        client.send_message(QueueUrl=source_url, MessageBody="{}")
    messages = sqs.receive_message(
        QueueUrl=end_url, WaitTimeSeconds=20, MessageSystemAttributeNames=["AWSTraceHeader"]
    )["Messages"]
    assert messages[0]["Attributes"]["AWSTraceHeader"] == TRACE
