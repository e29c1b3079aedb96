"""A pipe's dead letters through boto3 over real HTTP: the DeadLetterConfig message (AWS's on-failure shape for a
stream batch, plus the full records), its attributes, and a redrive that fails again: counted once as Redriven,
its retries counted, and the queue told again when the record is dead-lettered a second time."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from typing import Any

from pipework.clock import ManualClock
from pipework.engine.retry import Backoff
from support.http import wait_for
from support.pipes import (
    FN,
    ROLE,
    Recorder,
    always_down,
    counters,
    dead_letters,
    extension,
    make_table,
    put_powers,
    stream_params,
    subject,
)
from support.queues import make_queue, queue_empty, receive_all

ISO_MILLISECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def attributes_of(message: dict[str, Any]) -> dict[str, str]:
    return {k: v["StringValue"] for k, v in message.get("MessageAttributes", {}).items()}


def iso_seconds(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def failing_pipe(
    server: Any, subjects: tuple[str, ...], *, target_template: str | None = None, **source: Any
) -> tuple[str, str, Recorder]:
    """A pipe from a table's stream (holding `subjects` already, so they come in one batch) to a function that
    always fails, dead-lettering to a queue; (stream ARN, queue URL, the function)."""
    server.pipework.pipes.backoff = Backoff(base=0.005, cap=0.02)
    target = Recorder(always_down)
    server.pipework.functions.register("target", target)
    dlq_url, dlq_arn = make_queue(server, "pipe-dlq")
    stream = make_table(server)
    put_powers(server, "Powers", *subjects)
    server.client("pipes").create_pipe(
        Name="p",
        Source=stream,
        Target=FN + "target",
        RoleArn=ROLE,
        SourceParameters=stream_params(DeadLetterConfig={"Arn": dlq_arn}, **source),
        TargetParameters={"InputTemplate": target_template} if target_template else {},
    )
    return stream, dlq_url, target


def test_the_dead_letter_message_has_aws_on_failure_shape_and_the_full_records(server):
    stream, dlq_url, _ = failing_pipe(server, ("s1", "s2"), MaximumRetryAttempts=1, BatchSize=2)
    (message,) = receive_all(server, dlq_url, 1)
    body = json.loads(message["Body"])
    records = body.pop("records")
    assert [subject(r) for r in records] == ["s1", "s2"]
    assert ISO_MILLISECONDS.match(body["timestamp"]), body["timestamp"]
    assert body["version"] == "1.0"
    context = body["requestContext"]
    assert context["condition"] == "RetryAttemptsExhausted"
    assert context["approximateInvokeCount"] == 2  # the first try and one retry
    assert context["pipeArn"] == "arn:aws:pipes:us-east-1:000000000000:pipe/p"
    assert context["requestId"]
    assert body["responseContext"]["errorCode"] == "FUNCTION_ERROR"
    shard = server.client("dynamodbstreams").describe_stream(StreamArn=stream)["StreamDescription"]["Shards"][
        0
    ]
    images = [r["dynamodb"] for r in records]
    assert body["DDBStreamBatchInfo"] == {
        "shardId": shard["ShardId"],
        "startSequenceNumber": images[0]["SequenceNumber"],
        "endSequenceNumber": images[1]["SequenceNumber"],
        "approximateArrivalOfFirstRecord": iso_seconds(images[0]["ApproximateCreationDateTime"]),
        "approximateArrivalOfLastRecord": iso_seconds(images[1]["ApproximateCreationDateTime"]),
        "batchSize": 2,
        "streamArn": stream,
    }
    attributes = attributes_of(message)
    assert attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
    assert attributes["RETRY_ATTEMPTS"] == "1"
    assert attributes["ERROR_CODE"] == "FUNCTION_ERROR"


def test_an_error_no_retry_can_fix_exhausts_no_retry_condition(server):
    # An object inside a quoted string renders invalid JSON: INVALID_JSON, not retried.
    template = '{"image": "<$.dynamodb.NewImage>"}'
    _, dlq_url, _ = failing_pipe(server, ("s1",), target_template=template)
    (message,) = receive_all(server, dlq_url, 1)
    attributes = attributes_of(message)
    assert attributes["ERROR_CODE"] == "INVALID_JSON"
    assert attributes["RETRY_ATTEMPTS"] == "0"
    assert "EXHAUSTED_RETRY_CONDITION" not in attributes
    assert json.loads(message["Body"])["requestContext"]["condition"] == "NonRetryableError"
    (letter,) = dead_letters(server, "p")
    assert "EXHAUSTED_RETRY_CONDITION" not in letter["Error"]


def test_a_redrive_that_fails_again_is_counted_once_and_reaches_the_queue_again(server):
    _, dlq_url, target = failing_pipe(server, ("s1",), MaximumRetryAttempts=1)
    receive_all(server, dlq_url, 1)
    before = counters(server, "p")
    assert (before["Retries"], before["DeadLettered"], before["Redriven"]) == (1, 1, 0)

    assert extension(server, "/_pipework/pipes/dead-letters/redrive", {"Pipe": "p"}) == {"Redriven": 1}
    # Tried twice more (MaximumRetryAttempts 1, counted anew from the redrive), then dead-lettered again ...
    (again,) = receive_all(server, dlq_url, 1)
    assert [subject(r) for r in json.loads(again["Body"])["records"]] == ["s1"]
    assert json.loads(again["Body"])["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert attributes_of(again)["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
    assert [subject(d["Record"]) for d in wait_for(lambda: dead_letters(server, "p"))] == ["s1"]
    assert len(target.batches) == 4
    # ... and counted: one record redriven, one retry, one more dead letter.
    after = counters(server, "p")
    assert (after["Redriven"], after["Retries"], after["DeadLettered"]) == (1, 2, 2)


def test_a_redriven_record_whose_age_runs_out_again_is_dead_lettered_for_its_record_age(make_server):
    clock = ManualClock()
    server = make_server(clock=clock)
    _, dlq_url, _ = failing_pipe(server, ("s1",), MaximumRecordAgeInSeconds=60)

    def advanced(condition: Any) -> Any:
        def step() -> Any:
            server.loop.call_soon_threadsafe(clock.advance, 5.0)
            time.sleep(0.005)
            return condition()

        return wait_for(step)

    advanced(lambda: not queue_empty(server, dlq_url))
    (first,) = receive_all(server, dlq_url, 1)
    assert json.loads(first["Body"])["requestContext"]["condition"] == "RecordAgeExceeded"
    extension(server, "/_pipework/pipes/dead-letters/redrive", {"Pipe": "p"})
    advanced(lambda: not queue_empty(server, dlq_url))  # the age counts anew from the redrive
    (again,) = receive_all(server, dlq_url, 1)
    assert json.loads(again["Body"])["requestContext"]["condition"] == "RecordAgeExceeded"
    assert attributes_of(again)["EXHAUSTED_RETRY_CONDITION"] == "MaximumRecordAgeInSeconds"
    (letter,) = dead_letters(server, "p")
    assert letter["Error"]["EXHAUSTED_RETRY_CONDITION"] == "MaximumRecordAgeInSeconds"


def test_a_pipe_created_again_after_a_delete_does_not_inherit_the_old_pipes_dead_letters(server):
    stream, dlq_url, _ = failing_pipe(server, ("s1",), MaximumRetryAttempts=0)
    receive_all(server, dlq_url, 1)
    assert len(dead_letters(server, "p")) == 1
    pipes = server.client("pipes")
    pipes.delete_pipe(Name="p")
    pipes.create_pipe(
        Name="p",
        Source=stream,
        Target=FN + "target",
        RoleArn=ROLE,
        SourceParameters=stream_params(),
        DesiredState="STOPPED",
    )
    assert dead_letters(server, "p") == []
    assert extension(server, "/_pipework/pipes/dead-letters/redrive", {"Pipe": "p"}) == {"Redriven": 0}
