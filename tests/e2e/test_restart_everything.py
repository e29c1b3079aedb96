"""One of every resource of every service, in every state, survives a SIGKILL: the server starts again on its data
directory and lists and describes each resource as it did before the kill.

Replays that were running or being cancelled when the process died cannot be caught in those states through the
API (a replay of a small archive ends at once), so after the kill their records are set back to what a crash in
the middle of them leaves in the store: RUNNING after its first event, and CANCELLING.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from conftest import ServerProcess
from pipework.clock import SystemClock
from pipework.services.events import model as events_model
from pipework.store import open_store
from support.http import wait_for

ACCOUNT = "000000000000"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/everything"
LOG_GROUP = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:everything"
FAR = dt.datetime(2099, 1, 1, tzinfo=dt.UTC)


# ── creating one of everything ────────────────────────────────────────────────────────────────────────────────


def create_sqs(server: ServerProcess) -> dict[str, str]:
    sqs = server.client("sqs")
    urls: dict[str, str] = {}

    def queue(name: str, **attributes: str) -> str:
        url: str = sqs.create_queue(QueueName=name, Attributes=attributes, tags={"kind": name})["QueueUrl"]
        urls[name] = url
        return url

    def arn(name: str) -> str:
        attributes = sqs.get_queue_attributes(QueueUrl=urls[name], AttributeNames=["QueueArn"])["Attributes"]
        return str(attributes["QueueArn"])

    queue("plain", VisibilityTimeout="45", DelaySeconds="2", MessageRetentionPeriod="86400")
    queue("orders.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    for n in range(3):
        sqs.send_message(QueueUrl=urls["plain"], MessageBody=f"plain {n}", DelaySeconds=0)
        sqs.send_message(QueueUrl=urls["orders.fifo"], MessageBody=f"fifo {n}", MessageGroupId="g")
    for name, count in (("done", 2), ("busy", 30)):  # dead letters for a completed and a running move task
        queue(f"{name}-dlq")
        policy = {"deadLetterTargetArn": arn(f"{name}-dlq"), "maxReceiveCount": "1"}
        queue(f"{name}-source", RedrivePolicy=json.dumps(policy))
        for n in range(count):
            sqs.send_message(QueueUrl=urls[f"{name}-source"], MessageBody=f"dead {n}")

        def dead_lettered(name: str = name, count: int = count) -> bool:
            # a receive past maxReceiveCount moves the message to the DLQ instead of returning it
            sqs.receive_message(QueueUrl=urls[f"{name}-source"], MaxNumberOfMessages=10, VisibilityTimeout=0)
            dlq = sqs.get_queue_attributes(QueueUrl=urls[f"{name}-dlq"], AttributeNames=["All"])["Attributes"]
            return int(dlq["ApproximateNumberOfMessages"]) == count

        wait_for(dead_lettered)
    sqs.start_message_move_task(SourceArn=arn("done-dlq"))
    wait_for(
        lambda: sqs.list_message_move_tasks(SourceArn=arn("done-dlq"))["Results"][0]["Status"] == "COMPLETED"
    )
    sqs.start_message_move_task(SourceArn=arn("busy-dlq"), MaxNumberOfMessagesPerSecond=1)
    queue("pipe-source")
    queue("pipe-target")
    queue("schedule-target")
    return urls


def create_dynamodb(server: ServerProcess) -> str:
    ddb = server.client("dynamodb")
    created = ddb.create_table(
        TableName="Orders",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "status", "AttributeType": "S"},
            {"AttributeName": "total", "AttributeType": "N"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-status",
                "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": "by-total",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "total", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["status"]},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        Tags=[{"Key": "team", "Value": "orders"}],
    )
    ddb.update_time_to_live(
        TableName="Orders", TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"}
    )
    for n in range(4):
        item = {
            "pk": {"S": f"c{n % 2}"},
            "sk": {"N": str(n)},
            "status": {"S": "new"},
            "total": {"N": str(10 * n)},
        }
        ddb.put_item(TableName="Orders", Item=item)
    ddb.delete_item(TableName="Orders", Key={"pk": {"S": "c0"}, "sk": {"N": "2"}})
    ddb.create_table(
        TableName="Plain",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
    )
    ddb.put_item(TableName="Plain", Item={"id": {"S": "one"}, "nested": {"M": {"l": {"L": [{"N": "1"}]}}}})
    return str(created["TableDescription"]["LatestStreamArn"])


def create_events(server: ServerProcess) -> None:
    events = server.client("events")
    events.create_event_bus(
        Name="orders", Description="orders bus", Tags=[{"Key": "team", "Value": "orders"}]
    )
    bus_arn = events.describe_event_bus(Name="orders")["Arn"]
    events.put_rule(
        Name="placed",
        EventBusName="orders",
        EventPattern=json.dumps({"source": ["shop"]}),
        Tags=[{"Key": "rule", "Value": "yes"}],
    )
    events.put_targets(
        Rule="placed",
        EventBusName="orders",
        Targets=[
            {"Id": "log", "Arn": LOG_GROUP, "InputPath": "$.detail"},
            {
                "Id": "shaped",
                "Arn": LOG_GROUP,
                "InputTransformer": {"InputPathsMap": {"n": "$.detail.n"}, "InputTemplate": '{"n": <n>}'},
                "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 120},
            },
        ],
    )
    events.put_rule(
        Name="off", EventBusName="orders", EventPattern=json.dumps({"source": ["x"]}), State="DISABLED"
    )
    events.put_rule(Name="nightly", ScheduleExpression="cron(0 3 * * ? *)", State="DISABLED")
    archive = events.create_archive(
        ArchiveName="orders-archive", EventSourceArn=bus_arn, RetentionDays=7, Description="all orders"
    )
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    events.put_events(
        Entries=[
            {
                "EventBusName": "orders",
                "Source": "shop",
                "DetailType": "placed",
                "Detail": json.dumps({"n": n}),
            }
            for n in range(3)
        ]
    )
    wait_for(lambda: events.describe_archive(ArchiveName="orders-archive")["EventCount"] == 3)
    end = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    for name in ("completed", "running", "cancelling"):
        events.start_replay(
            ReplayName=name,
            EventSourceArn=archive["ArchiveArn"],
            EventStartTime=start,
            EventEndTime=end,
            Destination={"Arn": bus_arn},
        )
        wait_for(lambda name=name: events.describe_replay(ReplayName=name)["State"] == "COMPLETED")
    connection = events.create_connection(
        Name="partner",
        AuthorizationType="API_KEY",
        AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "secret"}},
    )
    events.create_connection(
        Name="retired",
        AuthorizationType="BASIC",
        AuthParameters={"BasicAuthParameters": {"Username": "u", "Password": "p"}},
    )
    events.deauthorize_connection(Name="retired")
    events.create_api_destination(
        Name="partner-api",
        ConnectionArn=connection["ConnectionArn"],
        InvocationEndpoint="http://127.0.0.1:9/hook",
        HttpMethod="POST",
        InvocationRateLimitPerSecond=5,
    )


def create_pipes(server: ServerProcess, urls: dict[str, str], stream: str) -> None:
    pipes = server.client("pipes")
    sqs = server.client("sqs")

    def arn(name: str) -> str:
        return str(
            sqs.get_queue_attributes(QueueUrl=urls[name], AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
        )

    pipes.create_pipe(
        Name="from-queue",
        Source=arn("pipe-source"),
        Target=arn("pipe-target"),
        RoleArn=ROLE,
        SourceParameters={
            "SqsQueueParameters": {"BatchSize": 5},
            "FilterCriteria": {"Filters": [{"Pattern": json.dumps({"body": [{"prefix": "ok"}]})}]},
        },
        Tags={"team": "pipes"},
    )
    pipes.create_pipe(
        Name="from-stream",
        Source=stream,
        Target=arn("pipe-target"),
        RoleArn=ROLE,
        SourceParameters={"DynamoDBStreamParameters": {"StartingPosition": "LATEST", "BatchSize": 10}},
        DesiredState="STOPPED",
    )
    wait_for(lambda: pipes.describe_pipe(Name="from-queue")["CurrentState"] == "RUNNING")
    wait_for(lambda: pipes.describe_pipe(Name="from-stream")["CurrentState"] == "STOPPED")


def create_schedules(server: ServerProcess, urls: dict[str, str]) -> None:
    scheduler = server.client("scheduler")
    sqs = server.client("sqs")
    target = sqs.get_queue_attributes(QueueUrl=urls["schedule-target"], AttributeNames=["QueueArn"])
    queue_arn = target["Attributes"]["QueueArn"]
    scheduler.create_schedule_group(Name="jobs", Tags=[{"Key": "team", "Value": "ops"}])
    off = {"Mode": "OFF"}
    scheduler.create_schedule(
        Name="yearly",
        GroupName="jobs",
        ScheduleExpression="cron(0 0 1 1 ? 2099)",
        ScheduleExpressionTimezone="Europe/Paris",
        FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15},
        Target={"Arn": queue_arn, "RoleArn": ROLE, "Input": '{"job": "yearly"}'},
        Description="once a year",
    )
    scheduler.create_schedule(
        Name="once",
        ScheduleExpression="at(2099-01-01T00:00:00)",
        FlexibleTimeWindow=off,
        Target={"Arn": queue_arn, "RoleArn": ROLE, "RetryPolicy": {"MaximumRetryAttempts": 2}},
        ActionAfterCompletion="DELETE",
    )
    scheduler.create_schedule(
        Name="paused",
        ScheduleExpression="rate(5 minutes)",
        FlexibleTimeWindow=off,
        Target={"Arn": queue_arn, "RoleArn": ROLE},
        State="DISABLED",
        EndDate=FAR,
    )


# ── what the server shows ─────────────────────────────────────────────────────────────────────────────────────


def _clean(value: Any, endpoint: str) -> Any:
    """Without response metadata, and with the server's URL (a new port after the restart) as ``<endpoint>``."""
    if isinstance(value, dict):
        return {
            k: _clean(v, endpoint) for k, v in value.items() if k not in ("ResponseMetadata", "NextToken")
        }
    if isinstance(value, list):
        return [_clean(v, endpoint) for v in value]
    if isinstance(value, str):
        return value.replace(endpoint, "<endpoint>")
    return value


