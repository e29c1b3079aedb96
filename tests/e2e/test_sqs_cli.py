"""The README's `aws sqs` examples, run with the AWS CLI against a real server (skipped where the CLI is absent)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest

from pipework.testing import RunningServer

pytestmark = pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is not installed")


def aws(server: RunningServer, *args: str) -> Any:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    done = subprocess.run(
        ["aws", "--endpoint-url", server.endpoint_url, "sqs", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout) if done.stdout.strip() else None


def test_the_readme_aws_cli_flow_works(server: RunningServer) -> None:
    url = aws(server, "create-queue", "--queue-name", "orders")["QueueUrl"]
    sent = aws(
        server,
        "send-message",
        "--queue-url", url,
        "--message-body", '{"id": 1}',
        "--message-attributes", '{"kind": {"DataType": "String", "StringValue": "new"}}',
    )  # fmt: skip
    (message,) = aws(
        server,
        "receive-message",
        "--queue-url",
        url,
        "--message-attribute-names",
        "All",
        "--wait-time-seconds",
        "1",
    )["Messages"]
    assert message["MessageId"] == sent["MessageId"] and json.loads(message["Body"]) == {"id": 1}
    assert message["MessageAttributes"]["kind"]["StringValue"] == "new"
    aws(server, "delete-message", "--queue-url", url, "--receipt-handle", message["ReceiptHandle"])
    counts = aws(server, "get-queue-attributes", "--queue-url", url, "--attribute-names", "All")["Attributes"]
    assert (
        counts["ApproximateNumberOfMessages"] == "0"
        and counts["ApproximateNumberOfMessagesNotVisible"] == "0"
    )
