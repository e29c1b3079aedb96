"""Tags of buses and rules (TagResource, UntagResource, ListTagsForResource)."""

from __future__ import annotations

from dataclasses import replace

from pipework.jsontypes import JSON

from .errors import not_found
from .model import EventBus, Rule
from .state import EventsRegion, EventsState


class TagOperations(EventsState):
    """Mixed into `EventsService`."""

    @staticmethod
    def _tagged(here: EventsRegion, arn: str) -> EventBus | Rule:
        """The bus or rule an ARN names in the request's region."""
        for bus in here.buses.values():
            if bus.arn == arn:
                return bus
        for rule in here.rules.values():
            if rule.arn == arn:
                return rule
        raise not_found(f"Resource {arn} does not exist.")

    async def _retag(self, here: EventsRegion, resource: EventBus | Rule, tags: dict[str, str]) -> None:
        if isinstance(resource, EventBus):
            await self.save_bus(here, replace(resource, tags=tags))
        else:
            await self.save_rule(here, replace(resource, tags=tags))

    async def op_TagResource(self, params: JSON, here: EventsRegion) -> JSON:
        resource = self._tagged(here, params["ResourceARN"])
        await self._retag(here, resource, {**resource.tags, **{t["Key"]: t["Value"] for t in params["Tags"]}})
        return {}

    async def op_UntagResource(self, params: JSON, here: EventsRegion) -> JSON:
        resource = self._tagged(here, params["ResourceARN"])
        removed = set(params["TagKeys"])
        await self._retag(here, resource, {k: v for k, v in resource.tags.items() if k not in removed})
        return {}

    async def op_ListTagsForResource(self, params: JSON, here: EventsRegion) -> JSON:
        tags = self._tagged(here, params["ResourceARN"]).tags
        return {"Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]}