def snapshot(server: ServerProcess) -> dict[str, Any]:
    """Everything the server lists and describes, keyed by service and resource."""
    out: dict[str, Any] = {}
    events = server.client("events")
    for bus in events.list_event_buses()["EventBuses"]:
        name = bus["Name"]
        out[f"events bus {name}"] = events.describe_event_bus(Name=name)
        out[f"events bus {name} tags"] = events.list_tags_for_resource(ResourceARN=bus["Arn"])
        for rule in events.list_rules(EventBusName=name)["Rules"]:
            key = f"events rule {name}/{rule['Name']}"
            out[key] = events.describe_rule(Name=rule["Name"], EventBusName=name)
            out[key + " targets"] = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=name)
            out[key + " tags"] = events.list_tags_for_resource(ResourceARN=rule["Arn"])
    for archive in events.list_archives()["Archives"]:
        out[f"events archive {archive['ArchiveName']}"] = events.describe_archive(
            ArchiveName=archive["ArchiveName"]
        )
    for replay in events.list_replays()["Replays"]:
        out[f"events replay {replay['ReplayName']}"] = events.describe_replay(ReplayName=replay["ReplayName"])
    for connection in events.list_connections()["Connections"]:
        out[f"events connection {connection['Name']}"] = events.describe_connection(Name=connection["Name"])
    for destination in events.list_api_destinations()["ApiDestinations"]:
        out[f"events api destination {destination['Name']}"] = events.describe_api_destination(
            Name=destination["Name"]
        )

    pipes = server.client("pipes")
    for pipe in pipes.list_pipes()["Pipes"]:
        out[f"pipe {pipe['Name']}"] = pipes.describe_pipe(Name=pipe["Name"])

    scheduler = server.client("scheduler")
    for group in scheduler.list_schedule_groups()["ScheduleGroups"]:
        out[f"schedule group {group['Name']}"] = scheduler.get_schedule_group(Name=group["Name"])
        out[f"schedule group {group['Name']} tags"] = scheduler.list_tags_for_resource(
            ResourceArn=group["Arn"]
        )
    for schedule in scheduler.list_schedules()["Schedules"]:
        described = scheduler.get_schedule(Name=schedule["Name"], GroupName=schedule["GroupName"])
        out[f"schedule {schedule['GroupName']}/{schedule['Name']}"] = described

    sqs = server.client("sqs")
    for url in sqs.list_queues().get("QueueUrls", []):
        name = url.rsplit("/", 1)[-1]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        if name.startswith("busy-"):  # the running move task keeps moving messages between these two
            attributes = {
                k: v for k, v in attributes.items() if not k.startswith("ApproximateNumberOfMessages")
            }
        out[f"sqs queue {name}"] = attributes
        out[f"sqs queue {name} tags"] = sqs.list_queue_tags(QueueUrl=url)
        if name.endswith("-dlq"):
            out[f"sqs queue {name} sources"] = sqs.list_dead_letter_source_queues(QueueUrl=url)

    ddb = server.client("dynamodb")
    for table in ddb.list_tables()["TableNames"]:
        described = ddb.describe_table(TableName=table)["Table"]
        out[f"dynamodb table {table}"] = described
        out[f"dynamodb table {table} ttl"] = ddb.describe_time_to_live(TableName=table)
        out[f"dynamodb table {table} tags"] = ddb.list_tags_of_resource(ResourceArn=described["TableArn"])
        items = ddb.scan(TableName=table)["Items"]
        out[f"dynamodb table {table} items"] = sorted(
            items, key=lambda item: json.dumps(item, sort_keys=True)
        )
    streams = server.client("dynamodbstreams")
    for stream in streams.list_streams()["Streams"]:
        arn = stream["StreamArn"]
        out[f"dynamodb stream {arn}"] = streams.describe_stream(StreamArn=arn)["StreamDescription"]
        shard = out[f"dynamodb stream {arn}"]["Shards"][0]["ShardId"]
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
        records = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
        out[f"dynamodb stream {arn} records"] = [
            (r["eventID"], r["eventName"], r["dynamodb"]) for r in records
        ]
    return _clean(out, server.endpoint_url)


