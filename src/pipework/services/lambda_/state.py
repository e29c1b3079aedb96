"""What Lambda's operations share: the store (the one truth — every operation reads it, so several nodes on one
PostgreSQL store agree), the function registry of the connectors (which runs them), where packages are unpacked,
and the lock every change holds. It also answers the `FunctionCatalog` port: a deployed function by ARN, its
package unpacked on this node from the bytes in the store.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from pipework.clock import Clock
from pipework.connectors.runtime import FunctionSpec, unpack
from pipework.connectors.targets.function import Functions
from pipework.services.base import RequestContext
from pipework.store.base import Store

from . import model
from .errors import function_not_found, not_found
from .model import Function, FunctionName

log = logging.getLogger("pipework.lambda")


class RoleAccess(Protocol):
    """What functions' execution roles may do (auth on; the composition root fills it)."""

    async def assumable(self, role_arn: str, *, account: str, service: str) -> bool:
        """Whether the `service` principal may assume `role_arn` for a function of `account`."""
        ...

    async def role_denied(
        self, role_arn: str, *, account: str, actions: Sequence[tuple[str, str]], service: str
    ) -> str | None:
        """The first of `actions` (action, resource ARN) that `role_arn`, assumed by the `service` principal for
        `account`, may not do, or None when it may do them all."""
        ...


class LambdaState:
    """Lambda's definitions over a store.

    Parameters:
        store, clock: the instance's. region, account: the server's defaults (local functions live there).
        functions: the connectors' registry (local handlers, the worker pool). code_directory: where packages
            are unpacked (one directory per package hash).
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        region: str,
        account: str,
        functions: Functions,
        code_directory: Path,
    ) -> None:
        self.store = store
        self.clock = clock
        self.region = region
        self.account = account
        self.functions = functions
        self.code_directory = code_directory
        self.lock = asyncio.Lock()
        #: what functions' roles may do, checked when a function or mapping is made (None: auth off)
        self.role_access: RoleAccess | None = None

    # -- functions -----------------------------------------------------------------------------------------------
    def where(self, name: FunctionName, ctx: RequestContext) -> tuple[str, str]:
        """The (account, region) a FunctionName parameter names, in the request's by default."""
        return name.account or ctx.account, name.region or ctx.region

    async def stored(self, account: str, region: str, name: str) -> Function | None:
        resource = await self.store.get_resource(model.KIND_FUNCTION, model.key(account, region, name))
        return Function.from_store(resource.body) if resource is not None else None

    def local(self, account: str, region: str, name: str) -> Function | None:
        """A function registered with ``--functions`` (or the pytest plugin), as the Lambda API shows it: it
        exists in every region, with the server's Python."""
        if name not in self.functions.functions:
            return None
        return Function(
            name=name,
            arn=model.function_arn(region, account, name),
            region=region,
            account=account,
            runtime="python3.12",
            role=f"arn:aws:iam::{account}:role/pipework-local",
            handler=f"local.{name}",
            code="",
            code_sha256="",
            code_size=0,
            revision="local",
            modified=0.0,
            timeout=max(1, round(self.functions.timeout)),
            local=True,
        )

    async def function(self, text: str, ctx: RequestContext, qualifier: str | None = None) -> Function:
        """The function a FunctionName (and Qualifier) names, or ResourceNotFoundException."""
        name = FunctionName.parse(text, qualifier)
        account, region = self.where(name, ctx)
        found = self.local(account, region, name.name) or await self.stored(account, region, name.name)
        arn = model.function_arn(region, account, name.name)
        if found is None:
            raise function_not_found(arn if name.qualifier is None else f"{arn}:{name.qualifier}")
        if name.qualifier not in (None, model.LATEST):
            raise not_found(f"Function not found: {arn}:{name.qualifier}")
        return found

    async def code_bytes(self, digest: str) -> bytes | None:
        resource = await self.store.get_resource(model.KIND_CODE, digest)
        if resource is None:
            return None
        return base64.b64decode(resource.body["ZipFile"])

    async def spec(self, function: Function) -> FunctionSpec | None:
        """What running ``function`` takes, its package unpacked here first if it is not yet (None: a local
        function, or a package missing from the store)."""
        if function.local:
            return None
        directory = self.code_directory / function.code
        if not directory.is_dir():
            data = await self.code_bytes(function.code)
            if data is None:
                log.error(
                    "function %s: its package %s is missing from the store", function.arn, function.code
                )
                return None
            directory = await asyncio.to_thread(unpack, data, self.code_directory)
        return FunctionSpec(
            arn=function.arn,
            name=function.name,
            handler=function.handler,
            code_dir=directory,
            revision=function.revision,
            runtime=function.runtime,
            timeout=float(function.timeout),
            memory=function.memory,
            environment=dict(function.environment),
            region=function.region,
            account=function.account,
            role=function.role,
        )

    async def function_spec(self, arn: str) -> FunctionSpec | None:
        """The `FunctionCatalog` port: the deployed function ``arn`` names (``$LATEST`` or unqualified)."""
        parts = arn.split(":")
        if len(parts) < 7 or parts[2] != "lambda" or parts[5] != "function":
            return None
        if len(parts) > 7 and parts[7] != model.LATEST:
            return None
        function = await self.stored(parts[4] or self.account, parts[3] or self.region, parts[6])
        return await self.spec(function) if function is not None else None
