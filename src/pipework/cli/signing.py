"""Requests to Pipework's own routes (``/_pipework/...``), SigV4-signed with service name ``pipework`` by the
credentials the AWS SDKs would use (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``, ...), so
the commands work against a server with auth on (where those routes need an admin key) and off alike."""

from __future__ import annotations

import urllib.request
from typing import Any

SERVICE = "pipework"


def request(method: str, url: str, data: bytes | None, region: str) -> urllib.request.Request:
    """A urllib request for `url`, signed when credentials are configured (else unsigned)."""
    import botocore.session
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    headers = {"Content-Type": "application/json"} if data is not None else {}
    credentials: Any = botocore.session.get_session().get_credentials()
    if credentials is None:
        return urllib.request.Request(url, data=data, method=method, headers=headers)
    signed = AWSRequest(method=method, url=url, data=data or b"", headers=headers)
    SigV4Auth(credentials.get_frozen_credentials(), SERVICE, region).add_auth(signed)
    return urllib.request.Request(url, data=data, method=method, headers=dict(signed.headers.items()))
