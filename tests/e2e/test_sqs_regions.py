"""Every region, one server: SQS queues belong to the account and region of the request's SigV4 credential scope
(the server's --region only for unsigned requests), through boto3; and a data directory of an older version serves
each of its queues in the region it was created in."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from botocore.exceptions import ClientError

from pipework.app import Settings, asgi_app
from pipework.clock import ManualClock
from pipework.store.migrations import MIGRATIONS, SCHEMA_BUCKET, SCHEMA_KEY
from pipework.testing import RunningServer
from support.http import wait_for

EAST, EU = "us-east-1", "eu-central-1"
ACCOUNT = "000000000000"
V0 = Path(__file__).parent.parent / "store" / "data"


@pytest.fixture
def sqs_server(make_server: Callable[..., RunningServer]) -> RunningServer:
    return make_server()


def arn_of(client: Any, url: str) -> str:
    arn: str = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return arn


def error_code(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as raised:
        call()
    code: str = raised.value.response["Error"]["Code"]
    return code


def test_queues_of_the_same_name_in_two_regions_are_two_queues(sqs_server: RunningServer) -> None:
    east, eu = sqs_server.client("sqs", region=EAST), sqs_server.client("sqs", region=EU)
    east_url = east.create_queue(QueueName="orders", Attributes={"VisibilityTimeout": "10"})["QueueUrl"]
    eu_url = eu.create_queue(QueueName="orders", Attributes={"VisibilityTimeout": "20"})["QueueUrl"]
    eu.create_queue(QueueName="only-in-eu")

    assert east_url.endswith(f"/{ACCOUNT}/orders") and eu_url.endswith(f"/{ACCOUNT}/orders")
    assert arn_of(east, east_url) == f"arn:aws:sqs:{EAST}:{ACCOUNT}:orders"
    assert arn_of(eu, eu_url) == f"arn:aws:sqs:{EU}:{ACCOUNT}:orders"
    assert east.get_queue_attributes(QueueUrl=east_url, AttributeNames=["VisibilityTimeout"])[
        "Attributes"
    ] == {"VisibilityTimeout": "10"}
    assert eu.get_queue_attributes(QueueUrl=eu_url, AttributeNames=["VisibilityTimeout"])["Attributes"] == {
        "VisibilityTimeout": "20"
    }
    assert [u.rsplit("/", 1)[1] for u in east.list_queues()["QueueUrls"]] == ["orders"]
    assert [u.rsplit("/", 1)[1] for u in eu.list_queues()["QueueUrls"]] == ["only-in-eu", "orders"]
    assert (
        error_code(lambda: east.get_queue_url(QueueName="only-in-eu"))
        == "AWS.SimpleQueueService.NonExistentQueue"
    )
    assert eu.get_queue_url(QueueName="only-in-eu")["QueueUrl"].endswith("/only-in-eu")


def test_a_message_sent_in_one_region_stays_in_that_region(sqs_server: RunningServer) -> None:
    east, eu = sqs_server.client("sqs", region=EAST), sqs_server.client("sqs", region=EU)
    url = east.create_queue(QueueName="q")["QueueUrl"]
    eu.create_queue(QueueName="q")
    east.send_message(QueueUrl=url, MessageBody="for the east")
    assert "Messages" not in eu.receive_message(QueueUrl=url)
    assert eu.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"
    ] == {"ApproximateNumberOfMessages": "0"}
    assert [m["Body"] for m in east.receive_message(QueueUrl=url)["Messages"]] == ["for the east"]
    eu.send_message(QueueUrl="q", MessageBody="for the eu")  # a bare queue name: the caller's region too
    assert [m["Body"] for m in eu.receive_message(QueueUrl="q")["Messages"]] == ["for the eu"]


def test_deleting_a_queue_in_one_region_leaves_the_other(sqs_server: RunningServer) -> None:
    east, eu = sqs_server.client("sqs", region=EAST), sqs_server.client("sqs", region=EU)
    url = east.create_queue(QueueName="q")["QueueUrl"]
    eu.create_queue(QueueName="q")
    eu.send_message(QueueUrl=url, MessageBody="kept")
    eu.delete_queue(QueueUrl=url)
    assert error_code(lambda: eu.receive_message(QueueUrl=url)) == "AWS.SimpleQueueService.NonExistentQueue"
    assert "Messages" not in east.receive_message(QueueUrl=url)
    assert east.list_queues()["QueueUrls"] == [url]


def test_a_queue_of_another_region_is_not_a_dead_letter_queue_or_move_task_source(
    sqs_server: RunningServer,
) -> None:
    east, eu = sqs_server.client("sqs", region=EAST), sqs_server.client("sqs", region=EU)
    eu_dlq_arn = arn_of(eu, eu.create_queue(QueueName="dlq")["QueueUrl"])
    policy = json.dumps({"deadLetterTargetArn": eu_dlq_arn, "maxReceiveCount": 1}, separators=(",", ":"))
    with pytest.raises(ClientError) as raised:
        east.create_queue(QueueName="source", Attributes={"RedrivePolicy": policy})
    assert raised.value.response["Error"]["Message"] == (
        f"Value {policy} for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist."
    )
    eu.create_queue(QueueName="source", Attributes={"RedrivePolicy": policy})
    assert (
        error_code(lambda: east.start_message_move_task(SourceArn=eu_dlq_arn)) == "ResourceNotFoundException"
    )
    handle = eu.start_message_move_task(SourceArn=eu_dlq_arn)["TaskHandle"]
    assert (
        error_code(lambda: east.list_message_move_tasks(SourceArn=eu_dlq_arn)) == "ResourceNotFoundException"
    )
    assert eu.list_message_move_tasks(SourceArn=eu_dlq_arn)["Results"][0]["SourceArn"] == eu_dlq_arn
    assert error_code(lambda: east.cancel_message_move_task(TaskHandle=handle)) == "ResourceNotFoundException"


def test_an_unsigned_request_uses_the_server_s_default_region(
    make_server: Callable[..., RunningServer],
) -> None:
    server = make_server(region="ap-south-1")
    request = urllib.request.Request(
        server.endpoint_url,
        data=orjson.dumps({"QueueName": "plain"}),
        headers={"X-Amz-Target": "AmazonSQS.CreateQueue", "Content-Type": "application/x-amz-json-1.0"},
    )
    with urllib.request.urlopen(request) as response:
        assert orjson.loads(response.read())["QueueUrl"].endswith(f"/{ACCOUNT}/plain")
    south = server.client("sqs", region="ap-south-1")
    assert arn_of(south, "plain") == f"arn:aws:sqs:ap-south-1:{ACCOUNT}:plain"
    assert "QueueUrls" not in server.client("sqs", region=EAST).list_queues()


# ── a data directory written before queues were keyed by region ──


def restore_v0(directory: Path) -> dict[str, Any]:
    directory.mkdir(parents=True)
    connection = sqlite3.connect(directory / "pipework.db")
    connection.executescript((V0 / "v0.sql").read_text())
    connection.close()
    facts: dict[str, Any] = json.loads((V0 / "v0.json").read_text())
    return facts


def test_a_data_directory_of_an_older_version_serves_each_queue_in_its_region(tmp_path: Path) -> None:
    facts = restore_v0(tmp_path / "data")
    clock = ManualClock(start=facts["clock"])
    server = RunningServer(asgi_app(Settings(data_dir=tmp_path / "data"), clock=clock))
    server.start()
    try:
        east, eu = server.client("sqs", region=EAST), server.client("sqs", region=EU)
        assert [u.rsplit("/", 1)[1] for u in east.list_queues()["QueueUrls"]] == [
            "jobs",
            "jobs-dlq",
            "orders",
        ]
        assert [u.rsplit("/", 1)[1] for u in eu.list_queues()["QueueUrls"]] == ["eu-only", "events.fifo"]
        assert arn_of(east, "orders") == f"arn:aws:sqs:{EAST}:{ACCOUNT}:orders"
        assert arn_of(eu, "events.fifo") == f"arn:aws:sqs:{EU}:{ACCOUNT}:events.fifo"

        # Messages in every state kept theirs; a receipt handle given before the upgrade still deletes.
        orders = east.get_queue_url(QueueName="orders")["QueueUrl"]
        assert [
            m["Body"] for m in east.receive_message(QueueUrl=orders, MaxNumberOfMessages=10)["Messages"]
        ] == ["visible"]
        east.delete_message(QueueUrl=orders, ReceiptHandle=facts["in_flight_receipt_handle"])
        assert east.get_queue_attributes(
            QueueUrl=orders, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"] == {"ApproximateNumberOfMessagesNotVisible": "1"}  # only the one just received
        assert [m["Body"] for m in eu.receive_message(QueueUrl="eu-only")["Messages"]] == ["hello from eu"]

        # FIFO deduplication ids still deduplicate within their 5 minutes.
        again = eu.send_message(
            QueueUrl="events.fifo", MessageBody="again", MessageGroupId="g", MessageDeduplicationId="d1"
        )
        assert again["MessageId"] == facts["fifo_message_id"]

        # The move task that was running resumes and finishes.
        dlq_arn = arn_of(east, "jobs-dlq")
        assert east.list_message_move_tasks(SourceArn=dlq_arn)["Results"][0]["Status"] == "RUNNING"

        async def advance() -> None:
            clock.advance(5)

        server.run(advance())
        task = wait_for(
            lambda: (
                (t := east.list_message_move_tasks(SourceArn=dlq_arn)["Results"][0])["Status"] == "COMPLETED"
                and t
            )
        )
        assert task["ApproximateNumberOfMessagesMoved"] == 2
        jobs = east.receive_message(QueueUrl="jobs", MaxNumberOfMessages=10)["Messages"]
        assert sorted(m["Body"] for m in jobs) == ["job 1", "job 2"]
    finally:
        server.stop()


def test_serve_refuses_a_data_directory_of_a_newer_version_with_what_to_do(tmp_path: Path) -> None:
    restore_v0(tmp_path / "data")
    connection = sqlite3.connect(tmp_path / "data" / "pipework.db")
    applied = [*(m.id for m in MIGRATIONS), "9999-from-the-future"]
    connection.execute(
        "INSERT INTO kv VALUES (?, ?, ?, 1000, NULL)", (SCHEMA_BUCKET, SCHEMA_KEY, orjson.dumps(applied))
    )
    connection.commit()
    connection.close()
    finished = subprocess.run(
        [sys.executable, "-m", "pipework.cli.main", "serve", "--port", "0", "--data", str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 3  # uvicorn's code for a failed startup
    last = finished.stderr.strip().splitlines()[-1]
    assert last == (
        f"pipework: The data directory {tmp_path / 'data'} was written by a newer version of Pipework: it records "
        "store migrations this version does not know (9999-from-the-future). Run it with that newer version (or a "
        "later one), or start this version on another data directory (--data DIR, or --memory)."
    )
    connection = sqlite3.connect(tmp_path / "data" / "pipework.db")
    kinds = connection.execute("SELECT DISTINCT kind FROM resources WHERE kind LIKE 'sqs%'").fetchall()
    connection.close()
    assert sorted(kinds) == [("sqs.move-task",), ("sqs.queue",)]  # nothing was migrated
