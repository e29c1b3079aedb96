"""EventBridge Pipes through boto3 over real HTTP: the control plane (states, validation, listing, tags), a
table's stream and a queue as sources, enrichment, partial batch failures, AUTOMATIC_BISECT, record age expiry to
the dead letters with full records, redrive, invoke, auto-stop, logging and metrics, and the CLI.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from pipework.clock import ManualClock
from support.http import wait_for
from support.pipes import (
    ACCOUNT,
    FN,
    ROLE,
    Recorder,
    dead_letters,
    extension,
    make_table,
    put_powers,
    stream_params,
    subject,
)
from support.queues import make_queue, queue_empty, receive_all

# ── helpers ──────────────────────────────────────────────────────────────────────────────────────────────────


@pytest.fixture
def clocked(make_server: Any) -> Any:
    """A server on a ManualClock: retry backoff and record ages move only with ``clocked.advance(seconds)``, which
    returns once the pipe has done everything due by then."""
    return make_server(clock=ManualClock())


# ── control plane ────────────────────────────────────────────────────────────────────────────────────────────


def test_pipe_lifecycle_states_listing_and_tags(server):
    pipes = server.client("pipes")
    stream = make_table(server)
    _, queue_arn = make_queue(server, "out")
    created = pipes.create_pipe(
        Name="p1",
        Source=stream,
        Target=queue_arn,
        RoleArn=ROLE,
        SourceParameters=stream_params(),
        Tags={"team": "grid"},
    )
    assert created["CurrentState"] == "CREATING" and created["DesiredState"] == "RUNNING"
    assert created["Arn"] == f"arn:aws:pipes:us-east-1:{ACCOUNT}:pipe/p1"
    described = pipes.describe_pipe(Name="p1")
    assert described["CurrentState"] == "RUNNING"
    assert described["SourceParameters"]["DynamoDBStreamParameters"]["StartingPosition"] == "TRIM_HORIZON"
    assert described["Tags"] == {"team": "grid"}

    assert pipes.stop_pipe(Name="p1")["CurrentState"] == "STOPPING"
    stopped = pipes.describe_pipe(Name="p1")
    assert (stopped["CurrentState"], stopped["DesiredState"]) == ("STOPPED", "STOPPED")
    assert pipes.start_pipe(Name="p1")["CurrentState"] == "STARTING"
    assert pipes.describe_pipe(Name="p1")["CurrentState"] == "RUNNING"

    updated = pipes.update_pipe(
        Name="p1",
        RoleArn=ROLE,
        Description="dispatches",
        SourceParameters={"DynamoDBStreamParameters": {"BatchSize": 5}},
    )
    assert updated["CurrentState"] == "UPDATING"
    described = pipes.describe_pipe(Name="p1")
    assert described["Description"] == "dispatches"
    assert described["SourceParameters"]["DynamoDBStreamParameters"] == {
        "StartingPosition": "TRIM_HORIZON",
        "BatchSize": 5,
    }

    for i in range(3):
        pipes.create_pipe(
            Name=f"q{i}",
            Source=stream,
            Target=queue_arn,
            RoleArn=ROLE,
            SourceParameters=stream_params(),
            DesiredState="STOPPED",
        )
    assert pipes.describe_pipe(Name="q0")["CurrentState"] == "STOPPED"
    assert [p["Name"] for p in pipes.list_pipes(NamePrefix="q")["Pipes"]] == ["q0", "q1", "q2"]
    assert [p["Name"] for p in pipes.list_pipes(CurrentState="RUNNING")["Pipes"]] == ["p1"]
    page = pipes.list_pipes(Limit=2)
    assert len(page["Pipes"]) == 2 and "NextToken" in page
    rest = pipes.list_pipes(Limit=2, NextToken=page["NextToken"])
    assert [p["Name"] for p in page["Pipes"] + rest["Pipes"]] == ["p1", "q0", "q1", "q2"]
    assert "NextToken" not in rest

    arn = created["Arn"]
    pipes.tag_resource(resourceArn=arn, tags={"env": "dev"})
    assert pipes.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "grid", "env": "dev"}
    pipes.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert pipes.list_tags_for_resource(resourceArn=arn)["tags"] == {"env": "dev"}

    deleted = pipes.delete_pipe(Name="p1")
    assert (deleted["CurrentState"], deleted["DesiredState"]) == ("DELETING", "DELETED")
    with pytest.raises(ClientError) as exc:
        pipes.describe_pipe(Name="p1")
    assert exc.value.response["Error"]["Code"] == "NotFoundException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        ({"Source": f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/s"}, "ValidationException", "not supported"),
        ({"Target": f"arn:aws:sns:us-east-1:{ACCOUNT}:topic"}, "ValidationException", "not supported"),
        ({"SourceParameters": {}}, "ValidationException", "StartingPosition"),
        (
            {
                "SourceParameters": {
                    **stream_params(),
                    "FilterCriteria": {"Filters": [{"Pattern": '{"a": 1}'}]},
                }
            },
            "ValidationException",
            "Pattern is invalid",
        ),
        ({"SourceParameters": stream_params(BatchSize=50)}, "ValidationException", "maximum batch size"),
        ({"TargetParameters": {"InputTemplate": '{"a": <$.x'}}, "ValidationException", "InputTemplate"),
        ({"SourceParameters": {"SqsQueueParameters": {}}}, "ValidationException", "does not apply"),
    ],
    ids=[
        "kinesis-source",
        "sns-target",
        "no-starting-position",
        "bad-filter",
        "batch-over-target",
        "bad-template",
        "wrong-source-params",
    ],
)
def test_create_pipe_rejects_what_cannot_run(server, change, code, message):
    pipes = server.client("pipes")
    stream = make_table(server)
    _, queue_arn = make_queue(server, "out")
    params = {
        "Name": "bad",
        "Source": stream,
        "Target": queue_arn,
        "RoleArn": ROLE,
        "SourceParameters": stream_params(),
    }
    params.update(change)
    with pytest.raises(ClientError) as exc:
        pipes.create_pipe(**params)
    assert exc.value.response["Error"]["Code"] == code
    assert message in exc.value.response["Error"]["Message"]


def test_create_existing_pipe_conflicts(server):
    pipes = server.client("pipes")
    stream = make_table(server)
    _, queue_arn = make_queue(server, "out")
    pipes.create_pipe(
        Name="p", Source=stream, Target=queue_arn, RoleArn=ROLE, SourceParameters=stream_params()
    )
    with pytest.raises(ClientError) as exc:
        pipes.create_pipe(
            Name="p", Source=stream, Target=queue_arn, RoleArn=ROLE, SourceParameters=stream_params()
        )
    assert exc.value.response["Error"]["Code"] == "ConflictException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409


# ── runtime ──────────────────────────────────────────────────────────────────────────────────────────────────


def test_stream_to_bus_filters_deletions_and_reshapes_records(server):
    pipes, events = server.client("pipes"), server.client("events")
    stream = make_table(server)
    bus = events.create_event_bus(Name="power-events")["EventBusArn"]
    url, queue_arn = make_queue(server, "updates")
    events.put_rule(
        Name="dispatches", EventBusName="power-events", EventPattern='{"source": ["energy.dispatch"]}'
    )
    events.put_targets(
        Rule="dispatches", EventBusName="power-events", Targets=[{"Id": "q", "Arn": queue_arn}]
    )
    pipes.create_pipe(
        Name="powers",
        Source=stream,
        Target=bus,
        RoleArn=ROLE,
        SourceParameters={
            **stream_params(),
            "FilterCriteria": {"Filters": [{"Pattern": '{"eventName": ["INSERT", "MODIFY"]}'}]},
        },
        TargetParameters={
            "InputTemplate": '{"subjectId": <$.dynamodb.NewImage.subjectId.S>, "pipe": <aws.pipes.pipe-name>}',
            "EventBridgeEventBusParameters": {"Source": "energy.dispatch", "DetailType": "$.eventName"},
        },
    )
    ddb = server.client("dynamodb")
    put_powers(server, "Powers", "s1", "s2")
    ddb.delete_item(TableName="Powers", Key={"subjectId": {"S": "s1"}})
    ddb.update_item(
        TableName="Powers",
        Key={"subjectId": {"S": "s2"}},
        UpdateExpression="SET mw = :v",
        ExpressionAttributeValues={":v": {"N": "7"}},
    )
    messages = receive_all(server, url, 3)
    events_seen = [json.loads(m["Body"]) for m in messages]
    assert [(e["detail-type"], e["detail"]) for e in events_seen] == [
        ("INSERT", {"subjectId": "s1", "pipe": "powers"}),
        ("INSERT", {"subjectId": "s2", "pipe": "powers"}),
        ("MODIFY", {"subjectId": "s2", "pipe": "powers"}),
    ]
    assert {e["source"] for e in events_seen} == {"energy.dispatch"}
    metrics = extension(server, "/_pipework/pipes/powers/metrics")["Metrics"]
    assert metrics["EventCount"]["Sum"] == 4 and metrics["FilteredOut"]["Sum"] == 1


def test_queue_source_with_python_enrichment_notifies_orders(server):
    """The retailer's order notifications: orders on a queue, enriched with the customer, sent to a queue."""
    customers = {"c1": "ada@example.com", "c2": "bob@example.com"}

    def add_customer(batch: list[Any], context: Any) -> list[Any]:
        return [{"order": r["body"]["orderId"], "email": customers[r["body"]["customer"]]} for r in batch]

    server.pipework.functions.register("add-customer", add_customer)
    in_url, in_arn = make_queue(server, "orders")
    out_url, out_arn = make_queue(server, "notifications")
    server.client("pipes").create_pipe(
        Name="order-notifications",
        Source=in_arn,
        Target=out_arn,
        RoleArn=ROLE,
        SourceParameters={
            "SqsQueueParameters": {"BatchSize": 10},
            "FilterCriteria": {"Filters": [{"Pattern": '{"body": {"status": ["PLACED"]}}'}]},
        },
        Enrichment=FN + "add-customer",
        EnrichmentParameters={"InputTemplate": '{"body": <$.body>}'},
        TargetParameters={"InputTemplate": "Order <$.order> confirmed for <$.email>"},
    )
    sqs = server.client("sqs")
    sqs.send_message(
        QueueUrl=in_url, MessageBody=json.dumps({"orderId": "o1", "customer": "c1", "status": "PLACED"})
    )
    sqs.send_message(
        QueueUrl=in_url, MessageBody=json.dumps({"orderId": "o2", "customer": "c2", "status": "DRAFT"})
    )
    sqs.send_message(QueueUrl=in_url, MessageBody="not json")
    sqs.send_message(
        QueueUrl=in_url, MessageBody=json.dumps({"orderId": "o3", "customer": "c2", "status": "PLACED"})
    )
    bodies = sorted(m["Body"] for m in receive_all(server, out_url, 2))
    assert bodies == ["Order o1 confirmed for ada@example.com", "Order o3 confirmed for bob@example.com"]

    def source_empty() -> bool:
        attributes = sqs.get_queue_attributes(QueueUrl=in_url, AttributeNames=["All"])["Attributes"]
        return (
            attributes["ApproximateNumberOfMessages"] == "0"
            and attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
        )

    # Filtered-out messages (a draft, a plain-text body) are deleted from the queue, as AWS does.
    wait_for(source_empty)


