"""Bad input never crashes the server: every operation of every served API, called with empty, non-JSON and
wrongly typed bodies, answers an AWS error (4xx) or succeeds, never a 5xx."""

from __future__ import annotations

import json
import re

import botocore.session
import httpx
import pytest

SERVICES = ["sqs", "events", "dynamodb", "dynamodbstreams", "pipes", "scheduler"]


def bodies(member_names: list[str]) -> list[str]:
    return [
        "{}",
        "[]",
        "not json",
        json.dumps(dict.fromkeys(member_names, 12345)),
        json.dumps(dict.fromkeys(member_names, "xxx")),
        json.dumps({key: {"a": [None]} for key in member_names}),
    ]


@pytest.mark.parametrize("service_name", SERVICES)
def test_no_operation_answers_a_server_error_to_bad_input(server, service_name: str) -> None:
    model = botocore.session.get_session().get_service_model(service_name)
    credential = f"test/20260101/us-east-1/{model.signing_name}/aws4_request"
    auth = f"AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=host, Signature=x"
    failures = []
    client_errors = 0
    with httpx.Client(base_url=server.endpoint_url) as client:
        for name in model.operation_names:
            operation = model.operation_model(name)
            members = list(operation.input_shape.members) if operation.input_shape else []
            for body in bodies(members):
                if model.metadata["protocol"] == "json":
                    headers = {
                        "X-Amz-Target": f"{model.metadata['targetPrefix']}.{name}",
                        "Content-Type": f"application/x-amz-json-{model.metadata['jsonVersion']}",
                        "Authorization": auth,
                    }
                    response = client.post("/", content=body, headers=headers)
                else:
                    method = operation.http["method"]
                    path = re.sub(r"\{[^}]+\}", "abc", operation.http["requestUri"].split("?")[0])
                    content = None if method in ("GET", "DELETE", "HEAD") else body
                    headers = {"Content-Type": "application/json", "Authorization": auth}
                    response = client.request(method, path, content=content, headers=headers)
                client_errors += 400 <= response.status_code < 500
                if response.status_code >= 500:
                    failures.append(f"{name} {body[:30]!r}: {response.status_code} {response.text[:120]}")
    assert not failures, "\n".join(failures)
    assert client_errors > len(model.operation_names), "bad input was not even refused"
