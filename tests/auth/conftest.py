"""A server with auth on and a credentials file of a few keys, for the auth tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from pipework.app import Settings
from pipework.clock import ManualClock
from pipework.testing import RunningServer, serve_in_thread

ADMIN = ("AKIAADMIN0000000001", "admin-secret-0000000000000000000000")
ALICE = ("AKIAALICE0000000001", "alice-secret-0000000000000000000000")
BOB = ("AKIABOB00000000000001", "bob-secret-00000000000000000000000")
CAROL = ("AKIACAROL0000000001", "carol-secret-0000000000000000000000")

ALICE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "sqs:*", "Resource": "arn:aws:sqs:*:111111111111:orders"},
        {"Effect": "Allow", "Action": ["sqs:List*", "sqs:GetQueueUrl"], "Resource": "*"},
        {"Effect": "Deny", "Action": "sqs:PurgeQueue", "Resource": "*"},
    ],
}

CREDENTIALS = {
    "Keys": [
        {"AccessKeyId": ADMIN[0], "SecretAccessKey": ADMIN[1], "Account": "111111111111", "Principal": "root",
         "Admin": True},
        {"AccessKeyId": ALICE[0], "SecretAccessKey": ALICE[1], "Account": "111111111111", "Principal": "alice",
         "Policies": [ALICE_POLICY]},
        {"AccessKeyId": BOB[0], "SecretAccessKey": BOB[1], "Account": "222222222222", "Principal": "bob",
         "Policies": [{"Version": "2012-10-17",
                       "Statement": [{"Effect": "Allow", "Action": ["events:*", "sqs:*", "sns:*", "sts:AssumeRole"],
                                      "Resource": "*"}]}]},
        {"AccessKeyId": CAROL[0], "SecretAccessKey": CAROL[1], "Account": "222222222222", "Principal": "carol",
         "Admin": True},
    ],
    "Roles": [
        {"Arn": "arn:aws:iam::111111111111:role/reader",
         "Policies": [{"Version": "2012-10-17",
                       "Statement": [{"Effect": "Allow", "Action": "sqs:List*", "Resource": "*"}]}],
         "TrustedAccounts": ["222222222222"]},
        {"Arn": "arn:aws:iam::111111111111:role/forwarder",
         "Policies": [{"Version": "2012-10-17",
                       "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage",
                                      "Resource": "arn:aws:sqs:*:111111111111:forwarded-*"}]}]},
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def credentials_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("auth") / "credentials.json"
    path.write_text(json.dumps(CREDENTIALS))
    return path


@pytest.fixture(scope="module")
def secured(credentials_file: Path) -> Iterator[RunningServer]:
    with serve_in_thread(Settings(memory=True, auth="sigv4", credentials=credentials_file)) as server:
        yield server


@pytest.fixture
def secured_clocked(credentials_file: Path) -> Iterator[RunningServer]:
    settings = Settings(memory=True, auth="sigv4", credentials=credentials_file)
    with serve_in_thread(settings, clock=ManualClock()) as server:
        yield server


def client(server: RunningServer, service: str, key: tuple[str, str], token: str | None = None) -> Any:
    return boto3.session.Session().client(
        service,
        endpoint_url=server.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=key[0],
        aws_secret_access_key=key[1],
        aws_session_token=token,
        config=Config(retries={"total_max_attempts": 1}),
    )
