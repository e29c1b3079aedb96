"""Pipework's own routes with auth on: health stays open, everything else needs an admin key's signature (service
``pipework``); the pipework CLI signs with the configured credentials and manages keys."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from pipework.cli import signing
from pipework.testing import RunningServer

from .conftest import ADMIN, ALICE, client


def status_of(request: urllib.request.Request | str) -> tuple[int, dict[str, str]]:
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def cli(server: RunningServer, key: tuple[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": key[0], "AWS_SECRET_ACCESS_KEY": key[1]}
    env.pop("AWS_SESSION_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "pipework.cli.main", *args, "--endpoint-url", server.endpoint_url],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip


def test_health_is_open_and_the_other_routes_need_an_admin_signature(
    secured: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert status_of(secured.endpoint_url + "/_pipework/health")[0] == 200
    url = secured.endpoint_url + "/_pipework/events/dead-letters"
    status, body = status_of(url)
    assert (status, body["__type"]) == (403, "MissingAuthenticationTokenException")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ALICE[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", ALICE[1])
    status, body = status_of(signing.request("GET", url, None, "us-east-1"))
    assert (status, body["__type"]) == (403, "AccessDeniedException")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ADMIN[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", ADMIN[1])
    assert status_of(signing.request("GET", url, None, "us-east-1")) == (200, {"DeadLetters": []})
    signed_for_sqs = AWSRequest(method="GET", url=url)
    SigV4Auth(Credentials(*ADMIN), "sqs", "us-east-1").add_auth(signed_for_sqs)
    status, body = status_of(urllib.request.Request(url, headers=dict(signed_for_sqs.headers.items())))
    assert (status, body["__type"]) == (403, "InvalidSignatureException")
    assert "scoped to correct service: 'pipework'" in body["message"]
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-000000000000")
    status, body = status_of(signing.request("GET", url, None, "us-east-1"))
    assert (status, body["__type"]) == (403, "InvalidSignatureException")


def test_keys_are_created_listed_disabled_and_deleted_with_the_cli(secured: RunningServer) -> None:
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sqs:ListQueues", "Resource": "*"}],
        }
    )
    done = cli(
        secured, ADMIN, "keys", "create", "--account", "333333333333", "--principal", "ci", "--policy", policy
    )
    assert done.returncode == 0, done.stderr
    created = json.loads(done.stdout)
    key = (created["AccessKeyId"], created["SecretAccessKey"])
    sqs = client(secured, "sqs", key)
    assert "QueueUrls" not in sqs.list_queues()  # works, in its own (empty) account
    with pytest.raises(ClientError):
        sqs.create_queue(QueueName="not-allowed")

    listed = cli(secured, ADMIN, "keys", "list", "--json")
    keys = {k["AccessKeyId"]: k for k in json.loads(listed.stdout)}
    assert keys[key[0]]["Principal"] == "ci" and "SecretAccessKey" not in keys[key[0]]
    assert ADMIN[0] in keys

    assert cli(secured, ADMIN, "keys", "disable", key[0]).stdout.strip() == f"{key[0]} Inactive"
    with pytest.raises(ClientError) as error:
        sqs.list_queues()
    assert error.value.response["Error"]["Code"] == "InvalidClientTokenId"
    assert cli(secured, ADMIN, "keys", "delete", key[0]).returncode == 0
    assert key[0] not in cli(secured, ADMIN, "keys", "list").stdout

    refused = cli(secured, ALICE, "keys", "list")
    assert refused.returncode != 0 and "AccessDeniedException" in refused.stderr
    assert "file" in cli(secured, ADMIN, "keys", "delete", ALICE[0]).stderr  # the file's keys stay the file's
