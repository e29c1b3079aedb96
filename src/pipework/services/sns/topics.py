"""Topic operations: CreateTopic (standard and FIFO, idempotent), DeleteTopic, ListTopics, Get/SetTopicAttributes,
tags (TagResource, UntagResource, ListTagsForResource) and the access policy (AddPermission, RemovePermission)."""

from __future__ import annotations

import dataclasses

import orjson

from pipework.jsontypes import JSON
from pipework.services.base import RequestContext

from . import model
from .errors import invalid_parameter, resource_not_found, tag_limit
from .model import Topic
from .state import SnsState, page

MAX_TAGS = 50
MAX_MESSAGE_SIZE = 262144


def check_topic_attribute(name: str, value: str, *, fifo: bool, creating: bool) -> None:
    """SNS's checks of one topic attribute (InvalidParameter with AWS's wording)."""
    allowed = model.TOPIC_SETTABLE | (model.TOPIC_CREATE_ONLY if creating else frozenset())
    if name not in allowed:
        raise invalid_parameter("AttributeName")
    if name in ("FifoTopic", "ContentBasedDeduplication") and value not in ("true", "false"):
        raise invalid_parameter(f"Attributes Reason: {name} must be true or false")
    if name == "ContentBasedDeduplication" and value == "true" and not fifo:
        raise invalid_parameter(
            "Attributes Reason: Content based deduplication can only be set for FIFO topics"
        )
    if name == "FifoThroughputScope" and (value not in ("Topic", "MessageGroup") or not fifo):
        raise invalid_parameter("Attributes Reason: FifoThroughputScope")
    if name == "SignatureVersion" and value not in ("1", "2"):
        raise invalid_parameter("Attributes Reason: SignatureVersion")
    if name in ("Policy", "DeliveryPolicy", "ArchivePolicy", "DataProtectionPolicy") and value:
        try:
            document = orjson.loads(value)
        except orjson.JSONDecodeError:
            raise invalid_parameter(f"Attributes Reason: {name}: failed to parse JSON") from None
        if not isinstance(document, dict):
            raise invalid_parameter(f"Attributes Reason: {name}: must be a JSON object")
    if name == "DisplayName" and len(value) > 100:
        raise invalid_parameter("DisplayName")


