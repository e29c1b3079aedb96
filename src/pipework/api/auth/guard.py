"""The `Guard`: per request, who signed it (SigV4, against the `Keyring`), whether they may (policies), and
whether their key is within its request rate. The gateway and Pipework's own routes call it; with auth off there
is no guard and every request acts as the server's account."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qs

from pipework.api.auth.access import ResourcePolicies, decide, denied_message, passed_roles, resources
from pipework.api.auth.credentials import Caller, Keyring
from pipework.api.auth.errors import SIGNATURE_MISMATCH, UNKNOWN_KEY, AuthError
from pipework.api.auth.verify import (
    SignedRequest,
    check_shape,
    check_time,
    expected_signature,
    payload_hashes,
    signature_matches,
)
from pipework.api.sigv4 import Authorization, parse_authorization, parse_presigned_query

#: Actions no policy can deny (AWS: anyone signed may ask who they are).
ALWAYS_ALLOWED = frozenset({"sts:GetCallerIdentity"})
#: IAM action prefixes that differ from the signing name (CloudWatch signs as "monitoring", its actions are
#: "cloudwatch:PutMetricData" ...).
ACTION_PREFIXES = {"monitoring": "cloudwatch"}


@dataclass(frozen=True)
class AuthSettings:
    """`mode` ("off" or "sigv4"); `rate_limit`, requests per second each key may make (None: no limit), with
    bursts of `burst` requests."""

    mode: str = "off"
    rate_limit: float | None = None
    burst: int = 0

    @property
    def on(self) -> bool:
        return self.mode == "sigv4"


class _Bucket:
    __slots__ = ("stamp", "tokens")

    def __init__(self, tokens: float, stamp: float) -> None:
        self.tokens = tokens
        self.stamp = stamp


class Guard:
    """Authenticates and authorizes requests.

    Parameters: `keyring`, the known keys; `policies`, the resource policies of the services (None: none);
    `rate_limit` / `burst`, a token bucket per key; `now`, the wall clock.
    """

    def __init__(
        self,
        keyring: Keyring,
        policies: ResourcePolicies | None = None,
        *,
        rate_limit: float | None = None,
        burst: int = 0,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.keyring = keyring
        self.policies = policies
        self.rate_limit = rate_limit
        self.burst = float(max(burst, 1 if rate_limit is None else int(rate_limit) or 1))
        self.now = now
        self._buckets: dict[str, _Bucket] = {}

    async def authenticate(
        self, request: SignedRequest, auth: Authorization | None = None, *, service: str | None = None
    ) -> Caller:
        """The caller who signed `request` (for `service`, when the scope must name one), or `AuthError`."""
        query = parse_qs(request.query_string, keep_blank_values=True) if request.query_string else {}
        if auth is None:
            header = request.headers.get("authorization", "")
            auth = parse_authorization(header) if header else parse_presigned_query(query)
            if auth is None:
                if header or "X-Amz-Credential" in query or "X-Amz-Signature" in query:
                    raise AuthError(
                        "incomplete",
                        "Authorization header requires 'Credential' parameter. Authorization header requires "
                        "'Signature' parameter. Authorization header requires 'SignedHeaders' parameter.",
                    )
                raise AuthError("missing", "Request is missing Authentication Token")
        stamp = check_shape(auth, request, query)
        if service is not None and auth.service != service:
            raise AuthError("signature", f"Credential should be scoped to correct service: '{service}'.")
        now = self.now()
        check_time(stamp, request, query, now)
        key = await self.keyring.find(auth.access_key)
        if key is None or not key.enabled:
            raise AuthError("unknown-key", UNKNOWN_KEY)
        token = (
            query.get("X-Amz-Security-Token", [None])[0]
            if request.presigned
            else request.headers.get("x-amz-security-token")
        )
        if key.token is not None:
            if token is None or not signature_matches(key.token, token):
                raise AuthError("token-invalid", UNKNOWN_KEY)
            if key.expires is not None and key.expires < now:
                raise AuthError("token-expired", "The security token included in the request is expired")
        if not any(
            signature_matches(
                expected_signature(
                    auth, request, secret=key.secret, token=token, stamp=stamp, payload=payload
                ),
                auth.signature,
            )
            for payload in payload_hashes(request)
        ):
            raise AuthError("signature", SIGNATURE_MISMATCH)
        self._spend(key.access_key, now)
        return key.caller

    def _spend(self, access_key: str, now: float) -> None:
        if self.rate_limit is None:
            return
        bucket = self._buckets.get(access_key)
        if bucket is None:
            bucket = self._buckets[access_key] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate_limit)
        bucket.stamp = now
        if bucket.tokens < 1:
            raise AuthError("throttled", "Rate exceeded")
        bucket.tokens -= 1

    async def authorize(
        self,
        caller: Caller,
        *,
        signing_name: str,
        operation: str,
        params: dict[str, object],
        region: str,
        context: Mapping[str, Sequence[str]] | Callable[[], dict[str, list[str]]],
    ) -> None:
        """Raise `AuthError` ("denied") unless `caller` may run `operation` with `params`. `context`: the condition
        keys, or what builds them (only if a policy has a condition to test)."""
        action = f"{ACTION_PREFIXES.get(signing_name, signing_name)}:{operation}"
        if caller.admin or action in ALWAYS_ALLOWED:
            return
        if callable(context):
            context = LazyContext(context)
        arns = resources(signing_name, operation, params, region, caller.account)
        resource, decision = await decide(
            action=action,
            arns=arns,
            principal_arn=caller.arn,
            account=caller.account,
            identity=caller.policies,
            policies=self.policies,
            context=context,
        )
        if not decision.allowed:
            raise AuthError("denied", denied_message(caller.arn, action, resource, decision))
        passed = passed_roles(signing_name, operation, params)
        if passed:
            resource, decision = await decide(
                action="iam:PassRole",
                arns=passed,
                principal_arn=caller.arn,
                account=caller.account,
                identity=caller.policies,
                policies=None,  # a role's trust policy is not a resource policy for iam:PassRole
                context=context,
            )
            if not decision.allowed:
                raise AuthError("denied", denied_message(caller.arn, "iam:PassRole", resource, decision))


class LazyContext(Mapping[str, Sequence[str]]):
    """Condition keys built on first use: most policies test none, and building them costs a request's time."""

    def __init__(self, build: Callable[[], dict[str, list[str]]]) -> None:
        self._build = build
        self._keys: dict[str, list[str]] | None = None

    def _built(self) -> dict[str, list[str]]:
        if self._keys is None:
            self._keys = self._build()
        return self._keys

    def __getitem__(self, key: str) -> Sequence[str]:
        return self._built()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._built())

    def __len__(self) -> int:
        return len(self._built())


def condition_context(
    caller: Caller, *, region: str, source_ip: str | None, tls: bool, now: float
) -> dict[str, list[str]]:
    """The global condition keys of a request (lower-cased, as conditions compare them)."""
    context = {
        "aws:principalaccount": [caller.account],
        "aws:principalarn": [caller.arn],
        "aws:userid": [caller.user_id],
        "aws:requestedregion": [region],
        "aws:securetransport": ["true" if tls else "false"],
        "aws:currenttime": [time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))],
        "aws:epochtime": [str(int(now))],
        "aws:principaltype": ["AssumedRole" if ":assumed-role/" in caller.arn else "User"],
    }
    if ":user/" in caller.arn:
        context["aws:username"] = [caller.arn.rsplit("/", 1)[-1]]
    if source_ip:
        context["aws:sourceip"] = [source_ip]
    return context
