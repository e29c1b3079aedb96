"""The messages SNS sends, as AWS shapes them: the JSON ``Notification`` and ``SubscriptionConfirmation`` documents
(signed), the deliveries queued for each subscription, and what each protocol receives from them — an SQS message
(the document, or the raw message with its attributes), an HTTP request (with ``x-amz-sns-*`` headers), a Lambda
event (``Records[0].Sns``).
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any
from urllib.parse import quote

from pipework.jsontypes import JSON

from .model import Subscription, Topic, effective_delivery_policy
from .signing import CERT_PATH, Signer

CONFIRMATION_TEXT = (
    "You have chosen to subscribe to the topic {topic}.\n"
    "To confirm the subscription, visit the SubscribeURL included in this message."
)


def timestamp(now: float) -> str:
    """AWS's message timestamp: ISO-8601 UTC with milliseconds (``2026-01-02T03:04:05.678Z``)."""
    moment = dt.datetime.fromtimestamp(now, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def attributes_document(attributes: dict[str, Any]) -> JSON:
    """Message attributes as the JSON document carries them: ``{name: {"Type", "Value"}}`` (binary as base64)."""
    out: JSON = {}
    for name, attribute in attributes.items():
        if "BinaryValue" in attribute:
            value = attribute["BinaryValue"]
            text = base64.b64encode(value).decode() if isinstance(value, bytes) else str(value)
        else:
            text = attribute.get("StringValue", "")
        out[name] = {"Type": attribute["DataType"], "Value": text}
    return out


def stored_attributes(attributes: dict[str, Any]) -> JSON:
    """Publish's MessageAttributes in a JSON-able form (binary values as base64 text, as SQS's API accepts)."""
    out: JSON = {}
    for name, attribute in attributes.items():
        kept = {"DataType": attribute["DataType"]}
        if "BinaryValue" in attribute:
            value = attribute["BinaryValue"]
            kept["BinaryValue"] = base64.b64encode(value).decode() if isinstance(value, bytes) else value
        else:
            kept["StringValue"] = attribute.get("StringValue", "")
        out[name] = kept
    return out


def unsubscribe_url(base: str, subscription_arn: str) -> str:
    return f"{base}/?Action=Unsubscribe&SubscriptionArn={quote(subscription_arn, safe='')}"


def notification(
    signer: Signer,
    topic: Topic,
    *,
    message_id: str,
    message: str,
    subject: str | None,
    now: float,
    base: str,
    attributes: dict[str, Any],
    sequence: str | None = None,
) -> JSON:
    """The signed ``Notification`` document, without its UnsubscribeURL (each subscription adds its own; it is
    not signed)."""
    document: JSON = {"Type": "Notification", "MessageId": message_id, "TopicArn": topic.arn}
    if subject is not None:
        document["Subject"] = subject
    document["Message"] = message
    document["Timestamp"] = timestamp(now)
    if sequence is not None:
        document["SequenceNumber"] = sequence
    document["SignatureVersion"] = topic.signature_version
    document["Signature"] = signer.sign(document, topic.signature_version)
    document["SigningCertURL"] = base + CERT_PATH
    if attributes:
        document["MessageAttributes"] = attributes_document(attributes)
    return document


def confirmation(
    signer: Signer, topic: Topic, subscription: Subscription, *, message_id: str, now: float, base: str
) -> JSON:
    """The signed ``SubscriptionConfirmation`` document an HTTP/S endpoint gets when it is subscribed."""
    token = subscription.token or ""
    subscribe_url = f"{base}/?Action=ConfirmSubscription&TopicArn={quote(topic.arn, safe='')}&Token={quote(token, safe='')}"
    document: JSON = {
        "Type": "SubscriptionConfirmation",
        "MessageId": message_id,
        "Token": token,
        "TopicArn": topic.arn,
        "Message": CONFIRMATION_TEXT.format(topic=topic.arn),
        "SubscribeURL": subscribe_url,
        "Timestamp": timestamp(now),
        "SignatureVersion": topic.signature_version,
    }
    document["Signature"] = signer.sign(document, topic.signature_version)
    document["SigningCertURL"] = base + CERT_PATH
    return document


def delivery(
    topic: Topic,
    subscription: Subscription,
    document: JSON,
    *,
    base: str,
    raw_message: str,
    attributes: JSON,
    group_id: str | None = None,
    deduplication_id: str | None = None,
) -> JSON:
    """The body of one queued delivery: where it goes, the document (or raw message) it carries, and the retry
    policy and dead-letter queue it follows."""
    if document["Type"] == "Notification":
        # AWS's member order: the UnsubscribeURL comes before the MessageAttributes.
        attributes_member = document.get("MessageAttributes")
        document = {k: v for k, v in document.items() if k != "MessageAttributes"}
        document["UnsubscribeURL"] = unsubscribe_url(base, subscription.arn)
        if attributes_member is not None:
            document["MessageAttributes"] = attributes_member
    body: JSON = {
        "subscription": subscription.arn,
        "protocol": subscription.protocol,
        "endpoint": subscription.endpoint,
        "raw": subscription.raw and document["Type"] == "Notification",
        "topic": topic.arn,
        "account": topic.account,
        "region": topic.region,
        "document": document,
        "policy": effective_delivery_policy(topic, subscription),
        "dlq": subscription.dead_letter_arn,
    }
    if body["raw"]:
        body["message"] = raw_message
        body["attributes"] = attributes
    if group_id is not None:
        body["group_id"] = group_id
    if deduplication_id is not None:
        body["deduplication_id"] = deduplication_id
    return body


def http_headers(body: JSON) -> dict[str, str]:
    """The headers SNS sends an HTTP/S endpoint with each message."""
    document = body["document"]
    headers = {
        "content-type": "text/plain; charset=UTF-8",
        "user-agent": "Amazon Simple Notification Service Agent",
        "x-amz-sns-message-type": document["Type"],
        "x-amz-sns-message-id": document["MessageId"],
        "x-amz-sns-topic-arn": body["topic"],
    }
    if document["Type"] == "Notification":
        headers["x-amz-sns-subscription-arn"] = body["subscription"]
    if body["raw"]:
        headers["x-amz-sns-rawdelivery"] = "true"
    return headers


def lambda_event(body: JSON) -> JSON:
    """The event a Lambda subscription's function receives."""
    document = body["document"]
    record: JSON = {
        "Type": document["Type"],
        "MessageId": document["MessageId"],
        "TopicArn": document["TopicArn"],
        "Subject": document.get("Subject"),
        "Message": document["Message"],
        "Timestamp": document["Timestamp"],
        "SignatureVersion": document["SignatureVersion"],
        "Signature": document["Signature"],
        "SigningCertUrl": document["SigningCertURL"],
        "UnsubscribeUrl": document.get("UnsubscribeURL"),
        "MessageAttributes": document.get("MessageAttributes", {}),
    }
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": body["subscription"],
                "Sns": record,
            }
        ]
    }