def test_a_batching_window_closes_at_its_clock_time_even_when_the_clock_jumps_past_it(clocked):
    server = clocked
    delivered: list[tuple[float, list[str]]] = []

    def target(batch: list[Any], context: Any) -> None:
        delivered.append((server.now(), [r["body"] for r in batch]))

    server.pipework.functions.register("target", target)
    url, arn = make_queue(server, "window")
    server.client("pipes").create_pipe(
        Name="windowed",
        Source=arn,
        Target=FN + "target",
        RoleArn=ROLE,
        SourceParameters={"SqsQueueParameters": {"BatchSize": 10, "MaximumBatchingWindowInSeconds": 10}},
    )
    sqs = server.client("sqs")
    opened = server.now()
    sqs.send_message(QueueUrl=url, MessageBody="a")
    server.advance(4)
    sqs.send_message(QueueUrl=url, MessageBody="b")
    server.advance(3600)
    assert delivered == [(opened + 10, ["a", "b"])]


def test_queue_source_leaves_failed_messages_to_the_queue_redrive_policy(server):
    server.pipework.functions.register("broken", lambda event, context: 1 / 0)
    dlq_url, dlq_arn = make_queue(server, "orders-dlq")
    in_url, in_arn = make_queue(
        server,
        "orders",
        VisibilityTimeout="0",
        RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}),
    )
    server.client("pipes").create_pipe(Name="p", Source=in_arn, Target=FN + "broken", RoleArn=ROLE)
    server.client("sqs").send_message(QueueUrl=in_url, MessageBody='{"orderId": "o1"}')
    moved = receive_all(server, dlq_url, 1)
    assert [m["Body"] for m in moved] == ['{"orderId": "o1"}']


