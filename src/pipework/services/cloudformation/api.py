"""The CloudFormation API (query protocol): stacks and change sets over `StackRunner`.

Stack operations run as CloudFormation runs them: CreateStack, UpdateStack, DeleteStack and ExecuteChangeSet check
the request and the template at once (a bad template is a ValidationError of the call), then work in the
background; DescribeStacks and DescribeStackEvents show the progress.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Mapping
from typing import Any, ClassVar

import orjson

from pipework.cfn import TemplateError, load_template
from pipework.clock import Clock
from pipework.connectors.ports import ApiClient
from pipework.ids import random_uuid
from pipework.jsontypes import JSON
from pipework.services.base import Handler, RequestContext, ServiceError, dispatch
from pipework.store.base import Store

from . import model
from .model import ChangeSet, Stack
from .plans import Plan, make_plan, read, template_summary, use_previous
from .providers import Actor, IamRoles, StackPermissions, providers
from .stacks import StackRunner

log = logging.getLogger(__name__)

_STACK_NAME = re.compile(r"[a-zA-Z][-a-zA-Z0-9]{0,127}")
_IN_PROGRESS_FAILED = {
    "CREATE_IN_PROGRESS": "CREATE_FAILED",
    "ROLLBACK_IN_PROGRESS": "ROLLBACK_FAILED",
    "DELETE_IN_PROGRESS": "DELETE_FAILED",
    "UPDATE_IN_PROGRESS": "UPDATE_ROLLBACK_FAILED",
    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS": "UPDATE_COMPLETE",
    "UPDATE_ROLLBACK_IN_PROGRESS": "UPDATE_ROLLBACK_FAILED",
    "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS": "UPDATE_ROLLBACK_COMPLETE",
}
_UPDATABLE = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"}
_NO_CHANGES = (
    "The submitted information didn't contain changes. Submit different information to create a change set."
)


def validation(message: str) -> ServiceError:
    return ServiceError("ValidationError", message, 400)


def _missing(name: str) -> ServiceError:
    return validation(f"Stack with id {name} does not exist")


class CloudFormation:
    """The served CloudFormation API.

    Parameters: `store`, `clock`, `api` (the in-process client the resource providers call the other services
    through), `region` and `account` (defaults of requests).
    """

    name = "cloudformation"

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        api: ApiClient,
        region: str,
        account: str,
        roles: IamRoles | None = None,
        permissions: StackPermissions | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.region = region
        self.account = account
        self.permissions = permissions
        self.runner = StackRunner(
            store,
            clock,
            providers(api, roles=roles, permissions=permissions),
            checked=permissions is not None,
        )
        self._tasks: set[asyncio.Task[Any]] = set()
        self._busy: set[str] = set()  # keys of stacks with an operation running on this node

    # ── lifecycle ──
    async def start(self) -> None:
        """Stacks an earlier run left in progress are marked failed: their operation ended with that run."""
        async for found in self.store.all_resources(model.KIND_STACK):
            stack = Stack.from_store(found.body)
            failed = _IN_PROGRESS_FAILED.get(stack.status)
            if failed is not None:
                await self.runner.stack_status(stack, failed, "Pipework restarted while the operation ran")

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _background(self, key: str, work: Awaitable[Any]) -> None:
        self._busy.add(key)

        async def run() -> None:
            try:
                await work
            except Exception:
                log.exception("stack operation on %s failed", key)
            finally:
                self._busy.discard(key)

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    def unknown_operation(operation: str) -> ServiceError:
        return ServiceError(
            "InvalidAction", f"The action {operation} is not valid for this web service.", 400
        )

    async def handle(self, operation: str, params: JSON, ctx: RequestContext) -> JSON:
        return await dispatch(self, operation, params, ctx)

    # ── helpers ──
    async def _stack(self, ctx: RequestContext, name_or_id: str) -> Stack:
        name = _name_of(name_or_id)
        stack = await self.runner.load(ctx.account, ctx.region, name)
        if stack is None or (name_or_id.startswith("arn:") and stack.stack_id != name_or_id):
            raise _missing(name_or_id)
        return stack

    def _plan(
        self,
        ctx: RequestContext,
        text: str,
        params: JSON,
        previous: Mapping[str, str],
        name: str,
        stack_id: str,
        tags: Mapping[str, str],
    ) -> Plan:
        given: dict[str, Any] = {}
        for parameter in params.get("Parameters") or ():
            key = parameter["ParameterKey"]
            given[key] = (
                use_previous() if parameter.get("UsePreviousValue") else parameter.get("ParameterValue", "")
            )
        pseudo = {
            "AWS::Region": ctx.region,
            "AWS::AccountId": ctx.account,
            "AWS::StackName": name,
            "AWS::StackId": stack_id,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        try:
            plan = make_plan(
                text,
                given,
                previous,
                pseudo,
                frozenset(self.runner.providers),
                skip_unsupported=tags.get(model.SKIP_UNSUPPORTED_TAG) == "true",
            )
        except TemplateError as exc:
            raise validation(str(exc)) from None
        self._check_capabilities(text, params.get("Capabilities") or [])
        return plan

    @staticmethod
    def _check_capabilities(text: str, given: list[str]) -> None:
        needed = template_summary(text)["Capabilities"]
        missing = [
            c
            for c in needed
            if c not in given and not (c == "CAPABILITY_IAM" and "CAPABILITY_NAMED_IAM" in given)
        ]
        if missing:
            raise ServiceError(
                "InsufficientCapabilitiesException", f"Requires capabilities : [{', '.join(missing)}]"
            )

    @staticmethod
    def _template_text(params: JSON) -> str:
        if params.get("TemplateURL"):
            raise validation("TemplateURL is not supported by Pipework: pass the template as TemplateBody")
        text = params.get("TemplateBody")
        if not text:
            raise validation("Either Template URL or Template Body must be specified.")
        return str(text)

    def _new_stack(self, ctx: RequestContext, params: JSON, name: str, text: str, status: str) -> Stack:
        if not _STACK_NAME.fullmatch(name):
            raise validation(
                f"1 validation error detected: Value '{name}' at 'stackName' failed to satisfy constraint: Member "
                "must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*"
            )
        tags = tuple((t["Key"], t["Value"]) for t in params.get("Tags") or ())
        on_failure = params.get("OnFailure")
        return Stack(
            name=name,
            stack_id=model.stack_arn(ctx.account, ctx.region, name, random_uuid()),
            account=ctx.account,
            region=ctx.region,
            status=status,
            template=text,
            parameters={},
            created=self.clock.now(),
            tags=tags,
            capabilities=tuple(params.get("Capabilities") or ()),
            disable_rollback=bool(params.get("DisableRollback")) or on_failure in ("DO_NOTHING",),
        )

    async def _acting(self, ctx: RequestContext, stack: Stack, role_arn: str | None) -> Stack:
        """`stack` set to act, in the operation `ctx` asks for, as its caller or as the service role `role_arn`
        (given now, or earlier); with auth on, the caller must be allowed iam:PassRole on a role given now and
        CloudFormation must be able to assume it, as on AWS."""
        if role_arn and self.permissions is not None:
            why = await self.permissions.denied(
                Actor(ctx.access_key), "iam", "PassRole", {"RoleArn": role_arn}, region=ctx.region,
                account=ctx.account,
            )  # fmt: skip
            if why is not None:
                raise ServiceError("AccessDenied", why, 403)
            if not await self.permissions.assumable(role_arn, ctx.account):
                raise validation(f"Role {role_arn} is invalid or cannot be assumed")
        return stack.evolve(operator=ctx.access_key, role_arn=role_arn or stack.role_arn)

    # ── stacks ──
    async def op_CreateStack(self, params: JSON, ctx: RequestContext) -> JSON:
        name = params["StackName"]
        text = self._template_text(params)
        if await self.runner.load(ctx.account, ctx.region, name) is not None:
            raise ServiceError("AlreadyExistsException", f"Stack [{name}] already exists")
        stack = self._new_stack(ctx, params, name, text, "CREATE_IN_PROGRESS")
        plan = self._plan(ctx, text, params, {}, name, stack.stack_id, stack.tag_map)
        stack = await self._acting(ctx, stack, params.get("RoleARN"))
        stack = await self.runner.begin(
            stack.evolve(parameters=plan.parameters, description=plan.description), "CREATE_IN_PROGRESS"
        )
        self._background(stack.key, self.runner.create(stack, plan))
        return {"StackId": stack.stack_id}

    async def op_UpdateStack(self, params: JSON, ctx: RequestContext) -> JSON:
        stack = await self._stack(ctx, params["StackName"])
        self._check_updatable(stack)
        text = stack.template if params.get("UsePreviousTemplate") else self._template_text(params)
        plan = self._plan(ctx, text, params, stack.parameters, stack.name, stack.stack_id, stack.tag_map)
        if text == stack.template and plan.parameters == stack.parameters:
            raise validation("No updates are to be performed.")
        stack = await self._acting(ctx, stack, params.get("RoleARN"))
        work = await self._begin_update(stack, plan, text, params.get("Capabilities") or ())
        self._background(stack.key, work)
        return {"StackId": stack.stack_id}

    async def _begin_update(
        self, before: Stack, plan: Plan, text: str, capabilities: Any, change_set_id: str | None = None
    ) -> Awaitable[Stack]:
        """Mark the update started; the work that applies it, to run in the background."""
        stack = await self.runner.begin(
            before.evolve(
                template=text,
                parameters=plan.parameters,
                description=plan.description,
                updated=self.clock.now(),
                capabilities=tuple(capabilities),
                change_set_id=change_set_id or before.change_set_id,
            ),
            "UPDATE_IN_PROGRESS",
        )
        return self.runner.update(before, stack, plan)

    def _check_updatable(self, stack: Stack) -> None:
        if stack.status not in _UPDATABLE or stack.key in self._busy:
            raise validation(f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated.")

    async def op_DeleteStack(self, params: JSON, ctx: RequestContext) -> JSON:
        name = params["StackName"]
        stack = await self.runner.load(ctx.account, ctx.region, _name_of(name))
        if stack is None or stack.key in self._busy or stack.status == "DELETE_IN_PROGRESS":
            return {}  # deleting a stack that is gone (or going) succeeds, as on AWS
        if stack.status == "REVIEW_IN_PROGRESS":
            await self.store.delete_resource(model.KIND_STACK, stack.key)
            return {}
        stack = await self.runner.begin(
            await self._acting(ctx, stack, params.get("RoleARN")), "DELETE_IN_PROGRESS"
        )
        self._background(stack.key, self.runner.delete(stack))
        return {}

    async def _stack_or_deleted(self, ctx: RequestContext, name_or_id: str) -> Stack:
        """The stack `name_or_id` names, or, given a stack id, the deleted stack it names (as on AWS, a deleted
        stack is found by its id only)."""
        try:
            return await self._stack(ctx, name_or_id)
        except ServiceError:
            if not name_or_id.startswith("arn:"):
                raise
            deleted = await self.runner.deleted_stack(ctx.account, ctx.region, name_or_id)
            if deleted is None:
                raise
            return deleted

    async def op_DescribeStacks(self, params: JSON, ctx: RequestContext) -> JSON:
        name = params.get("StackName")
        if name:
            return {"Stacks": [(await self._stack_or_deleted(ctx, name)).to_api()]}
        return {"Stacks": [stack.to_api() async for stack in self.runner.stacks(ctx.account, ctx.region)]}

    async def op_ListStacks(self, params: JSON, ctx: RequestContext) -> JSON:
        wanted = set(params.get("StackStatusFilter") or ())
        summaries = [
            stack.summary()
            async for stack in self.runner.stacks(ctx.account, ctx.region)
            if not wanted or stack.status in wanted
        ]
        if not wanted or "DELETE_COMPLETE" in wanted:
            summaries += [
                stack.summary() async for stack in self.runner.deleted_stacks(ctx.account, ctx.region)
            ]
        return {"StackSummaries": summaries}

    async def op_DescribeStackEvents(self, params: JSON, ctx: RequestContext) -> JSON:
        stack = await self._stack_or_deleted(ctx, params["StackName"])
        records, after = [], 0
        while True:
            page = await self.store.read_log(model.events_log(stack.stack_id), after=after, limit=1000)
            if not page:
                break
            records.extend(page)
            after = page[-1].position
        events = []
        for record in reversed(records):
            entry = orjson.loads(record.payload)
            entry["Timestamp"] = model.when(entry["Timestamp"])
            events.append(entry)
        return {"StackEvents": events}

    async def op_DescribeStackResources(self, params: JSON, ctx: RequestContext) -> JSON:
        if not params.get("StackName"):
            raise validation(
                "StackName must be specified"
            )  # finding a stack by physical id alone: not served
        stack = await self._stack(ctx, params["StackName"])
        logical, physical = params.get("LogicalResourceId"), params.get("PhysicalResourceId")
        return {
            "StackResources": [
                resource.to_api(stack)
                for resource in stack.resources.values()
                if (logical is None or resource.logical_id == logical)
                and (physical is None or resource.physical_id == physical)
            ]
        }

    async def op_DescribeStackResource(self, params: JSON, ctx: RequestContext) -> JSON:
        stack = await self._stack(ctx, params["StackName"])
        resource = stack.resources.get(params["LogicalResourceId"])
        if resource is None:
            raise validation(f"Resource {params['LogicalResourceId']} does not exist for stack {stack.name}")
        detail = {**resource.to_api(stack), "LastUpdatedTimestamp": model.when(resource.updated)}
        detail.pop("Timestamp")
        return {"StackResourceDetail": detail}

    async def op_ListStackResources(self, params: JSON, ctx: RequestContext) -> JSON:
        stack = await self._stack(ctx, params["StackName"])
        return {"StackResourceSummaries": [resource.summary() for resource in stack.resources.values()]}

    async def op_GetTemplate(self, params: JSON, ctx: RequestContext) -> JSON:
        stack = await self._stack(ctx, params.get("StackName") or "")
        body = stack.template
        if params.get("TemplateStage") == "Processed":
            try:
                body = orjson.dumps(read(stack.template, stack.region, stack.account)).decode()
            except TemplateError as exc:
                raise validation(str(exc)) from None
        return {"TemplateBody": body, "StagesAvailable": ["Original", "Processed"]}

    async def op_ValidateTemplate(self, params: JSON, ctx: RequestContext) -> JSON:
        text = self._template_text(params)
        try:
            read(text, ctx.region, ctx.account)
            return template_summary(text)
        except TemplateError as exc:
            raise validation(str(exc)) from None

    async def op_GetTemplateSummary(self, params: JSON, ctx: RequestContext) -> JSON:
        if params.get("StackName"):
            text = (await self._stack(ctx, params["StackName"])).template
        elif params.get("StackSetName"):
            raise validation("StackSets are not served by Pipework")
        else:
            text = self._template_text(params)
        try:
            template = read(text, ctx.region, ctx.account)
            summary = template_summary(text)
        except TemplateError as exc:
            raise validation(str(exc)) from None
        declared = load_template(text).get("Parameters") or {}
        parameters = []
        for entry in summary["Parameters"]:
            declaration = declared[entry["ParameterKey"]]
            entry = {**entry, "ParameterType": str(declaration.get("Type", "String"))}
            if "AllowedValues" in declaration:
                entry["ParameterConstraints"] = {
                    "AllowedValues": [str(v) for v in declaration["AllowedValues"]]
                }
            parameters.append(entry)
        out: JSON = {
            **summary,
            "Parameters": parameters,
            "ResourceTypes": sorted({str(r["Type"]) for r in template["Resources"].values()}),
            "Version": str(template.get("AWSTemplateFormatVersion", "2010-09-09")),
        }
        if "Metadata" in template:
            out["Metadata"] = orjson.dumps(template["Metadata"]).decode()
        return out

    async def op_ListExports(self, params: JSON, ctx: RequestContext) -> JSON:
        exports = []
        async for stack in self.runner.stacks(ctx.account, ctx.region):
            for output in stack.outputs:
                if output.get("ExportName"):
                    exports.append(
                        {
                            "ExportingStackId": stack.stack_id,
                            "Name": output["ExportName"],
                            "Value": output["OutputValue"],
                        }
                    )
        return {"Exports": exports}

    # ── change sets ──
    async def op_CreateChangeSet(self, params: JSON, ctx: RequestContext) -> JSON:
        name, kind = params["StackName"], params.get("ChangeSetType") or "UPDATE"
        text = (
            (await self._stack(ctx, name)).template
            if params.get("UsePreviousTemplate")
            else self._template_text(params)
        )
        existing = await self.runner.load(ctx.account, ctx.region, _name_of(name))
        if kind == "CREATE":
            if existing is not None and existing.status != "REVIEW_IN_PROGRESS":
                raise ServiceError("AlreadyExistsException", f"Stack [{name}] already exists")
            stack = existing or self._new_stack(ctx, params, name, text, "REVIEW_IN_PROGRESS")
        elif kind == "UPDATE":
            if existing is None or existing.status == "REVIEW_IN_PROGRESS":
                raise _missing(name)
            stack = existing
            self._check_updatable(stack)
        else:
            raise validation(f"ChangeSetType {kind} is not supported by Pipework (CREATE or UPDATE)")
        previous = stack.parameters if kind == "UPDATE" else {}
        plan = self._plan(ctx, text, params, previous, stack.name, stack.stack_id, stack.tag_map)
        change_set_name = params["ChangeSetName"]
        earlier = await self._change_set(ctx, stack.name, change_set_name, missing_ok=True)
        # A change set that has run is deleted once its stack operation ends; until then its name is taken only
        # while that operation runs.
        if earlier is not None and not (
            earlier.execution_status.startswith("EXECUTE_") and stack.key not in self._busy
        ):
            raise ServiceError("AlreadyExistsException", f"ChangeSet [{change_set_name}] already exists")
        changes = self._changes(stack if kind == "UPDATE" else None, plan)
        empty = kind == "UPDATE" and not changes and plan.parameters == stack.parameters
        change_set = ChangeSet(
            name=change_set_name,
            change_set_id=model.change_set_arn(ctx.account, ctx.region, change_set_name, random_uuid()),
            stack_name=stack.name,
            stack_id=stack.stack_id,
            account=ctx.account,
            region=ctx.region,
            kind=kind,
            template=text,
            parameters=plan.parameters,
            created=self.clock.now(),
            status="FAILED" if empty else "CREATE_COMPLETE",
            execution_status="UNAVAILABLE" if empty else "AVAILABLE",
            changes=tuple(changes),
            reason=_NO_CHANGES if empty else "",
            description=str(params.get("Description") or ""),
            tags=tuple((t["Key"], t["Value"]) for t in params.get("Tags") or ()),
            capabilities=tuple(params.get("Capabilities") or ()),
            role_arn=params.get("RoleARN"),
        )
        if existing is None:
            await self.runner.save(stack)
        await self.store.put_resource(model.KIND_CHANGE_SET, change_set.key, change_set.to_store())
        return {"Id": change_set.change_set_id, "StackId": stack.stack_id}

    @staticmethod
    def _changes(stack: Stack | None, plan: Plan) -> list[JSON]:
        """What applying `plan` to `stack` changes, from the declarations (values are only known while applying)."""
        old_template = (
            read(stack.template, stack.region, stack.account)["Resources"] if stack is not None else {}
        )
        changes: list[JSON] = []
        for logical_id in plan.order:
            declared = plan.resources[logical_id]
            current = stack.resources.get(logical_id) if stack is not None else None
            if current is None:
                changes.append(_change("Add", logical_id, declared["Type"]))
            elif old_template.get(logical_id) != declared or current.type != declared["Type"]:
                replacement = "True" if current.type != declared["Type"] else "Conditional"
                changes.append(
                    _change("Modify", logical_id, declared["Type"], current.physical_id, replacement)
                )
        if stack is not None:
            for logical_id, resource in stack.resources.items():
                if logical_id not in plan.order:
                    changes.append(_change("Remove", logical_id, resource.type, resource.physical_id))
        return changes

    async def _change_set(
        self, ctx: RequestContext, stack_name: str | None, name_or_arn: str, *, missing_ok: bool = False
    ) -> ChangeSet | None:
        if name_or_arn.startswith("arn:"):
            async for each in self.store.all_resources(
                model.KIND_CHANGE_SET, prefix=f"{ctx.account}/{ctx.region}/"
            ):
                if each.body["ChangeSetId"] == name_or_arn:
                    return ChangeSet.from_store(each.body)
        elif stack_name:
            found = await self.store.get_resource(
                model.KIND_CHANGE_SET,
                model.change_set_key(ctx.account, ctx.region, _name_of(stack_name), name_or_arn),
            )
            if found is not None:
                return ChangeSet.from_store(found.body)
        if missing_ok:
            return None
        raise ServiceError("ChangeSetNotFoundException", f"ChangeSet [{name_or_arn}] does not exist", 404)

    async def op_DescribeChangeSet(self, params: JSON, ctx: RequestContext) -> JSON:
        change_set = await self._change_set(ctx, params.get("StackName"), params["ChangeSetName"])
        assert change_set is not None
        return change_set.to_api()

    async def op_ListChangeSets(self, params: JSON, ctx: RequestContext) -> JSON:
        stack = await self._stack(ctx, params["StackName"])
        summaries = []
        async for found in self.store.all_resources(
            model.KIND_CHANGE_SET, prefix=model.change_set_key(ctx.account, ctx.region, stack.name, "")
        ):
            change_set = ChangeSet.from_store(found.body)
            summaries.append(
                {
                    key: value
                    for key, value in change_set.to_api().items()
                    if key
                    in (
                        "ChangeSetName",
                        "ChangeSetId",
                        "StackId",
                        "StackName",
                        "CreationTime",
                        "ExecutionStatus",
                        "Status",
                        "StatusReason",
                        "Description",
                    )
                }
            )
        return {"Summaries": summaries}

    async def op_DeleteChangeSet(self, params: JSON, ctx: RequestContext) -> JSON:
        change_set = await self._change_set(ctx, params.get("StackName"), params["ChangeSetName"])
        assert change_set is not None
        await self.store.delete_resource(model.KIND_CHANGE_SET, change_set.key)
        return {}

    async def op_ExecuteChangeSet(self, params: JSON, ctx: RequestContext) -> JSON:
        change_set = await self._change_set(ctx, params.get("StackName"), params["ChangeSetName"])
        assert change_set is not None
        if change_set.execution_status != "AVAILABLE":
            raise ServiceError(
                "InvalidChangeSetStatus",
                f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current execution status of "
                f"[{change_set.execution_status}]",
            )
        stack = await self._stack(ctx, change_set.stack_name)
        given = {
            "Parameters": [
                {"ParameterKey": k, "ParameterValue": v} for k, v in change_set.parameters.items()
            ],
            "Capabilities": list(change_set.capabilities),
        }
        plan = self._plan(
            ctx, change_set.template, given, stack.parameters, stack.name, stack.stack_id, stack.tag_map
        )
        await self.store.put_resource(
            model.KIND_CHANGE_SET,
            change_set.key,
            change_set.evolve(execution_status="EXECUTE_IN_PROGRESS").to_store(),
        )
        stack = await self._acting(ctx, stack, change_set.role_arn)
        work: Awaitable[Stack]
        if change_set.kind == "CREATE":
            stack = await self.runner.begin(
                stack.evolve(
                    parameters=plan.parameters,
                    description=plan.description,
                    tags=stack.tags or change_set.tags,
                    change_set_id=change_set.change_set_id,
                    capabilities=change_set.capabilities,
                ),
                "CREATE_IN_PROGRESS",
            )
            work = self.runner.create(stack, plan)
        else:
            self._check_updatable(stack)
            work = await self._begin_update(
                stack, plan, change_set.template, change_set.capabilities, change_set.change_set_id
            )
        self._background(stack.key, self._executed(change_set, work))
        return {}

    async def _executed(self, change_set: ChangeSet, work: Awaitable[Stack]) -> None:
        """Run the change set's work; then, as CloudFormation does once a change set has run, delete every change
        set of the stack (their names are free again)."""
        try:
            await work
        finally:
            prefix = model.change_set_key(change_set.account, change_set.region, change_set.stack_name, "")
            async for found in self.store.all_resources(model.KIND_CHANGE_SET, prefix=prefix):
                await self.store.delete_resource(model.KIND_CHANGE_SET, found.name)

    operations: ClassVar[Mapping[str, Handler]] = {
        "CreateStack": op_CreateStack,
        "UpdateStack": op_UpdateStack,
        "DeleteStack": op_DeleteStack,
        "DescribeStacks": op_DescribeStacks,
        "ListStacks": op_ListStacks,
        "DescribeStackEvents": op_DescribeStackEvents,
        "DescribeStackResources": op_DescribeStackResources,
        "DescribeStackResource": op_DescribeStackResource,
        "ListStackResources": op_ListStackResources,
        "GetTemplate": op_GetTemplate,
        "ValidateTemplate": op_ValidateTemplate,
        "GetTemplateSummary": op_GetTemplateSummary,
        "ListExports": op_ListExports,
        "CreateChangeSet": op_CreateChangeSet,
        "DescribeChangeSet": op_DescribeChangeSet,
        "ListChangeSets": op_ListChangeSets,
        "DeleteChangeSet": op_DeleteChangeSet,
        "ExecuteChangeSet": op_ExecuteChangeSet,
    }


def _name_of(name_or_id: str) -> str:
    """A stack's name from its name or its stack id (``arn:…:stack/NAME/UUID``)."""
    if name_or_id.startswith("arn:"):
        parts = name_or_id.split(":", 5)[-1].split("/")
        return parts[1] if len(parts) > 1 else name_or_id
    return name_or_id


def _change(action: str, logical_id: str, kind: str, physical_id: str = "", replacement: str = "") -> JSON:
    change: JSON = {"Action": action, "LogicalResourceId": logical_id, "ResourceType": kind}
    if physical_id:
        change["PhysicalResourceId"] = physical_id
    if replacement:
        change["Replacement"] = replacement
    return {"Type": "Resource", "ResourceChange": change}
