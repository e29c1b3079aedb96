"""AWS Signature Version 4: reading who signed a request and for which region and service.

Pipework accepts any credentials (no signature check yet); it reads the credential scope because the region and
the signing service name steer routing (``/tags/{arn}`` is both a Pipes and a Scheduler path).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

ALGORITHM = "AWS4-HMAC-SHA256"


@dataclass(frozen=True, slots=True)
class Authorization:
    """The parts of a SigV4 ``Authorization`` header (or of a presigned URL's ``X-Amz-*`` query members).

    `date`, `region` and `service` come from the credential scope ``<key>/<date>/<region>/<service>/aws4_request``.
    """

    algorithm: str
    access_key: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


#: The header as the AWS SDKs write it; anything else is read member by member.
_USUAL = re.compile(
    r"AWS4-HMAC-SHA256 Credential=([^/, ]+)/([^/, ]+)/([^/, ]+)/([^/, ]+)/aws4_request, "
    r"SignedHeaders=([a-z0-9-]+(?:;[a-z0-9-]+)*), Signature=([0-9a-f]+)"
)


def parse_authorization(header: str) -> Authorization | None:
    """Parse ``AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/sqs/aws4_request, SignedHeaders=..., Signature=...``.

    Returns None when the header is absent, of another scheme, or has no usable credential scope.
    """
    if not header:
        return None
    usual = _USUAL.fullmatch(header)
    if usual is not None:  # what the SDKs send, read in one match
        access_key, date, region, service, signed_headers, signature = usual.groups()
        return Authorization(
            ALGORITHM, access_key, date, region, service, tuple(signed_headers.split(";")), signature
        )
    algorithm, _, rest = header.strip().partition(" ")
    if not algorithm.startswith("AWS4-"):
        return None
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, value = part.strip().partition("=")
        if sep:
            fields[name] = value.strip()
    return _from_fields(
        algorithm, fields.get("Credential", ""), fields.get("SignedHeaders", ""), fields.get("Signature", "")
    )


def parse_presigned_query(query: dict[str, list[str]]) -> Authorization | None:
    """Read the SigV4 members of a presigned URL's query string (``X-Amz-Credential`` and friends)."""
    credential = query.get("X-Amz-Credential")
    if not credential:
        return None
    return _from_fields(
        query.get("X-Amz-Algorithm", [ALGORITHM])[0],
        unquote(credential[0]),
        query.get("X-Amz-SignedHeaders", [""])[0],
        query.get("X-Amz-Signature", [""])[0],
    )


def _from_fields(
    algorithm: str, credential: str, signed_headers: str, signature: str
) -> Authorization | None:
    scope = credential.split("/")
    # The access key itself never contains "/", so the scope is always the last four parts.
    if len(scope) < 5 or scope[-1] != "aws4_request":
        return None
    return Authorization(
        algorithm=algorithm,
        access_key="/".join(scope[:-4]),
        date=scope[-4],
        region=scope[-3],
        service=scope[-2],
        signed_headers=tuple(h for h in signed_headers.split(";") if h),
        signature=signature,
    )
