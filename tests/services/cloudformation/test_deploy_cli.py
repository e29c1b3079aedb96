"""`pipework deploy` and `pipework serve --template`: a template file becomes a working stack; deploying it again
changes nothing; a changed parameter updates; an unsupported type fails (exit 1, the type named) unless
`--skip-unsupported`; SAM templates are expanded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pipework.testing import RunningServer

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Parameters:
  Delay: {Type: Number, Default: 0}
Resources:
  Inbox:
    Type: AWS::SQS::Queue
    Properties: {QueueName: inbox, DelaySeconds: !Ref Delay}
  Items:
    Type: AWS::Serverless::SimpleTable
    Properties:
      TableName: items
      PrimaryKey: {Name: id, Type: String}
Outputs:
  Url: {Value: !Ref Inbox}
"""


def deploy(server: RunningServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipework.cli.main", "deploy", *args, "--endpoint-url", server.endpoint_url],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_deploy_creates_updates_and_reports(server: RunningServer, tmp_path: Path) -> None:
    path = tmp_path / "my_app.yaml"
    path.write_text(TEMPLATE)
    done = deploy(server, str(path))
    assert done.returncode == 0, done.stderr
    assert "Successfully created/updated stack - my-app" in done.stdout
    assert "CREATE_COMPLETE" in done.stdout and "AWS::DynamoDB::Table" in done.stdout
    assert server.client("dynamodb").describe_table(TableName="items")["Table"]["KeySchema"] == [
        {"AttributeName": "id", "KeyType": "HASH"}
    ]
    again = deploy(server, str(path))
    assert again.returncode == 0 and "No changes to deploy. Stack my-app is up to date" in again.stdout
    changed = deploy(server, str(path), "--param", "Delay=3")
    assert changed.returncode == 0, changed.stderr
    assert "UPDATE_COMPLETE" in changed.stdout and "Items" not in changed.stdout.split("Waiting", 1)[1]
    sqs = server.client("sqs")
    url = sqs.get_queue_url(QueueName="inbox")["QueueUrl"]
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["DelaySeconds"])["Attributes"] == {
        "DelaySeconds": "3"
    }


def test_unsupported_types_fail_unless_skipped(server: RunningServer, tmp_path: Path) -> None:
    path = tmp_path / "vpc.yaml"
    path.write_text(
        "Resources:\n  Net: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.0.0.0/16}}\n"
        "  Q: {Type: AWS::SQS::Queue, Properties: {QueueName: beside-vpc}}\n"
    )
    failed = deploy(server, str(path))
    assert failed.returncode == 1
    assert "does not support resource type AWS::EC2::VPC" in failed.stdout
    assert "ended ROLLBACK_COMPLETE" in failed.stderr
    skipped = deploy(server, str(path), "--stack-name", "vpc-skip", "--skip-unsupported")
    assert skipped.returncode == 0, skipped.stderr
    assert server.client("sqs").get_queue_url(QueueName="beside-vpc")


def test_bad_input_to_the_command(server: RunningServer, tmp_path: Path) -> None:
    assert deploy(server, str(tmp_path / "missing.yaml")).returncode == 2
    path = tmp_path / "t.yaml"
    path.write_text("Resources: {A: {Type: AWS::SQS::Queue}}")
    assert deploy(server, str(path), "--param", "novalue").returncode == 2
    broken = tmp_path / "broken.yaml"
    broken.write_text("Resources: [")
    done = deploy(server, str(broken))
    assert done.returncode == 1 and "YAML not well-formed" in done.stderr


def test_serve_deploys_its_templates(server_process: object, tmp_path: Path) -> None:
    path = tmp_path / "boot.json"
    path.write_text(
        json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "boot"}}}})
    )
    process = server_process(tmp_path / "data", "--template", str(path))  # type: ignore[operator]
    cfn = process.client("cloudformation")
    import time

    deadline = time.monotonic() + 60
    while True:
        stacks = cfn.list_stacks()["StackSummaries"]
        if stacks and stacks[0]["StackStatus"] == "CREATE_COMPLETE":
            break
        assert time.monotonic() < deadline, stacks
        time.sleep(0.1)
    assert stacks[0]["StackName"] == "boot"
    assert process.client("sqs").get_queue_url(QueueName="boot")["QueueUrl"]
