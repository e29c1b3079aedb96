"""SigV4 with auth on, through boto3, the AWS CLI and raw requests: a configured key works; a wrong secret, a
stale date, a tampered body and no signature fail with AWS's codes in each protocol's shape."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request
from typing import Any

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from pipework.testing import RunningServer

from .conftest import ADMIN, ALICE, client


def code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def raw(server: RunningServer, request: AWSRequest) -> tuple[int, dict[str, str], bytes]:
    prepared = request.prepare()
    http = urllib.request.Request(prepared.url, data=prepared.body or None, method=prepared.method)
    for name, value in prepared.headers.items():
        http.add_header(name, value)
    try:
        with urllib.request.urlopen(http, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def signed(
    server: RunningServer,
    body: dict[str, Any],
    target: str,
    *,
    key: tuple[str, str] = ADMIN,
    when: dt.datetime | None = None,
) -> AWSRequest:
    request = AWSRequest(
        method="POST",
        url=server.endpoint_url + "/",
        data=json.dumps(body).encode(),
        headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"},
    )
    signer = SigV4Auth(Credentials(*key), "events", "us-east-1")
    if when is None:
        signer.add_auth(request)
    else:
        request.context["timestamp"] = when.strftime("%Y%m%dT%H%M%SZ")
        request.headers["X-Amz-Date"] = request.context["timestamp"]
        canonical = signer.canonical_request(request)
        signature = signer.signature(signer.string_to_sign(request, canonical), request)
        signer._inject_signature_to_request(request, signature)
    return request


def test_a_configured_key_works_with_boto3(secured: RunningServer) -> None:
    sqs = client(secured, "sqs", ADMIN)
    url = sqs.create_queue(QueueName="signed")["QueueUrl"]
    assert "/111111111111/signed" in url  # the queue lives in the key's account
    assert (
        client(secured, "events", ADMIN)
        .list_event_buses()["EventBuses"][0]["Arn"]
        .endswith(":111111111111:event-bus/default")
    )
    assert client(secured, "scheduler", ADMIN).list_schedules()["Schedules"] == []  # restJson1
    assert client(secured, "dynamodb", ADMIN).list_tables()["TableNames"] == []


@pytest.mark.parametrize(
    ("service", "call", "expected"),
    [
        ("sqs", "list_queues", "InvalidClientTokenId"),  # SQS: the query code botocore reads
        ("events", "list_event_buses", "UnrecognizedClientException"),
        ("scheduler", "list_schedules", "UnrecognizedClientException"),
    ],
)
def test_an_unknown_key_is_refused(secured: RunningServer, service: str, call: str, expected: str) -> None:
    with pytest.raises(ClientError) as error:
        getattr(client(secured, service, ("AKIANOBODY000000000", "whatever-secret-000000")), call)()
    assert code(error) == expected
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_a_wrong_secret_is_a_signature_mismatch(secured: RunningServer) -> None:
    with pytest.raises(ClientError) as error:
        client(secured, "events", (ADMIN[0], "not-the-secret-000000000000")).list_event_buses()
    assert code(error) == "InvalidSignatureException"
    assert "does not match the signature you provided" in str(error.value)
    with pytest.raises(ClientError) as error:
        client(secured, "sqs", (ADMIN[0], "not-the-secret-000000000000")).list_queues()
    assert code(error) == "SignatureDoesNotMatch"


def test_a_stale_date_is_refused(secured: RunningServer) -> None:
    stale = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16)
    status, _, body = raw(secured, signed(secured, {}, "AWSEvents.ListEventBuses", when=stale))
    assert status == 400
    assert json.loads(body)["__type"] == "InvalidSignatureException"
    assert "Signature expired" in json.loads(body)["message"]
    recent = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=14)
    status, _, _ = raw(secured, signed(secured, {}, "AWSEvents.ListEventBuses", when=recent))
    assert status == 200


def test_a_tampered_body_is_refused(secured: RunningServer) -> None:
    request = signed(secured, {"NamePrefix": "a"}, "AWSEvents.ListEventBuses")
    request.data = json.dumps({"NamePrefix": "b"}).encode()
    status, _, body = raw(secured, request)
    assert status == 403 and json.loads(body)["__type"] == "InvalidSignatureException"
    request = signed(secured, {"NamePrefix": "a"}, "AWSEvents.ListEventBuses")
    request.headers["X-Amz-Content-SHA256"] = "0" * 64  # a declared hash that is not the body's
    status, _, body = raw(secured, request)
    assert status == 403 and json.loads(body)["__type"] == "InvalidSignatureException"


def test_no_signature_is_a_missing_token(secured: RunningServer) -> None:
    request = AWSRequest(
        method="POST",
        url=secured.endpoint_url + "/",
        data=b"{}",
        headers={"X-Amz-Target": "AWSEvents.ListEventBuses", "Content-Type": "application/x-amz-json-1.1"},
    )
    status, headers, body = raw(secured, request)
    assert status == 403
    assert json.loads(body)["__type"] == "MissingAuthenticationTokenException"
    status, headers, body = raw(secured, AWSRequest(method="GET", url=secured.endpoint_url + "/schedules"))
    assert status == 403
    assert {k.lower(): v for k, v in headers.items()}[
        "x-amzn-errortype"
    ] == "MissingAuthenticationTokenException"


def test_an_incomplete_authorization_header(secured: RunningServer) -> None:
    request = signed(secured, {}, "AWSEvents.ListEventBuses")
    request.headers.replace_header("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAADMIN0000000001")
    status, _, body = raw(secured, request)
    assert status == 403 and json.loads(body)["__type"] == "IncompleteSignatureException"


def test_a_raw_presigned_url_works_and_a_changed_one_does_not(secured: RunningServer) -> None:
    scheduler = client(secured, "scheduler", ADMIN)
    scheduler.create_schedule_group(Name="presigned")
    url = scheduler.generate_presigned_url("get_schedule_group", Params={"Name": "presigned"}, ExpiresIn=60)
    with urllib.request.urlopen(url, timeout=10) as response:
        assert json.loads(response.read())["Name"] == "presigned"
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(url.replace("presigned", "other", 1), timeout=10)
    assert error.value.code == 403
    assert json.loads(error.value.read())["__type"] == "InvalidSignatureException"


def test_a_limited_key_is_signed_correctly_but_not_authorized_elsewhere(secured: RunningServer) -> None:
    with pytest.raises(ClientError) as error:
        client(secured, "events", ALICE).list_event_buses()
    assert code(error) == "AccessDeniedException"
    assert error.value.response["Error"]["Message"] == (
        "User: arn:aws:iam::111111111111:user/alice is not authorized to perform: events:ListEventBuses on "
        "resource: * because no identity-based policy allows the events:ListEventBuses action"
    )


@pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is not installed")
def test_the_aws_cli_works_with_a_key_and_fails_with_a_wrong_secret(secured: RunningServer) -> None:
    def aws(secret: str, *args: str) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": ADMIN[0],
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        env.pop("AWS_SESSION_TOKEN", None)
        return subprocess.run(
            ["aws", "--endpoint-url", secured.endpoint_url, *args],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    done = aws(ADMIN[1], "sqs", "create-queue", "--queue-name", "from-cli")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["QueueUrl"].endswith("/111111111111/from-cli")
    failed = aws("wrong-secret-000000000000000", "events", "list-event-buses")
    assert failed.returncode != 0 and "InvalidSignatureException" in failed.stderr
    unsigned = aws(ADMIN[1], "--no-sign-request", "events", "list-event-buses")
    assert unsigned.returncode != 0 and "MissingAuthenticationTokenException" in unsigned.stderr
    unsigned = aws(ADMIN[1], "--no-sign-request", "sns", "list-topics")  # the query protocol's XML error
    assert unsigned.returncode != 0 and "MissingAuthenticationToken" in unsigned.stderr


def test_query_protocol_errors_are_xml(secured: RunningServer) -> None:
    with pytest.raises(ClientError) as error:
        client(secured, "sts", (ADMIN[0], "not-the-secret-000000000000")).get_caller_identity()
    assert code(error) == "SignatureDoesNotMatch"
    request = AWSRequest(
        method="POST",
        url=secured.endpoint_url + "/",
        data=b"Action=GetCallerIdentity&Version=2011-06-15",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    status, _, body = raw(secured, request)
    assert status == 403 and b"<Code>MissingAuthenticationToken</Code>" in body


def test_unsigned_payload_only_in_presigned_urls_or_over_tls(secured: RunningServer) -> None:
    request = signed(secured, {}, "AWSEvents.ListEventBuses")
    request.headers["X-Amz-Content-SHA256"] = "UNSIGNED-PAYLOAD"
    status, _, body = raw(secured, signed_again(request))
    assert status == 403 and "HTTPS" in json.loads(body)["message"]

    class UnsignedQuery(SigV4QueryAuth):  # as most SDKs presign: the payload left unsigned
        def payload(self, request: AWSRequest) -> str:
            return "UNSIGNED-PAYLOAD"

    presigned = AWSRequest(method="GET", url=secured.endpoint_url + "/schedules")
    UnsignedQuery(Credentials(*ADMIN), "scheduler", "us-east-1", expires=60).add_auth(presigned)
    with urllib.request.urlopen(presigned.url, timeout=10) as response:
        assert json.loads(response.read()) == {"Schedules": []}


def signed_again(request: AWSRequest) -> AWSRequest:
    """`request` signed afresh (its current headers included)."""
    del request.headers["Authorization"]
    del request.headers["X-Amz-Date"]
    SigV4Auth(Credentials(*ADMIN), "events", "us-east-1").add_auth(request)
    return request


def test_a_signature_for_another_service_is_refused(secured: RunningServer) -> None:
    request = AWSRequest(
        method="POST",
        url=secured.endpoint_url + "/",
        data=b"{}",
        headers={"X-Amz-Target": "AWSEvents.ListEventBuses", "Content-Type": "application/x-amz-json-1.1"},
    )
    SigV4Auth(Credentials(*ADMIN), "sqs", "us-east-1").add_auth(request)
    status, _, body = raw(secured, request)
    assert status == 403
    assert json.loads(body)["message"] == "Credential should be scoped to correct service: 'events'."


def test_cbor_requests_are_checked_too(secured: RunningServer) -> None:
    url = secured.endpoint_url + "/service/GraniteServiceVersion20100801/operation/ListMetrics"
    headers = {
        "smithy-protocol": "rpc-v2-cbor",
        "Content-Type": "application/cbor",
        "Accept": "application/cbor",
    }
    unsigned = AWSRequest(method="POST", url=url, data=b"\xa0", headers=headers)
    status, _, _ = raw(secured, unsigned)
    assert status == 403
    signed_request = AWSRequest(method="POST", url=url, data=b"\xa0", headers=headers)
    SigV4Auth(Credentials(*ADMIN), "monitoring", "us-east-1").add_auth(signed_request)
    status, _, _ = raw(secured, signed_request)
    assert status == 200
