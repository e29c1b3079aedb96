"""Roles that stacks create (``AWS::IAM::Role``, with ``AWS::IAM::Policy`` and ``AWS::IAM::ManagedPolicy``
attached): kept in the store, so restarts and every node sharing it know them, and read back as `Role`s the
authorizer uses like the credentials file's (a rule's, pipe's or schedule's RoleArn, STS AssumeRole, a function's
execution role, a stack's service role).

Store layout (kinds): ``iam/role`` keyed ``<account>/<role name>`` (the ARN, trust policy and inline policies);
``iam/role-policy`` keyed ``<role arn>|<policy name>`` (an inline policy an ``AWS::IAM::Policy`` put on a role);
``iam/policy`` keyed by the managed policy's ARN (its document); ``iam/attachment`` keyed
``<role arn>|<policy arn>`` (a managed policy an ``AWS::IAM::ManagedPolicy`` attached by its ``Roles``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pipework.iam import Policy, PolicyError, parse_policy
from pipework.store.base import Store

from .managed import AWS_MANAGED

ROLE_KIND = "iam/role"
ROLE_POLICY_KIND = "iam/role-policy"
POLICY_KIND = "iam/policy"
ATTACHMENT_KIND = "iam/attachment"
#: how long a node trusts what it read of a stored role before reading it again (another node may change it)
ROLE_CACHE_SECONDS = 5.0
#: the service principals that invoke targets as a role (rules, pipes, schedules)
TARGET_SERVICES = ("events.amazonaws.com", "pipes.amazonaws.com", "scheduler.amazonaws.com")


#: the trust policy of a role whose stored one does not parse: nobody may assume it
_NOBODY = parse_policy(
    {"Version": "2012-10-17",
     "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole", "Resource": "*"}]},
    resource_policy=True,
)  # fmt: skip


class RoleError(ValueError):
    """A role or policy that cannot be stored as given (a policy document that does not parse); the message is
    IAM's (``MalformedPolicyDocument``)."""


def parse_identity_policy(document: Any, where: str) -> Policy:
    try:
        return parse_policy(document)
    except PolicyError as error:
        raise RoleError(f"{where}: {error}") from None


def parse_trust_policy(document: Any) -> Policy:
    try:
        return parse_policy(document, resource_policy=True)
    except PolicyError as error:
        raise RoleError(f"AssumeRolePolicyDocument: {error}") from None


