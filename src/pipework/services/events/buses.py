"""Event buses: create, describe, update, list and delete (a bus's rules go with it)."""

from __future__ import annotations

from pipework.jsontypes import JSON
from pipework.services import paging

from . import model
from .errors import already_exists, validation
from .state import EventsRegion, EventsState


class BusOperations(EventsState):
    """Mixed into `EventsService`."""

    async def op_CreateEventBus(self, params: JSON, here: EventsRegion) -> JSON:
        name = params["Name"]
        if name in here.buses:
            raise already_exists(f"Event bus {name} already exists.")
        if name == "default" or ("/" in name and not params.get("EventSourceName")):
            raise validation(
                "Event bus name must not contain '/'." if "/" in name else "Invalid event bus name."
            )
        bus = self.new_bus(here, name, params)
        await self.save_bus(here, bus)
        return {"EventBusArn": bus.arn, **bus.options()}

    async def op_DescribeEventBus(self, params: JSON, here: EventsRegion) -> JSON:
        return here.bus(params.get("Name")).to_api()

    async def op_UpdateEventBus(self, params: JSON, here: EventsRegion) -> JSON:
        bus = here.bus(params.get("Name")).updated(params, self.clock.now())
        await self.save_bus(here, bus)
        return {"Arn": bus.arn, "Name": bus.name, **bus.options()}

    async def op_ListEventBuses(self, params: JSON, here: EventsRegion) -> JSON:
        prefix = params.get("NamePrefix", "")
        names = sorted(n for n in here.buses if n.startswith(prefix))
        page, token = paging.page("ListEventBuses", names, params.get("NextToken"), params.get("Limit"))
        out: JSON = {"EventBuses": [here.buses[n].summary() for n in page]}
        if token:
            out["NextToken"] = token
        return out

    async def op_DeleteEventBus(self, params: JSON, here: EventsRegion) -> JSON:
        name = params["Name"]
        if name == "default":
            raise validation("Cannot delete event bus default.")
        if name not in here.buses:
            return {}  # AWS: deleting a bus that does not exist succeeds
        for bus, rule in list(here.rules):
            if bus == name:
                await self.delete_rule(here, bus, rule)
        await self.store.delete_resource(model.KIND_BUS, here.key(name))
        del here.buses[name]
        here.router.remove_bus(name)
        return {}
