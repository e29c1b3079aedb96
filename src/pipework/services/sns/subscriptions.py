"""Subscription operations: Subscribe (sqs, http/https, lambda; HTTP/S endpoints confirm through the
SubscriptionConfirmation handshake), ConfirmSubscription, Unsubscribe, ListSubscriptions(ByTopic) and
Get/SetSubscriptionAttributes (RawMessageDelivery, FilterPolicy and its scope, RedrivePolicy, DeliveryPolicy)."""

from __future__ import annotations

import dataclasses
import secrets
import uuid

import orjson

from pipework.engine.envelope import envelope_attributes
from pipework.engine.retry import RetryPolicy
from pipework.jsontypes import JSON
from pipework.services.base import RequestContext
from pipework.store.base import Batch

from . import messages, model
from .errors import authorization_error, invalid_parameter
from .filter_policy import SCOPES, InvalidFilterPolicy, compile_policy
from .model import Subscription, Topic
from .state import SnsState, page


def _is_arn_of(service: str, arn: str, resource: str | None = None) -> bool:
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn" or parts[2] != service or not parts[5]:
        return False
    return resource is None or parts[5] == resource


def check_endpoint(topic: Topic, protocol: str, endpoint: str) -> None:
    """SNS's checks of a protocol and endpoint (InvalidParameter)."""
    if protocol in model.UNDELIVERABLE:
        raise invalid_parameter(
            f"Protocol Reason: Pipework does not deliver to {protocol} endpoints "
            f"(it delivers to {', '.join(model.PROTOCOLS)})"
        )
    if protocol not in model.PROTOCOLS:
        raise invalid_parameter("Amazon SNS does not support this protocol")
    if protocol == "sqs":
        parts = endpoint.split(":")
        if not _is_arn_of("sqs", endpoint) or len(parts) != 6:
            raise invalid_parameter("SQS endpoint ARN")
        if endpoint.endswith(".fifo") and not topic.fifo:
            raise invalid_parameter(
                "Invalid parameter: Endpoint Reason: FIFO SQS Queues can not be subscribed to standard SNS topics"
            )
    elif protocol == "lambda":
        if not _is_arn_of("lambda", endpoint, "function"):
            raise invalid_parameter("Lambda endpoint ARN")
    elif not endpoint.lower().startswith(f"{protocol}://"):
        raise invalid_parameter("Endpoint Reason: Endpoint must match the specified protocol")
    if topic.fifo and protocol != "sqs":
        raise invalid_parameter(f"Invalid protocol type: {protocol}")


def check_subscription_attribute(topic: Topic, protocol: str, name: str, value: str) -> None:
    if name not in model.SUBSCRIPTION_SETTABLE:
        raise invalid_parameter("AttributeName")
    if name == "RawMessageDelivery":
        if value.lower() not in ("true", "false"):
            raise invalid_parameter(
                "Attributes Reason: RawMessageDelivery: Invalid value [" + value + "]. Must be true or false."
            )
        if protocol not in ("sqs", "http", "https", "firehose"):
            raise invalid_parameter(
                f"Attributes Reason: Delivery protocol [{protocol}] does not support raw message delivery."
            )
    elif name == "FilterPolicyScope":
        if value not in SCOPES:
            raise invalid_parameter(
                "Attributes Reason: FilterPolicyScope: Invalid value [" + value + "]. Please use either "
                "MessageBody or MessageAttributes"
            )
    elif name == "RedrivePolicy" and value:
        try:
            policy = orjson.loads(value)
        except orjson.JSONDecodeError:
            raise invalid_parameter("RedrivePolicy: failed to parse JSON.") from None
        target = policy.get("deadLetterTargetArn") if isinstance(policy, dict) else None
        if not isinstance(target, str) or not _is_arn_of("sqs", target):
            raise invalid_parameter("RedrivePolicy: deadLetterTargetArn is an invalid arn")
        if topic.fifo != target.endswith(".fifo"):
            raise invalid_parameter(
                "RedrivePolicy: must use a FIFO queue as DLQ for a FIFO topic subscription"
                if topic.fifo
                else "RedrivePolicy: must use a standard queue as DLQ for a standard topic subscription"
            )
    elif name == "DeliveryPolicy" and value:
        if protocol not in ("http", "https"):
            raise invalid_parameter(
                f"DeliveryPolicy: Delivery protocol [{protocol}] does not support delivery policies."
            )
        check_delivery_policy(value, "healthyRetryPolicy")