def move_tasks(server: ServerProcess, urls: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
    sqs = server.client("sqs")
    out = {}
    for name in ("done-dlq", "busy-dlq"):
        arn = sqs.get_queue_attributes(QueueUrl=urls[name], AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        results = sqs.list_message_move_tasks(SourceArn=arn)["Results"]
        out[name] = [(r.get("TaskHandle", ""), r["Status"]) for r in results]
    return out


def crash_in_the_middle_of_replays(data_dir: Path) -> None:
    """Set the replays "running" and "cancelling" back to what a crash during them leaves in the store."""

    async def rewrite() -> None:
        store = await open_store(str(data_dir), SystemClock())
        try:
            for name, state in (("running", "RUNNING"), ("cancelling", "CANCELLING")):
                resource = await store.get_resource(events_model.KIND_REPLAY, name)
                assert resource is not None
                body = {
                    k: v
                    for k, v in resource.body.items()
                    if k not in ("ReplayEndTime", "_LastReplayedPosition")
                }
                body["State"] = state
                if state == "RUNNING":  # its first event was replayed
                    archive = events_model.archive_log("orders-archive")
                    first = (await store.read_log(archive, limit=1))[0]
                    body.update(EventLastReplayedTime=first.time, _LastReplayedPosition=first.position)
                await store.put_resource(events_model.KIND_REPLAY, name, body)
        finally:
            await store.close()

    asyncio.run(rewrite())


# ── the test ──────────────────────────────────────────────────────────────────────────────────────────────────


@pytest.fixture(scope="module")
def restarted(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """(snapshot before the kill, snapshot after the restart, the restarted server, move tasks before)."""
    data_dir = tmp_path_factory.mktemp("everything")
    first = ServerProcess(data_dir)
    try:
        urls = create_sqs(first)
        stream = create_dynamodb(first)
        create_events(first)
        create_pipes(first, urls, stream)
        create_schedules(first, urls)
        tasks_before = move_tasks(first, urls)
        before = snapshot(first)
    finally:
        assert first.kill() == -9
    crash_in_the_middle_of_replays(data_dir)
    second = ServerProcess(data_dir)
    try:
        after = snapshot(second)
        yield before, after, second, urls, tasks_before
    finally:
        second.kill()


def test_every_resource_is_listed_and_described_as_before_the_kill(restarted: Any) -> None:
    before, after, *_ = restarted
    replays = {k for k in before if k.startswith("events replay ")}
    assert replays == {f"events replay {n}" for n in ("completed", "running", "cancelling")}
    assert {k: v for k, v in after.items() if k not in replays} == {
        k: v for k, v in before.items() if k not in replays
    }
    assert after["events replay completed"] == before["events replay completed"]
    same = ("ReplayArn", "EventSourceArn", "Destination", "EventStartTime", "EventEndTime", "ReplayStartTime")
    for name in ("running", "cancelling"):  # the same replay; its state is the subject of the next test
        kept = {k: before[f"events replay {name}"][k] for k in same}
        assert {k: after[f"events replay {name}"][k] for k in same} == kept


def test_a_replay_running_at_the_kill_resumes_and_a_cancelled_one_ends_cancelled(restarted: Any) -> None:
    _, _, server, _, _ = restarted
    events = server.client("events")
    running = wait_for(
        lambda: (r := events.describe_replay(ReplayName="running"))["State"] == "COMPLETED" and r
    )
    assert running["EventLastReplayedTime"] == running["EventEndTime"]
    cancelled = wait_for(
        lambda: (r := events.describe_replay(ReplayName="cancelling"))["State"] == "CANCELLED" and r
    )
    assert "ReplayEndTime" in cancelled


def test_message_move_tasks_are_listed_as_before_the_kill(restarted: Any) -> None:
    _, _, server, urls, tasks_before = restarted
    assert tasks_before["done-dlq"][0][1] == "COMPLETED" and tasks_before["busy-dlq"][0][1] == "RUNNING"
    after = move_tasks(server, urls)
    assert after["done-dlq"] == tasks_before["done-dlq"]
    assert [handle for handle, _ in after["busy-dlq"]] == [handle for handle, _ in tasks_before["busy-dlq"]]
    assert after["busy-dlq"][0][1] in ("RUNNING", "COMPLETED")


def test_the_restarted_server_serves_every_api(restarted: Any) -> None:
    _, _, server, urls, _ = restarted
    server.client("sqs").send_message(QueueUrl=urls["plain"], MessageBody="after")
    server.client("dynamodb").put_item(TableName="Plain", Item={"id": {"S": "after"}})
    entry = {"EventBusName": "orders", "Source": "shop", "DetailType": "placed", "Detail": "{}"}
    assert server.client("events").put_events(Entries=[entry])["FailedEntryCount"] == 0
    assert server.client("pipes").describe_pipe(Name="from-stream")["CurrentState"] == "STOPPED"
    assert server.client("scheduler").get_schedule(Name="paused")["State"] == "DISABLED"