def test_partial_batch_failures_retry_only_the_failed_records(clocked):
    server = clocked
    seen_fail = set()

    def fail_s2_once(batch: list[Any]) -> Any:
        failures = []
        for record in batch:
            if subject(record) == "s2" and "s2" not in seen_fail:
                seen_fail.add("s2")
                failures.append({"itemIdentifier": record["eventID"]})
        return {"batchItemFailures": failures}

    target = Recorder(fail_s2_once)
    server.pipework.functions.register("target", target)
    stream = make_table(server)
    put_powers(server, "Powers", "s1", "s2", "s3")
    server.client("pipes").create_pipe(
        Name="p",
        Source=stream,
        Target=FN + "target",
        RoleArn=ROLE,
        SourceParameters=stream_params(BatchSize=3),
    )
    server.advance(0)
    assert [[subject(r) for r in b] for b in target.batches] == [["s1", "s2", "s3"]]
    server.advance(30)  # the longest first backoff
    assert [[subject(r) for r in b] for b in target.batches] == [["s1", "s2", "s3"], ["s2"]]
    metrics = extension(server, "/_pipework/pipes/p/metrics")["Metrics"]
    assert metrics["ExecutionPartiallyFailed"]["Sum"] == 1 and metrics["Retries"]["Sum"] == 1


