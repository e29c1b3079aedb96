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


def test_aws_cloudformation_deploy_runs_against_the_server(server: RunningServer, tmp_path: Path) -> None:
    """The AWS CLI's own deploy (change set, waiters) brings the stack up; its executing waiter polls every 30 s,
    so this test may take that long."""
    import os
    import shutil

    aws = shutil.which("aws")
    if aws is None:
        if os.environ.get("CI") == "true":
            raise AssertionError("the AWS CLI is not installed")
        import pytest

        pytest.skip("the AWS CLI is not installed")
    path = tmp_path / "cli.yaml"
    path.write_text("Resources:\n  Q: {Type: AWS::SQS::Queue, Properties: {QueueName: from-aws-cli}}\n")
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    done = subprocess.run(
        [
            aws,
            "cloudformation",
            "deploy",
            "--template-file",
            str(path),
            "--stack-name",
            "from-cli",
            "--endpoint-url",
            server.endpoint_url,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Successfully created/updated stack - from-cli" in done.stdout
    assert server.client("sqs").get_queue_url(QueueName="from-aws-cli")
    again = subprocess.run(
        [
            aws,
            "cloudformation",
            "deploy",
            "--template-file",
            str(path),
            "--stack-name",
            "from-cli",
            "--endpoint-url",
            server.endpoint_url,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    # The CLI reports an empty change set as AWS's reason, and fails unless --no-fail-on-empty-changeset.
    assert again.returncode == 255 and "No changes to deploy. Stack from-cli is up to date" in again.stderr


def test_local_code_paths_point_at_the_directory(tmp_path: Path) -> None:
    """`pipework deploy` rewrites a SAM CodeUri or a Code path to the directory, Pipework's stand-in for S3."""
    from pipework.cli.deploy import with_local_code

    (tmp_path / "src").mkdir()
    template = """
Transform: AWS::Serverless-2016-10-31
Globals: {Function: {CodeUri: src}}
Resources:
  A: {Type: AWS::Serverless::Function, Properties: {CodeUri: ./src, Handler: app.handler, Runtime: python3.12}}
  B: {Type: AWS::Lambda::Function, Properties: {Code: src, Handler: app.handler, Runtime: python3.12}}
  C: {Type: AWS::Serverless::Function, Properties: {CodeUri: s3://bucket/key.zip}}
"""
    rewritten = json.loads(with_local_code(template, tmp_path))
    where = str((tmp_path / "src").resolve())
    resources = rewritten["Resources"]
    assert resources["A"]["Properties"]["CodeUri"] == {"Bucket": "pipework-local", "Key": where}
    assert resources["B"]["Properties"]["Code"] == {"S3Bucket": "pipework-local", "S3Key": where}
    assert resources["C"]["Properties"]["CodeUri"] == "s3://bucket/key.zip"
    assert rewritten["Globals"]["Function"]["CodeUri"] == {"Bucket": "pipework-local", "Key": where}
    plain = "Resources: {Q: {Type: AWS::SQS::Queue}}"
    assert with_local_code(plain, tmp_path) == plain
    import pytest

    with pytest.raises(ValueError, match="does not exist"):
        with_local_code(template.replace("./src", "./nope"), tmp_path)
