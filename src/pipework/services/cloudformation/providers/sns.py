"""SNS: topics (with inline subscriptions), subscriptions, topic policies."""

from __future__ import annotations

from typing import Any

from pipework.jsontypes import JSON

from .base import (
    Made,
    NeedsReplacement,
    Provider,
    Where,
    json_text,
    pick,
    tags_list,
)


def _attribute_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json_text(value) if isinstance(value, (dict, list)) else str(value)


class Topic(Provider):
    type = "AWS::SNS::Topic"
    replaced_by = frozenset({"TopicName", "FifoTopic"})
    _attributes = (
        "DisplayName",
        "FifoTopic",
        "ContentBasedDeduplication",
        "KmsMasterKeyId",
        "SignatureVersion",
        "TracingConfig",
        "ArchivePolicy",
    )

    async def create(self, logical_id: str, props: JSON, where: Where) -> Made:
        fifo = str(props.get("FifoTopic", "")).lower() == "true"
        name = props.get("TopicName") or where.generated_name(
            logical_id, limit=256, suffix=".fifo" if fifo else ""
        )
        params: JSON = {
            "Name": name,
            "Attributes": {
                k: _attribute_text(props[k]) for k in self._attributes if props.get(k) is not None
            },
        }
        if props.get("Tags"):
            params["Tags"] = tags_list(props["Tags"])
        arn = (await self.call("sns", "CreateTopic", params, where))["TopicArn"]
        for subscription in props.get("Subscription") or ():
            await self.call(
                "sns",
                "Subscribe",
                {"TopicArn": arn, "Protocol": subscription["Protocol"], "Endpoint": subscription["Endpoint"]},
                where,
            )
        return Made(arn, {"TopicArn": arn, "TopicName": name})

    async def update(self, logical_id: str, made: Made, old: JSON, new: JSON, where: Where) -> Made:
        if self.must_replace(old, new) or old.get("Subscription") != new.get("Subscription"):
            raise NeedsReplacement
        for key in self._attributes:
            if key != "FifoTopic" and old.get(key) != new.get(key) and new.get(key) is not None:
                await self.call(
                    "sns",
                    "SetTopicAttributes",
                    {
                        "TopicArn": made.physical_id,
                        "AttributeName": key,
                        "AttributeValue": _attribute_text(new[key]),
                    },
                    where,
                )
        return made

    async def delete(self, made: Made, props: JSON, where: Where) -> None:
        await self.quietly("sns", "DeleteTopic", {"TopicArn": made.physical_id}, where)


class Subscription(Provider):
    type = "AWS::SNS::Subscription"
    replaced_by = frozenset({"TopicArn", "Protocol", "Endpoint"})
    _attributes = (
        "FilterPolicy",
        "FilterPolicyScope",
        "RawMessageDelivery",
        "RedrivePolicy",
        "DeliveryPolicy",
        "SubscriptionRoleArn",
    )

    async def create(self, logical_id: str, props: JSON, where: Where) -> Made:
        params: JSON = {
            **pick(props, "TopicArn", "Protocol", "Endpoint"),
            "Attributes": {
                k: _attribute_text(props[k]) for k in self._attributes if props.get(k) is not None
            },
            "ReturnSubscriptionArn": True,
        }
        arn = (await self.call("sns", "Subscribe", params, where))["SubscriptionArn"]
        return Made(arn, {"Arn": arn})

    async def update(self, logical_id: str, made: Made, old: JSON, new: JSON, where: Where) -> Made:
        if self.must_replace(old, new):
            raise NeedsReplacement
        for key in self._attributes:
            if old.get(key) != new.get(key):
                value = _attribute_text(new[key]) if new.get(key) is not None else ""
                await self.call(
                    "sns",
                    "SetSubscriptionAttributes",
                    {"SubscriptionArn": made.physical_id, "AttributeName": key, "AttributeValue": value},
                    where,
                )
        return made

    async def delete(self, made: Made, props: JSON, where: Where) -> None:
        await self.quietly("sns", "Unsubscribe", {"SubscriptionArn": made.physical_id}, where)


class TopicPolicy(Provider):
    type = "AWS::SNS::TopicPolicy"

    async def create(self, logical_id: str, props: JSON, where: Where) -> Made:
        for arn in props.get("Topics") or ():
            await self.call(
                "sns",
                "SetTopicAttributes",
                {
                    "TopicArn": arn,
                    "AttributeName": "Policy",
                    "AttributeValue": json_text(props["PolicyDocument"]),
                },
                where,
            )
        return Made(where.generated_name(logical_id), {})

    async def update(self, logical_id: str, made: Made, old: JSON, new: JSON, where: Where) -> Made:
        await self.create(logical_id, new, where)
        return made

    async def delete(self, made: Made, props: JSON, where: Where) -> None:
        return None  # the topic keeps its default policy once the stack no longer manages it