def test_parallelization_factor_runs_lanes_concurrently_and_keeps_each_items_order(server):
    in_flight = {"now": 0, "max": 0}
    lock = threading.Lock()

    def slow(batch: list[Any]) -> None:
        with lock:
            in_flight["now"] += 1
            in_flight["max"] = max(in_flight["max"], in_flight["now"])
        time.sleep(0.05)
        with lock:
            in_flight["now"] -= 1

    target = Recorder(slow)
    server.pipework.functions.register("target", target)
    stream = make_table(server)
    ddb = server.client("dynamodb")
    subjects = [f"s{n}" for n in range(8)]
    for version in range(5):
        for name in subjects:
            ddb.put_item(TableName="Powers", Item={"subjectId": {"S": name}, "mw": {"N": str(version)}})
    server.client("pipes").create_pipe(
        Name="p",
        Source=stream,
        Target=FN + "target",
        RoleArn=ROLE,
        SourceParameters=stream_params(BatchSize=2, ParallelizationFactor=4),
    )
    wait_for(lambda: len(target.items) == 40, timeout=20)
    by_subject: dict[str, list[str]] = {}
    for record in target.items:
        by_subject.setdefault(subject(record), []).append(record["dynamodb"]["NewImage"]["mw"]["N"])
    assert by_subject == {name: ["0", "1", "2", "3", "4"] for name in subjects}  # per-item order kept
    assert in_flight["max"] > 1  # lanes ran at the same time