def check_delivery_policy(text: str, key: str) -> None:
    """A DeliveryPolicy's retry policy: whole numbers, minDelay <= maxDelay, at most 100 retries (HTTP/S)."""
    try:
        policy = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise invalid_parameter("DeliveryPolicy: failed to parse JSON.") from None
    retry = policy.get(key) if isinstance(policy, dict) else None
    if retry is None:
        return
    if not isinstance(retry, dict):
        raise invalid_parameter(f"DeliveryPolicy: {key} must be an object")
    for field in (
        "minDelayTarget",
        "maxDelayTarget",
        "numRetries",
        "numNoDelayRetries",
        "numMinDelayRetries",
        "numMaxDelayRetries",
    ):
        if field in retry and (type(retry[field]) is not int or retry[field] < 0):
            raise invalid_parameter(f"DeliveryPolicy: {field} must be a non-negative integer")
    if retry.get("numRetries", 3) > 100:
        raise invalid_parameter("DeliveryPolicy: numRetries must be at most 100")
    if retry.get("minDelayTarget", 20) > retry.get("maxDelayTarget", 20):
        raise invalid_parameter("DeliveryPolicy: minDelayTarget must be less than or equal to maxDelayTarget")
    if retry.get("maxDelayTarget", 20) > 3600:
        raise invalid_parameter("DeliveryPolicy: maxDelayTarget must be at most 3600")
    backoff = retry.get("backoffFunction", "linear")
    if backoff not in ("linear", "arithmetic", "geometric", "exponential"):
        raise invalid_parameter(
            "DeliveryPolicy: backoffFunction must be linear, arithmetic, geometric or exponential"
        )


def check_filter_policy(attributes: dict[str, str]) -> None:
    text = attributes.get("FilterPolicy")
    if text:
        try:
            compile_policy(text, attributes.get("FilterPolicyScope", "MessageAttributes"))
        except InvalidFilterPolicy as exc:
            raise invalid_parameter(f"FilterPolicy: {exc}") from None


