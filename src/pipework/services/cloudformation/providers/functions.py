"""Lambda: functions (inline code packed as AWS packs it), event source mappings, async invoke configs."""

from __future__ import annotations

from pipework.jsontypes import JSON

from .base import (
    Made,
    NeedsReplacement,
    Provider,
    ProvisionError,
    Where,
    pick,
    tags_map,
)

#: Pipework's stand-in for S3 in a function's Code: S3Bucket ``pipework-local``, S3Key a directory on the server's
#: machine (`pipework deploy` rewrites a template's local CodeUri to it).
LOCAL_BUCKET = "pipework-local"


def _inline_zip(source: str, runtime: str) -> bytes:
    """CloudFormation's inline ``Code.ZipFile``: the source becomes ``index.py`` (``index.js`` for Node.js) in a
    zip, as AWS packs it."""
    import io
    import zipfile

    name = "index.js" if runtime.startswith("nodejs") else "index.py"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, source)
    return buffer.getvalue()


def _function_code(props: JSON) -> JSON:
    code = props.get("Code") or {}
    if "ZipFile" in code:
        return {"ZipFile": _inline_zip(str(code["ZipFile"]), str(props.get("Runtime", "python3.12")))}
    if code.get("S3Bucket") == LOCAL_BUCKET:
        return {
            "S3Bucket": LOCAL_BUCKET,
            "S3Key": code.get("S3Key", ""),
        }  # a directory on the server's machine
    if code.get("S3Bucket") or code.get("ImageUri"):
        raise ProvisionError(
            "Pipework has no S3 or container images: give the function's code inline (Code.ZipFile / SAM "
            "InlineCode), or deploy with `pipework deploy`, which packs a local CodeUri"
        )
    return dict(code)  # Pipework's own forms (a packed zip), passed through


class Function(Provider):
    type = "AWS::Lambda::Function"
    replaced_by = frozenset({"FunctionName", "PackageType"})
    _configuration = (
        "Runtime",
        "Handler",
        "Role",
        "Environment",
        "Timeout",
        "MemorySize",
        "Description",
        "Architectures",
        "DeadLetterConfig",
        "TracingConfig",
        "EphemeralStorage",
        "Layers",
    )

    async def create(self, logical_id: str, props: JSON, where: Where) -> Made:
        name = props.get("FunctionName") or where.generated_name(logical_id)
        params: JSON = {
            "FunctionName": name,
            "Code": _function_code(props),
            **pick(props, *self._configuration),
        }
        params.setdefault("Role", f"arn:aws:iam::{where.account}:role/{where.stack}-{logical_id}")
        if props.get("Tags"):
            params["Tags"] = tags_map(props["Tags"])
        answer = await self.call("lambda", "CreateFunction", params, where)
        return Made(name, {"Arn": answer["FunctionArn"]})

    async def update(self, logical_id: str, made: Made, old: JSON, new: JSON, where: Where) -> Made:
        if self.must_replace(old, new):
            raise NeedsReplacement
        if old.get("Code") != new.get("Code"):
            await self.call(
                "lambda",
                "UpdateFunctionCode",
                {"FunctionName": made.physical_id, **_function_code(new)},
                where,
            )
        if any(old.get(k) != new.get(k) for k in self._configuration):
            await self.call(
                "lambda",
                "UpdateFunctionConfiguration",
                {"FunctionName": made.physical_id, **pick(new, *self._configuration)},
                where,
            )
        return made

    async def delete(self, made: Made, props: JSON, where: Where) -> None:
        await self.quietly("lambda", "DeleteFunction", {"FunctionName": made.physical_id}, where)


class EventSourceMapping(Provider):
    type = "AWS::Lambda::EventSourceMapping"
    replaced_by = frozenset({"EventSourceArn", "StartingPosition", "StartingPositionTimestamp"})
    _fields = (
        "FunctionName",
        "Enabled",
        "BatchSize",
        "MaximumBatchingWindowInSeconds",
        "FilterCriteria",
        "FunctionResponseTypes",
        "BisectBatchOnFunctionError",
        "MaximumRetryAttempts",
        "MaximumRecordAgeInSeconds",
        "DestinationConfig",
        "ParallelizationFactor",
        "ScalingConfig",
    )

    async def create(self, logical_id: str, props: JSON, where: Where) -> Made:
        params: JSON = pick(
            props, "EventSourceArn", "StartingPosition", "StartingPositionTimestamp", *self._fields
        )
        answer = await self.call("lambda", "CreateEventSourceMapping", params, where)
        uuid = answer["UUID"]
        arn = f"arn:aws:lambda:{where.region}:{where.account}:event-source-mapping:{uuid}"
        return Made(uuid, {"Id": uuid, "EventSourceMappingArn": answer.get("EventSourceMappingArn", arn)})

    async def update(self, logical_id: str, made: Made, old: JSON, new: JSON, where: Where) -> Made:
        if self.must_replace(old, new):
            raise NeedsReplacement
        await self.call(
            "lambda",
            "UpdateEventSourceMapping",
            {"UUID": made.physical_id, **pick(new, *self._fields)},
            where,
        )
        return made

    async def delete(self, made: Made, props: JSON, where: Where) -> None:
        await self.quietly("lambda", "DeleteEventSourceMapping", {"UUID": made.physical_id}, where)


class EventInvokeConfig(Provider):
    type = "AWS::Lambda::EventInvokeConfig"
    replaced_by = frozenset({"FunctionName", "Qualifier"})
    _fields = (
        "FunctionName",
        "Qualifier",
        "MaximumRetryAttempts",
        "MaximumEventAgeInSeconds",
        "DestinationConfig",
    )

    async def create(self, logical_id: str, props: JSON, where: Where) -> Made:
        await self.call("lambda", "PutFunctionEventInvokeConfig", pick(props, *self._fields), where)
        return Made(f"{props['FunctionName']}:{props.get('Qualifier', '$LATEST')}", {})

    async def update(self, logical_id: str, made: Made, old: JSON, new: JSON, where: Where) -> Made:
        if self.must_replace(old, new):
            raise NeedsReplacement
        await self.call("lambda", "PutFunctionEventInvokeConfig", pick(new, *self._fields), where)
        return made

    async def delete(self, made: Made, props: JSON, where: Where) -> None:
        await self.quietly(
            "lambda", "DeleteFunctionEventInvokeConfig", pick(props, "FunctionName", "Qualifier"), where
        )
