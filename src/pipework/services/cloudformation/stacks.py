"""Applying plans to stacks: creating, updating and deleting their resources in dependency order, with the stack
events CloudFormation shows, rollback on failure, and the outputs and exports. Each stack's progress is saved after
every resource, so a restart finds it where it stopped (an operation cut short is marked failed on start).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson

from pipework.cfn import Evaluator, ResolvedRefs, TemplateError
from pipework.clock import Clock
from pipework.ids import random_uuid
from pipework.jsontypes import JSON
from pipework.store.base import Store

from . import model
from .model import Stack, StackResource
from .plans import Plan
from .providers import Actor, Made, NeedsReplacement, Provider, ProvisionError, Where

log = logging.getLogger(__name__)

STACK_TYPE = "AWS::CloudFormation::Stack"


class StackRunner:
    """Runs stack operations on the store.

    Parameters: `store`, `clock`, `providers` (one per supported resource type, see `providers.providers`).
    """

    def __init__(
        self, store: Store, clock: Clock, providers: Mapping[str, Provider], *, checked: bool = False
    ) -> None:
        self.store = store
        self.clock = clock
        self.providers = providers
        self.checked = checked

    # ── persistence ──
    async def save(self, stack: Stack) -> Stack:
        await self.store.put_resource(model.KIND_STACK, stack.key, stack.to_store())
        return stack

    async def load(self, account: str, region: str, name: str) -> Stack | None:
        found = await self.store.get_resource(model.KIND_STACK, model.stack_key(account, region, name))
        return Stack.from_store(found.body) if found else None

    async def stacks(self, account: str, region: str) -> AsyncIterator[Stack]:
        async for found in self.store.all_resources(model.KIND_STACK, prefix=f"{account}/{region}/"):
            yield Stack.from_store(found.body)

    async def deleted_stacks(self, account: str, region: str) -> AsyncIterator[Stack]:
        """The stacks of the account and region deleted in the last `model.DELETED_KEPT` seconds (older ones are
        forgotten as they are met)."""
        async for found in self.store.all_resources(model.KIND_DELETED_STACK, prefix=f"{account}/{region}/"):
            stack = Stack.from_store(found.body)
            if (stack.deleted or 0.0) < self.clock.now() - model.DELETED_KEPT:
                await self.store.delete_resource(model.KIND_DELETED_STACK, found.name)
                continue
            yield stack

    async def deleted_stack(self, account: str, region: str, stack_id: str) -> Stack | None:
        found = await self.store.get_resource(
            model.KIND_DELETED_STACK, model.deleted_stack_key(account, region, stack_id)
        )
        if found is None:
            return None
        stack = Stack.from_store(found.body)
        return stack if (stack.deleted or 0.0) >= self.clock.now() - model.DELETED_KEPT else None

    async def exports(self, account: str, region: str, *, besides: str | None = None) -> dict[str, str]:
        """Every export of the account and region (name → value), leaving out stack `besides`'s own."""
        found: dict[str, str] = {}
        async for stack in self.stacks(account, region):
            if stack.name == besides:
                continue
            for output in stack.outputs:
                if output.get("ExportName"):
                    found[output["ExportName"]] = output["OutputValue"]
        return found

    async def event(
        self,
        stack: Stack,
        logical_id: str,
        physical_id: str,
        resource_type: str,
        status: str,
        reason: str = "",
        properties: JSON | None = None,
    ) -> None:
        entry: JSON = {
            "StackId": stack.stack_id,
            "EventId": random_uuid(),
            "StackName": stack.name,
            "LogicalResourceId": logical_id,
            "PhysicalResourceId": physical_id,
            "ResourceType": resource_type,
            "Timestamp": self.clock.now(),
            "ResourceStatus": status,
        }
        if reason:
            entry["ResourceStatusReason"] = reason
        if properties is not None:
            entry["ResourceProperties"] = orjson.dumps(properties).decode()
        await self.store.append(model.events_log(stack.stack_id), orjson.dumps(entry), time=self.clock.now())

    async def stack_status(self, stack: Stack, status: str, reason: str = "") -> Stack:
        stack = await self.save(stack.evolve(status=status, reason=reason))
        await self.event(stack, stack.name, stack.stack_id, STACK_TYPE, status, reason)
        return stack

    # ── evaluation ──
    def evaluator(
        self, stack: Stack, plan: Plan, exports: Mapping[str, str], current: dict[str, Stack]
    ) -> Evaluator:
        """An evaluator over `plan` whose resource lookups read `current["stack"]` (updated as work proceeds)."""

        def resource(name: str) -> StackResource:
            found = current["stack"].resources.get(name)
            if found is None or not found.physical_id:
                raise TemplateError(f"Template error: resource {name} is not created")
            return found

        def ref(name: str) -> Any:
            return resource(name).physical_id

        def get_att(name: str, attribute: str) -> Any:
            found = resource(name)
            if attribute not in found.attributes:
                raise TemplateError(
                    f"Template error: resource {name} does not support attribute type {attribute} in Fn::GetAtt"
                )
            return found.attributes[attribute]

        pseudo = {
            "AWS::Region": stack.region,
            "AWS::AccountId": stack.account,
            "AWS::StackName": stack.name,
            "AWS::StackId": stack.stack_id,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        return Evaluator(plan.template, plan.values, pseudo, ResolvedRefs(ref, get_att, exports))

    def where(self, stack: Stack) -> Where:
        """Where `stack` provisions, and as whom: its service role, else the caller of its operation (checked only
        when the runner has `checked` set: auth is on)."""
        actor = Actor(stack.operator, stack.role_arn) if self.checked else None
        return Where(stack.account, stack.region, stack.name, actor)

    def provider(self, resource_type: str) -> Provider:
        found = self.providers.get(resource_type)
        if found is None:
            raise ProvisionError(
                f"Pipework does not support resource type {resource_type}; remove it from the template, or deploy "
                "with --skip-unsupported (the stack tag pipework:skip-unsupported=true) to leave it out"
            )
        return found

    # ── create ──
    async def begin(self, stack: Stack, status: str) -> Stack:
        """Mark `stack` as starting an operation (``CREATE_IN_PROGRESS`` …) before the call that asked for it
        answers, as CloudFormation does: a client polling right after sees the operation."""
        return await self.stack_status(stack, status, "User Initiated")

    async def create(self, stack: Stack, plan: Plan) -> Stack:
        """Create every resource of `plan` in order (the stack already `begin`-marked CREATE_IN_PROGRESS); roll
        back (unless disabled) when one fails."""
        current = {"stack": stack}
        try:
            exports = await self.exports(stack.account, stack.region, besides=stack.name)
            evaluator = self.evaluator(stack, plan, exports, current)
            for logical_id in plan.order:
                current["stack"] = await self._create_one(current["stack"], plan, evaluator, logical_id)
            stack = current["stack"]
            outputs = self._outputs(plan, evaluator)
            await self._check_exports(stack, outputs)
            stack = stack.evolve(outputs=outputs)
        except (ProvisionError, TemplateError) as exc:
            # The failed resource was saved by `_create_one`; read the stack back with it.
            stack = await self.load(stack.account, stack.region, stack.name) or current["stack"]
            failed = [r.logical_id for r in stack.resources.values() if r.status == "CREATE_FAILED"]
            reason = (
                f"The following resource(s) failed to create: [{', '.join(failed)}]. " if failed else str(exc)
            )
            if stack.disable_rollback:
                return await self.stack_status(stack, "CREATE_FAILED", reason.strip())
            stack = await self.stack_status(
                stack, "ROLLBACK_IN_PROGRESS", f"{reason.strip()} Rollback requested by user."
            )
            try:
                stack = await self._delete_all(stack)
            except ProvisionError as failure:  # e.g. the caller may create a resource but not delete it
                stack = await self.load(stack.account, stack.region, stack.name) or stack
                return await self.stack_status(stack, "ROLLBACK_FAILED", str(failure))
            return await self.stack_status(stack, "ROLLBACK_COMPLETE")
        return await self.stack_status(stack, "CREATE_COMPLETE")

    async def _create_one(self, stack: Stack, plan: Plan, evaluator: Evaluator, logical_id: str) -> Stack:
        declared = plan.resources[logical_id]
        kind = declared["Type"]
        await self.event(stack, logical_id, "", kind, "CREATE_IN_PROGRESS")
        try:
            props = evaluator.resolve(declared.get("Properties") or {}) or {}
            made = await self.provider(kind).create(logical_id, props, self.where(stack))
        except (ProvisionError, TemplateError) as exc:
            failed = StackResource(logical_id, kind, "", "CREATE_FAILED", str(exc), updated=self.clock.now())
            await self.save(stack.with_resource(failed))
            await self.event(stack, logical_id, "", kind, "CREATE_FAILED", str(exc))
            raise ProvisionError(str(exc)) from None
        resource = StackResource(
            logical_id,
            kind,
            made.physical_id,
            "CREATE_COMPLETE",
            "",
            props,
            made.attributes,
            self.clock.now(),
        )
        stack = await self.save(stack.with_resource(resource))
        await self.event(stack, logical_id, made.physical_id, kind, "CREATE_COMPLETE", made.note)
        return stack

    def _outputs(self, plan: Plan, evaluator: Evaluator) -> tuple[JSON, ...]:
        declared: Mapping[str, JSON] = plan.template.get("Outputs") or {}
        outputs = []
        for key, output in declared.items():
            if not evaluator.included(key, declared):
                continue
            entry: JSON = {
                "OutputKey": key,
                "OutputValue": Evaluator._text(evaluator.resolve(output["Value"])),
            }
            if "Description" in output:
                entry["Description"] = str(output["Description"])
            export = (output.get("Export") or {}).get("Name")
            if export is not None:
                entry["ExportName"] = Evaluator._text(evaluator.resolve(export))
            outputs.append(entry)
        return tuple(outputs)

    async def _check_exports(self, stack: Stack, outputs: tuple[JSON, ...]) -> None:
        taken = await self.exports(stack.account, stack.region, besides=stack.name)
        for output in outputs:
            name = output.get("ExportName")
            if name and name in taken:
                raise ProvisionError(f"Export with name {name} is already exported by another stack")

    # ── delete ──
    async def delete(self, stack: Stack) -> None:
        """Delete every resource (reverse creation order; DeletionPolicy Retain kept), then the stack (already
        `begin`-marked DELETE_IN_PROGRESS)."""
        try:
            stack = await self._delete_all(stack, policies=self._deletion_policies(stack))
        except ProvisionError as exc:
            await self.stack_status(stack, "DELETE_FAILED", str(exc))
            return
        await self.event(stack, stack.name, stack.stack_id, STACK_TYPE, "DELETE_COMPLETE")
        # Kept, as CloudFormation keeps deleted stacks: ListStacks shows it, DescribeStacks finds it by stack id.
        gone = stack.evolve(status="DELETE_COMPLETE", reason="", resources={}, deleted=self.clock.now())
        await self.store.put_resource(
            model.KIND_DELETED_STACK,
            model.deleted_stack_key(stack.account, stack.region, stack.stack_id),
            gone.to_store(),
        )
        await self.store.delete_resource(model.KIND_STACK, stack.key)

    @staticmethod
    def _deletion_policies(stack: Stack) -> dict[str, str]:
        try:
            from .plans import read

            resources = read(stack.template, stack.region, stack.account)["Resources"]
        except TemplateError:
            return {}
        return {
            name: str(r.get("DeletionPolicy", "Delete"))
            for name, r in resources.items()
            if isinstance(r, dict)
        }

    async def _delete_all(self, stack: Stack, policies: Mapping[str, str] | None = None) -> Stack:
        for logical_id in reversed(list(stack.resources)):
            stack = await self._delete_one(
                stack, stack.resources[logical_id], (policies or {}).get(logical_id)
            )
        return stack

    async def _delete_one(self, stack: Stack, resource: StackResource, policy: str | None = None) -> Stack:
        if resource.status == "CREATE_FAILED" or not resource.physical_id:
            return await self.save(stack.without_resource(resource.logical_id))
        if policy == "Retain":
            await self.event(
                stack, resource.logical_id, resource.physical_id, resource.type, "DELETE_SKIPPED"
            )
            return await self.save(stack.without_resource(resource.logical_id))
        await self.event(
            stack, resource.logical_id, resource.physical_id, resource.type, "DELETE_IN_PROGRESS"
        )
        try:
            provider = self.providers.get(resource.type)
            if provider is not None:
                await provider.delete(
                    Made(resource.physical_id, resource.attributes), resource.properties, self.where(stack)
                )
        except ProvisionError as exc:
            await self.event(
                stack, resource.logical_id, resource.physical_id, resource.type, "DELETE_FAILED", str(exc)
            )
            raise
        await self.event(stack, resource.logical_id, resource.physical_id, resource.type, "DELETE_COMPLETE")
        return await self.save(stack.without_resource(resource.logical_id))

    # ── update ──
    async def update(self, before: Stack, stack: Stack, plan: Plan) -> Stack:
        """Apply `plan` to `stack` (`before` as it was; already `begin`-marked UPDATE_IN_PROGRESS with the new
        template and parameters): create what is new, update what changed (replacing where the type needs it),
        delete what is gone; roll back to `before` when something fails."""
        current = {"stack": stack}
        created: list[str] = []
        updated: dict[str, StackResource] = {}  # logical id → the resource as it was
        replaced: dict[str, StackResource] = {}  # logical id → the old resource, deleted in cleanup
        try:
            exports = await self.exports(stack.account, stack.region, besides=stack.name)
            evaluator = self.evaluator(stack, plan, exports, current)
            for logical_id in plan.order:
                declared = plan.resources[logical_id]
                old = current["stack"].resources.get(logical_id)
                if old is None or old.status == "CREATE_FAILED":
                    current["stack"] = await self._create_one(current["stack"], plan, evaluator, logical_id)
                    created.append(logical_id)
                    continue
                props = evaluator.resolve(declared.get("Properties") or {}) or {}
                if declared["Type"] == old.type and props == old.properties:
                    continue
                current["stack"], replacement = await self._update_one(
                    current["stack"], old, declared["Type"], props
                )
                if replacement:
                    replaced[logical_id] = old
                else:
                    updated[logical_id] = old
            stack = current["stack"]
            outputs = self._outputs(plan, evaluator)
            await self._check_exports(stack, outputs)
            stack = await self.save(stack.evolve(outputs=outputs))
        except (ProvisionError, TemplateError) as exc:
            return await self._roll_back_update(
                current["stack"], before, created, updated, replaced, str(exc)
            )
        stack = await self.stack_status(stack, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
        policies = self._deletion_policies(stack)
        for logical_id in reversed(list(before.resources)):
            if logical_id in replaced:
                await self._delete_replaced(stack, replaced[logical_id])
            elif logical_id not in plan.order and logical_id in stack.resources:
                try:
                    stack = await self._delete_one(
                        stack, stack.resources[logical_id], policies.get(logical_id)
                    )
                except ProvisionError:
                    log.warning("stack %s: could not delete %s during cleanup", stack.name, logical_id)
        return await self.stack_status(stack, "UPDATE_COMPLETE")

    async def _update_one(
        self, stack: Stack, old: StackResource, kind: str, props: JSON
    ) -> tuple[Stack, bool]:
        """Update one resource in place, or replace it; returns the stack and whether it was replaced."""
        where = self.where(stack)
        await self.event(stack, old.logical_id, old.physical_id, kind, "UPDATE_IN_PROGRESS")
        try:
            provider = self.provider(kind)
            if kind != old.type:
                raise NeedsReplacement
            made = await provider.update(
                old.logical_id, Made(old.physical_id, old.attributes), old.properties, props, where
            )
            replacement = False
        except NeedsReplacement:
            await self.event(
                stack,
                old.logical_id,
                old.physical_id,
                kind,
                "UPDATE_IN_PROGRESS",
                "Requested update requires the creation of a new physical resource; hence creating one.",
            )
            try:
                made = await self.provider(kind).create(old.logical_id, props, where)
            except ProvisionError as exc:
                await self.event(stack, old.logical_id, old.physical_id, kind, "UPDATE_FAILED", str(exc))
                raise
            replacement = True
        except ProvisionError as exc:
            await self.event(stack, old.logical_id, old.physical_id, kind, "UPDATE_FAILED", str(exc))
            raise
        resource = StackResource(
            old.logical_id,
            kind,
            made.physical_id,
            "UPDATE_COMPLETE",
            "",
            props,
            made.attributes,
            self.clock.now(),
        )
        stack = await self.save(stack.with_resource(resource))
        await self.event(stack, old.logical_id, made.physical_id, kind, "UPDATE_COMPLETE", made.note)
        return stack, replacement

    async def _delete_replaced(self, stack: Stack, old: StackResource) -> None:
        provider = self.providers.get(old.type)
        await self.event(stack, old.logical_id, old.physical_id, old.type, "DELETE_IN_PROGRESS")
        try:
            if provider is not None:
                await provider.delete(
                    Made(old.physical_id, old.attributes), old.properties, self.where(stack)
                )
        except ProvisionError as exc:
            await self.event(stack, old.logical_id, old.physical_id, old.type, "DELETE_FAILED", str(exc))
            return
        await self.event(stack, old.logical_id, old.physical_id, old.type, "DELETE_COMPLETE")

    async def _roll_back_update(
        self,
        stack: Stack,
        before: Stack,
        created: list[str],
        updated: dict[str, StackResource],
        replaced: dict[str, StackResource],
        reason: str,
    ) -> Stack:
        stack = await self.stack_status(stack, "UPDATE_ROLLBACK_IN_PROGRESS", reason)
        where = self.where(stack)
        for logical_id, old in {**updated, **replaced}.items():
            now = stack.resources.get(logical_id)
            provider = self.providers.get(old.type)
            if now is None or provider is None:
                continue
            try:
                if logical_id in replaced:
                    await provider.delete(Made(now.physical_id, now.attributes), now.properties, where)
                else:
                    await provider.update(
                        logical_id,
                        Made(now.physical_id, now.attributes),
                        now.properties,
                        old.properties,
                        where,
                    )
            except (ProvisionError, NeedsReplacement) as exc:
                await self.event(stack, logical_id, now.physical_id, old.type, "UPDATE_FAILED", str(exc))
                continue
            stack = await self.save(stack.with_resource(old))
            await self.event(stack, logical_id, old.physical_id, old.type, "UPDATE_COMPLETE")
        for logical_id in reversed(created):
            if logical_id in stack.resources:
                try:
                    stack = await self._delete_one(stack, stack.resources[logical_id])
                except ProvisionError:
                    log.warning("stack %s: could not delete %s during rollback", stack.name, logical_id)
        stack = await self.save(
            stack.evolve(
                template=before.template,
                parameters=before.parameters,
                outputs=before.outputs,
                description=before.description,
            )
        )
        stack = await self.stack_status(stack, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
        return await self.stack_status(stack, "UPDATE_ROLLBACK_COMPLETE")
