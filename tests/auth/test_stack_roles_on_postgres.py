"""Two `pipework serve` nodes on one PostgreSQL database, auth on: a role a stack made through one node is assumed
through the other, and once the stack is deleted the other node refuses it, and the keys it handed out for it, too
(within its role cache time)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from support.postgres import drop_schema, new_schema, require_postgres

from .conftest import ADMIN, BOB, CREDENTIALS, client

TEMPLATE = """
Resources:
  Shared: {Type: AWS::SQS::Queue, Properties: {QueueName: shared-by-role}}
  Partner:
    Type: AWS::IAM::Role
    Properties:
      RoleName: cluster-partner
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Principal: {AWS: "222222222222"}, Action: sts:AssumeRole}
      Policies:
        - PolicyName: send
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - {Effect: Allow, Action: sqs:SendMessage, Resource: !GetAtt Shared.Arn}
"""
ROLE = "arn:aws:iam::111111111111:role/cluster-partner"


@pytest.fixture
def store_url() -> Iterator[str]:
    url = require_postgres()
    schema = new_schema()
    yield f"{url}?schema={schema}"
    asyncio.run(drop_schema(schema))


def wait_for_stack(cfn: object, name: str, *, gone: bool = False) -> str:
    deadline = time.monotonic() + 60
    while True:
        try:
            status = str(cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"])  # type: ignore[attr-defined]
        except ClientError:
            if gone:
                return "GONE"
            raise
        if not status.endswith("_IN_PROGRESS"):
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.1)


def test_a_stack_role_made_on_one_node_is_assumed_on_the_other(
    server_process, tmp_path: Path, store_url: str
) -> None:
    credentials = tmp_path / "credentials.json"
    credentials.write_text(json.dumps(CREDENTIALS))
    first = server_process(tmp_path / "a", "--store", store_url, "--credentials", str(credentials))
    second = server_process(tmp_path / "b", "--store", store_url, "--credentials", str(credentials))
    cfn = client(first, "cloudformation", ADMIN)
    cfn.create_stack(StackName="cluster-roles", TemplateBody=TEMPLATE, Capabilities=["CAPABILITY_NAMED_IAM"])
    assert wait_for_stack(cfn, "cluster-roles") == "CREATE_COMPLETE"

    issued = client(second, "sts", BOB).assume_role(RoleArn=ROLE, RoleSessionName="cluster")["Credentials"]
    sqs = client(second, "sqs", (issued["AccessKeyId"], issued["SecretAccessKey"]), issued["SessionToken"])
    url = client(second, "sqs", ADMIN).get_queue_url(QueueName="shared-by-role")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="through the other node")

    cfn.delete_stack(StackName="cluster-roles")
    assert wait_for_stack(cfn, "cluster-roles", gone=True) in ("GONE", "DELETE_COMPLETE")
    # The second node re-reads a role it has cached after ROLE_CACHE_SECONDS.
    deadline = time.monotonic() + 30
    while True:
        try:
            client(second, "sts", BOB).assume_role(RoleArn=ROLE, RoleSessionName="cluster")
        except ClientError as refused:
            assert refused.response["Error"]["Code"] == "AccessDenied"
            break
        assert time.monotonic() < deadline, "the second node kept handing out keys of the deleted role"
        time.sleep(0.5)
    # Keys handed out before act as the role no more.
    with pytest.raises(ClientError) as error:
        sqs.send_message(QueueUrl=url, MessageBody="after the role is gone")
    assert error.value.response["Error"]["Code"] == "InvalidClientTokenId"