def role_key(arn: str) -> str | None:
    """``<account>/<name>`` of a role ARN (paths are part of the ARN, not of the key), or None."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam" or not parts[5].startswith("role/"):
        return None
    return f"{parts[4]}/{parts[5].rsplit('/', 1)[-1]}"


class StoredRoles:
    """The roles, inline policies, managed policies and attachments stacks keep in the store.

    Parameters: `store`; `now`, the wall clock (the cache of roles read back)."""

    def __init__(self, store: Store | None, *, now: Callable[[], float] = time.time) -> None:
        self.store = store
        self.now = now
        self._memory: dict[tuple[str, str], Any] = {}  # (kind, key) → body, when there is no store
        self._cache: dict[str, tuple[float, StoredRole | None]] = {}

    # -- the store, or memory ------------------------------------------------------------------------------------
    async def _get(self, kind: str, key: str) -> Any:
        if self.store is None:
            return self._memory.get((kind, key))
        found = await self.store.get_resource(kind, key)
        return found.body if found is not None else None

    async def _put(self, kind: str, key: str, body: Any) -> None:
        self._cache.clear()
        if self.store is None:
            self._memory[(kind, key)] = body
        else:
            await self.store.put_resource(kind, key, body)

    async def _delete(self, kind: str, key: str) -> None:
        self._cache.clear()
        if self.store is None:
            self._memory.pop((kind, key), None)
        else:
            await self.store.delete_resource(kind, key)

    async def _prefixed(self, kind: str, prefix: str) -> list[Any]:
        if self.store is None:
            return [
                body
                for (k, key), body in sorted(self._memory.items())
                if k == kind and key.startswith(prefix)
            ]
        return [found.body async for found in self.store.all_resources(kind, prefix=prefix)]

    async def _names(self, kind: str, prefix: str) -> list[str]:
        if self.store is None:
            return [key for (k, key) in list(self._memory) if k == kind and key.startswith(prefix)]
        return [found.name async for found in self.store.all_resources(kind, prefix=prefix)]

    # -- writes (the CloudFormation IAM providers) ---------------------------------------------------------------
    async def put_role(
        self, arn: str, trust: Any, policies: Mapping[str, Any], managed: Sequence[str]
    ) -> None:
        """Create or replace role `arn` with its trust policy, inline `policies` (name → document) and the ARNs of
        its `managed` policies. `RoleError` when a document does not parse."""
        key = role_key(arn)
        if key is None:
            raise RoleError(f"{arn} is not a role ARN")
        parse_trust_policy(trust)
        for name, document in policies.items():
            parse_identity_policy(document, f"policy {name}")
        body = {
            "Arn": arn,
            "AssumeRolePolicyDocument": trust,
            "Policies": dict(policies),
            "ManagedPolicyArns": list(managed),
        }
        await self._put(ROLE_KIND, key, body)

    async def delete_role(self, arn: str) -> None:
        """Delete role `arn` with the inline policies put on it and its attachments (a role made again under the
        same name starts without them)."""
        key = role_key(arn)
        if key is None:
            return
        for kind in (ROLE_POLICY_KIND, ATTACHMENT_KIND):
            for name in await self._names(kind, f"{arn}|"):
                await self._delete(kind, name)
        await self._delete(ROLE_KIND, key)

    async def role_arn(self, account: str, name: str) -> str:
        """The ARN of role `name` of `account`, with its path (without one when no stack made it)."""
        body = await self._get(ROLE_KIND, f"{account}/{name}")
        if isinstance(body, dict) and isinstance(body.get("Arn"), str):
            return str(body["Arn"])
        return f"arn:aws:iam::{account}:role/{name}"

    @staticmethod
    def unmodelled(policy_arns: Sequence[str]) -> list[str]:
        """The AWS managed policies among `policy_arns` that Pipework does not model."""
        return [arn for arn in policy_arns if arn.startswith("arn:aws:iam::aws:") and arn not in AWS_MANAGED]

    async def put_role_policy(self, role_arn: str, name: str, document: Any) -> None:
        parse_identity_policy(document, f"policy {name}")
        await self._put(ROLE_POLICY_KIND, f"{role_arn}|{name}", {"Document": document})

    async def delete_role_policy(self, role_arn: str, name: str) -> None:
        await self._delete(ROLE_POLICY_KIND, f"{role_arn}|{name}")

    async def put_managed_policy(self, arn: str, document: Any) -> None:
        parse_identity_policy(document, "PolicyDocument")
        await self._put(POLICY_KIND, arn, {"Document": document})

    async def delete_managed_policy(self, arn: str) -> None:
        await self._delete(POLICY_KIND, arn)

    async def attach(self, role_arn: str, policy_arn: str) -> None:
        await self._put(ATTACHMENT_KIND, f"{role_arn}|{policy_arn}", {"PolicyArn": policy_arn})

    async def detach(self, role_arn: str, policy_arn: str) -> None:
        await self._delete(ATTACHMENT_KIND, f"{role_arn}|{policy_arn}")

    # -- reads (the authorizer) ----------------------------------------------------------------------------------
    async def find(self, arn: str) -> StoredRole | None:
        """Role `arn` with every policy that applies to it now, or None (read again after `ROLE_CACHE_SECONDS`)."""
        cached = self._cache.get(arn)
        if cached is not None and self.now() - cached[0] < ROLE_CACHE_SECONDS:
            return cached[1]
        found = await self._read(arn)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[arn] = (self.now(), found)
        return found

    async def _read(self, arn: str) -> StoredRole | None:
        key = role_key(arn)
        body = await self._get(ROLE_KIND, key) if key is not None else None
        if not isinstance(body, dict) or body.get("Arn") != arn:
            return None
        documents: list[Any] = list((body.get("Policies") or {}).values())
        documents += [each["Document"] for each in await self._prefixed(ROLE_POLICY_KIND, f"{arn}|")]
        managed = list(body.get("ManagedPolicyArns") or ())
        managed += [each["PolicyArn"] for each in await self._prefixed(ATTACHMENT_KIND, f"{arn}|")]
        unmodelled: list[str] = []
        for policy_arn in dict.fromkeys(managed):
            document = AWS_MANAGED.get(policy_arn)
            if document is None and not policy_arn.startswith("arn:aws:iam::aws:"):
                stored = await self._get(POLICY_KIND, policy_arn)
                document = stored.get("Document") if isinstance(stored, dict) else None
            if document is None:
                unmodelled.append(policy_arn)
                continue
            documents.append(document)
        parsed: list[Policy] = []
        for document in documents:
            try:
                parsed.append(parse_policy(document))
            except PolicyError:
                continue  # checked when stored; one written by an older version grants nothing
        try:
            trust = parse_policy(body.get("AssumeRolePolicyDocument") or {}, resource_policy=True)
        except PolicyError:
            trust = _NOBODY
        return StoredRole(arn, body, tuple(documents), tuple(parsed), trust, tuple(unmodelled))


class StoredRole:
    """A stored role as the authorizer sees it: its `arn`, `body` (as stored), the policy `documents` that apply
    (inline, attached, managed), those `parsed`, its `trust` policy, and the `unmodelled` AWS managed policy ARNs
    Pipework does not know (they grant nothing)."""

    def __init__(
        self,
        arn: str,
        body: Mapping[str, Any],
        documents: tuple[Any, ...],
        parsed: tuple[Policy, ...],
        trust: Policy,
        unmodelled: tuple[str, ...],
    ) -> None:
        self.arn = arn
        self.body = body
        self.documents = documents
        self.parsed = parsed
        self.trust = trust
        self.unmodelled = unmodelled
