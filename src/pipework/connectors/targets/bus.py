"""The ``bus`` target: events put on an event bus of this server.

``arn:aws:events:<region>:<account>:event-bus/<name>``, the bus of that account in that region. A message
carrying a complete `Message.event` is routed as it is (a rule forwarding an event keeps its id and its region);
the others become PutEvents entries, ten per call, through the in-process API client, as requests of the
message's sender (`Message.account` and `region`: the pipe or schedule putting them, so the events carry its
region), else of the bus's account and region. A bus that does not exist is an error here (PutEvents itself
drops such entries silently).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from pipework.connectors.ports import ApiClient, EventBuses
from pipework.jsontypes import JSON

from .base import INPUT_NOT_JSON, NOT_THIS_KIND, Message, Problem, Sent, TargetError, arn_parts, is_json

if TYPE_CHECKING:
    from typing import Self

    from pipework.connectors.bundle import Connectors

PUT_EVENTS_MAX = 10  # entries per PutEvents call


def bus_name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


class BusTarget:
    """Puts messages on a bus: ``source``, ``detail_type`` and ``resources`` of each message, its body as Detail.
    An entry PutEvents refused is a failed message (`Sent.failed`), with PutEvents' ErrorCode."""

    kind: ClassVar[str] = "bus"

    def __init__(self, api: ApiClient, buses: EventBuses) -> None:
        self.api = api
        self.buses = buses

    @classmethod
    def build(cls, connectors: Connectors) -> Self:
        return cls(connectors.api, connectors.buses)

    @staticmethod
    def matches(arn: str) -> bool:
        parts = arn_parts(arn)
        return parts is not None and parts[2] == "events" and parts[5].startswith("event-bus/")

    @staticmethod
    def check(arn: str, sample: Message) -> Problem | None:
        if not BusTarget.matches(arn):
            return Problem(NOT_THIS_KIND, arn)
        if isinstance(sample.body, str) and not is_json(sample.body):
            return Problem(INPUT_NOT_JSON, arn)
        return None

    async def send(self, arn: str, messages: Sequence[Message]) -> Sent:
        bus = bus_name(arn)
        if not self.buses.has_bus(arn):
            raise TargetError(
                "ResourceNotFoundException",
                f"Event bus {bus} does not exist.",
                retryable=False,
                reason="NO_RESOURCE",
            )
        sent = Sent()
        _, _, _, bus_region, bus_account, _ = arn.split(":", 5)
        # PutEvents calls by sender: each acts in its sender's account and region (the events say so), or the
        # bus's when the message names none; the bus is the ARN's either way. One call per trace header too.
        senders: dict[tuple[str, str, str | None], list[tuple[int, JSON]]] = {}
        for index, message in enumerate(messages):
            if message.event is not None:
                # The event itself, same id; input settings do not apply (AWS).
                if not await self.buses.forward(arn, message.event, trace=message.trace):
                    raise TargetError(
                        "ResourceNotFoundException",
                        f"Event bus {bus} does not exist.",
                        retryable=False,
                        reason="NO_RESOURCE",
                    )
                continue
            entry: JSON = {
                "EventBusName": arn,
                "Detail": message.text(),
                "Resources": list(message.resources),
            }
            if message.source is not None:
                entry["Source"] = message.source
            if message.detail_type is not None:
                entry["DetailType"] = message.detail_type
            if message.time is not None:
                entry["Time"] = message.time.timestamp()  # as the wire carries it: epoch seconds
            # The message's trace header is the PutEvents' X-Amzn-Trace-Id: the events continue its trace.
            sender = (message.account or bus_account, message.region or bus_region, message.trace)
            senders.setdefault(sender, []).append((index, entry))
        responses: dict[int, JSON] = {}
        for (account, region, trace), entries in senders.items():
            for start in range(0, len(entries), PUT_EVENTS_MAX):
                chunk = entries[start : start + PUT_EVENTS_MAX]
                result = await self.api.call(
                    "events",
                    "PutEvents",
                    {"Entries": [entry for _, entry in chunk]},
                    region=region,
                    account=account,
                    trace=trace,
                )
                for (index, _), outcome in zip(chunk, result["Entries"], strict=True):
                    responses[index] = outcome
                    if "ErrorCode" in outcome:
                        sent.failed[index] = TargetError(
                            outcome["ErrorCode"], outcome.get("ErrorMessage", "")
                        )
        sent.responses = [responses.get(index) for index in range(len(messages))]
        return sent
