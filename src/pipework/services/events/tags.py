"""Tags of buses and rules (TagResource, UntagResource, ListTagsForResource)."""

from __future__ import annotations

from pipework.jsontypes import JSON

from . import model
from .errors import not_found
from .state import EventsRegion, EventsState


class TagOperations(EventsState):
    """Mixed into `EventsService`."""

    @staticmethod
    def _tagged(here: EventsRegion, arn: str) -> tuple[str, JSON]:
        """The resource an ARN names in the request's region, as (kind, body)."""
        for bus in here.buses.values():
            if bus["Arn"] == arn:
                return model.KIND_BUS, bus
        for rule in here.rules.values():
            if rule["Arn"] == arn:
                return model.KIND_RULE, rule
        raise not_found(f"Resource {arn} does not exist.")

    async def _save_tagged(self, here: EventsRegion, kind: str, body: JSON) -> None:
        if kind == model.KIND_BUS:
            await self.save_bus(here, body)
        else:
            await self.save_rule(here, body)

    async def op_TagResource(self, params: JSON, here: EventsRegion) -> JSON:
        kind, body = self._tagged(here, params["ResourceARN"])
        body = dict(body)
        body["Tags"] = {**body.get("Tags", {}), **{t["Key"]: t["Value"] for t in params["Tags"]}}
        await self._save_tagged(here, kind, body)
        return {}

    async def op_UntagResource(self, params: JSON, here: EventsRegion) -> JSON:
        kind, body = self._tagged(here, params["ResourceARN"])
        body = dict(body)
        body["Tags"] = {k: v for k, v in body.get("Tags", {}).items() if k not in set(params["TagKeys"])}
        await self._save_tagged(here, kind, body)
        return {}

    async def op_ListTagsForResource(self, params: JSON, here: EventsRegion) -> JSON:
        _kind, body = self._tagged(here, params["ResourceARN"])
        return {"Tags": [{"Key": k, "Value": v} for k, v in sorted(body.get("Tags", {}).items())]}
