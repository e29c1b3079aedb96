"""STS: GetCallerIdentity and AssumeRole (temporary keys with a session token and an expiry), with auth on, with
auth off, and through an SDK credential chain (a profile with role_arn)."""

from __future__ import annotations

import os
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from pipework.testing import RunningServer

from .conftest import ADMIN, ALICE, BOB, client

READER = "arn:aws:iam::111111111111:role/reader"


def test_get_caller_identity_names_the_signing_key(secured: RunningServer) -> None:
    me = client(secured, "sts", ALICE).get_caller_identity()
    assert me["Account"] == "111111111111"
    assert me["Arn"] == "arn:aws:iam::111111111111:user/alice"
    assert me["UserId"].startswith("AIDA")


def test_assume_role_gives_temporary_keys_limited_by_the_role(secured: RunningServer) -> None:
    sqs_admin = client(secured, "sqs", ADMIN)
    url = sqs_admin.create_queue(QueueName="read-only")["QueueUrl"]
    assumed = client(secured, "sts", BOB).assume_role(RoleArn=READER, RoleSessionName="nightly")
    credentials = assumed["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA") and credentials["SessionToken"]
    assert assumed["AssumedRoleUser"]["Arn"] == "arn:aws:sts::111111111111:assumed-role/reader/nightly"
    temporary = (credentials["AccessKeyId"], credentials["SecretAccessKey"])
    token = credentials["SessionToken"]
    assert (
        client(secured, "sts", temporary, token).get_caller_identity()["Arn"]
        == assumed["AssumedRoleUser"]["Arn"]
    )
    sqs = client(secured, "sqs", temporary, token)
    assert url in sqs.list_queues()["QueueUrls"]  # the role's account's queues, allowed by its policy
    with pytest.raises(ClientError) as error:
        sqs.send_message(QueueUrl=url, MessageBody="x")
    assert error.value.response["Error"]["Code"] == "AccessDenied"
    assert "assumed-role/reader/nightly is not authorized to perform: sqs:SendMessage" in str(error.value)
    with pytest.raises(ClientError) as error:
        client(secured, "sqs", temporary).list_queues()  # the session token is required
    assert error.value.response["Error"]["Code"] == "InvalidClientTokenId"
    with pytest.raises(ClientError) as error:
        client(secured, "sqs", temporary, token[:-4] + "AAAA").list_queues()
    assert error.value.response["Error"]["Code"] == "InvalidClientTokenId"


def test_assume_role_is_refused_to_an_account_the_role_does_not_trust(secured: RunningServer) -> None:
    forwarder = "arn:aws:iam::111111111111:role/forwarder"  # trusts only its own account
    with pytest.raises(ClientError) as error:
        client(secured, "sts", BOB).assume_role(RoleArn=forwarder, RoleSessionName="session")
    assert error.value.response["Error"]["Code"] == "AccessDenied"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_an_sdk_profile_with_role_arn_assumes_the_role(
    secured: RunningServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config"
    config.write_text(
        "[profile partner]\n"
        f"aws_access_key_id = {BOB[0]}\naws_secret_access_key = {BOB[1]}\nregion = us-east-1\n"
        "[profile reader]\n"
        f"role_arn = {READER}\nsource_profile = partner\nregion = us-east-1\n"
    )
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", secured.endpoint_url)
    session = boto3.session.Session(profile_name="reader")
    identity = session.client("sts").get_caller_identity()
    assert identity["Arn"].startswith("arn:aws:sts::111111111111:assumed-role/reader/")
    assert "AWS_ENDPOINT_URL" in os.environ


def test_with_auth_off_sts_answers_for_the_servers_account(server: RunningServer) -> None:
    sts = server.client("sts")
    assert sts.get_caller_identity()["Account"] == "000000000000"
    assumed = sts.assume_role(RoleArn="arn:aws:iam::000000000000:role/any", RoleSessionName="session")
    assert assumed["AssumedRoleUser"]["Arn"] == "arn:aws:sts::000000000000:assumed-role/any/session"
