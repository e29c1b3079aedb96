"""SQS queues and queue policies."""

from __future__ import annotations

from pipework.jsontypes import JSON

from .base import (
    Made,
    NeedsReplacement,
    Provider,
    Where,
    json_text,
    tags_map,
)

_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
    "RedrivePolicy",
    "RedriveAllowPolicy",
)


def _queue_attributes(props: JSON, *, creating: bool) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in _QUEUE_ATTRIBUTES:
        value = props.get(name)
        if value is None or (name == "FifoQueue" and not creating):
            continue
        if isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, (dict, list)):
            out[name] = json_text(value)
        else:
            out[name] = str(value)
    return out


class Queue(Provider):
    type = "AWS::SQS::Queue"
    replaced_by = frozenset({"QueueName", "FifoQueue"})

    async def create(self, logical_id: str, props: JSON, where: Where) -> Made:
        fifo = str(props.get("FifoQueue", "")).lower() == "true"
        name = props.get("QueueName") or where.generated_name(
            logical_id, limit=80, suffix=".fifo" if fifo else ""
        )
        params: JSON = {"QueueName": name, "Attributes": _queue_attributes(props, creating=True)}
        if props.get("Tags"):
            params["tags"] = tags_map(props["Tags"])
        url = (await self.call("sqs", "CreateQueue", params, where))["QueueUrl"]
        arn = f"arn:aws:sqs:{where.region}:{where.account}:{name}"
        return Made(url, {"Arn": arn, "QueueName": name, "QueueUrl": url})

    async def update(self, logical_id: str, made: Made, old: JSON, new: JSON, where: Where) -> Made:
        if self.must_replace(old, new):
            raise NeedsReplacement
        attributes = _queue_attributes(new, creating=False)
        # A property removed from the template goes back to its default.
        defaults = {
            "DelaySeconds": "0",
            "MaximumMessageSize": "262144",
            "MessageRetentionPeriod": "345600",
            "ReceiveMessageWaitTimeSeconds": "0",
            "VisibilityTimeout": "30",
            "RedrivePolicy": "",
        }
        for name, default in defaults.items():
            if name in old and name not in new:
                attributes[name] = default
        if attributes:
            await self.call(
                "sqs", "SetQueueAttributes", {"QueueUrl": made.physical_id, "Attributes": attributes}, where
            )
        return made

    async def delete(self, made: Made, props: JSON, where: Where) -> None:
        await self.quietly("sqs", "DeleteQueue", {"QueueUrl": made.physical_id}, where)


class QueuePolicy(Provider):
    type = "AWS::SQS::QueuePolicy"

    async def create(self, logical_id: str, props: JSON, where: Where) -> Made:
        for url in props.get("Queues") or ():
            await self.call(
                "sqs",
                "SetQueueAttributes",
                {"QueueUrl": url, "Attributes": {"Policy": json_text(props.get("PolicyDocument", {}))}},
                where,
            )
        return Made(where.generated_name(logical_id), {})

    async def update(self, logical_id: str, made: Made, old: JSON, new: JSON, where: Where) -> Made:
        gone = set(old.get("Queues") or ()) - set(new.get("Queues") or ())
        await self.delete(made, {"Queues": sorted(gone)}, where)
        await self.create(logical_id, new, where)
        return made

    async def delete(self, made: Made, props: JSON, where: Where) -> None:
        for url in props.get("Queues") or ():
            await self.quietly(
                "sqs", "SetQueueAttributes", {"QueueUrl": url, "Attributes": {"Policy": ""}}, where
            )