class TopicOperations(SnsState):
    """The operations on topics."""

    async def op_CreateTopic(self, params: JSON, ctx: RequestContext) -> JSON:
        name: str = params["Name"]
        attributes: dict[str, str] = dict(params.get("Attributes") or {})
        tags = {t["Key"]: t["Value"] for t in params.get("Tags") or []}
        fifo = attributes.get("FifoTopic") == "true"
        if not model.TOPIC_NAME.fullmatch(name.removesuffix(".fifo") if fifo else name):
            raise invalid_parameter("Topic Name")
        if fifo != name.endswith(".fifo"):
            raise invalid_parameter("Topic Name")
        for key, value in attributes.items():
            check_topic_attribute(key, value, fifo=fifo, creating=True)
        if attributes.get("FifoTopic") == "false":
            attributes.pop("FifoTopic")
        if params.get("DataProtectionPolicy"):
            attributes["DataProtectionPolicy"] = params["DataProtectionPolicy"]
        if len(tags) > MAX_TAGS:
            raise tag_limit()
        key = model.topic_key(ctx.account, ctx.region, name)
        async with self.lock:
            existing = self.topics.get(key)
            if existing is not None:
                # Idempotent: the same name with the same attributes and tags is the same topic.
                if any(existing.attributes.get(k) != v for k, v in attributes.items()):
                    raise invalid_parameter(
                        "Attributes Reason: Topic already exists with different attributes"
                    )
                if tags and any(existing.tags.get(k) != v for k, v in tags.items()):
                    raise invalid_parameter("Tags Reason: Topic already exists with different tags")
                return {"TopicArn": existing.arn}
            topic = Topic(
                arn=model.topic_arn(ctx.account, ctx.region, name),
                name=name,
                account=ctx.account,
                region=ctx.region,
                attributes=attributes,
                tags=tags,
            )
            await self.store.put_resource(model.KIND_TOPIC, key, topic.to_store())
            self.topics[key] = topic
            self.subscriptions.setdefault(key, {})
        return {"TopicArn": topic.arn}

    async def op_DeleteTopic(self, params: JSON, ctx: RequestContext) -> JSON:
        parts = model.parse_topic_arn(params["TopicArn"])
        if parts is None:
            raise invalid_parameter("TopicArn")
        key = model.topic_key(*parts)
        async with self.lock:
            if key not in self.topics:
                return {}  # deleting a topic that does not exist is no error
            subscriptions = list(self.subscriptions.get(key, {}).values())
            batch = self.store.batch()
            for subscription in subscriptions:
                batch.delete_resource(model.KIND_SUBSCRIPTION, subscription.key)
            batch.delete_resource(model.KIND_TOPIC, key)
            await self.store.commit(batch)
            for subscription in subscriptions:
                self.forget(subscription)
            del self.topics[key]
            self.subscriptions.pop(key, None)
        return {}

    async def op_ListTopics(self, params: JSON, ctx: RequestContext) -> JSON:
        prefix = model.topic_key(ctx.account, ctx.region, "")
        keys = sorted(k for k in self.topics if k.startswith(prefix))
        chosen, token = page("ListTopics", keys, params)
        out: JSON = {"Topics": [{"TopicArn": self.topics[k].arn} for k in chosen]}
        if token:
            out["NextToken"] = token
        return out

    async def op_GetTopicAttributes(self, params: JSON, ctx: RequestContext) -> JSON:
        topic = self.topic(params["TopicArn"])
        subscriptions = list(self.subscriptions.get(topic.key, {}).values())
        attributes = {
            "TopicArn": topic.arn,
            "Owner": topic.account,
            "Policy": orjson.dumps(topic.policy()).decode(),
            "DisplayName": topic.attributes.get("DisplayName", ""),
            "SubscriptionsConfirmed": str(sum(s.confirmed for s in subscriptions)),
            "SubscriptionsPending": str(sum(not s.confirmed for s in subscriptions)),
            "SubscriptionsDeleted": "0",
            "EffectiveDeliveryPolicy": model.effective_delivery_policy_text(topic),
            **{k: v for k, v in topic.attributes.items() if k not in ("Policy", "DisplayName")},
        }
        if topic.fifo:
            attributes.setdefault("ContentBasedDeduplication", "false")
            attributes.setdefault("FifoThroughputScope", "Topic")
        return {"Attributes": attributes}

    async def op_SetTopicAttributes(self, params: JSON, ctx: RequestContext) -> JSON:
        name, value = params["AttributeName"], params.get("AttributeValue", "")
        async with self.lock:
            topic = self.topic(params["TopicArn"])
            check_topic_attribute(name, value, fifo=topic.fifo, creating=False)
            await self._put_topic(topic.with_attribute(name, value))
        return {}

    async def _put_topic(self, topic: Topic) -> None:
        """Store a changed topic (call with the lock held)."""
        await self.store.put_resource(model.KIND_TOPIC, topic.key, topic.to_store())
        self.topics[topic.key] = topic

    # -- tags ------------------------------------------------------------------------------------------------------
    def _tagged(self, arn: str) -> Topic:
        parts = model.parse_topic_arn(arn)
        topic = self.topics.get(model.topic_key(*parts)) if parts is not None else None
        if topic is None:
            raise resource_not_found()
        return topic

    async def op_TagResource(self, params: JSON, ctx: RequestContext) -> JSON:
        async with self.lock:
            topic = self._tagged(params["ResourceArn"])
            tags = {**topic.tags, **{t["Key"]: t["Value"] for t in params["Tags"]}}
            if len(tags) > MAX_TAGS:
                raise tag_limit()
            await self._put_topic(dataclasses.replace(topic, tags=tags))
        return {}

    async def op_UntagResource(self, params: JSON, ctx: RequestContext) -> JSON:
        async with self.lock:
            topic = self._tagged(params["ResourceArn"])
            doomed = set(params["TagKeys"])
            await self._put_topic(
                dataclasses.replace(topic, tags={k: v for k, v in topic.tags.items() if k not in doomed})
            )
        return {}

    async def op_ListTagsForResource(self, params: JSON, ctx: RequestContext) -> JSON:
        topic = self._tagged(params["ResourceArn"])
        return {"Tags": [{"Key": k, "Value": v} for k, v in sorted(topic.tags.items())]}

    # -- permissions (kept in the topic's Policy attribute) --------------------------------------------------------
    async def op_AddPermission(self, params: JSON, ctx: RequestContext) -> JSON:
        label = params["Label"]
        async with self.lock:
            topic = self.topic(params["TopicArn"])
            policy = topic.policy()
            statements = policy.setdefault("Statement", [])
            if any(s.get("Sid") == label for s in statements):
                raise invalid_parameter("Statement already exists")
            accounts = params["AWSAccountId"]
            actions = [f"SNS:{a}" for a in params["ActionName"]]
            if not accounts:
                raise invalid_parameter("AWSAccountId")
            if not actions:
                raise invalid_parameter("ActionName")
            statements.append(
                {
                    "Sid": label,
                    "Effect": "Allow",
                    "Principal": {
                        "AWS": [f"arn:aws:iam::{a}:root" for a in accounts]
                        if len(accounts) > 1
                        else f"arn:aws:iam::{accounts[0]}:root"
                    },
                    "Action": actions if len(actions) > 1 else actions[0],
                    "Resource": topic.arn,
                }
            )
            await self._put_topic(topic.with_attribute("Policy", orjson.dumps(policy).decode()))
        return {}

    async def op_RemovePermission(self, params: JSON, ctx: RequestContext) -> JSON:
        async with self.lock:
            topic = self.topic(params["TopicArn"])
            policy = topic.policy()
            statements = policy.get("Statement", [])
            kept = [s for s in statements if s.get("Sid") != params["Label"]]
            if len(kept) == len(statements):
                return {}
            policy["Statement"] = kept
            await self._put_topic(topic.with_attribute("Policy", orjson.dumps(policy).decode()))
        return {}
