"""Reading the SigV4 Authorization header and presigned query members."""

from __future__ import annotations

import pytest

from pipework.api.sigv4 import Authorization, parse_authorization, parse_presigned_query

HEADER = (
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240501/eu-west-1/scheduler/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-date, Signature=abc123"
)


def test_header_is_split_into_algorithm_key_scope_headers_and_signature():
    assert parse_authorization(HEADER) == Authorization(
        algorithm="AWS4-HMAC-SHA256",
        access_key="AKIDEXAMPLE",
        date="20240501",
        region="eu-west-1",
        service="scheduler",
        signed_headers=("content-type", "host", "x-amz-date"),
        signature="abc123",
    )


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Basic dXNlcjpwYXNz",
        "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=x",
        "AWS4-HMAC-SHA256 Credential=AKID/20240501/us-east-1/sqs, SignedHeaders=host, Signature=x",
    ],
    ids=["absent", "other scheme", "no credential", "scope without aws4_request"],
)
def test_headers_without_a_usable_scope_give_none(header):
    assert parse_authorization(header) is None


def test_presigned_query_members_are_read():
    query = {
        "X-Amz-Algorithm": ["AWS4-HMAC-SHA256"],
        "X-Amz-Credential": ["AKID%2F20240501%2Fus-west-2%2Fsqs%2Faws4_request"],
        "X-Amz-SignedHeaders": ["host"],
        "X-Amz-Signature": ["sig"],
    }
    auth = parse_presigned_query(query)
    assert auth is not None
    assert (auth.access_key, auth.region, auth.service, auth.signed_headers) == (
        "AKID",
        "us-west-2",
        "sqs",
        ("host",),
    )
    assert parse_presigned_query({}) is None
