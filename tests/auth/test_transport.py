"""Transport: body size limits per protocol, the per-key rate limit, HTTPS with --tls-cert/--tls-key, and the
auth mode `pipework serve` picks and announces."""

from __future__ import annotations

import json
import re
import shutil
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from pipework.app import Settings
from pipework.cli.serve import default_auth
from pipework.testing import RunningServer, serve_in_thread

from .conftest import ADMIN, client

MiB = 1024 * 1024


@pytest.mark.parametrize(
    ("headers", "size", "shape"),
    [
        (
            {"X-Amz-Target": "AWSEvents.PutEvents", "Content-Type": "application/x-amz-json-1.1"},
            16 * MiB,
            "json",
        ),
        ({"Content-Type": "application/json"}, 6 * MiB, "json"),  # restJson1
        ({"Content-Type": "application/x-www-form-urlencoded"}, 1 * MiB, "xml"),  # the query protocol
    ],
    ids=["json", "rest-json", "query"],
)
def test_a_body_over_its_protocols_limit_is_refused_in_its_shape(
    server: RunningServer, headers: dict[str, str], size: int, shape: str
) -> None:
    path = "/" if "X-Amz-Target" in headers or shape == "xml" else "/v1/pipes/too-big"
    body = b"x" * (size + 1)
    response = httpx.post(server.endpoint_url + path, headers=headers, content=body, timeout=60)
    assert response.status_code == 413
    if shape == "json":
        assert response.json()["__type"] == "RequestEntityTooLargeException"
    else:
        assert "<Code>RequestEntityTooLarge</Code>" in response.text

    def chunks() -> Iterator[bytes]:  # no Content-Length: refused once the body passes the limit
        for _ in range(size // MiB + 1):
            yield b"x" * MiB

    response = httpx.post(server.endpoint_url + path, headers=headers, content=chunks(), timeout=60)
    assert response.status_code == 413


def test_a_body_within_the_limit_is_served(server: RunningServer) -> None:
    entries = [{"Source": "s", "DetailType": "d", "Detail": json.dumps({"x": "y" * 200_000})}]
    assert server.client("events").put_events(Entries=entries)["FailedEntryCount"] == 0


def test_a_key_over_its_rate_limit_is_throttled(credentials_file: Path) -> None:
    settings = Settings(memory=True, auth="sigv4", credentials=credentials_file, rate_limit=0.01)
    with serve_in_thread(settings) as server:
        sqs = client(server, "sqs", ADMIN)
        sqs.list_queues()  # the burst: one request
        with pytest.raises(ClientError) as error:
            sqs.list_queues()
        assert error.value.response["Error"]["Code"] == "Throttling"  # SQS's query code
        with pytest.raises(ClientError) as error:
            client(server, "events", ADMIN).list_event_buses()
        assert error.value.response["Error"]["Code"] == "ThrottlingException"


def test_serve_picks_sigv4_for_a_shared_store_or_a_public_listener() -> None:
    assert default_auth(None, "127.0.0.1")[0] == "off"
    assert default_auth("memory://", "localhost")[0] == "off"
    assert default_auth("postgresql://u@h/db", "127.0.0.1") == (
        "sigv4",
        "the default with a PostgreSQL store",
    )
    assert default_auth(None, "0.0.0.0") == ("sigv4", "the default when listening on 0.0.0.0")


def test_serve_with_sigv4_and_no_credentials_refuses_to_start_and_says_why(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pipework.cli.main", "serve", "--port", "0", "--data", str(tmp_path),
         "--host", "0.0.0.0"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert "needs --credentials FILE" in done.stderr and "--auth off" in done.stderr


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def test_serve_over_https_with_auth(
    certificate: tuple[Path, Path], credentials_file: Path, tmp_path: Path
) -> None:
    cert, key = certificate
    process = subprocess.Popen(
        [sys.executable, "-m", "pipework.cli.main", "serve", "--port", "0", "--memory", "--auth", "sigv4",
         "--credentials", str(credentials_file), "--tls-cert", str(cert), "--tls-key", str(key)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "Press Ctrl+C" in line:
                break
        banner = "".join(lines)
        found = re.search(r"listening on (https://\S+)", banner)
        assert found, banner
        assert "Auth: sigv4 (--auth sigv4)" in banner
        url = found.group(1).replace("localhost", "127.0.0.1")
        sqs = boto3.session.Session().client(
            "sqs", endpoint_url=url, region_name="us-east-1", verify=str(cert),
            aws_access_key_id=ADMIN[0], aws_secret_access_key=ADMIN[1],
            config=Config(retries={"total_max_attempts": 1}),
        )  # fmt: skip
        assert sqs.create_queue(QueueName="over-tls")["QueueUrl"].endswith("/111111111111/over-tls")
        # Over HTTPS a signer may leave the payload unsigned.
        request = AWSRequest(
            method="POST", url=url + "/", data=b"{}",
            headers={"X-Amz-Target": "AmazonSQS.ListQueues", "Content-Type": "application/x-amz-json-1.0",
                     "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"},
        )  # fmt: skip
        SigV4Auth(Credentials(*ADMIN), "sqs", "us-east-1").add_auth(request)
        response = httpx.post(
            url + "/",
            headers=dict(request.headers.items()),
            content=b"{}",
            verify=ssl.create_default_context(cafile=str(cert)),
        )
        assert response.status_code == 200, response.text
    finally:
        process.terminate()
        process.wait(30)
