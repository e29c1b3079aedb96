"""The Scheduler API (restJson1): its operations table over schedules (`schedules.py`) and schedule groups with
their tags (`groups.py`); `firing.py` is the ticker's side, `state.py` what they share.

Groups and schedules belong to the account and region of the request (`model.group_key`, `model.key`); each
region has its own ``default`` group, created when the region is first used.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from pipework.jsontypes import JSON
from pipework.services.base import Handler, RequestContext, ServiceError, dispatch

from .firing import Firing
from .groups import GroupOperations
from .schedules import ScheduleOperations


class SchedulerService(ScheduleOperations, GroupOperations, Firing):
    """The Scheduler's operations and firing over a store (parameters: see `SchedulerState`)."""

    operations: ClassVar[Mapping[str, Handler]] = {
        "CreateSchedule": ScheduleOperations.op_CreateSchedule,
        "UpdateSchedule": ScheduleOperations.op_UpdateSchedule,
        "GetSchedule": ScheduleOperations.op_GetSchedule,
        "DeleteSchedule": ScheduleOperations.op_DeleteSchedule,
        "ListSchedules": ScheduleOperations.op_ListSchedules,
        "CreateScheduleGroup": GroupOperations.op_CreateScheduleGroup,
        "GetScheduleGroup": GroupOperations.op_GetScheduleGroup,
        "ListScheduleGroups": GroupOperations.op_ListScheduleGroups,
        "DeleteScheduleGroup": GroupOperations.op_DeleteScheduleGroup,
        "TagResource": GroupOperations.op_TagResource,
        "UntagResource": GroupOperations.op_UntagResource,
        "ListTagsForResource": GroupOperations.op_ListTagsForResource,
    }

    @staticmethod
    def unknown_operation(operation: str) -> ServiceError:
        return ServiceError("UnknownOperationException", f"Operation {operation} is not supported.", 400)

    async def handle(self, operation: str, params: JSON, ctx: RequestContext) -> JSON:
        if operation in self.operations:  # an unknown operation creates nothing
            await self.default_group(ctx.account, ctx.region)
        return await dispatch(self, operation, params, ctx)
