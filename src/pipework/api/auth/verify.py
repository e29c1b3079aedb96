"""Checking a SigV4 signature: the expected signature is computed by botocore's own signer (`SigV4Auth`, or
`SigV4QueryAuth` for presigned URLs) over the request as it arrived, and compared in constant time.

What AWS checks and how it answers: a missing or incomplete signature, an unknown key, a date more than 15
minutes off (or a presigned URL past its ``X-Amz-Expires``), a body whose hash differs from the signed
``X-Amz-Content-SHA256``, a missing or wrong session token for temporary keys, and the signature itself.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from botocore.auth import UNSIGNED_PAYLOAD, SigV4Auth, SigV4QueryAuth

from pipework.api.auth.errors import AuthError
from pipework.api.sigv4 import ALGORITHM, Authorization

MAX_SKEW = 15 * 60
MAX_PRESIGNED_EXPIRES = 7 * 24 * 3600
EMPTY_HASH = hashlib.sha256(b"").hexdigest()


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """A request as it arrived: `path` and `query_string` exactly as sent (still percent-encoded), header names
    lower-case, and whether it came over TLS."""

    method: str
    path: str
    query_string: str
    headers: dict[str, str]
    body: bytes
    tls: bool = False

    @property
    def presigned(self) -> bool:
        return "X-Amz-Signature=" in self.query_string or "X-Amz-Credential=" in self.query_string


class _SignedHeaders(dict[str, str]):
    """The signed headers (lower-case names, one value each) in the shape botocore's `canonical_headers` reads:
    a plain dict with ``get_all``, instead of the `email.message`-based map it builds, which costs more than the
    rest of the signature together."""

    def get_all(self, name: str) -> list[str]:
        return [self[name]]


class _Arrived:
    """The request as botocore's signer reads it to build the canonical request and the string to sign (what
    `botocore.awsrequest.AWSRequest` offers it, without the cost of building one per request): `headers` holds
    the declared ``X-Amz-Content-SHA256`` alone (botocore signs it instead of hashing the body), `context` the
    signing time, the payload hash, and the secret the final HMAC uses."""

    __slots__ = ("body", "context", "headers", "method", "params", "signed_headers", "url")

    def __init__(
        self, method: str, url: str, body: bytes, signed_headers: _SignedHeaders, context: dict[str, str]
    ) -> None:
        self.method = method
        self.url = url
        self.body = body
        self.params: dict[str, str] = {}
        self.signed_headers = signed_headers
        self.headers: dict[str, str] = {}
        if "x-amz-content-sha256" in signed_headers:
            self.headers["X-Amz-Content-SHA256"] = signed_headers["x-amz-content-sha256"]
        self.context = context


@functools.lru_cache(maxsize=1024)
def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """SigV4's signing key, derived as botocore's `SigV4Auth.signature` derives it (four HMACs that depend only on
    the secret, the date, the region and the service, hence remembered: a key signs many requests a day)."""
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


class _Verifying:
    """What our signers change in botocore's: the payload hash is the one the request declares (AWS signs what the
    client said, once the body is checked against it); the signed headers are exactly the request's; and the
    final HMAC uses the remembered `signing_key` (see docs/decisions.md). The canonical request and the string to
    sign are botocore's own."""

    _region_name: str
    _service_name: str

    def payload(self, request: _Arrived) -> str:
        return request.context["payload_hash"]

    def headers_to_sign(self, request: _Arrived) -> _SignedHeaders:
        return request.signed_headers

    def signature(self, string_to_sign: str, request: _Arrived) -> str:
        context = request.context
        key = signing_key(context["secret"], context["timestamp"][0:8], self._region_name, self._service_name)
        # Not the one-shot `hmac.digest`: it lets go of the GIL on every call, and taking it back from the store's
        # writer thread costs far more than the HMAC.
        return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


class _HeaderSigner(_Verifying, SigV4Auth):  # type: ignore[misc]
    """botocore's header signer (see `_Verifying`)."""


class _QuerySigner(_Verifying, SigV4QueryAuth):  # type: ignore[misc]
    """botocore's presigned-URL signer (see `_Verifying`)."""


@functools.lru_cache(maxsize=256)
def _signer(presigned: bool, service: str, region: str) -> _Verifying:
    """A signer for a service and region (it keeps no credentials: the secret comes with each request)."""
    signer_class = _QuerySigner if presigned else _HeaderSigner
    return signer_class(None, service, region)


_BASIC = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z")


@functools.lru_cache(maxsize=256)
def amz_timestamp(text: str) -> float | None:
    """``20240101T000000Z`` (or an HTTP date) as epoch seconds; None if it is neither."""
    basic = _BASIC.fullmatch(text)
    if basic is not None:
        year, month, day, hour, minute, second = (int(part) for part in basic.groups())
        try:
            return (dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)).timestamp()
        except ValueError:
            return None
    try:
        return parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def _single(query: dict[str, list[str]], name: str) -> str:
    values = query.get(name)
    return values[0] if values else ""


def request_date(request: SignedRequest, query: dict[str, list[str]]) -> str:
    """The signing time the request declares, in SigV4's basic format."""
    if request.presigned:
        return _single(query, "X-Amz-Date")
    declared = request.headers.get("x-amz-date") or request.headers.get("date", "")
    stamp = amz_timestamp(declared) if declared else None
    if stamp is not None and "T" not in declared:
        return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(stamp))
    return declared


