"""Writes `v0.sql`: a data directory as Pipework wrote it before the store namespace convention (commit 63f16c0),
dumped as SQL so the migration tests can rebuild the file. Kept for the record: it needs that commit's code
(run it from a checkout of 63f16c0 with `python tests/store/data/make_v0_dump.py`); the current code writes the new
layout. `v0.json` beside it keeps what the tests need to know about the data (receipt handles, the clock).

What it holds (account 000000000000, server default region us-east-1, ManualClock at 1_800_000_000):
- us-east-1: `orders` (one visible message, one in flight with a 1000 s visibility timeout, one delayed 600 s);
  `jobs` with RedrivePolicy -> `jobs-dlq` (maxReceiveCount 1); `jobs-dlq` holds two redriven messages and a
  RUNNING move task (rate 1/s) that has moved one of them back; `jobs` holds that one.
- eu-central-1: `events.fifo` (one message, deduplication id "d1"), `eu-only` (one message).
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
from pathlib import Path

from pipework.app import Pipework, Settings
from pipework.clock import ManualClock
from pipework.testing import RunningServer, make_client

START = 1_800_000_000.0
HERE = Path(__file__).parent


def main() -> None:
    clock = ManualClock(start=START)
    with tempfile.TemporaryDirectory() as tmp:
        pipework = Pipework(Settings(data_dir=Path(tmp)), clock=clock)
        server = RunningServer(pipework)
        server.start()

        def advance(seconds: float) -> None:
            async def go() -> None:
                clock.advance(seconds)

            server.run(go())

        east = make_client(server.endpoint_url, "sqs", region="us-east-1")
        eu = make_client(server.endpoint_url, "sqs", region="eu-central-1")
        orders = east.create_queue(QueueName="orders")["QueueUrl"]
        east.send_message(QueueUrl=orders, MessageBody="in flight")
        in_flight = east.receive_message(QueueUrl=orders, VisibilityTimeout=1000)["Messages"][0]
        east.send_message(QueueUrl=orders, MessageBody="visible")
        east.send_message(QueueUrl=orders, MessageBody="delayed", DelaySeconds=600)

        dlq = east.create_queue(QueueName="jobs-dlq")["QueueUrl"]
        dlq_arn = east.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        jobs = east.create_queue(
            QueueName="jobs",
            Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})},
        )["QueueUrl"]
        for body in ("job 1", "job 2"):
            east.send_message(QueueUrl=jobs, MessageBody=body)
        assert (
            len(east.receive_message(QueueUrl=jobs, MaxNumberOfMessages=10, VisibilityTimeout=1)["Messages"])
            == 2
        )
        advance(2)
        assert "Messages" not in east.receive_message(QueueUrl=jobs, MaxNumberOfMessages=10)  # both redriven
        east.start_message_move_task(SourceArn=dlq_arn, MaxNumberOfMessagesPerSecond=1)
        for _ in range(200):  # the task moves one message, then sleeps on the (manual) clock
            if east.list_message_move_tasks(SourceArn=dlq_arn)["Results"][0][
                "ApproximateNumberOfMessagesMoved"
            ]:
                break
        task = east.list_message_move_tasks(SourceArn=dlq_arn)["Results"][0]
        assert (task["Status"], task["ApproximateNumberOfMessagesMoved"]) == ("RUNNING", 1), task

        fifo = eu.create_queue(QueueName="events.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        sent = eu.send_message(
            QueueUrl=fifo, MessageBody="first", MessageGroupId="g", MessageDeduplicationId="d1"
        )
        eu_only = eu.create_queue(QueueName="eu-only")["QueueUrl"]
        eu.send_message(QueueUrl=eu_only, MessageBody="hello from eu")

        server.stop()
        connection = sqlite3.connect(Path(tmp) / "pipework.db")
        dump = "\n".join(connection.iterdump()) + "\n"
        connection.close()
    (HERE / "v0.sql").write_text(dump)
    facts = {
        "clock": clock.now(),
        "in_flight_receipt_handle": in_flight["ReceiptHandle"],
        "fifo_message_id": sent["MessageId"],
    }
    (HERE / "v0.json").write_text(json.dumps(facts, indent=2) + "\n")
    print(f"wrote {HERE / 'v0.sql'} ({len(dump)} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
