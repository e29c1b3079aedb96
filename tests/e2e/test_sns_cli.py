"""SNS with the AWS CLI against a real server (skipped where the CLI is absent): topics, an SQS subscription with a
filter policy and raw delivery, an HTTP subscription confirmed through its SubscribeURL — the docs/sns.md flow."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import httpx
import pytest

from pipework.testing import RunningServer
from support.http import Endpoint, wait_for

pytestmark = pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is not installed")


def aws(server: RunningServer, service: str, *args: str) -> Any:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    done = subprocess.run(
        ["aws", "--endpoint-url", server.endpoint_url, service, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout) if done.stdout.strip() else None


def test_topics_sqs_and_http_subscriptions_with_filter_policies_and_raw_delivery(
    server: RunningServer,
) -> None:
    topic = aws(server, "sns", "create-topic", "--name", "orders")["TopicArn"]
    assert aws(server, "sns", "list-topics")["Topics"] == [{"TopicArn": topic}]
    url = aws(server, "sqs", "create-queue", "--queue-name", "paid")["QueueUrl"]
    queue = aws(server, "sqs", "get-queue-attributes", "--queue-url", url, "--attribute-names", "QueueArn")[
        "Attributes"
    ]["QueueArn"]
    subscription = aws(
        server,
        "sns",
        "subscribe",
        "--topic-arn",
        topic,
        "--protocol",
        "sqs",
        "--notification-endpoint",
        queue,
        "--attributes",
        json.dumps({"RawMessageDelivery": "true", "FilterPolicy": json.dumps({"kind": ["paid"]})}),
    )["SubscriptionArn"]
    attributes = aws(server, "sns", "get-subscription-attributes", "--subscription-arn", subscription)[
        "Attributes"
    ]
    assert attributes["RawMessageDelivery"] == "true"
    assert json.loads(attributes["FilterPolicy"]) == {"kind": ["paid"]}

    endpoint = Endpoint()
    try:
        pending = aws(
            server,
            "sns",
            "subscribe",
            "--topic-arn",
            topic,
            "--protocol",
            "http",
            "--notification-endpoint",
            endpoint.url + "/hook",
            "--attributes",
            json.dumps({"FilterPolicy": json.dumps({"kind": ["new"]})}),
        )
        assert pending["SubscriptionArn"] == "pending confirmation"
        confirmation = json.loads(wait_for(lambda: endpoint.requests and endpoint.requests[0])["body"])
        confirmed = aws(
            server, "sns", "confirm-subscription", "--topic-arn", topic, "--token", confirmation["Token"]
        )["SubscriptionArn"]
        assert confirmed.startswith(topic + ":")

        for kind in ("paid", "new", "other"):
            aws(
                server,
                "sns",
                "publish",
                "--topic-arn",
                topic,
                "--message",
                f"order is {kind}",
                "--message-attributes",
                json.dumps({"kind": {"DataType": "String", "StringValue": kind}}),
            )
        notification = wait_for(lambda: len(endpoint.requests) >= 2 and endpoint.requests[1])
        assert json.loads(notification["body"])["Message"] == "order is new"
        assert notification["headers"]["x-amz-sns-subscription-arn"] == confirmed
    finally:
        endpoint.close()

    received = wait_for(
        lambda: aws(server, "sqs", "receive-message", "--queue-url", url, "--message-attribute-names", "All")
    )
    [message] = received["Messages"]
    assert message["Body"] == "order is paid"
    assert message["MessageAttributes"]["kind"]["StringValue"] == "paid"
    assert len(endpoint.requests) == 2
    listed = aws(server, "sns", "list-subscriptions-by-topic", "--topic-arn", topic)["Subscriptions"]
    assert sorted(s["Protocol"] for s in listed) == ["http", "sqs"]
    aws(server, "sns", "unsubscribe", "--subscription-arn", confirmed)
    aws(server, "sns", "delete-topic", "--topic-arn", topic)
    assert aws(server, "sns", "list-topics")["Topics"] == []
    assert httpx.get(server.endpoint_url + "/_pipework/sns/signing-cert.pem").text.startswith(
        "-----BEGIN CERTIFICATE"
    )