def test_automatic_bisect_isolates_a_poison_record_and_dead_letters_it(clocked):
    server = clocked

    def poison(batch: list[Any]) -> Any:
        if any(subject(r) == "s3" for r in batch):
            raise ValueError("cannot dispatch s3")
        return None

    target = Recorder(poison)
    server.pipework.functions.register("target", target)
    stream = make_table(server)
    put_powers(server, "Powers", "s1", "s2", "s3", "s4")
    server.client("pipes").create_pipe(
        Name="p",
        Source=stream,
        Target=FN + "target",
        RoleArn=ROLE,
        SourceParameters=stream_params(
            BatchSize=4, OnPartialBatchItemFailure="AUTOMATIC_BISECT", MaximumRetryAttempts=1
        ),
    )
    server.advance(0)
    assert dead_letters(server, "p") == []  # s3 waits for its retry
    server.advance(60)
    letters = dead_letters(server, "p")
    calls = [[subject(r) for r in b] for b in target.batches]
    assert calls == [["s1", "s2", "s3", "s4"], ["s1", "s2"], ["s3", "s4"], ["s3"], ["s3"], ["s4"]]
    assert [subject(d["Record"]) for d in letters] == ["s3"]
    assert letters[0]["Error"]["ERROR_CODE"] == "FUNCTION_ERROR"
    assert letters[0]["Error"]["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"


def test_expired_records_reach_the_dead_letters_in_full_and_redrive_delivers_them(clocked):
    server = clocked
    healthy = threading.Event()

    def flaky(batch: list[Any]) -> Any:
        if not healthy.is_set():
            raise RuntimeError("dispatch service down")
        return None

    target = Recorder(flaky)
    server.pipework.functions.register("target", target)
    dlq_url, dlq_arn = make_queue(server, "pipe-dlq")
    stream = make_table(server)
    put_powers(server, "Powers", "s1", "s2")
    server.client("pipes").create_pipe(
        Name="p",
        Source=stream,
        Target=FN + "target",
        RoleArn=ROLE,
        SourceParameters=stream_params(MaximumRecordAgeInSeconds=60, DeadLetterConfig={"Arn": dlq_arn}),
    )
    server.advance(0)
    assert len(target.batches) == 1 and dead_letters(server, "p") == []
    server.advance(59)
    assert dead_letters(server, "p") == []  # retried with backoff while younger than a minute
    server.advance(60)
    letters = dead_letters(server, "p")
    assert [subject(d["Record"]) for d in letters] == ["s1", "s2"]
    assert letters[0]["Record"]["dynamodb"]["NewImage"] == {"subjectId": {"S": "s1"}, "mw": {"N": "5"}}
    assert letters[0]["Error"]["EXHAUSTED_RETRY_CONDITION"] == "MaximumRecordAgeInSeconds"
    # The DeadLetterConfig queue gets AWS's batch info plus the full records.
    message = json.loads(receive_all(server, dlq_url, 1)[0]["Body"])
    assert [subject(r) for r in message["records"]] == ["s1", "s2"]
    assert message["DDBStreamBatchInfo"]["batchSize"] == 2

    # The stream moved on: a new record is delivered once the target works again.
    healthy.set()
    put_powers(server, "Powers", "s3")
    wait_for(lambda: "s3" in [subject(r) for r in target.items])
    redriven = extension(server, "/_pipework/pipes/dead-letters/redrive", {"Pipe": "p"})
    assert redriven == {"Redriven": 2}
    wait_for(lambda: {"s1", "s2"} <= {subject(r) for r in target.items})
    assert dead_letters(server, "p") == []


def test_invoke_reports_each_stage(server):
    def enrich(batch: list[Any], context: Any) -> list[Any]:
        return [{**r, "region": "north"} for r in batch]

    target = Recorder()
    server.pipework.functions.register("enrich", enrich)
    server.pipework.functions.register("target", target)
    stream = make_table(server)
    server.client("pipes").create_pipe(
        Name="p",
        Source=stream,
        Target=FN + "target",
        RoleArn=ROLE,
        DesiredState="STOPPED",
        SourceParameters={
            **stream_params(),
            "FilterCriteria": {"Filters": [{"Pattern": '{"eventName": ["INSERT"]}'}]},
        },
        Enrichment=FN + "enrich",
        EnrichmentParameters={"InputTemplate": '{"id": <$.dynamodb.Keys.subjectId.S>}'},
        TargetParameters={"InputTemplate": '{"subject": <$.id>, "region": <$.region>}'},
    )
    record = {"eventID": "e1", "eventName": "INSERT", "dynamodb": {"Keys": {"subjectId": {"S": "s9"}}}}
    result = extension(server, "/_pipework/pipes/p/invoke", {"Records": [record]})
    assert result["Status"] == "SUCCEEDED"
    stages = {s["Stage"]: s for s in result["Stages"]}
    assert stages["FILTER"]["Output"] == {"Matched": 1, "FilteredOut": 0}
    assert stages["ENRICHMENT"]["Input"] == [{"id": "s9"}]
    assert stages["ENRICHMENT"]["Output"] == [{"id": "s9", "region": "north"}]
    assert stages["TARGET"]["Input"] == [{"subject": "s9", "region": "north"}]
    assert target.batches == [[{"subject": "s9", "region": "north"}]]

    removed = extension(server, "/_pipework/pipes/p/invoke", {"Records": [{**record, "eventName": "REMOVE"}]})
    assert removed["Status"] == "FILTERED"


def test_pipe_stops_itself_when_its_target_keeps_failing_with_a_permission_error(clocked):
    server = clocked
    pipes, events = server.client("pipes"), server.client("events")
    stream = make_table(server)
    bus = events.create_event_bus(Name="gone")["EventBusArn"]
    pipes.create_pipe(Name="p", Source=stream, Target=bus, RoleArn=ROLE, SourceParameters=stream_params())
    events.delete_event_bus(Name="gone")
    put_powers(server, "Powers", "s1")
    server.advance(0)
    assert pipes.describe_pipe(Name="p")["CurrentState"] == "RUNNING"  # retrying with backoff
    server.advance(300)
    stopped = pipes.describe_pipe(Name="p")
    assert stopped["CurrentState"] == "STOPPED"
    assert stopped["DesiredState"] == "RUNNING"
    assert "NO_RESOURCE" in stopped["StateReason"]
    assert dead_letters(server, "p") == []  # not dead-lettered: the records wait for the pipe to be fixed
    # An alarm can watch for it: Pipework/Pipes StoppedItself.
    found = server.client("cloudwatch").list_metrics(Namespace="Pipework/Pipes")["Metrics"]
    assert found == [
        {
            "Namespace": "Pipework/Pipes",
            "MetricName": "StoppedItself",
            "Dimensions": [{"Name": "PipeName", "Value": "p"}],
        }
    ]


def test_execution_log_levels_write_json_lines_to_the_log_group(server, tmp_path):
    target = Recorder()
    server.pipework.functions.register("target", target)
    stream = make_table(server)
    group = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/pipes/test-{time.monotonic_ns()}"
    server.client("pipes").create_pipe(
        Name="logged",
        Source=stream,
        Target=FN + "target",
        RoleArn=ROLE,
        SourceParameters=stream_params(),
        LogConfiguration={
            "Level": "INFO",
            "IncludeExecutionData": ["ALL"],
            "CloudwatchLogsLogDestination": {"LogGroupArn": group},
        },
    )
    put_powers(server, "Powers", "s1")
    logs = server.client("logs")
    name = group.split(":log-group:")[1]

    def finished() -> list[dict[str, Any]]:
        try:
            events = logs.filter_log_events(logGroupName=name)["events"]
        except logs.exceptions.ResourceNotFoundException:
            return []
        lines = [json.loads(e["message"]) for e in events]
        return lines if any(line["messageType"] == "ExecutionSucceeded" for line in lines) else []

    lines = wait_for(finished)
    types = [line["messageType"] for line in lines]
    assert types[0] == "ExecutionStarted" and "TargetStageSucceeded" in types
    assert "TargetInvocationStarted" not in types  # TRACE only
    assert "payload" in lines[0] and lines[0]["resourceArn"].endswith(":pipe/logged")
    streams = logs.describe_log_streams(logGroupName=name)["logStreams"]
    assert [s["logStreamName"] for s in streams] == ["logged"]
    failed = logs.filter_log_events(logGroupName=name, filterPattern='{ $.messageType = "Execution*" }')
    assert {json.loads(e["message"])["messageType"] for e in failed["events"]} == {
        "ExecutionStarted",
        "ExecutionSucceeded",
    }


# ── CLI ──────────────────────────────────────────────────────────────────────────────────────────────────────


def cli(server: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipework.cli.main", *args, "--endpoint-url", server.endpoint_url],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_lists_describes_invokes_reads_metrics_and_redrives(server, tmp_path):
    target = Recorder(
        lambda batch: (_ for _ in ()).throw(RuntimeError("down")) if not healthy.is_set() else None
    )
    healthy = threading.Event()
    server.pipework.functions.register("target", target)
    stream = make_table(server)
    server.client("pipes").create_pipe(
        Name="cli-pipe",
        Source=stream,
        Target=FN + "target",
        RoleArn=ROLE,
        SourceParameters=stream_params(MaximumRetryAttempts=0),
    )
    listed = cli(server, "pipes", "list")
    assert listed.returncode == 0 and "cli-pipe" in listed.stdout and "RUNNING" in listed.stdout
    described = cli(server, "pipes", "describe", "cli-pipe")
    assert json.loads(described.stdout)["Name"] == "cli-pipe"

    put_powers(server, "Powers", "s1")
    wait_for(lambda: dead_letters(server, "cli-pipe"))
    healthy.set()
    record = tmp_path / "record.json"
    record.write_text(
        json.dumps(
            {"eventID": "x", "eventName": "INSERT", "dynamodb": {"NewImage": {"subjectId": {"S": "s7"}}}}
        )
    )
    invoked = cli(server, "pipes", "invoke", "cli-pipe", "--record", f"@{record}")
    assert invoked.returncode == 0, invoked.stderr
    assert json.loads(invoked.stdout)["Status"] == "SUCCEEDED"
    metrics = cli(server, "pipes", "metrics", "cli-pipe")
    assert "Invocations" in metrics.stdout

    redriven = cli(server, "dlq", "redrive", "--pipe", "cli-pipe")
    assert redriven.returncode == 0, redriven.stderr
    assert "redriven: 1" in redriven.stdout
    wait_for(
        lambda: "s1" in [subject(r) for r in target.items if "dynamodb" in r and "Keys" in r["dynamodb"]]
    )


def test_queue_target_parameters_set_group_and_deduplication_ids_from_the_record(server):
    source_url, source_arn = make_queue(server, "incoming")
    target_url, target_arn = make_queue(server, "ordered.fifo", FifoQueue="true")
    server.client("pipes").create_pipe(
        Name="p",
        Source=source_arn,
        Target=target_arn,
        RoleArn=ROLE,
        TargetParameters={
            "InputTemplate": '{"order": <$.body.id>}',
            "SqsQueueParameters": {
                "MessageGroupId": "$.body.customer",
                "MessageDeduplicationId": "$.body.id",
            },
        },
    )
    sqs = server.client("sqs")
    for order_id, customer in (("o-1", "c-1"), ("o-2", "c-2"), ("o-1", "c-1")):  # the third is a duplicate
        sqs.send_message(QueueUrl=source_url, MessageBody=json.dumps({"id": order_id, "customer": customer}))
    wait_for(lambda: queue_empty(server, source_url))
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(got) < 3:
        answer = sqs.receive_message(
            QueueUrl=target_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            MessageSystemAttributeNames=["All"],
        )
        for message in answer.get("Messages", []):
            sqs.delete_message(QueueUrl=target_url, ReceiptHandle=message["ReceiptHandle"])
            got.append(message)
        if len(got) == 2:
            break
    orders = {json.loads(m["Body"])["order"]: m["Attributes"] for m in got}
    assert sorted(orders) == ["o-1", "o-2"] and len(got) == 2
    assert orders["o-1"]["MessageGroupId"] == "c-1" and orders["o-1"]["MessageDeduplicationId"] == "o-1"
    assert orders["o-2"]["MessageGroupId"] == "c-2"
