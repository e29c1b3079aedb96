"""The Lambda API (restJson1): its operations table over functions (`functions.py`), invocations and their
asynchronous configuration (`invoke.py`), event source mappings (`mappings.py`), resource policies and tags
(`policies.py`), over a shared `state.py`."""

from __future__ import annotations

from collections.abc import Mapping as MappingType
from pathlib import Path
from typing import ClassVar

from pipework.clock import Clock
from pipework.connectors.ports import ApiClient, TableStreams
from pipework.connectors.targets.function import Functions
from pipework.connectors.targets.registry import Targets
from pipework.engine.pipes import PipeRunner
from pipework.engine.retry import Backoff
from pipework.jsontypes import JSON
from pipework.services.base import Handler, RequestContext, ServiceError, dispatch
from pipework.store.base import Store

from .functions import FunctionOperations
from .invoke import InvokeOperations
from .mappings import MappingOperations
from .policies import PolicyOperations


class LambdaService(MappingOperations, PolicyOperations):
    """Lambda's operations (parameters: see `LambdaState`; `targets` receive destinations and on-failure
    records, `api` and `streams` feed event source mappings, `backoff` spaces their retries)."""

    operations: ClassVar[MappingType[str, Handler]] = {
        "CreateFunction": FunctionOperations.op_CreateFunction,
        "GetFunction": FunctionOperations.op_GetFunction,
        "GetFunctionConfiguration": FunctionOperations.op_GetFunctionConfiguration,
        "ListFunctions": FunctionOperations.op_ListFunctions,
        "UpdateFunctionCode": FunctionOperations.op_UpdateFunctionCode,
        "UpdateFunctionConfiguration": FunctionOperations.op_UpdateFunctionConfiguration,
        "DeleteFunction": FunctionOperations.op_DeleteFunction,
        "Invoke": InvokeOperations.op_Invoke,
        "InvokeAsync": InvokeOperations.op_InvokeAsync,
        "PutFunctionEventInvokeConfig": InvokeOperations.op_PutFunctionEventInvokeConfig,
        "UpdateFunctionEventInvokeConfig": InvokeOperations.op_UpdateFunctionEventInvokeConfig,
        "GetFunctionEventInvokeConfig": InvokeOperations.op_GetFunctionEventInvokeConfig,
        "DeleteFunctionEventInvokeConfig": InvokeOperations.op_DeleteFunctionEventInvokeConfig,
        "ListFunctionEventInvokeConfigs": InvokeOperations.op_ListFunctionEventInvokeConfigs,
        "CreateEventSourceMapping": MappingOperations.op_CreateEventSourceMapping,
        "GetEventSourceMapping": MappingOperations.op_GetEventSourceMapping,
        "UpdateEventSourceMapping": MappingOperations.op_UpdateEventSourceMapping,
        "DeleteEventSourceMapping": MappingOperations.op_DeleteEventSourceMapping,
        "ListEventSourceMappings": MappingOperations.op_ListEventSourceMappings,
        "AddPermission": PolicyOperations.op_AddPermission,
        "RemovePermission": PolicyOperations.op_RemovePermission,
        "GetPolicy": PolicyOperations.op_GetPolicy,
        "TagResource": PolicyOperations.op_TagResource,
        "UntagResource": PolicyOperations.op_UntagResource,
        "ListTags": PolicyOperations.op_ListTags,
    }

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        region: str,
        account: str,
        functions: Functions,
        code_directory: Path,
        targets: Targets,
        api: ApiClient,
        streams: TableStreams,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(
            store, clock, region=region, account=account, functions=functions, code_directory=code_directory
        )
        self.targets = targets
        self.api = api
        self.streams = streams
        self.backoff = backoff
        self.runners: dict[str, PipeRunner] = {}
        self.last_results: dict[str, str] = {}

    @staticmethod
    def unknown_operation(operation: str) -> ServiceError:
        return ServiceError(
            "InvalidParameterValueException",
            f"Operation {operation} is not supported by Pipework.",
            400,
            extra={"Type": "User"},
        )

    async def handle(self, operation: str, params: JSON, ctx: RequestContext) -> JSON:
        return await dispatch(self, operation, params, ctx)
