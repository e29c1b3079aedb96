"""What SNS's operations share: topics and subscriptions in memory (a cache of their store resources, loaded at
start), the lock every change holds, the signer, and the lookups that answer AWS's not-found errors."""

from __future__ import annotations

import asyncio
from collections import Counter

import orjson

from pipework.clock import Clock
from pipework.jsontypes import JSON
from pipework.services import paging
from pipework.services.base import RequestContext, ServiceError
from pipework.store.base import Store

from . import model
from .errors import invalid_parameter, not_found
from .filter_policy import FilterPolicy, compile_policy
from .model import Subscription, Topic
from .signing import Signer


class SnsState:
    """SNS's definitions over a store.

    Parameters:
        store, clock: where topics, subscriptions and deliveries live, and time.
        region, account: the server's defaults (requests work in their own region and account).
    """

    def __init__(self, store: Store, clock: Clock, *, region: str, account: str) -> None:
        self.store = store
        self.clock = clock
        self.region = region
        self.account = account
        self.topics: dict[str, Topic] = {}  # by topic key
        self.subscriptions: dict[str, dict[str, Subscription]] = {}  # by topic key, then subscription key
        self.by_arn: dict[str, Subscription] = {}
        self.lock = asyncio.Lock()
        self.metrics: Counter[str] = Counter()
        self._signer: Signer | None = None
        self._default_policies: dict[str, str] = {}  # AWS's default access policy's text, by topic key
        self._policies: dict[tuple[str, str], FilterPolicy] = {}  # compiled filter policies by (text, scope)
        self._base = "http://localhost:4566"  # this server's URL, as the last request over HTTP reached it

    async def start(self) -> None:
        async for resource in self.store.all_resources(model.KIND_TOPIC):
            topic = Topic.from_store(resource.body)
            self.topics[topic.key] = topic
            self.subscriptions.setdefault(topic.key, {})
        async for resource in self.store.all_resources(model.KIND_SUBSCRIPTION):
            self.remember(Subscription.from_store(resource.body))
        self._signer = await Signer.load(self.store, self.clock.now())

    @property
    def signer(self) -> Signer:
        assert self._signer is not None, "the SNS service signs only once started"
        return self._signer

    # -- lookups -------------------------------------------------------------------------------------------------
    def topic(self, arn: str, *, parameter: str = "TopicArn") -> Topic:
        """The topic `arn` names; NotFound if there is none, InvalidParameter if it is not a topic ARN."""
        parts = model.parse_topic_arn(arn)
        if parts is None:
            raise invalid_parameter(f"{parameter}")
        topic = self.topics.get(model.topic_key(*parts))
        if topic is None:
            raise not_found("Topic does not exist")
        return topic

    def subscription(self, arn: str) -> Subscription:
        subscription = self.by_arn.get(arn)
        if subscription is None:
            if model.parse_subscription_arn(arn) is None:
                raise invalid_parameter("SubscriptionArn")
            raise not_found("Subscription does not exist")
        return subscription

    def access_policy(self, arn: str) -> str | None:
        """The resource policy authorization reads for `arn` (JSON text; None: no such topic or subscription).

        A topic's is its ``Policy`` attribute, or AWS's default policy when none was set (the owner's account may
        do everything: ``AWS:SourceOwner`` is the caller's account). A subscription has no policy of its own on
        AWS; its owner's and its topic owner's accounts may manage it, which this policy says.
        """
        parts = arn.split(":")
        if len(parts) == 6:
            key = model.topic_key(parts[4], parts[3], parts[5])
            topic = self.topics.get(key)
            if topic is None:
                return None
            text = topic.attributes.get("Policy")
            if not text:
                text = self._default_policies.get(key)
                if text is None:
                    text = orjson.dumps(model.default_policy(topic.arn, topic.account)).decode()
                    self._default_policies[key] = text
            return text
        subscription = self.by_arn.get(arn)
        if subscription is None:
            return None
        topic = self.topics.get(subscription.topic_key)
        owners = sorted({subscription.owner, topic.account if topic is not None else subscription.owner})
        statement = {
            "Effect": "Allow",
            "Principal": {"AWS": [f"arn:aws:iam::{owner}:root" for owner in owners]},
            "Action": ["sns:Unsubscribe", "sns:GetSubscriptionAttributes", "sns:SetSubscriptionAttributes"],
            "Resource": arn,
        }
        return orjson.dumps({"Version": "2012-10-17", "Statement": [statement]}).decode()

    def topic_of(self, subscription: Subscription) -> Topic:
        return self.topics[subscription.topic_key]

    def filter_policy(self, subscription: Subscription) -> FilterPolicy | None:
        text = subscription.attributes.get("FilterPolicy")
        if not text:
            return None
        key = (text, subscription.filter_scope)
        policy = self._policies.get(key)
        if policy is None:
            policy = self._policies[key] = compile_policy(text, subscription.filter_scope)
        return policy

    def base_url(self, ctx: RequestContext) -> str:
        """This server's URL (where SubscribeURL, UnsubscribeURL and SigningCertURL point): as the request reached
        it; for a call in process (a rule's, pipe's or schedule's Publish), as the last request over HTTP did."""
        if ctx.headers:
            self._base = f"http://{ctx.host}"
        return self._base

    # -- memory ----------------------------------------------------------------------------------------------------
    def remember(self, subscription: Subscription) -> None:
        self.subscriptions.setdefault(subscription.topic_key, {})[subscription.key] = subscription
        self.by_arn[subscription.arn] = subscription

    def forget(self, subscription: Subscription) -> None:
        self.subscriptions.get(subscription.topic_key, {}).pop(subscription.key, None)
        self.by_arn.pop(subscription.arn, None)


def page(operation: str, keys: list[str], params: JSON) -> tuple[list[str], str | None]:
    """One page of a List operation's sorted keys (100 at most) and the next page's token; a token this operation
    did not issue is SNS's InvalidParameter."""
    try:
        return paging.page(operation, keys, params.get("NextToken"), 100)
    except ServiceError:
        raise invalid_parameter("NextToken") from None
