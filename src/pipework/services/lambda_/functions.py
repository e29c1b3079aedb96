"""Functions: CreateFunction, GetFunction(Configuration), ListFunctions, UpdateFunctionCode,
UpdateFunctionConfiguration, DeleteFunction. A package's bytes go into the store (one resource per package hash,
shared by the functions that use it) in the same commit as the function, and are unpacked on first use.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import uuid
from pathlib import Path
from typing import Any

from pipework.connectors.runtime import CodeError, pack_directory
from pipework.connectors.runtime.code import check_zip, code_sha256
from pipework.jsontypes import JSON
from pipework.services.base import RequestContext, ServiceError
from pipework.services.paging import page
from pipework.store.base import Batch

from . import model
from .errors import conflict, invalid, precondition, too_large
from .model import Function, FunctionName
from .state import LambdaState

#: Lambda's limit for a package uploaded directly (zipped).
MAX_ZIP = 50 * 1024 * 1024
#: Lambda's limit for the environment variables of a function (keys and values together).
MAX_ENVIRONMENT = 4096


class FunctionOperations(LambdaState):
    """The function operations (parameters: see `LambdaState`)."""

    # -- helpers -------------------------------------------------------------------------------------------------
    async def _package(self, code: JSON) -> bytes:
        """The zip a Code parameter (or UpdateFunctionCode's members) gives: ZipFile, or a local directory named
        by S3Bucket ``pipework-local`` and S3Key (Pipework's extension; S3 is not served)."""
        if code.get("ZipFile") is not None:
            data: bytes = code["ZipFile"]
        elif code.get("S3Bucket") == model.LOCAL_BUCKET and code.get("S3Key"):
            try:
                data = pack_directory(Path(code["S3Key"]))
            except (CodeError, OSError) as exc:
                raise invalid(f"Cannot read the local directory {code['S3Key']}: {exc}") from None
        elif code.get("S3Bucket") or code.get("S3Key"):
            raise invalid(
                "Pipework does not serve S3: give the package as ZipFile, or a local directory as "
                f"S3Bucket '{model.LOCAL_BUCKET}' with S3Key the directory's path."
            )
        elif code.get("ImageUri"):
            raise invalid(
                "Pipework runs Zip packages only (Python runtimes); container images are not supported."
            )
        else:
            raise invalid("Please provide a source for function code.")
        if len(data) > MAX_ZIP:
            raise too_large(f"Request must be smaller than {MAX_ZIP} bytes for the CreateFunction operation")
        try:
            check_zip(data)
        except CodeError as exc:
            raise invalid(str(exc)) from None
        return data

    @staticmethod
    def _check_runtime(runtime: str | None) -> str:
        if runtime is None:
            raise invalid(
                "Runtime and Handler are mandatory parameters for functions created with Zip Package Type"
            )
        if runtime not in model.RUNTIMES:
            raise invalid(
                f"Runtime {runtime} is not supported by Pipework, which runs Python functions "
                f"({', '.join(model.RUNTIMES)})."
            )
        return runtime

    @staticmethod
    def _environment(params: JSON, current: dict[str, str]) -> dict[str, str]:
        if "Environment" not in params:
            return current
        variables = dict((params.get("Environment") or {}).get("Variables") or {})
        if sum(len(k) + len(v) for k, v in variables.items()) > MAX_ENVIRONMENT:
            raise invalid(
                "Lambda was unable to configure your environment variables because the environment variables "
                f"you have provided exceeded the {MAX_ENVIRONMENT} bytes limit."
            )
        return variables

    def _store_code(self, batch: Batch, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        # The same bytes give the same resource: writing it again changes nothing.
        batch.put_resource(model.KIND_CODE, digest, {"ZipFile": base64.b64encode(data).decode()})
        return digest

    async def _drop_code_unless_used(self, batch: Batch, digest: str, *, besides: str) -> None:
        """Delete a package no other function uses (``besides``: the key of the function letting go of it)."""
        async for resource in self.store.all_resources(model.KIND_FUNCTION):
            if resource.name != besides and resource.body.get("code") == digest:
                return
        batch.delete_resource(model.KIND_CODE, digest)

    async def _existing(self, params: JSON, ctx: RequestContext) -> Function:
        function = await self.function(params["FunctionName"], ctx, params.get("Qualifier"))
        if function.local:
            raise invalid(
                f"Function {function.name} is a local function (--functions): change it in its module."
            )
        revision = params.get("RevisionId")
        if revision is not None and revision != function.revision:
            raise precondition(
                "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/"
                "GetAlias API to retrieve the latest Revision Id"
            )
        return function

    async def _save(
        self, function: Function, data: bytes | None = None, *, previous: str | None = None
    ) -> None:
        batch = self.store.batch()
        if data is not None:
            self._store_code(batch, data)
        batch.put_resource(model.KIND_FUNCTION, function.key, function.to_store())
        if previous is not None and previous != function.code:
            await self._drop_code_unless_used(batch, previous, besides=function.key)
        await self.store.commit(batch)
        await self.functions.workers.retire(function.arn)

    async def _check_role(self, role: str, account: str) -> None:
        """With auth on, Lambda must be able to assume a function's role (its calls are made as it)."""
        if self.role_access is not None and not await self.role_access.assumable(
            role, account=account, service="lambda.amazonaws.com"
        ):
            raise invalid("The role defined for the function cannot be assumed by Lambda.")

    # -- operations ----------------------------------------------------------------------------------------------
    async def op_CreateFunction(self, params: JSON, ctx: RequestContext) -> JSON:
        name = FunctionName.parse(params["FunctionName"])
        if name.qualifier is not None:
            raise invalid("FunctionName cannot have a qualifier when creating a function.")
        account, region = self.where(name, ctx)
        if params.get("PackageType", "Zip") != "Zip":
            raise invalid(
                "Pipework runs Zip packages only (Python runtimes); container images are not supported."
            )
        runtime = self._check_runtime(params.get("Runtime"))
        handler = params.get("Handler")
        if not handler:
            raise invalid(
                "Runtime and Handler are mandatory parameters for functions created with Zip Package Type"
            )
        await self._check_role(params["Role"], account)
        data = await self._package(params.get("Code") or {})
        environment = self._environment(params, {})
        async with self.lock:
            arn = model.function_arn(region, account, name.name)
            if await self.stored(account, region, name.name) is not None or self.local(
                account, region, name.name
            ):
                raise conflict(f"Function already exist: {name.name}")
            function = Function(
                name=name.name,
                arn=arn,
                region=region,
                account=account,
                runtime=runtime,
                role=params["Role"],
                handler=handler,
                code=hashlib.sha256(data).hexdigest(),
                code_sha256=code_sha256(data),
                code_size=len(data),
                revision=str(uuid.uuid4()),
                modified=self.clock.now(),
                description=params.get("Description", ""),
                timeout=params.get("Timeout", 3),
                memory=params.get("MemorySize", 128),
                environment=environment,
                architectures=tuple(params.get("Architectures") or ("x86_64",)),
                dead_letter_arn=(params.get("DeadLetterConfig") or {}).get("TargetArn") or None,
                tags=dict(params.get("Tags") or {}),
                ephemeral_storage=(params.get("EphemeralStorage") or {}).get("Size", 512),
            )
            await self._save(function, data)
        return function.to_api()

    async def op_GetFunction(self, params: JSON, ctx: RequestContext) -> JSON:
        function = await self.function(params["FunctionName"], ctx, params.get("Qualifier"))
        out: JSON = {"Configuration": function.to_api(), "Code": {"RepositoryType": "S3"}}
        if function.tags:
            out["Tags"] = dict(function.tags)
        return out

    async def op_GetFunctionConfiguration(self, params: JSON, ctx: RequestContext) -> JSON:
        function = await self.function(params["FunctionName"], ctx, params.get("Qualifier"))
        return function.to_api()

    async def op_ListFunctions(self, params: JSON, ctx: RequestContext) -> JSON:
        prefix = model.key(ctx.account, ctx.region, "")
        found: dict[str, Function] = {}
        async for resource in self.store.all_resources(model.KIND_FUNCTION):
            if resource.name.startswith(prefix):
                function = Function.from_store(resource.body)
                found[function.name] = function
        for name in self.functions.functions:
            local = self.local(ctx.account, ctx.region, name)
            if local is not None:
                found[name] = local  # a local function hides an API-created one of its name
        ordered = [found[name] for name in sorted(found)]
        try:
            listed, marker = page(
                "ListFunctions", ordered, params.get("Marker"), params.get("MaxItems"), default_limit=50
            )
        except ServiceError:
            raise invalid("Invalid Marker.") from None
        out: JSON = {"Functions": [f.to_api() for f in listed]}
        if marker:
            out["NextMarker"] = marker
        return out

    async def op_DeleteFunction(self, params: JSON, ctx: RequestContext) -> JSON:
        async with self.lock:
            function = await self._existing(params, ctx)
            batch = self.store.batch()
            batch.delete_resource(model.KIND_FUNCTION, function.key)
            if await self.store.get_resource(model.KIND_INVOKE_CONFIG, function.key) is not None:
                batch.delete_resource(model.KIND_INVOKE_CONFIG, function.key)
            await self._drop_code_unless_used(batch, function.code, besides=function.key)
            await self.store.commit(batch)
        await self.functions.workers.retire(function.arn)
        return {"StatusCode": 204}

    async def op_UpdateFunctionCode(self, params: JSON, ctx: RequestContext) -> JSON:
        data = await self._package(params)
        if params.get("Architectures"):
            architectures: tuple[str, ...] | None = tuple(params["Architectures"])
        else:
            architectures = None
        async with self.lock:
            function = await self._existing(params, ctx)
            changed = dataclasses.replace(
                function,
                code=hashlib.sha256(data).hexdigest(),
                code_sha256=code_sha256(data),
                code_size=len(data),
                revision=str(uuid.uuid4()),
                modified=self.clock.now(),
                architectures=architectures or function.architectures,
            )
            if params.get("DryRun"):
                return changed.to_api()
            await self._save(changed, data, previous=function.code)
        return changed.to_api()

    async def op_UpdateFunctionConfiguration(self, params: JSON, ctx: RequestContext) -> JSON:
        async with self.lock:
            function = await self._existing(params, ctx)
            if "Role" in params:
                await self._check_role(params["Role"], function.account)
            changes: dict[str, Any] = {}
            if "Runtime" in params:
                changes["runtime"] = self._check_runtime(params["Runtime"])
            for member, attribute in (
                ("Role", "role"),
                ("Handler", "handler"),
                ("Description", "description"),
                ("Timeout", "timeout"),
                ("MemorySize", "memory"),
            ):
                if member in params:
                    changes[attribute] = params[member]
            if "DeadLetterConfig" in params:
                changes["dead_letter_arn"] = (params["DeadLetterConfig"] or {}).get("TargetArn") or None
            if "EphemeralStorage" in params:
                changes["ephemeral_storage"] = (params["EphemeralStorage"] or {}).get("Size", 512)
            changes["environment"] = self._environment(params, function.environment)
            changed = dataclasses.replace(
                function, **changes, revision=str(uuid.uuid4()), modified=self.clock.now()
            )
            await self._save(changed)
        return changed.to_api()