def check_shape(auth: Authorization, request: SignedRequest, query: dict[str, list[str]]) -> str:
    """The parts every signed request needs; returns its timestamp. Raises `AuthError` ("incomplete")."""
    if auth.algorithm != ALGORITHM:
        raise AuthError("incomplete", f"Unsupported AWS 'algorithm': '{auth.algorithm}'")
    if not auth.signature:
        raise AuthError("incomplete", "Authorization header requires 'Signature' parameter.")
    if not auth.signed_headers:
        raise AuthError("incomplete", "Authorization header requires 'SignedHeaders' parameter.")
    if "host" not in auth.signed_headers:
        raise AuthError(
            "incomplete", "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
        )
    missing = [h for h in auth.signed_headers if h not in request.headers]
    if missing:
        raise AuthError("incomplete", f"Signed header '{missing[0]}' is missing from the request.")
    stamp = request_date(request, query)
    if not stamp or amz_timestamp(stamp) is None:
        raise AuthError(
            "incomplete",
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
            if not request.presigned
            else "AWS query-string parameters must include 'X-Amz-Date'.",
        )
    if stamp[:8] != auth.date:
        raise AuthError(
            "signature",
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{auth.date}' != '{stamp[:8]}', from '{stamp}'.",
        )
    return stamp


def check_time(stamp: str, request: SignedRequest, query: dict[str, list[str]], now: float) -> None:
    """AWS refuses a signature dated more than 15 minutes from now, and a presigned URL past its expiry."""
    signed_at = amz_timestamp(stamp)
    assert signed_at is not None
    if not request.presigned and now - MAX_SKEW <= signed_at <= now + MAX_SKEW:
        return  # the usual case, decided without formatting any date
    now_text = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    if request.presigned:
        raw = _single(query, "X-Amz-Expires") or "3600"
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_PRESIGNED_EXPIRES:
            raise AuthError("incomplete", "X-Amz-Expires must be a number of seconds from 1 to 604800.")
        if now > signed_at + int(raw):
            raise AuthError("expired", f"Signature expired: {stamp} is now earlier than {now_text}.")
        if signed_at > now + MAX_SKEW:
            raise AuthError("expired", f"Signature not yet current: {stamp} is still later than {now_text}.")
        return
    if signed_at < now - MAX_SKEW:
        earliest = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now - MAX_SKEW))
        raise AuthError(
            "expired",
            f"Signature expired: {stamp} is now earlier than {earliest} ({now_text} - 15 min.)",
        )
    if signed_at > now + MAX_SKEW:
        latest = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now + MAX_SKEW))
        raise AuthError(
            "expired",
            f"Signature not yet current: {stamp} is still later than {latest} ({now_text} + 15 min.)",
        )


def payload_hashes(request: SignedRequest) -> tuple[str, ...]:
    """The payload hashes the signer may have used, once the body is checked against a declared one
    (UNSIGNED-PAYLOAD only where AWS allows it: presigned URLs, and over TLS)."""
    declared = request.headers.get("x-amz-content-sha256")
    if declared is None:
        actual = hashlib.sha256(request.body).hexdigest() if request.body else EMPTY_HASH
        # A presigned URL's signer hashes the (empty) body, or, as most SDKs do, signs UNSIGNED-PAYLOAD.
        return (actual, str(UNSIGNED_PAYLOAD)) if request.presigned else (actual,)
    if declared == UNSIGNED_PAYLOAD:
        if request.presigned or request.tls:
            return (declared,)
        raise AuthError("signature", "UNSIGNED-PAYLOAD is accepted only over HTTPS.")
    actual = hashlib.sha256(request.body).hexdigest()
    if not hmac.compare_digest(declared.lower(), actual):
        raise AuthError(
            "signature", "The provided 'x-amz-content-sha256' header does not match what was computed."
        )
    return (declared,)


def expected_signature(
    auth: Authorization,
    request: SignedRequest,
    *,
    secret: str,
    token: str | None,
    stamp: str,
    payload: str,
) -> str:
    """The signature botocore's signer computes for this request with this secret. (`token`, when signed, is
    among the signed headers or query members, so the canonical request covers it.)"""
    query = request.query_string
    if request.presigned:
        # The canonical query string is every member but the signature itself.
        query = "&".join(p for p in query.split("&") if p and not p.startswith("X-Amz-Signature="))
    host = request.headers.get("host", "localhost")
    url = f"{'https' if request.tls else 'http'}://{host}{request.path}" + (f"?{query}" if query else "")
    headers = request.headers
    signed = _SignedHeaders({name: headers[name] for name in auth.signed_headers})
    arrived = _Arrived(
        request.method,
        url,
        request.body,
        signed,
        {"timestamp": stamp, "payload_hash": payload, "secret": secret},
    )
    signer = _signer(request.presigned, auth.service, auth.region)
    canonical = signer.canonical_request(arrived)  # type: ignore[attr-defined]
    return str(signer.signature(signer.string_to_sign(arrived, canonical), arrived))  # type: ignore[attr-defined]


def signature_matches(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())
