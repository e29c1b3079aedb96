"""Publish and PublishBatch: check the message (size, subject, structure, attributes, FIFO ids), match it against
each confirmed subscription's filter policy, and commit one delivery per match — with a FIFO topic's deduplication
entry and sequence number — in one store commit before answering: a message acknowledged is never lost.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from pipework.engine.envelope import envelope_attributes
from pipework.engine.retry import RetryPolicy
from pipework.ids import random_uuid
from pipework.jsontypes import JSON
from pipework.services.base import RequestContext, ServiceError
from pipework.store.base import Batch

from . import messages, model
from .errors import batch_error, invalid_parameter
from .model import Topic
from .state import SnsState
from .topics import MAX_MESSAGE_SIZE

MAX_SUBJECT = 100
MAX_BATCH = 10
_BATCH_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")
_DATA_TYPE = re.compile(r"(String|Number|Binary)(\.[A-Za-z0-9_.-]+)?")
_IDENTIFIER = re.compile(r"[\x21-\x7e]{1,128}")


@dataclass(slots=True)
class _Outgoing:
    """One checked message, ready to be matched and queued."""

    message_id: str
    message: str
    subject: str | None
    structured: dict[str, str] | None  # MessageStructure=json: the text per protocol (with "default")
    attributes: dict[str, Any]
    group_id: str | None
    deduplication_id: str | None
    sequence: str | None = None
    duplicate_of: JSON | None = None
    deliveries: list[tuple[str, bytes, JSON, str | None]] = field(default_factory=list)

    def text_for(self, protocol: str) -> str:
        if self.structured is None:
            return self.message
        return self.structured.get(protocol, self.structured["default"])

    def result(self) -> JSON:
        if self.duplicate_of is not None:
            return dict(self.duplicate_of)
        out: JSON = {"MessageId": self.message_id}
        if self.sequence is not None:
            out["SequenceNumber"] = self.sequence
        return out


def _check_attributes(attributes: dict[str, Any]) -> None:
    for name, attribute in attributes.items():
        data_type = attribute.get("DataType", "")
        reason = f"MessageAttributes Reason: The message attribute '{name}'"
        if name.startswith(("AWS.", "Amazon.")) or not name or len(name) > 256:
            raise invalid_parameter(f"MessageAttributes Reason: Message attribute name '{name}' is invalid")
        if data_type != "String.Array" and not _DATA_TYPE.fullmatch(data_type):
            raise invalid_parameter(
                f"{reason} has an invalid message attribute type, the set of supported type prefixes is "
                "Binary, Number, and String."
            )
        base = data_type.split(".", 1)[0]
        if base == "Binary":
            if not attribute.get("BinaryValue"):
                raise invalid_parameter(
                    f"{reason} must contain non-empty message attribute value for message attribute type "
                    f"'{data_type}'."
                )
            continue
        value = attribute.get("StringValue")
        if value is None or value == "":
            raise invalid_parameter(
                f"{reason} must contain non-empty message attribute value for message attribute type "
                f"'{data_type}'."
            )
        if base == "Number":
            try:
                number = float(value)
            except ValueError:
                number = math.nan
            if not math.isfinite(number):
                raise invalid_parameter(
                    f"MessageAttributes Reason: Could not cast message attribute '{name}' value to number."
                )
        if data_type == "String.Array":
            try:
                items = orjson.loads(value)
            except orjson.JSONDecodeError:
                items = None
            if not isinstance(items, list):
                raise invalid_parameter(f"{reason} with type 'String.Array' must be a JSON array.")


def _size(message: str, attributes: dict[str, Any]) -> int:
    total = len(message.encode("utf-8", "surrogatepass"))
    for name, attribute in attributes.items():
        total += len(name.encode()) + len(str(attribute.get("DataType", "")).encode())
        value = attribute.get("BinaryValue", attribute.get("StringValue", ""))
        total += len(value) if isinstance(value, bytes) else len(str(value).encode("utf-8", "surrogatepass"))
    return total


class PublishOperations(SnsState):
    """Publishing to topics."""

    def _target_topic(self, params: JSON) -> Topic:
        arn = params.get("TopicArn") or params.get("TargetArn")
        if params.get("PhoneNumber") and not arn:
            raise invalid_parameter("PhoneNumber Reason: Pipework does not send SMS messages")
        if not arn:
            raise invalid_parameter("TopicArn or TargetArn Reason: no value for required parameter")
        if model.parse_topic_arn(arn) is None:
            raise invalid_parameter("TopicArn" if params.get("TopicArn") else "TargetArn")
        return self.topic(arn)

    def _checked(self, topic: Topic, params: JSON) -> _Outgoing:
        message: str = params.get("Message", "")
        attributes: dict[str, Any] = dict(params.get("MessageAttributes") or {})
        if message == "":
            raise invalid_parameter("Empty message")
        limit = int(topic.attributes.get("MaximumMessageSize", MAX_MESSAGE_SIZE))
        if _size(message, attributes) > limit:
            raise invalid_parameter("Message too long")
        subject = params.get("Subject")
        if subject is not None and (
            subject == "" or len(subject) > MAX_SUBJECT or any(ord(c) < 32 or ord(c) == 127 for c in subject)
        ):
            raise invalid_parameter("Subject")
        structured: dict[str, str] | None = None
        structure = params.get("MessageStructure")
        if structure is not None:
            if structure != "json":
                raise invalid_parameter("MessageStructure")
            try:
                document = orjson.loads(message)
            except orjson.JSONDecodeError:
                raise invalid_parameter("Message Structure - JSON message body failed to parse") from None
            if not isinstance(document, dict) or not isinstance(document.get("default"), str):
                raise invalid_parameter("Message Structure - No default entry in JSON message body")
            structured = {k: v for k, v in document.items() if isinstance(v, str)}
        _check_attributes(attributes)
        group_id = params.get("MessageGroupId")
        deduplication_id = params.get("MessageDeduplicationId")
        if topic.fifo:
            if not group_id:
                raise invalid_parameter("The MessageGroupId parameter is required for FIFO topics")
            if not _IDENTIFIER.fullmatch(group_id):
                raise invalid_parameter("MessageGroupId")
            if deduplication_id is None:
                if not topic.content_based_deduplication:
                    raise invalid_parameter(
                        "The topic should either have ContentBasedDeduplication enabled or "
                        "MessageDeduplicationId provided explicitly"
                    )
                deduplication_id = hashlib.sha256(message.encode("utf-8", "surrogatepass")).hexdigest()
            elif not _IDENTIFIER.fullmatch(deduplication_id):
                raise invalid_parameter("MessageDeduplicationId")
        else:
            if deduplication_id is not None:
                raise invalid_parameter(
                    "MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that "
                    "is not valid for this topic type"
                )
            if group_id is not None and not _IDENTIFIER.fullmatch(group_id):
                raise invalid_parameter("MessageGroupId")
        return _Outgoing(
            message_id=random_uuid(),
            message=message,
            subject=subject,
            structured=structured,
            attributes=attributes,
            group_id=group_id,
            deduplication_id=deduplication_id,
        )

    def _route(self, topic: Topic, outgoing: _Outgoing, ctx: RequestContext, now: float) -> None:
        """Fill `outgoing.deliveries`: one per confirmed subscription whose filter policy matches."""
        base = self.base_url(ctx)
        documents: dict[str, JSON] = {}  # one signed document per message text (MessageStructure may vary it)
        stored = messages.stored_attributes(outgoing.attributes) if outgoing.attributes else {}
        for subscription in list(self.subscriptions.get(topic.key, {}).values()):
            if not subscription.confirmed:
                continue
            text = outgoing.text_for(subscription.protocol)
            policy = self.filter_policy(subscription)
            if policy is not None and not policy.matches(text, outgoing.attributes):
                self.metrics["NumberOfNotificationsFilteredOut"] += 1
                continue
            document = documents.get(text)
            if document is None:
                document = documents[text] = messages.notification(
                    self.signer,
                    topic,
                    message_id=outgoing.message_id,
                    message=text,
                    subject=outgoing.subject,
                    now=now,
                    base=base,
                    attributes=outgoing.attributes,
                    sequence=outgoing.sequence,
                )
            body = messages.delivery(
                topic,
                subscription,
                document,
                base=base,
                raw_message=text,
                attributes=stored,
                # A FIFO topic's group and deduplication id go to its FIFO queues (standard topics' groups too).
                group_id=outgoing.group_id if subscription.endpoint.endswith(".fifo") else None,
                deduplication_id=outgoing.deduplication_id if topic.fifo else None,
            )
            group = f"{subscription.arn}|{outgoing.group_id}" if topic.fifo else None
            outgoing.deliveries.append(
                (f"{outgoing.message_id}/{subscription.sub_id}", orjson.dumps(body), body, group)
            )

    def _enqueue(self, batch: Batch, topic: Topic, outgoing: _Outgoing, now: float) -> None:
        queue = model.FIFO_DELIVERIES if topic.fifo else model.DELIVERIES
        for item_id, payload, body, group in outgoing.deliveries:
            envelope = envelope_attributes(
                target=body["subscription"],
                first_seen=now,
                policy=RetryPolicy(int(body["policy"]["numRetries"]), math.inf),
            )
            batch.enqueue(queue, item_id, payload, group_id=group, attributes=envelope)

    async def _publish(self, topic: Topic, outgoings: list[_Outgoing], ctx: RequestContext) -> None:
        """Route and commit `outgoings` (checked messages of one topic) in one commit."""
        now = self.clock.now()
        batch = self.store.batch()
        if not topic.fifo:
            for outgoing in outgoings:
                self._route(topic, outgoing, ctx, now)
                self._enqueue(batch, topic, outgoing, now)
            if len(batch):
                await self.store.commit(batch)
            self.metrics["NumberOfMessagesPublished"] += len(outgoings)
            return
        # FIFO: deduplication and sequence numbers are decided and committed under the lock, in publish order.
        async with self.lock:
            sequence_entry = await self.store.kv_get(model.SEQUENCE, topic.key)
            sequence = int(sequence_entry.value) if sequence_entry is not None else 0
            seen: dict[str, JSON] = {}
            for outgoing in outgoings:
                scope = topic.attributes.get("FifoThroughputScope", "Topic")
                dedup_key = (
                    f"{topic.key}/{outgoing.group_id}/{outgoing.deduplication_id}"
                    if scope == "MessageGroup"
                    else f"{topic.key}/{outgoing.deduplication_id}"
                )
                earlier = seen.get(dedup_key)
                if earlier is None:
                    entry = await self.store.kv_get(model.DEDUP, dedup_key)
                    earlier = orjson.loads(entry.value) if entry is not None else None
                if earlier is not None:
                    # A duplicate within the window: accepted, answered as the first, not delivered again.
                    outgoing.duplicate_of = earlier
                    continue
                sequence += 1
                outgoing.sequence = str(10**19 + sequence)
                self._route(topic, outgoing, ctx, now)
                self._enqueue(batch, topic, outgoing, now)
                seen[dedup_key] = outgoing.result()
                batch.kv_put(model.DEDUP, dedup_key, orjson.dumps(seen[dedup_key]), ttl=model.DEDUP_WINDOW)
            if seen:
                batch.kv_put(model.SEQUENCE, topic.key, str(sequence).encode())
                await self.store.commit(batch)
        self.metrics["NumberOfMessagesPublished"] += len(outgoings)

    async def op_Publish(self, params: JSON, ctx: RequestContext) -> JSON:
        topic = self._target_topic(params)
        outgoing = self._checked(topic, params)
        await self._publish(topic, [outgoing], ctx)
        return outgoing.result()

    async def op_PublishBatch(self, params: JSON, ctx: RequestContext) -> JSON:
        entries: list[JSON] = params.get("PublishBatchRequestEntries") or []
        topic = self.topic(params["TopicArn"])
        if not entries:
            raise batch_error("EmptyBatchRequest", "The batch request doesn't contain any entries")
        if len(entries) > MAX_BATCH:
            raise batch_error(
                "TooManyEntriesInBatchRequest", "The batch request contains more entries than permissible."
            )
        ids = [e["Id"] for e in entries]
        if len(set(ids)) != len(ids):
            raise batch_error(
                "BatchEntryIdsNotDistinct", "Two or more batch entries in the request have the same Id."
            )
        if any(not _BATCH_ID.fullmatch(i) for i in ids):
            raise batch_error(
                "InvalidBatchEntryId",
                "The Id of a batch entry in a batch request doesn't abide by the specification.",
            )
        total = sum(_size(e.get("Message", ""), dict(e.get("MessageAttributes") or {})) for e in entries)
        if total > MAX_MESSAGE_SIZE:
            raise batch_error(
                "BatchRequestTooLong", "The length of all the messages put together is more than the limit."
            )
        ready: list[tuple[str, _Outgoing]] = []
        failed: list[JSON] = []
        for entry in entries:
            try:
                ready.append((entry["Id"], self._checked(topic, entry)))
            except ServiceError as error:
                failed.append(
                    {"Id": entry["Id"], "Code": error.code, "Message": error.message, "SenderFault": True}
                )
        await self._publish(topic, [o for _, o in ready], ctx)
        out: JSON = {"Successful": [{"Id": i, **o.result()} for i, o in ready], "Failed": failed}
        return out
