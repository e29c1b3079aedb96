"""A queue consumer that retries failed messages later, with EventBridge Scheduler (the delayed-retry pattern).

Each message that fails is not left to SQS's visibility timeout: the consumer deletes it and creates a one-time
``at()`` schedule, due after an exponential backoff (60 s, then 120 s, …), whose target puts the message back on the
queue, and which deletes itself after firing (``ActionAfterCompletion=DELETE``). After 3 failed attempts the message
goes to a dead-letter queue with the last error. Runs against any Scheduler + SQS endpoint (Pipework or AWS):

    pipework serve &                       # in another terminal
    AWS_ENDPOINT_URL=http://localhost:4566 python examples/scheduled-retry/consumer.py --demo
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import time
from collections.abc import Callable
from typing import Any

import boto3

QUEUE, DEAD_LETTER_QUEUE = "orders", "orders-dlq"
BASE_DELAY = 60  # seconds before attempt 2; attempt n + 1 waits BASE_DELAY * 2 ** (n - 1)
MAX_ATTEMPTS = 3
ROLE = "arn:aws:iam::000000000000:role/scheduler-to-sqs"  # on AWS: a role allowed to sqs:SendMessage


def clients(endpoint_url: str | None = None) -> tuple[Any, Any]:
    options: dict[str, Any] = {"region_name": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    endpoint_url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint_url:
        options.update(endpoint_url=endpoint_url, aws_access_key_id="test", aws_secret_access_key="test")
    return boto3.client("sqs", **options), boto3.client("scheduler", **options)


def setup(sqs: Any) -> dict[str, str]:
    """Create the work queue and its dead-letter queue; return their URLs and the work queue's ARN."""
    url = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
    dlq_url = sqs.create_queue(QueueName=DEAD_LETTER_QUEUE)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return {"url": url, "arn": arn, "dlq_url": dlq_url}


def at_expression(when: float) -> str:
    """A one-time schedule expression for a moment (UTC, rounded up to the second)."""
    moment = dt.datetime.fromtimestamp(math.ceil(when), dt.UTC)
    return f"at({moment:%Y-%m-%dT%H:%M:%S})"


def handle_one(
    sqs: Any,
    scheduler: Any,
    queues: dict[str, str],
    process: Callable[[Any], None],
    now: Callable[[], float] = time.time,
    base_delay: int = BASE_DELAY,
) -> str | None:
    """Receive one message and process it. Returns what happened: "done", "retry-scheduled", "dead-lettered",
    or None when the queue was empty."""
    got = sqs.receive_message(QueueUrl=queues["url"], MaxNumberOfMessages=1).get("Messages", [])
    if not got:
        return None
    message = got[0]
    envelope = json.loads(message["Body"])  # {"payload": ..., "attempt": n}
    attempt = envelope.get("attempt", 1)
    try:
        process(envelope["payload"])
        outcome = "done"
    except Exception as exc:
        if attempt >= MAX_ATTEMPTS:
            failed = {**envelope, "error": f"{type(exc).__name__}: {exc}"}
            sqs.send_message(QueueUrl=queues["dlq_url"], MessageBody=json.dumps(failed))
            outcome = "dead-lettered"
        else:
            delay = base_delay * 2 ** (attempt - 1)
            scheduler.create_schedule(
                Name=f"retry-{message['MessageId']}-{attempt}",
                ScheduleExpression=at_expression(now() + delay),
                FlexibleTimeWindow={"Mode": "OFF"},
                ActionAfterCompletion="DELETE",
                Target={
                    "Arn": queues["arn"],
                    "RoleArn": ROLE,
                    "Input": json.dumps({"payload": envelope["payload"], "attempt": attempt + 1}),
                },
            )
            outcome = "retry-scheduled"
    # Deleted only once the outcome is recorded: a crash before this line redelivers the message (at-least-once).
    sqs.delete_message(QueueUrl=queues["url"], ReceiptHandle=message["ReceiptHandle"])
    return outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", action="store_true", help="send one order whose processing always fails")
    parser.add_argument("--base-delay", type=int, default=BASE_DELAY, help="seconds before the first retry")
    args = parser.parse_args()
    sqs, scheduler = clients()
    queues = setup(sqs)
    if args.demo:
        sqs.send_message(
            QueueUrl=queues["url"], MessageBody=json.dumps({"payload": {"order": 42}, "attempt": 1})
        )

    def process(payload: Any) -> None:
        raise RuntimeError(f"payment service unavailable for {payload}")

    print(f"consuming {queues['url']} (Ctrl+C to stop)")
    while True:
        outcome = handle_one(sqs, scheduler, queues, process, base_delay=args.base_delay)
        if outcome is None:
            time.sleep(1)
            continue
        print(time.strftime("%H:%M:%S"), outcome)
        if args.demo and outcome == "dead-lettered":
            print("the order is in", DEAD_LETTER_QUEUE)
            return


if __name__ == "__main__":
    main()