class SubscriptionOperations(SnsState):
    """The operations on subscriptions."""

    async def op_Subscribe(self, params: JSON, ctx: RequestContext) -> JSON:
        protocol = params["Protocol"].lower()
        endpoint = params.get("Endpoint", "")
        attributes: dict[str, str] = dict(params.get("Attributes") or {})
        if "RawMessageDelivery" in attributes:
            attributes["RawMessageDelivery"] = attributes["RawMessageDelivery"].lower()
        async with self.lock:
            topic = self.topic(params["TopicArn"])
            check_endpoint(topic, protocol, endpoint)
            for name, value in attributes.items():
                check_subscription_attribute(topic, protocol, name, value)
            check_filter_policy(attributes)
            for existing in self.subscriptions.get(topic.key, {}).values():
                if existing.protocol == protocol and existing.endpoint == endpoint:
                    if any(existing.attributes.get(k) != v for k, v in attributes.items()):
                        raise invalid_parameter(
                            "Attributes Reason: Subscription already exists with different attributes"
                        )
                    show = existing.confirmed or params.get("ReturnSubscriptionArn")
                    return {"SubscriptionArn": existing.arn if show else "pending confirmation"}
            sub_id = str(uuid.uuid4())
            pending = protocol in ("http", "https")
            subscription = Subscription(
                arn=f"{topic.arn}:{sub_id}",
                topic_arn=topic.arn,
                topic_key=topic.key,
                sub_id=sub_id,
                protocol=protocol,
                endpoint=endpoint,
                owner=ctx.account,
                attributes=attributes,
                confirmed=not pending,
                token=secrets.token_hex(64) if pending else None,
            )
            batch = self.store.batch()
            batch.put_resource(model.KIND_SUBSCRIPTION, subscription.key, subscription.to_store())
            if pending:
                self._enqueue_confirmation(batch, topic, subscription, self.base_url(ctx))
            await self.store.commit(batch)
            self.remember(subscription)
        if pending and not params.get("ReturnSubscriptionArn"):
            return {"SubscriptionArn": "pending confirmation"}
        return {"SubscriptionArn": subscription.arn}

    def _enqueue_confirmation(
        self, batch: Batch, topic: Topic, subscription: Subscription, base: str
    ) -> None:
        now = self.clock.now()
        message_id = str(uuid.uuid4())
        document = messages.confirmation(
            self.signer, topic, subscription, message_id=message_id, now=now, base=base
        )
        body = messages.delivery(topic, subscription, document, base=base, raw_message="", attributes={})
        policy = body["policy"]
        envelope = envelope_attributes(
            target=subscription.arn,
            first_seen=now,
            policy=RetryPolicy(int(policy["numRetries"]), float("inf")),
        )
        batch.enqueue(model.DELIVERIES, message_id, orjson.dumps(body), attributes=envelope)

    async def op_ConfirmSubscription(self, params: JSON, ctx: RequestContext) -> JSON:
        token = params["Token"]
        async with self.lock:
            topic = self.topic(params["TopicArn"])
            for subscription in self.subscriptions.get(topic.key, {}).values():
                if subscription.token == token:
                    break
            else:
                raise invalid_parameter("Token")
            if not subscription.confirmed:
                confirmed = dataclasses.replace(
                    subscription,
                    confirmed=True,
                    authenticated=params.get("AuthenticateOnUnsubscribe") == "true",
                )
                await self.store.put_resource(model.KIND_SUBSCRIPTION, confirmed.key, confirmed.to_store())
                self.remember(confirmed)
        return {"SubscriptionArn": subscription.arn}

    async def op_Unsubscribe(self, params: JSON, ctx: RequestContext) -> JSON:
        async with self.lock:
            subscription = self.subscription(params["SubscriptionArn"])
            if subscription.authenticated and ctx.headers and ctx.access_key is None:
                # Confirmed with AuthenticateOnUnsubscribe: the UnsubscribeURL alone (unsigned) may not remove it.
                raise authorization_error(
                    f"User: anonymous is not authorized to perform: SNS:Unsubscribe on resource: "
                    f"{subscription.arn}"
                )
            await self.store.delete_resource(model.KIND_SUBSCRIPTION, subscription.key)
            self.forget(subscription)
        return {}

    def _listed(self, subscriptions: list[Subscription]) -> list[JSON]:
        return [
            {
                "SubscriptionArn": s.listed_arn(),
                "Owner": s.owner,
                "Protocol": s.protocol,
                "Endpoint": s.endpoint,
                "TopicArn": s.topic_arn,
            }
            for s in subscriptions
        ]

    async def op_ListSubscriptions(self, params: JSON, ctx: RequestContext) -> JSON:
        prefix = model.topic_key(ctx.account, ctx.region, "")
        found = sorted(
            (s for key, subs in self.subscriptions.items() if key.startswith(prefix) for s in subs.values()),
            key=lambda s: s.key,
        )
        keys, token = page("ListSubscriptions", [s.key for s in found], params)
        chosen = {s.key: s for s in found}
        out: JSON = {"Subscriptions": self._listed([chosen[k] for k in keys])}
        if token:
            out["NextToken"] = token
        return out

    async def op_ListSubscriptionsByTopic(self, params: JSON, ctx: RequestContext) -> JSON:
        topic = self.topic(params["TopicArn"])
        found = sorted(self.subscriptions.get(topic.key, {}).values(), key=lambda s: s.key)
        keys, token = page("ListSubscriptionsByTopic", [s.key for s in found], params)
        chosen = {s.key: s for s in found}
        out: JSON = {"Subscriptions": self._listed([chosen[k] for k in keys])}
        if token:
            out["NextToken"] = token
        return out

    async def op_GetSubscriptionAttributes(self, params: JSON, ctx: RequestContext) -> JSON:
        subscription = self.subscription(params["SubscriptionArn"])
        topic = self.topic_of(subscription)
        attributes = {
            "SubscriptionArn": subscription.arn,
            "TopicArn": subscription.topic_arn,
            "Owner": subscription.owner,
            "Protocol": subscription.protocol,
            "Endpoint": subscription.endpoint,
            "PendingConfirmation": "false" if subscription.confirmed else "true",
            "ConfirmationWasAuthenticated": "true"
            if subscription.authenticated or subscription.protocol not in ("http", "https")
            else "false",
            "RawMessageDelivery": "false",
            "EffectiveDeliveryPolicy": model.effective_delivery_policy_text(topic, subscription),
            **subscription.attributes,
        }
        if "FilterPolicy" in subscription.attributes:
            attributes.setdefault("FilterPolicyScope", "MessageAttributes")
        return {"Attributes": attributes}

    async def op_SetSubscriptionAttributes(self, params: JSON, ctx: RequestContext) -> JSON:
        name, value = params["AttributeName"], params.get("AttributeValue", "")
        async with self.lock:
            subscription = self.subscription(params["SubscriptionArn"])
            topic = self.topic_of(subscription)
            check_subscription_attribute(topic, subscription.protocol, name, value)
            changed = subscription.with_attribute(
                name, value.lower() if name == "RawMessageDelivery" else value
            )
            check_filter_policy(changed.attributes)
            await self.store.put_resource(model.KIND_SUBSCRIPTION, changed.key, changed.to_store())
            self.remember(changed)
        return {}
