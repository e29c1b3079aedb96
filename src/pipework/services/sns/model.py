"""SNS's resources as frozen dataclasses — `Topic` and `Subscription` — with their store forms, ARNs, keys and the
attributes the API shows; plus the delivery policies (AWS's defaults per protocol).

Keys follow the store's convention: a topic is ``<account>/<region>/<name>``, a subscription
``<account>/<region>/<topic>/<id>`` (its ARN is the topic's ARN plus ``:<id>``).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from pipework.jsontypes import JSON

KIND_TOPIC = "sns/topic"
KIND_SUBSCRIPTION = "sns/subscription"
#: The work queues of deliveries: standard topics' (leased in any order), FIFO topics' (leased in order per
#: subscription and message group).
DELIVERIES = "sns/delivery"
FIFO_DELIVERIES = "sns/delivery-fifo"
#: FIFO topics' deduplication ids (kept `DEDUP_WINDOW` seconds) and sequence numbers.
DEDUP = "sns/dedup"
SEQUENCE = "sns/sequence"
#: The server's signing key (one, kept across restarts so earlier signatures still verify).
SIGNING = "sns/signing-key"
DEDUP_WINDOW = 300.0

TOPIC_NAME = re.compile(r"[A-Za-z0-9_-]{1,256}")
PROTOCOLS = ("sqs", "http", "https", "lambda")
#: Protocols AWS has and Pipework cannot deliver to (no phone, mail or mobile push here).
UNDELIVERABLE = ("email", "email-json", "sms", "application", "firehose")
PENDING = "PendingConfirmation"

#: Topic attributes SetTopicAttributes / CreateTopic accept (AWS's names).
TOPIC_SETTABLE = frozenset(
    {
        "DeliveryPolicy",
        "DisplayName",
        "Policy",
        "TracingConfig",
        "KmsMasterKeyId",
        "SignatureVersion",
        "ContentBasedDeduplication",
        "ArchivePolicy",
        "FifoThroughputScope",
        "DataProtectionPolicy",
        *(
            f"{endpoint}{what}"
            for endpoint in ("HTTP", "SQS", "Lambda", "Firehose", "Application")
            for what in ("SuccessFeedbackRoleArn", "SuccessFeedbackSampleRate", "FailureFeedbackRoleArn")
        ),
    }
)
TOPIC_CREATE_ONLY = frozenset({"FifoTopic"})
SUBSCRIPTION_SETTABLE = frozenset(
    {
        "DeliveryPolicy",
        "FilterPolicy",
        "FilterPolicyScope",
        "RawMessageDelivery",
        "RedrivePolicy",
        "SubscriptionRoleArn",
    }
)

# SNS's delivery policies: how often and how fast a failed delivery is retried. HTTP/S endpoints follow the
# topic's or subscription's DeliveryPolicy (default: 3 retries, 20 s apart); AWS-managed endpoints (SQS, Lambda)
# are retried 100,015 times over 23 days: 3 at once, 2 a second apart, 10 backing off to 20 s, then every 20 s.
HTTP_DEFAULT_POLICY: JSON = {
    "minDelayTarget": 20,
    "maxDelayTarget": 20,
    "numRetries": 3,
    "numMaxDelayRetries": 0,
    "numNoDelayRetries": 0,
    "numMinDelayRetries": 0,
    "backoffFunction": "linear",
}
MANAGED_POLICY: JSON = {
    "minDelayTarget": 1,
    "maxDelayTarget": 20,
    "numRetries": 100015,
    "numMaxDelayRetries": 100000,
    "numNoDelayRetries": 3,
    "numMinDelayRetries": 2,
    "backoffFunction": "exponential",
}


def topic_key(account: str, region: str, name: str) -> str:
    return f"{account}/{region}/{name}"


def topic_arn(account: str, region: str, name: str) -> str:
    return f"arn:aws:sns:{region}:{account}:{name}"


def parse_topic_arn(arn: str) -> tuple[str, str, str] | None:
    """(account, region, name) of a topic ARN, or None."""
    parts = arn.split(":")
    if (
        len(parts) != 6
        or parts[0] != "arn"
        or parts[2] != "sns"
        or not TOPIC_NAME.fullmatch(parts[5].removesuffix(".fifo"))
    ):
        return None
    return parts[4], parts[3], parts[5]


def parse_subscription_arn(arn: str) -> tuple[str, str, str, str] | None:
    """(account, region, topic name, id) of a subscription ARN, or None."""
    parts = arn.split(":")
    if len(parts) != 7 or parts[0] != "arn" or parts[2] != "sns" or not parts[6]:
        return None
    return parts[4], parts[3], parts[5], parts[6]


def subscription_key(topic: str, sub_id: str) -> str:
    """The key of a subscription of the topic whose key is `topic`."""
    return f"{topic}/{sub_id}"


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


@dataclass(frozen=True, slots=True)
class Topic:
    """A topic: its ARN, attributes as set (strings, AWS's names), tags, and Pipework's bookkeeping."""

    arn: str
    name: str
    account: str
    region: str
    attributes: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return topic_key(self.account, self.region, self.name)

    @property
    def fifo(self) -> bool:
        return self.attributes.get("FifoTopic") == "true"

    @property
    def content_based_deduplication(self) -> bool:
        return self.attributes.get("ContentBasedDeduplication") == "true"

    @property
    def signature_version(self) -> str:
        return self.attributes.get("SignatureVersion", "1")

    def policy(self) -> JSON:
        text = self.attributes.get("Policy")
        if text:
            loaded: JSON = orjson.loads(text)
            return loaded
        return default_policy(self.arn, self.account)

    def with_attribute(self, name: str, value: str) -> Topic:
        return dataclasses.replace(self, attributes={**self.attributes, name: value})

    def to_store(self) -> JSON:
        return {
            "Arn": self.arn,
            "Name": self.name,
            "Account": self.account,
            "Region": self.region,
            "Attributes": self.attributes,
            "Tags": self.tags,
        }

    @classmethod
    def from_store(cls, body: JSON) -> Topic:
        return cls(
            arn=body["Arn"],
            name=body["Name"],
            account=body["Account"],
            region=body["Region"],
            attributes=dict(body.get("Attributes") or {}),
            tags=dict(body.get("Tags") or {}),
        )


def default_policy(arn: str, account: str) -> JSON:
    """The access policy AWS gives a new topic: the owner may do everything."""
    return {
        "Version": "2008-10-17",
        "Id": "__default_policy_ID",
        "Statement": [
            {
                "Sid": "__default_statement_ID",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": [
                    "SNS:GetTopicAttributes",
                    "SNS:SetTopicAttributes",
                    "SNS:AddPermission",
                    "SNS:RemovePermission",
                    "SNS:DeleteTopic",
                    "SNS:Subscribe",
                    "SNS:ListSubscriptionsByTopic",
                    "SNS:Publish",
                ],
                "Resource": arn,
                "Condition": {"StringEquals": {"AWS:SourceOwner": account}},
            }
        ],
    }


@dataclass(frozen=True, slots=True)
class Subscription:
    """A subscription of a topic: protocol, endpoint, attributes as set, and whether it is confirmed (HTTP/S
    endpoints confirm with the token sent to them)."""

    arn: str
    topic_arn: str
    topic_key: str
    sub_id: str
    protocol: str
    endpoint: str
    owner: str
    attributes: dict[str, str] = field(default_factory=dict)
    confirmed: bool = True
    token: str | None = None
    authenticated: bool = False

    @property
    def key(self) -> str:
        return subscription_key(self.topic_key, self.sub_id)

    @property
    def raw(self) -> bool:
        return self.attributes.get("RawMessageDelivery") == "true"

    @property
    def filter_scope(self) -> str:
        return self.attributes.get("FilterPolicyScope", "MessageAttributes")

    @property
    def dead_letter_arn(self) -> str | None:
        text = self.attributes.get("RedrivePolicy")
        if not text:
            return None
        target = orjson.loads(text).get("deadLetterTargetArn")
        return str(target) if target else None

    def listed_arn(self) -> str:
        """The ARN List operations show: ``PendingConfirmation`` until confirmed."""
        return self.arn if self.confirmed else PENDING

    def with_attribute(self, name: str, value: str) -> Subscription:
        attributes = {**self.attributes, name: value}
        if value == "" and name in ("FilterPolicy", "RedrivePolicy", "DeliveryPolicy"):
            attributes.pop(name)  # an empty policy removes it
        return dataclasses.replace(self, attributes=attributes)

    def to_store(self) -> JSON:
        return {
            "Arn": self.arn,
            "TopicArn": self.topic_arn,
            "TopicKey": self.topic_key,
            "Id": self.sub_id,
            "Protocol": self.protocol,
            "Endpoint": self.endpoint,
            "Owner": self.owner,
            "Attributes": self.attributes,
            "Confirmed": self.confirmed,
            "Token": self.token,
            "Authenticated": self.authenticated,
        }

    @classmethod
    def from_store(cls, body: JSON) -> Subscription:
        return cls(
            arn=body["Arn"],
            topic_arn=body["TopicArn"],
            topic_key=body["TopicKey"],
            sub_id=body["Id"],
            protocol=body["Protocol"],
            endpoint=body["Endpoint"],
            owner=body["Owner"],
            attributes=dict(body.get("Attributes") or {}),
            confirmed=bool(body.get("Confirmed", True)),
            token=body.get("Token"),
            authenticated=bool(body.get("Authenticated")),
        )


def effective_delivery_policy(topic: Topic, subscription: Subscription | None = None) -> JSON:
    """The retry policy a delivery follows: for HTTP/S, the subscription's DeliveryPolicy over the topic's ``http``
    policy over AWS's default; for SQS and Lambda, AWS's fixed policy for its own endpoints."""
    if subscription is not None and subscription.protocol not in ("http", "https"):
        return dict(MANAGED_POLICY)
    policy = dict(HTTP_DEFAULT_POLICY)
    topic_policy = topic.attributes.get("DeliveryPolicy")
    if topic_policy:
        healthy = (orjson.loads(topic_policy).get("http") or {}).get("defaultHealthyRetryPolicy") or {}
        policy.update(healthy)
    if subscription is not None and subscription.attributes.get("DeliveryPolicy"):
        healthy = orjson.loads(subscription.attributes["DeliveryPolicy"]).get("healthyRetryPolicy") or {}
        policy.update(healthy)
    return policy


def effective_delivery_policy_text(topic: Topic, subscription: Subscription | None = None) -> str:
    """EffectiveDeliveryPolicy as GetTopicAttributes / GetSubscriptionAttributes show it."""
    policy = effective_delivery_policy(topic, subscription)
    if subscription is None or subscription.protocol in ("http", "https"):
        return _json_text(
            {
                "http": {
                    "defaultHealthyRetryPolicy": policy,
                    "disableSubscriptionOverrides": False,
                    "defaultRequestPolicy": {"headerContentType": "text/plain; charset=UTF-8"},
                }
            }
            if subscription is None
            else {"healthyRetryPolicy": policy}
        )
    return _json_text({"healthyRetryPolicy": policy})
