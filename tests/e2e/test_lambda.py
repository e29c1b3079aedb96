"""Lambda through boto3: functions created from a zip run in worker processes — synchronous, asynchronous and dry-run
invocations, errors, environment variables, the SDK inside a function calling this server, timeouts that kill the
worker, and API-created functions as the targets of rules and of event source mappings (SQS, DynamoDB streams)."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipework.clock import ManualClock
from pipework.testing import RunningServer
from support.http import wait_for
from support.lambdas import package

ROLE = "arn:aws:iam::000000000000:role/lambda"

APP = '''
import json, os, time
import boto3


def handler(event, context):
    print("event", json.dumps(event))
    action = event.get("action") if isinstance(event, dict) else None
    if action == "fail":
        raise ValueError("the function failed on purpose")
    if action == "sleep":
        time.sleep(event["seconds"])
    if action == "exit":
        os._exit(3)
    if action == "allocate":
        blob = bytearray(event["megabytes"] * 1024 * 1024)
        return len(blob)
    if action == "send":
        sqs = boto3.client("sqs")
        url = sqs.get_queue_url(QueueName=event["queue"])["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event["body"]))
        return {"sent": url}
    return {
        "event": event,
        "greeting": os.environ.get("GREETING"),
        "pid": os.getpid(),
        "name": context.function_name,
        "arn": context.invoked_function_arn,
        "remaining": context.get_remaining_time_in_millis(),
        "region": os.environ.get("AWS_REGION"),
    }


def forward(event, context):
    """Sends what it receives to the queue named by FORWARD_TO (event source mappings, rules)."""
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=os.environ["FORWARD_TO"])["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))
    failures = [
        {"itemIdentifier": r["messageId"]}
        for r in event.get("Records", [])
        if r.get("body") == "bad"
    ]
    return {"batchItemFailures": failures}


def reject(event, context):
    raise RuntimeError("rejected " + str(len(event.get("Records", []))))
'''


def deploy(server: RunningServer, name: str, handler: str = "app.handler", **options: Any) -> dict[str, Any]:
    options.setdefault("Timeout", 60)
    return dict(
        server.client("lambda").create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=ROLE,
            Handler=handler,
            Code={"ZipFile": package({"app.py": APP})},
            **options,
        )
    )


def invoke(server: RunningServer, name: str, event: Any, **options: Any) -> tuple[dict[str, Any], Any]:
    answer = server.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event).encode(), **options)
    return answer, json.loads(answer["Payload"].read() or b"null")


def make_queue(server: RunningServer, name: str, **attributes: str) -> tuple[str, str]:
    sqs = server.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def receive(server: RunningServer, url: str, count: int, timeout: float = 30.0) -> list[Any]:
    """The bodies (parsed when they hold JSON) of `count` messages from `url`, waiting for them."""
    sqs = server.client("sqs")
    got: list[Any] = []

    def more() -> bool:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            try:
                got.append(json.loads(message["Body"]))
            except ValueError:  # a text body
                got.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return len(got) >= count

    wait_for(more, timeout=timeout)
    return got


def test_a_function_from_a_zip_runs_with_its_environment_and_context(server: RunningServer) -> None:
    created = deploy(server, "hello", Environment={"Variables": {"GREETING": "hi"}})
    assert created["State"] == "Active" and created["Runtime"] == "python3.12"
    assert created["Environment"] == {"Variables": {"GREETING": "hi"}}
    answer, result = invoke(server, "hello", {"n": 1}, LogType="Tail")
    assert answer["StatusCode"] == 200 and "FunctionError" not in answer
    assert answer["ExecutedVersion"] == "$LATEST"
    assert result["event"] == {"n": 1}
    assert result["greeting"] == "hi"
    assert result["name"] == "hello"
    assert result["arn"] == created["FunctionArn"]
    assert 0 < result["remaining"] <= 60_000
    assert result["region"] == server.region
    assert result["pid"] != os.getpid()  # a worker process, not the server
    tail = base64.b64decode(answer["LogResult"]).decode()
    assert 'event {"n": 1}' in tail and "END RequestId:" in tail
    logged = server.client("logs").filter_log_events(logGroupName="/aws/lambda/hello")["events"]
    messages = [e["message"] for e in logged]
    assert 'event {"n": 1}' in messages and any(m.startswith("REPORT RequestId:") for m in messages)


def test_an_unhandled_error_is_a_function_error_with_aws_payload(server: RunningServer) -> None:
    deploy(server, "failing")
    answer, result = invoke(server, "failing", {"action": "fail"})
    assert answer["StatusCode"] == 200
    assert answer["FunctionError"] == "Unhandled"
    assert result["errorType"] == "ValueError"
    assert result["errorMessage"] == "the function failed on purpose"
    assert result["stackTrace"] and result["requestId"]


def test_a_crashing_worker_fails_only_its_invocation(server: RunningServer) -> None:
    deploy(server, "crash")
    answer, result = invoke(server, "crash", {"action": "exit"})
    assert answer["FunctionError"] == "Unhandled"
    assert result["errorType"] == "Runtime.ExitError" and "exit status 3" in result["errorMessage"]
    assert invoke(server, "crash", {})[1]["event"] == {}


def test_dry_run_and_event_invocations(server: RunningServer) -> None:
    deploy(server, "sender")
    url, _ = make_queue(server, "async-out")
    client = server.client("lambda")
    assert client.invoke(FunctionName="sender", InvocationType="DryRun")["StatusCode"] == 204
    event = {"action": "send", "queue": "async-out", "body": {"async": True}}
    answer = client.invoke(FunctionName="sender", InvocationType="Event", Payload=json.dumps(event).encode())
    assert answer["StatusCode"] == 202
    assert receive(server, url, 1) == [{"async": True}]


def test_the_sdk_inside_a_function_reaches_this_server(server: RunningServer) -> None:
    deploy(server, "sdk")
    url, _ = make_queue(server, "from-function")
    answer, result = invoke(server, "sdk", {"action": "send", "queue": "from-function", "body": {"x": 1}})
    assert "FunctionError" not in answer, result
    assert result["sent"].endswith("/from-function")
    assert receive(server, url, 1) == [{"x": 1}]


def test_a_timeout_kills_the_worker_and_the_server_carries_on(server: RunningServer) -> None:
    deploy(server, "slow", Timeout=1)
    _, first = invoke(server, "slow", {})
    worker = first["pid"]
    answer, result = invoke(server, "slow", {"action": "sleep", "seconds": 120})
    assert answer["FunctionError"] == "Unhandled"
    assert result["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in result["errorMessage"]
    with pytest.raises(ProcessLookupError):  # the warm worker that ran it is gone
        os.kill(worker, 0)
    assert server.client("sqs").list_queues() is not None  # the server answers
    _, again = invoke(server, "slow", {"n": 2})
    assert again["event"] == {"n": 2} and again["pid"] != worker


def test_a_response_over_6_mb_is_a_function_error(server: RunningServer) -> None:
    deploy(server, "talkative", MemorySize=512)
    answer, result = invoke(server, "talkative", {"action": "allocate", "megabytes": 1}, LogType="None")
    assert result == 1024 * 1024
    code = package({"app.py": "def handler(event, context):\n    return 'x' * (7 * 1024 * 1024)\n"})
    server.client("lambda").update_function_code(FunctionName="talkative", ZipFile=code)
    answer, result = invoke(server, "talkative", {})
    assert answer["FunctionError"] == "Unhandled"
    assert result["errorType"] == "Function.ResponseSizeTooLarge"


def test_memory_size_caps_the_worker(server: RunningServer) -> None:
    deploy(server, "greedy", MemorySize=128)
    answer, result = invoke(server, "greedy", {"action": "allocate", "megabytes": 512})
    assert answer["FunctionError"] == "Unhandled"
    assert result["errorType"] == "MemoryError"
    assert invoke(server, "greedy", {"action": "allocate", "megabytes": 16})[1] == 16 * 1024 * 1024


def test_update_code_and_configuration(server: RunningServer) -> None:
    created = deploy(server, "changing")
    client = server.client("lambda")
    code = package({"app.py": "def handler(event, context):\n    return 'v2'\n"})
    updated = client.update_function_code(FunctionName="changing", ZipFile=code)
    assert updated["CodeSha256"] != created["CodeSha256"]
    assert updated["RevisionId"] != created["RevisionId"]
    assert invoke(server, "changing", {})[1] == "v2"
    configured = client.update_function_configuration(
        FunctionName="changing", Environment={"Variables": {"AB": "1"}}, Timeout=7, MemorySize=256
    )
    assert (configured["Timeout"], configured["MemorySize"]) == (7, 256)
    got = client.get_function(FunctionName="changing")["Configuration"]
    assert got["Environment"] == {"Variables": {"AB": "1"}} and got["RevisionId"] == configured["RevisionId"]
    with pytest.raises(client.exceptions.PreconditionFailedException):
        client.update_function_configuration(
            FunctionName="changing", Timeout=9, RevisionId=created["RevisionId"]
        )


def test_function_lifecycle_errors(server: RunningServer) -> None:
    client = server.client("lambda")
    deploy(server, "once")
    with pytest.raises(client.exceptions.ResourceConflictException):
        deploy(server, "once")
    with pytest.raises(client.exceptions.InvalidParameterValueException):
        client.create_function(
            FunctionName="node", Runtime="nodejs20.x", Role=ROLE, Handler="i.h", Code={"ZipFile": package()}
        )
    with pytest.raises(client.exceptions.InvalidParameterValueException):
        client.create_function(
            FunctionName="notzip", Runtime="python3.12", Role=ROLE, Handler="a.h", Code={"ZipFile": b"nope"}
        )
    with pytest.raises(client.exceptions.InvalidRequestContentException):
        client.invoke(FunctionName="once", Payload=b"{not json")
    assert [f["FunctionName"] for f in client.list_functions()["Functions"]] == ["once"]
    client.delete_function(FunctionName="once")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName="once", Payload=b"{}")
    assert client.list_functions()["Functions"] == []


def test_a_local_directory_becomes_the_package(server: RunningServer, tmp_path: Any) -> None:
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return 'from a directory'\n")
    client = server.client("lambda")
    client.create_function(
        FunctionName="dir",
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        Code={"S3Bucket": "pipework-local", "S3Key": str(tmp_path)},
    )
    assert invoke(server, "dir", {})[1] == "from a directory"


def test_local_functions_are_listed_and_invoked_through_the_api(server: RunningServer) -> None:
    server.pipework.functions.register("local_one", lambda event, context: {"local": event})
    client = server.client("lambda")
    assert "local_one" in [f["FunctionName"] for f in client.list_functions()["Functions"]]
    assert invoke(server, "local_one", {"a": 1})[1] == {"local": {"a": 1}}


def test_async_destinations_on_success_and_on_failure(server: RunningServer) -> None:
    deploy(server, "dest")
    ok_url, ok_arn = make_queue(server, "on-success")
    bad_url, bad_arn = make_queue(server, "on-failure")
    client = server.client("lambda")
    config = client.put_function_event_invoke_config(
        FunctionName="dest",
        MaximumRetryAttempts=0,
        MaximumEventAgeInSeconds=600,
        DestinationConfig={"OnSuccess": {"Destination": ok_arn}, "OnFailure": {"Destination": bad_arn}},
    )
    assert config["MaximumRetryAttempts"] == 0
    got = client.get_function_event_invoke_config(FunctionName="dest")
    assert got["DestinationConfig"]["OnFailure"]["Destination"] == bad_arn
    client.invoke(FunctionName="dest", InvocationType="Event", Payload=b'{"n": 1}')
    client.invoke(FunctionName="dest", InvocationType="Event", Payload=b'{"action": "fail"}')
    (success,) = receive(server, ok_url, 1)
    assert success["requestContext"]["condition"] == "Success"
    assert success["requestPayload"] == {"n": 1}
    assert success["responsePayload"]["event"] == {"n": 1}
    (failure,) = receive(server, bad_url, 1)
    assert failure["requestContext"]["condition"] == "RetriesExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 1
    assert failure["responseContext"]["functionError"] == "Unhandled"
    assert failure["responsePayload"]["errorType"] == "ValueError"
    with pytest.raises(client.exceptions.InvalidParameterValueException):
        client.put_function_event_invoke_config(
            FunctionName="dest",
            DestinationConfig={"OnSuccess": {"Destination": "arn:aws:s3:::bucket"}},
        )
    client.delete_function_event_invoke_config(FunctionName="dest")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_function_event_invoke_config(FunctionName="dest")


def test_a_rule_targets_an_api_created_function(server: RunningServer) -> None:
    url, _ = make_queue(server, "rule-out")
    function = deploy(
        server, "ruled", handler="app.forward", Environment={"Variables": {"FORWARD_TO": "rule-out"}}
    )
    events = server.client("events")
    rule = events.put_rule(Name="to-function", EventPattern='{"source": ["shop"]}')["RuleArn"]
    client = server.client("lambda")
    client.add_permission(  # as a script written for AWS does first: recorded, not enforced
        FunctionName="ruled",
        StatementId="events",
        Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com",
        SourceArn=rule,
    )
    policy = json.loads(client.get_policy(FunctionName="ruled")["Policy"])
    assert policy["Statement"][0]["Condition"] == {"ArnLike": {"AWS:SourceArn": rule}}
    events.put_targets(Rule="to-function", Targets=[{"Id": "f", "Arn": function["FunctionArn"]}])
    events.put_events(Entries=[{"Source": "shop", "DetailType": "order", "Detail": '{"id": 7}'}])
    (event,) = receive(server, url, 1)
    assert event["source"] == "shop" and event["detail"] == {"id": 7}


def test_an_sqs_mapping_deletes_what_succeeded_and_keeps_reported_failures(server: RunningServer) -> None:
    seen_url, _ = make_queue(server, "seen")
    url, arn = make_queue(server, "work", VisibilityTimeout="3600")
    deploy(server, "worker", handler="app.forward", Environment={"Variables": {"FORWARD_TO": "seen"}})
    sqs = server.client("sqs")
    for body in ("good-1", "bad", "good-2"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    client = server.client("lambda")
    mapping = client.create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName="worker",
        BatchSize=10,
        MaximumBatchingWindowInSeconds=1,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    assert mapping["State"] == "Creating" and mapping["BatchSize"] == 10
    bodies = [r["body"] for batch in receive(server, seen_url, 1) for r in batch["Records"]]
    while len(bodies) < 3:
        bodies += [r["body"] for batch in receive(server, seen_url, 1) for r in batch["Records"]]
    assert sorted(bodies) == ["bad", "good-1", "good-2"]

    def only_the_failure_left() -> bool:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return (
            attributes["ApproximateNumberOfMessages"],
            attributes["ApproximateNumberOfMessagesNotVisible"],
        ) == (
            "0",
            "1",
        )

    wait_for(only_the_failure_left, timeout=30)
    got = client.get_event_source_mapping(UUID=mapping["UUID"])
    assert (got["State"], got["LastProcessingResult"]) == ("Enabled", "OK")
    listed = client.list_event_source_mappings(FunctionName="worker")["EventSourceMappings"]
    assert [m["UUID"] for m in listed] == [mapping["UUID"]]
    updated = client.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
    assert updated["State"] == "Disabled"
    client.delete_event_source_mapping(UUID=mapping["UUID"])
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_event_source_mapping(UUID=mapping["UUID"])


def test_a_dynamodb_stream_mapping_invokes_the_function_with_stream_records(server: RunningServer) -> None:
    seen_url, queue_arn = make_queue(server, "stream-seen")
    dynamodb = server.client("dynamodb")
    table = dynamodb.create_table(
        TableName="subjects",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    stream = table["TableDescription"]["LatestStreamArn"]
    deploy(
        server, "streamed", handler="app.forward", Environment={"Variables": {"FORWARD_TO": "stream-seen"}}
    )
    client = server.client("lambda")
    mapping = client.create_event_source_mapping(
        EventSourceArn=stream,
        FunctionName="streamed",
        StartingPosition="TRIM_HORIZON",
        BatchSize=5,
        FilterCriteria={"Filters": [{"Pattern": '{"eventName": ["INSERT"]}'}]},
        MaximumRetryAttempts=2,
        BisectBatchOnFunctionError=True,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )
    assert mapping["StartingPosition"] == "TRIM_HORIZON" and mapping["MaximumRetryAttempts"] == 2
    dynamodb.put_item(TableName="subjects", Item={"id": {"S": "s1"}, "level": {"N": "3"}})
    dynamodb.put_item(
        TableName="subjects", Item={"id": {"S": "s1"}, "level": {"N": "4"}}
    )  # MODIFY: filtered out
    dynamodb.put_item(TableName="subjects", Item={"id": {"S": "s2"}, "level": {"N": "1"}})
    records: list[Any] = []
    while not any(r["dynamodb"]["Keys"]["id"]["S"] == "s2" for r in records):
        records += [r for batch in receive(server, seen_url, 1) for r in batch["Records"]]
    # Batches go out in stream order: a MODIFY that passed the filter would have been sent before s2's batch.
    records += [r for batch in receive(server, seen_url, 0) for r in batch["Records"]]
    assert [r["eventName"] for r in records] == ["INSERT", "INSERT"]
    assert records[0]["eventSource"] == "aws:dynamodb"
    assert records[0]["dynamodb"]["NewImage"] == {"id": {"S": "s1"}, "level": {"N": "3"}}
    with pytest.raises(client.exceptions.InvalidParameterValueException):
        client.create_event_source_mapping(EventSourceArn=stream, FunctionName="streamed")


def test_the_docs_example_runs_against_a_server(server: RunningServer) -> None:
    page = Path(__file__).resolve().parents[2] / "docs" / "lambda.md"
    script = re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)[0]
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": server.endpoint_url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "'sent': True" in done.stdout and 'got {"name": "Ada"}' in done.stdout
    url = server.client("sqs").get_queue_url(QueueName="greetings")["QueueUrl"]
    assert sorted(receive(server, url, 2)) == ["hello Ada", "hello Grace"]


def test_a_failing_stream_batch_goes_to_the_on_failure_destination(server: RunningServer) -> None:
    failures_url, failures_arn = make_queue(server, "stream-failures")
    dynamodb = server.client("dynamodb")
    table = dynamodb.create_table(
        TableName="rejected",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    stream = table["TableDescription"]["LatestStreamArn"]
    function = deploy(server, "rejecting", handler="app.reject")
    server.client("lambda").create_event_source_mapping(
        EventSourceArn=stream,
        FunctionName="rejecting",
        StartingPosition="TRIM_HORIZON",
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": failures_arn}},
    )
    dynamodb.put_item(TableName="rejected", Item={"id": {"S": "r1"}})
    (record,) = receive(server, failures_url, 1)
    assert record["requestContext"]["functionArn"] == function["FunctionArn"]
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["responseContext"]["functionError"] == "Unhandled"
    info = record["DDBStreamBatchInfo"]
    assert info["streamArn"] == stream and info["batchSize"] == 1
    assert info["startSequenceNumber"] == info["endSequenceNumber"]


def test_a_204_answer_has_no_body(server: RunningServer) -> None:
    """A body after a 204 would be read by the client as the start of the next response on the connection."""
    deploy(server, "bodiless")
    server.client("lambda").put_function_event_invoke_config(FunctionName="bodiless", MaximumRetryAttempts=1)
    for method, path in (
        ("DELETE", "/2019-09-25/functions/bodiless/event-invoke-config"),
        ("DELETE", "/2015-03-31/functions/bodiless"),
    ):
        response = httpx.request(method, server.endpoint_url + path, timeout=30)
        assert (response.status_code, response.content) == (204, b"")


def test_async_retries_follow_the_clock_and_destinations_reach_a_bus_and_a_function(make_server: Any) -> None:
    server = make_server(clock=ManualClock())
    deploy(server, "retrying")
    seen_url, _ = make_queue(server, "bus-seen")
    forwarder = deploy(
        server, "forwarder", handler="app.forward", Environment={"Variables": {"FORWARD_TO": "bus-seen"}}
    )
    events = server.client("events")
    bus = events.create_event_bus(Name="results")["EventBusArn"]
    events.put_rule(Name="failures", EventBusName="results", EventPattern='{"source": ["lambda"]}')
    events.put_targets(
        Rule="failures", EventBusName="results", Targets=[{"Id": "f", "Arn": forwarder["FunctionArn"]}]
    )
    client = server.client("lambda")
    client.put_function_event_invoke_config(
        FunctionName="retrying",
        MaximumRetryAttempts=1,
        DestinationConfig={
            "OnFailure": {"Destination": bus},
            "OnSuccess": {"Destination": forwarder["FunctionArn"]},
        },
    )
    client.invoke(FunctionName="retrying", InvocationType="Event", Payload=b'{"action": "fail"}')
    dispatcher = server.pipework.lambda_.dispatcher
    wait_for(lambda: dispatcher.metrics["Retries"] == 1, timeout=60)  # the first attempt failed
    server.advance(61)  # the retry is due within a minute
    (event,) = receive(server, seen_url, 1)
    assert event["detail-type"] == "Lambda Function Invocation Result - Failure"
    assert event["detail"]["requestContext"]["approximateInvokeCount"] == 2
    assert event["detail"]["requestContext"]["condition"] == "RetriesExhausted"
    client.invoke(FunctionName="retrying", InvocationType="Event", Payload=b'{"n": 5}')
    (record,) = receive(server, seen_url, 1)
    assert record["requestContext"]["condition"] == "Success" and record["requestPayload"] == {"n": 5}


def test_permissions_and_tags_are_recorded(server: RunningServer) -> None:
    function = deploy(server, "tagged", Tags={"team": "energy"})
    client = server.client("lambda")
    assert client.list_tags(Resource=function["FunctionArn"])["Tags"] == {"team": "energy"}
    client.tag_resource(Resource=function["FunctionArn"], Tags={"tier": "1"})
    client.untag_resource(Resource=function["FunctionArn"], TagKeys=["team"])
    assert client.get_function(FunctionName="tagged")["Tags"] == {"tier": "1"}
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_policy(FunctionName="tagged")
    client.add_permission(
        FunctionName="tagged", StatementId="s1", Action="lambda:InvokeFunction", Principal="sqs.amazonaws.com"
    )
    with pytest.raises(client.exceptions.ResourceConflictException):
        client.add_permission(
            FunctionName="tagged", StatementId="s1", Action="lambda:InvokeFunction", Principal="123456789012"
        )
    client.remove_permission(FunctionName="tagged", StatementId="s1")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.remove_permission(FunctionName="tagged", StatementId="s1")


def test_a_failed_event_without_a_destination_goes_to_the_dead_letter_queue(server: RunningServer) -> None:
    dlq_url, dlq_arn = make_queue(server, "function-dlq")
    deploy(server, "dead-lettered", DeadLetterConfig={"TargetArn": dlq_arn})
    client = server.client("lambda")
    client.put_function_event_invoke_config(FunctionName="dead-lettered", MaximumRetryAttempts=0)
    assert (
        client.invoke_async(FunctionName="dead-lettered", InvokeArgs=b'{"action": "fail"}')["Status"] == 202
    )
    sqs = server.client("sqs")
    messages: list[Any] = []
    wait_for(
        lambda: (
            messages.extend(
                sqs.receive_message(QueueUrl=dlq_url, MessageAttributeNames=["All"]).get("Messages", [])
            )
            or messages
        ),
        timeout=30,
    )
    (message,) = messages
    assert json.loads(message["Body"]) == {"action": "fail"}
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["ErrorCode"] == "200" and "the function failed on purpose" in attributes["ErrorMessage"]
    assert attributes["RequestID"]
