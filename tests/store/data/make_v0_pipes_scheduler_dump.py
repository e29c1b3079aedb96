"""Writes `v0_pipes_scheduler.sql`: a data directory with Pipes and Scheduler data as Pipework wrote it before pipes,
schedules and groups were keyed by account and region (commit 63f16c0, the same code as `make_v0_dump.py`), dumped
as SQL for the migration tests. Kept for the record: it needs that commit's code (e.g. ``git worktree add /tmp/old63
63f16c0`` and ``PYTHONPATH=/tmp/old63/src python tests/store/data/make_v0_pipes_scheduler_dump.py``); the current code
writes the new layout. `v0_pipes_scheduler.json` beside it keeps what the tests need to know (ARNs, times, ids).

What it holds (account 000000000000, server default region us-east-1, ManualClock from 1_800_000_000). That version
built every pipe, schedule and group ARN from the server's region, whatever the request's:
- queues `pipe-in`, `pipe-out`, `pipe-dlq`, `schedule-target`; a table `orders` with a NEW_IMAGE stream.
- pipe `orders-pipe`: the `orders` stream -> function `flaky` (failing), MaximumRetryAttempts 0, DeadLetterConfig
  `pipe-dlq`: item `o1` was dead-lettered (kept in full for redrive; one message in `pipe-dlq`), the checkpoint is
  past it. Pipe `stopped-pipe`: `pipe-in` -> `pipe-out`, stopped, with one message waiting in `pipe-in`.
- groups `default` and `team` (tagged); schedules `default/hourly` (rate(1 hour) -> `schedule-target`, fired once
  at creation), `team/once` (at(), two hours after the start, DELETE after completion), `team/paused` (DISABLED),
  `default/retrying` (at(), one minute after the start, -> function `flaky`, DELETE after completion: its
  invocation failed once and waits for a retry); `default/gone` deleted with the client token `delete-gone`.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from pipework.app import Pipework, Settings
from pipework.clock import ManualClock
from pipework.testing import RunningServer, make_client

START = 1_800_000_000.0
HERE = Path(__file__).parent
ROLE = "arn:aws:iam::000000000000:role/pipes"


def flaky(event: Any, context: Any) -> Any:
    raise RuntimeError("flaky is down")


def main() -> None:
    clock = ManualClock(start=START)
    with tempfile.TemporaryDirectory() as tmp:
        pipework = Pipework(Settings(data_dir=Path(tmp)), clock=clock)
        pipework.functions.register("flaky", flaky)
        server = RunningServer(pipework)
        server.start()

        def advance(seconds: float) -> None:
            async def go() -> None:
                clock.advance(seconds)

            server.run(go())

        def wait_for(check: Any, what: str) -> Any:
            for _ in range(200):
                found = check()
                if found:
                    return found
                advance(0)
                time.sleep(0.05)
            raise AssertionError(f"never happened: {what}")

        def get(path: str) -> Any:
            with urllib.request.urlopen(server.endpoint_url + path, timeout=10) as response:
                return json.loads(response.read())

        sqs = make_client(server.endpoint_url, "sqs")
        ddb = make_client(server.endpoint_url, "dynamodb")
        pipes = make_client(server.endpoint_url, "pipes")
        scheduler = make_client(server.endpoint_url, "scheduler")
        urls = {
            n: sqs.create_queue(QueueName=n)["QueueUrl"]
            for n in ("pipe-in", "pipe-out", "pipe-dlq", "schedule-target")
        }
        arns = {
            n: sqs.get_queue_attributes(QueueUrl=u, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            for n, u in urls.items()
        }
        stream = ddb.create_table(
            TableName="orders",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        )["TableDescription"]["LatestStreamArn"]
        function = "arn:aws:lambda:us-east-1:000000000000:function:flaky"

        orders_pipe = pipes.create_pipe(
            Name="orders-pipe",
            RoleArn=ROLE,
            Source=stream,
            SourceParameters={
                "DynamoDBStreamParameters": {
                    "StartingPosition": "TRIM_HORIZON",
                    "BatchSize": 1,
                    "MaximumRetryAttempts": 0,
                    "DeadLetterConfig": {"Arn": arns["pipe-dlq"]},
                }
            },
            Target=function,
        )["Arn"]
        stopped_pipe = pipes.create_pipe(
            Name="stopped-pipe",
            RoleArn=ROLE,
            Source=arns["pipe-in"],
            Target=arns["pipe-out"],
            DesiredState="STOPPED",
        )["Arn"]
        ddb.put_item(TableName="orders", Item={"pk": {"S": "o1"}})
        letters = wait_for(
            lambda: get("/_pipework/pipes/dead-letters?pipe=orders-pipe")["DeadLetters"], "a pipe dead letter"
        )
        assert len(letters) == 1, letters
        wait_for(
            lambda: (
                sqs.get_queue_attributes(QueueUrl=urls["pipe-dlq"], AttributeNames=["All"])["Attributes"][
                    "ApproximateNumberOfMessages"
                ]
                == "1"
            ),
            "the pipe's DLQ message",
        )
        sqs.send_message(QueueUrl=urls["pipe-in"], MessageBody="waiting for the stopped pipe")

        scheduler.create_schedule_group(Name="team", Tags=[{"Key": "owner", "Value": "team"}])
        queue_target = {"RoleArn": ROLE, "Arn": arns["schedule-target"]}
        hourly = scheduler.create_schedule(
            Name="hourly",
            ScheduleExpression="rate(1 hour)",
            FlexibleTimeWindow={"Mode": "OFF"},
            Target={**queue_target, "Input": "hourly"},
        )["ScheduleArn"]
        once = scheduler.create_schedule(
            Name="once",
            GroupName="team",
            ScheduleExpression="at(2027-01-15T10:00:00)",
            FlexibleTimeWindow={"Mode": "OFF"},
            ActionAfterCompletion="DELETE",
            Target={**queue_target, "Input": "once"},
        )["ScheduleArn"]
        scheduler.create_schedule(
            Name="paused",
            GroupName="team",
            ScheduleExpression="rate(5 minutes)",
            FlexibleTimeWindow={"Mode": "OFF"},
            State="DISABLED",
            Target={**queue_target, "Input": "paused"},
        )
        scheduler.create_schedule(
            Name="gone",
            ScheduleExpression="rate(1 day)",
            FlexibleTimeWindow={"Mode": "OFF"},
            State="DISABLED",
            Target=queue_target,
        )
        scheduler.delete_schedule(Name="gone", ClientToken="delete-gone")
        retrying = scheduler.create_schedule(
            Name="retrying",
            ScheduleExpression="at(2027-01-15T08:01:00)",
            FlexibleTimeWindow={"Mode": "OFF"},
            ActionAfterCompletion="DELETE",
            Target={
                "RoleArn": ROLE,
                "Arn": function,
                "Input": '{"from": "retrying"}',
                "RetryPolicy": {"MaximumRetryAttempts": 5},
            },
        )["ScheduleArn"]

        def hourly_fired() -> bool:
            received = sqs.receive_message(QueueUrl=urls["schedule-target"], MaxNumberOfMessages=10)
            for message in received.get("Messages", []):
                assert message["Body"] == "hourly", message
                sqs.delete_message(QueueUrl=urls["schedule-target"], ReceiptHandle=message["ReceiptHandle"])
                return True
            return False

        wait_for(hourly_fired, "the hourly schedule's first occurrence")
        advance(60)
        scheduler_service = pipework.services["scheduler"]
        wait_for(lambda: scheduler_service.dispatcher.metrics.get("Retries", 0) >= 1, "a failed attempt")

        server.stop()
        connection = sqlite3.connect(Path(tmp) / "pipework.db")
        dump = "\n".join(connection.iterdump()) + "\n"
        connection.close()
    (HERE / "v0_pipes_scheduler.sql").write_text(dump)
    facts = {
        "clock": clock.now(),
        "orders_pipe": orders_pipe,
        "stopped_pipe": stopped_pipe,
        "orders_stream": stream,
        "queues": arns,
        "dead_letter_id": letters[0]["Id"],
        "hourly": hourly,
        "once": once,
        "retrying": retrying,
        "function": function,
    }
    (HERE / "v0_pipes_scheduler.json").write_text(json.dumps(facts, indent=2) + "\n")
    print(f"wrote {HERE / 'v0_pipes_scheduler.sql'} ({len(dump)} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
