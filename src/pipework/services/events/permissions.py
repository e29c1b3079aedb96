"""An event bus's resource policy: PutPermission (a statement per account or organization, or a whole policy),
RemovePermission, and the policy DescribeEventBus shows. Authorization (`pipework.api.auth`) reads it to let
other accounts PutEvents on the bus and rules of other accounts target it."""

from __future__ import annotations

import re
from dataclasses import replace

import orjson

from pipework.iam import PolicyError, parse_policy
from pipework.jsontypes import JSON

from .errors import not_found, policy_length_exceeded, validation
from .model import EventBus
from .state import EventsRegion, EventsState

ACCOUNT = re.compile(r"^\d{12}$")
MAX_POLICY_LENGTH = 10240


def _policy(bus: EventBus) -> JSON:
    text = bus.policy
    if isinstance(text, str) and text:
        try:
            policy = orjson.loads(text)
        except orjson.JSONDecodeError:
            policy = None
        if isinstance(policy, dict) and isinstance(policy.get("Statement"), list):
            return policy
    return {"Version": "2012-10-17", "Statement": []}


class PermissionOperations(EventsState):
    """PutPermission and RemovePermission on a bus (``EventBusName``, default ``default``)."""

    async def op_PutPermission(self, params: JSON, here: EventsRegion) -> JSON:
        bus = here.bus(params.get("EventBusName"))
        if "Policy" in params:
            text = params["Policy"]
            try:
                parse_policy(text, resource_policy=True)
            except PolicyError as error:
                raise validation(f"Policy is not a valid resource policy: {error}") from None
        else:
            for member in ("Action", "Principal", "StatementId"):
                if not params.get(member):
                    raise validation(f"Parameter {member} is required when Policy is not given.")
            if params["Action"] != "events:PutEvents":
                raise validation("Provided value in parameter 'action' is not supported.")
            principal = params["Principal"]
            if principal != "*" and not ACCOUNT.match(principal):
                raise validation("Principal must be an AWS account id (12 digits) or '*'.")
            condition = params.get("Condition")
            if condition is not None and principal != "*":
                raise validation("Condition can only be used with Principal '*'.")
            statement: JSON = {
                "Sid": params["StatementId"],
                "Effect": "Allow",
                "Principal": "*" if principal == "*" else {"AWS": f"arn:aws:iam::{principal}:root"},
                "Action": "events:PutEvents",
                "Resource": bus.arn,
            }
            if condition is not None:
                statement["Condition"] = {condition["Type"]: {condition["Key"]: condition["Value"]}}
            policy = _policy(bus)
            kept = [s for s in policy["Statement"] if s.get("Sid") != params["StatementId"]]
            policy["Statement"] = [*kept, statement]
            text = orjson.dumps(policy).decode()
        if len(text) > MAX_POLICY_LENGTH:
            raise policy_length_exceeded()
        await self.save_bus(here, replace(bus, policy=text, modified=self.clock.now()))
        return {}

    async def op_RemovePermission(self, params: JSON, here: EventsRegion) -> JSON:
        bus = here.bus(params.get("EventBusName"))
        policy_text: str | None = None
        if not params.get("RemoveAllPermissions"):
            sid = params.get("StatementId")
            if not sid:
                raise validation("Parameter StatementId is required unless RemoveAllPermissions is true.")
            policy = _policy(bus)
            kept = [s for s in policy["Statement"] if s.get("Sid") != sid]
            if len(kept) == len(policy["Statement"]):
                raise not_found("Statement with the provided id does not exist.")
            if kept:
                policy_text = orjson.dumps({**policy, "Statement": kept}).decode()
        await self.save_bus(here, replace(bus, policy=policy_text, modified=self.clock.now()))
        return {}

    async def bus_policy(self, arn: str) -> str | None:
        """The policy of the bus `arn` names, or None (no policy, no such bus)."""
        parts = arn.split(":", 5)
        if len(parts) != 6 or not parts[5].startswith("event-bus/"):
            return None
        here = self.regions.get((parts[4], parts[3]))
        bus = here.buses.get(parts[5][len("event-bus/") :]) if here is not None else None
        return bus.policy if bus is not None else None
