"""The base of the resource providers: how each supported resource type is created, updated and deleted, through the served APIs
(the in-process `ApiClient`, so a template gets exactly what the same calls over boto3 would).

A provider answers `create` with the resource's physical id (what `Ref` returns) and its attributes (what
`Fn::GetAtt` returns); `update` returns the same, or raises `NeedsReplacement` when a property AWS cannot change in
place changed (the engine then creates a new resource and deletes the old one); `delete` tolerates a resource that
is already gone. Adding a type is one class here plus one line in `PROVIDERS`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import orjson

from pipework.connectors.ports import ApiClient
from pipework.connectors.targets import TargetError
from pipework.jsontypes import JSON


class ProvisionError(Exception):
    """A resource could not be created, updated or deleted; the message is the stack event's reason."""


class NeedsReplacement(Exception):
    """Raised by `Provider.update` when the change needs a new physical resource."""


@dataclass(frozen=True)
class Made:
    """What a provider made: the physical id and the attributes; `note`, what the stack event should say beside
    success (something recorded but not acted on)."""

    physical_id: str
    attributes: JSON
    note: str = ""


@dataclass(frozen=True)
class Actor:
    """Who a stack operation acts as: the stack's service role (`role_arn`, the stack's RoleARN) when it has one,
    else the caller of the operation (`access_key`, the key that signed CreateStack, UpdateStack ...)."""

    access_key: str | None = None
    role_arn: str | None = None


class StackPermissions(Protocol):
    """Whether a stack operation may make one call (auth on): what the composition root fills from the
    authorizer."""

    async def denied(
        self, actor: Actor, service: str, operation: str, params: JSON, *, region: str, account: str
    ) -> str | None:
        """Why `actor` may not call `operation` of `service` with `params` (AWS's AccessDenied message), or None."""
        ...

    async def assumable(self, role_arn: str, account: str) -> bool:
        """Whether CloudFormation (``cloudformation.amazonaws.com``) may assume `role_arn` for `account`."""
        ...


@dataclass(frozen=True)
class Where:
    """Where a stack provisions: its account, region and name (for generated physical names)."""

    account: str
    region: str
    stack: str
    actor: Actor | None = None  # None: nothing is checked (auth is off)

    def generated_name(self, logical_id: str, *, limit: int = 64, suffix: str = "") -> str:
        """CloudFormation's generated name: ``<stack>-<logical id>-<random>``, cut to `limit` characters."""
        digest = hashlib.sha1(f"{self.account}/{self.region}/{self.stack}/{logical_id}".encode()).hexdigest()
        tail = digest[:12].upper()
        head = f"{self.stack}-{logical_id}"[: max(1, limit - len(tail) - 1 - len(suffix))]
        return f"{head}-{tail}{suffix}"


class Provider:
    """Base of the providers. Subclasses set `type` and implement `create` and `delete`; `update` defaults to
    replacement, the safe answer for a type with nothing that can change in place."""

    type: ClassVar[str]
    #: Properties whose change needs a new resource (AWS's "Update requires: Replacement").
    replaced_by: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, api: ApiClient, permissions: StackPermissions | None = None) -> None:
        self.api = api
        self.permissions = permissions

    async def authorize(self, service: str, operation: str, params: JSON, where: Where) -> None:
        """Raise `ProvisionError` (AccessDenied, in the words CloudFormation's handlers use) unless the stack's
        actor may make this call."""
        if self.permissions is None or where.actor is None:
            return
        why = await self.permissions.denied(
            where.actor, service, operation, params, region=where.region, account=where.account
        )
        if why is not None:
            raise ProvisionError(
                f'Resource handler returned message: "{why} (Service: {service}, Status Code: 403)" '
                "(HandlerErrorCode: AccessDenied)"
            )

    async def call(self, service: str, operation: str, params: JSON, where: Where) -> JSON:
        await self.authorize(service, operation, params, where)
        try:
            return await self.api.call(service, operation, params, region=where.region, account=where.account)
        except TargetError as exc:
            raise failed(exc) from None

    async def create(self, logical_id: str, props: JSON, where: Where) -> Made:
        raise NotImplementedError

    async def update(self, logical_id: str, made: Made, old: JSON, new: JSON, where: Where) -> Made:
        raise NeedsReplacement

    async def delete(self, made: Made, props: JSON, where: Where) -> None:
        raise NotImplementedError

    def must_replace(self, old: JSON, new: JSON) -> bool:
        return any(old.get(name) != new.get(name) for name in self.replaced_by)

    async def quietly(self, service: str, operation: str, params: JSON, where: Where) -> None:
        """A delete call that succeeds when the resource is already gone."""
        await self.authorize(service, operation, params, where)
        try:
            await self.api.call(service, operation, params, region=where.region, account=where.account)
        except TargetError as exc:
            if exc.reason != "NO_RESOURCE" and "NotFound" not in exc.code and "NonExistent" not in exc.code:
                raise failed(exc) from None


def failed(exc: TargetError) -> ProvisionError:
    return ProvisionError(
        f'Resource handler returned message: "{exc.message}" (HandlerErrorCode: {exc.code})'
    )


def json_text(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def tags_list(tags: Any) -> list[JSON]:
    if isinstance(tags, dict):
        return [{"Key": k, "Value": str(v)} for k, v in tags.items()]
    return [{"Key": t["Key"], "Value": str(t["Value"])} for t in tags or ()]


def tags_map(tags: Any) -> dict[str, str]:
    if isinstance(tags, dict):
        return {k: str(v) for k, v in tags.items()}
    return {t["Key"]: str(t["Value"]) for t in tags or ()}


def pick(props: JSON, *names: str) -> JSON:
    return {name: props[name] for name in names if props.get(name) is not None}
