"""Message operations: SendMessage(Batch), ReceiveMessage with long polling, DeleteMessage(Batch) and
ChangeMessageVisibility(Batch), including FIFO deduplication and sequence numbers.

A send answers only after the store committed the message (durably, with the SQLite store), so a message whose
SendMessage returned survives a crash; a receive leases messages in one store write, so a crash after it only
makes them visible again when the visibility timeout passes (at-least-once, as SQS).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import re
from dataclasses import dataclass
from typing import Any

import orjson

from pipework.ids import random_uuid
from pipework.jsontypes import JSON
from pipework.services.base import RequestContext, ServiceError
from pipework.store.base import QueueItem
from pipework.store.errors import ItemNotFound, NotInFlight, RevisionConflict, StaleLease, StoreError

from . import errors
from .message import (
    check_attributes,
    check_body,
    md5_of_attributes,
    md5_of_body,
    select_attributes,
    wire_attributes,
)
from .model import MAX_MESSAGE_SIZE, Queue
from .state import DEDUP_BUCKET, SqsState

DEDUP_WINDOW = 300.0  # FIFO deduplication interval: 5 minutes
MAX_VISIBILITY_TIMEOUT = 43_200
_BATCH_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")
_FIFO_ID = re.compile(r"[!-~]{1,128}")  # alphanumeric and punctuation characters


@dataclass(slots=True)
class Outgoing:
    """A checked message ready to enqueue: what the store keeps and what SendMessage answers."""

    id: str
    payload: bytes
    attributes: JSON  # the store item's attributes: message and system attributes, FIFO ids, sender, origin
    due_at: float | None
    group_id: str | None
    md5_body: str
    dedup_key: str | None = None
    sequence_number: str | None = None

    def result(self) -> JSON:
        out: JSON = {"MessageId": self.id, "MD5OfMessageBody": self.md5_body}
        if "am" in self.attributes:
            out["MD5OfMessageAttributes"] = self.attributes["am"]
        if "sm" in self.attributes:
            out["MD5OfMessageSystemAttributes"] = self.attributes["sm"]
        if self.sequence_number is not None:
            out["SequenceNumber"] = self.sequence_number
        return out


class MessageOperations(SqsState):
    """Sending, receiving, deleting and hiding messages."""

    # ── send ──

    async def op_SendMessage(self, params: JSON, ctx: RequestContext) -> JSON:
        queue = self.queue_for_url(params["QueueUrl"], ctx)
        message = self._prepare(queue, params, ctx)
        if queue.fifo:
            await self._send_fifo(queue, [message])
        else:
            await self.store.enqueue(
                queue.store_queue,
                message.id,
                message.payload,
                due_at=message.due_at,
                group_id=message.group_id,
                attributes=message.attributes,
            )
        return message.result()

    async def op_SendMessageBatch(self, params: JSON, ctx: RequestContext) -> JSON:
        queue = self.queue_for_url(params["QueueUrl"], ctx)
        entries: list[JSON] = params.get("Entries") or []
        _check_entries(entries, "SendMessageBatchRequestEntry")
        total = sum(len(str(e.get("MessageBody", "")).encode("utf-8")) for e in entries)
        if total > MAX_MESSAGE_SIZE:
            raise errors.batch_request_too_long(total, MAX_MESSAGE_SIZE)
        ready: list[tuple[str, Outgoing]] = []
        failed: list[JSON] = []
        for entry in entries:
            try:
                ready.append((entry["Id"], self._prepare(queue, entry, ctx)))
            except ServiceError as error:
                failed.append(_failure(entry["Id"], error))
        if ready and queue.fifo:
            await self._send_fifo(queue, [m for _, m in ready])
        elif ready:
            batch = self.store.batch()
            for _, m in ready:
                batch.enqueue(
                    queue.store_queue,
                    m.id,
                    m.payload,
                    due_at=m.due_at,
                    group_id=m.group_id,
                    attributes=m.attributes,
                )
            await self.store.commit(batch)  # all of the batch's messages or none (then the request fails)
        out: JSON = {
            "Successful": [{"Id": entry_id, **m.result()} for entry_id, m in ready],
            "Failed": failed,
        }
        return out

    def _prepare(self, queue: Queue, entry: JSON, ctx: RequestContext) -> Outgoing:
        body = check_body(entry.get("MessageBody"))
        payload = body.encode("utf-8")
        size = len(payload)
        attributes: JSON = {"src": queue.arn, "snd": ctx.account}
        given = entry.get("MessageAttributes")
        if given:
            stored, attributes_size = check_attributes(given)
            size += attributes_size
            attributes["a"] = stored
            attributes["am"] = md5_of_attributes(stored)
        system = entry.get("MessageSystemAttributes")
        trace = ctx.headers.get("x-amzn-trace-id")
        if not system and trace:
            # As SQS does: the request's X-Amzn-Trace-Id is the message's AWSTraceHeader unless one is given.
            system = {"AWSTraceHeader": {"DataType": "String", "StringValue": trace}}
        if system:
            stored, system_size = check_attributes(system, system=True)
            size += system_size
            attributes["s"] = stored
            attributes["sm"] = md5_of_attributes(stored)
        limit = queue.integer("MaximumMessageSize")
        if size > limit:
            raise errors.invalid_parameter(
                f"One or more parameters are invalid. Reason: Message must be shorter than {limit} bytes."
            )
        delay = entry.get("DelaySeconds")
        if delay is not None:
            if not 0 <= delay <= 900:
                raise errors.invalid_value("DelaySeconds", delay, "must be between 0 and 900, if provided.")
            if queue.fifo and delay:
                raise errors.invalid_value(
                    "DelaySeconds",
                    delay,
                    "The request include parameter that is not valid for this queue type.",
                )
        else:
            delay = queue.integer("DelaySeconds")
        group = entry.get("MessageGroupId")
        if group is not None and not _FIFO_ID.fullmatch(group):
            raise errors.invalid_value(
                "MessageGroupId",
                group,
                "MessageGroupId can only include alphanumeric and punctuation characters. 1 to 128 in length.",
            )
        message = Outgoing(
            id=random_uuid(),
            payload=payload,
            attributes=attributes,
            due_at=self.clock.now() + delay if delay else None,
            group_id=group,
            md5_body=hashlib.md5(payload).hexdigest(),
        )
        dedup = entry.get("MessageDeduplicationId")
        if queue.fifo:
            if not group:
                raise errors.missing_parameter("MessageGroupId")
            if dedup is None:
                if not queue.content_based_deduplication:
                    raise errors.invalid_parameter(
                        "The queue should either have ContentBasedDeduplication enabled or "
                        "MessageDeduplicationId provided explicitly"
                    )
                dedup = hashlib.sha256(payload).hexdigest()
            elif not _FIFO_ID.fullmatch(dedup):
                raise errors.invalid_value(
                    "MessageDeduplicationId",
                    dedup,
                    "MessageDeduplicationId can only include alphanumeric and punctuation characters. "
                    "1 to 128 in length.",
                )
            attributes["d"] = dedup
            scope = group + "\0" if queue.deduplication_scope == "messageGroup" else ""
            message.dedup_key = f"{queue.key}/{scope}{dedup}"
        elif dedup is not None:
            raise errors.invalid_value(
                "MessageDeduplicationId",
                dedup,
                "The request include parameter that is not valid for this queue type.",
            )
        return message

    async def _send_fifo(self, queue: Queue, messages: list[Outgoing]) -> None:
        """Enqueue FIFO messages in order, dropping those whose deduplication id was seen in the last 5 minutes
        (a duplicate answers with the original message's id and sequence number, as SQS does)."""
        # One sender per queue at a time: sequence numbers then follow the store's order, and the dedup check
        # and the enqueue cannot interleave with another sender's.
        lock = self._fifo_locks.setdefault(queue.key, asyncio.Lock())
        async with lock:
            try:
                await self._send_fifo_locked(queue, messages)
            except RevisionConflict:
                # Another node committed one of these deduplication ids meanwhile (the lock is this node's only):
                # read them again, and answer with that node's message as a duplicate.
                await self._send_fifo_locked(queue, messages)

    async def _send_fifo_locked(self, queue: Queue, messages: list[Outgoing]) -> None:
        """`_send_fifo`'s work, with the queue's lock held."""
        batch = self.store.batch()
        fresh: dict[str, Outgoing] = {}
        for message in messages:
            key = message.dedup_key
            assert key is not None
            original = fresh.get(key)
            if original is None:
                entry = await self.store.kv_get(DEDUP_BUCKET, key)
                if entry is not None:
                    message.id, message.sequence_number = orjson.loads(entry.value)
                    continue
            else:
                message.id, message.sequence_number = original.id, original.sequence_number
                continue
            message.sequence_number = self._next_sequence()
            message.attributes["n"] = message.sequence_number
            fresh[key] = message
            # The dedup record commits with the message: a retried send after a crash is still deduplicated.
            batch.kv_put(
                DEDUP_BUCKET,
                key,
                orjson.dumps([message.id, message.sequence_number]),
                ttl=DEDUP_WINDOW,
                expected_revision=0,
            )
            batch.enqueue(
                queue.store_queue,
                message.id,
                message.payload,
                group_id=message.group_id,
                attributes=message.attributes,
            )
        if len(batch):
            await self.store.commit(batch)

    def _next_sequence(self) -> str:
        number = max(self._last_sequence + 1, int(self.clock.now() * 1_000_000) * 1000)
        self._last_sequence = number
        return f"{number:020d}"

    # ── receive ──

    async def op_ReceiveMessage(self, params: JSON, ctx: RequestContext) -> JSON:
        queue = self.queue_for_url(params["QueueUrl"], ctx)
        count = params.get("MaxNumberOfMessages", 1)
        if not 1 <= count <= 10:
            raise errors.invalid_value("MaxNumberOfMessages", count, "Must be between 1 and 10, if provided.")
        visibility = params.get("VisibilityTimeout")
        if visibility is not None and not 0 <= visibility <= MAX_VISIBILITY_TIMEOUT:
            raise errors.invalid_value(
                "VisibilityTimeout", visibility, f"Must be >= 0 and <= {MAX_VISIBILITY_TIMEOUT}, if provided."
            )
        wait = params.get("WaitTimeSeconds")
        if wait is None:
            wait = queue.integer("ReceiveMessageWaitTimeSeconds")
        elif not 0 <= wait <= 20:
            raise errors.invalid_value("WaitTimeSeconds", wait, "Must be >= 0 and <= 20, if provided.")
        await self.expire(queue)
        items = await self._lease(queue, count, visibility)
        if not items and wait > 0:
            # Long polling: sleep until a commit touches the queue or a delay/visibility deadline passes; the
            # event loop keeps serving other requests meanwhile.
            deadline = self.clock.monotonic() + wait
            while not items:
                remaining = deadline - self.clock.monotonic()
                if remaining <= 0:
                    break
                await self.store.wait_for_due(queue.store_queue, timeout=remaining, fifo=queue.fifo)
                current = self.queues.get(queue.key)
                if current is None:  # deleted while we waited
                    return {}
                queue = current
                items = await self._lease(queue, count, visibility)
        if not items:
            return {}
        system = {*(params.get("AttributeNames") or ()), *(params.get("MessageSystemAttributeNames") or ())}
        wanted = params.get("MessageAttributeNames") or ()
        return {"Messages": [self._render(queue, item, system, wanted) for item in items]}

    async def _lease(self, queue: Queue, count: int, visibility: int | None) -> list[QueueItem]:
        policy = queue.redrive_policy
        dead_letter = self.queue_for_arn(policy.dead_letter_target_arn) if policy else None
        items = await self.store.lease(
            queue.store_queue,
            max_items=count,
            visibility_timeout=queue.visibility_timeout if visibility is None else visibility,
            fifo=queue.fifo,
            # The move to the dead-letter queue happens inside the lease's write: never lost, never in both.
            max_receive_count=policy.max_receive_count if dead_letter and policy else None,
            dead_letter_queue=dead_letter.store_queue if dead_letter else None,
        )
        oldest = self.clock.now() - queue.integer("MessageRetentionPeriod")
        expired = [item for item in items if item.enqueued_at < oldest]
        if expired:
            batch = self.store.batch()
            for item in expired:
                batch.ack(queue.store_queue, item.id, item.lease_token or "")
            await self.store.commit(batch)
            items = [item for item in items if item.enqueued_at >= oldest]
        return items

    def _render(self, queue: Queue, item: QueueItem, system: set[str], wanted: Any) -> JSON:
        body = item.payload.decode("utf-8")
        message: JSON = {
            "MessageId": item.id,
            "ReceiptHandle": _receipt_handle(item.id, item.lease_token or ""),
            "MD5OfBody": md5_of_body(body),
            "Body": body,
        }
        stored = item.attributes
        if system:
            message["Attributes"] = _system_attributes(queue, item, system)
        if wanted and "a" in stored:
            selected = select_attributes(stored["a"], wanted)
            if selected:
                message["MessageAttributes"] = wire_attributes(selected)
                message["MD5OfMessageAttributes"] = (
                    stored["am"] if len(selected) == len(stored["a"]) else md5_of_attributes(selected)
                )
        return message

    # ── delete and visibility ──

    async def op_DeleteMessage(self, params: JSON, ctx: RequestContext) -> JSON:
        queue = self.queue_for_url(params["QueueUrl"], ctx)
        item_id, token = _parse_receipt_handle(params["ReceiptHandle"])
        # SQS: deleting an already deleted message, or with an outdated handle, succeeds.
        with contextlib.suppress(ItemNotFound, StaleLease):
            await self.store.ack(queue.store_queue, item_id, token)
        return {}

    async def op_DeleteMessageBatch(self, params: JSON, ctx: RequestContext) -> JSON:
        queue = self.queue_for_url(params["QueueUrl"], ctx)
        entries: list[JSON] = params.get("Entries") or []
        _check_entries(entries, "DeleteMessageBatchRequestEntry")
        valid, failed = _parse_handles(entries)
        batch = self.store.batch()
        for _, item_id, token in valid:
            batch.ack(queue.store_queue, item_id, token)
        try:
            await self.store.commit(batch)
        except (ItemNotFound, StaleLease):
            # Some handle is outdated: delete one by one, so the others still go (stale ones succeed, as SQS).
            for _, item_id, token in valid:
                with contextlib.suppress(ItemNotFound, StaleLease):
                    await self.store.ack(queue.store_queue, item_id, token)
        return {"Successful": [{"Id": entry_id} for entry_id, _, _ in valid], "Failed": failed}

    async def op_ChangeMessageVisibility(self, params: JSON, ctx: RequestContext) -> JSON:
        queue = self.queue_for_url(params["QueueUrl"], ctx)
        timeout = _check_visibility(params["VisibilityTimeout"])
        handle = params["ReceiptHandle"]
        item_id, token = _parse_receipt_handle(handle)
        await self._change_visibility(queue, item_id, token, timeout, handle)
        return {}

    async def op_ChangeMessageVisibilityBatch(self, params: JSON, ctx: RequestContext) -> JSON:
        queue = self.queue_for_url(params["QueueUrl"], ctx)
        entries: list[JSON] = params.get("Entries") or []
        _check_entries(entries, "ChangeMessageVisibilityBatchRequestEntry")
        valid, failed = _parse_handles(entries)
        timeouts = {e["Id"]: e.get("VisibilityTimeout", 0) for e in entries}
        checked = []
        for entry_id, item_id, token in valid:
            try:
                checked.append((entry_id, item_id, token, _check_visibility(timeouts[entry_id])))
            except ServiceError as error:
                failed.append(_failure(entry_id, error))
        batch = self.store.batch()
        for _, item_id, token, timeout in checked:
            batch.change_visibility(queue.store_queue, item_id, token, timeout, require_in_flight=True)
        succeeded: list[JSON] = []
        try:
            await self.store.commit(batch)
            succeeded = [{"Id": entry_id} for entry_id, *_ in checked]
        except StoreError:
            # One entry failed and undid the batch: apply them one by one to report each outcome.
            handles = {e["Id"]: e["ReceiptHandle"] for e in entries}
            for entry_id, item_id, token, timeout in checked:
                try:
                    await self._change_visibility(queue, item_id, token, timeout, handles[entry_id])
                    succeeded.append({"Id": entry_id})
                except ServiceError as error:
                    failed.append(_failure(entry_id, error))
        return {"Successful": succeeded, "Failed": failed}

    async def _change_visibility(
        self, queue: Queue, item_id: str, token: str, timeout: int, handle: str
    ) -> None:
        try:
            await self.store.change_visibility(
                queue.store_queue, item_id, token, timeout, require_in_flight=True
            )
        except NotInFlight:
            raise errors.message_not_inflight() from None
        except (ItemNotFound, StaleLease):
            raise errors.message_gone(handle) from None


# ── helpers ──


def _check_visibility(timeout: Any) -> int:
    if not isinstance(timeout, int) or not 0 <= timeout <= MAX_VISIBILITY_TIMEOUT:
        raise errors.invalid_value(
            "VisibilityTimeout", timeout, f"Must be between 0 and {MAX_VISIBILITY_TIMEOUT}, if provided."
        )
    return timeout


def _check_entries(entries: list[JSON], shape: str) -> None:
    if not entries:
        raise errors.empty_batch(shape)
    if len(entries) > errors.MAX_BATCH:
        raise errors.too_many_entries(len(entries))
    seen: set[str] = set()
    for entry in entries:
        entry_id = entry.get("Id")
        if not isinstance(entry_id, str) or not _BATCH_ID.fullmatch(entry_id):
            raise errors.invalid_batch_entry_id()
        if entry_id in seen:
            raise errors.batch_ids_not_distinct(entry_id)
        seen.add(entry_id)


def _failure(entry_id: str, error: ServiceError) -> JSON:
    return {
        "Id": entry_id,
        "SenderFault": error.sender_fault,
        "Code": errors.QUERY_ERROR_CODES.get(error.code, error.code),
        "Message": error.message,
    }


def _parse_handles(entries: list[JSON]) -> tuple[list[tuple[str, str, str]], list[JSON]]:
    valid: list[tuple[str, str, str]] = []
    failed: list[JSON] = []
    for entry in entries:
        try:
            valid.append((entry["Id"], *_parse_receipt_handle(entry.get("ReceiptHandle", ""))))
        except ServiceError as error:
            failed.append(_failure(entry["Id"], error))
    return valid, failed


def _receipt_handle(item_id: str, token: str) -> str:
    """An opaque handle naming one receive of one message: the message id and that lease's token."""
    return base64.urlsafe_b64encode(f"{item_id} {token}".encode()).decode("ascii")


def _parse_receipt_handle(handle: str) -> tuple[str, str]:
    try:
        item_id, token = base64.urlsafe_b64decode(handle.encode("ascii")).decode("utf-8").split(" ")
    except (ValueError, UnicodeError, binascii.Error):
        raise errors.receipt_handle_invalid(handle) from None
    if not item_id or not token:
        raise errors.receipt_handle_invalid(handle)
    return item_id, token


def _system_attributes(queue: Queue, item: QueueItem, names: set[str]) -> dict[str, str]:
    every = "All" in names
    stored = item.attributes
    out: dict[str, str] = {}

    def put(name: str, value: str | None) -> None:
        if value is not None and (every or name in names):
            out[name] = value

    put("SenderId", stored.get("snd", queue.account))
    put("SentTimestamp", str(int(item.enqueued_at * 1000)))
    put("ApproximateReceiveCount", str(item.attempts))
    first = item.first_leased_at
    put("ApproximateFirstReceiveTimestamp", str(int((first or item.enqueued_at) * 1000)))
    if queue.fifo:
        put("MessageDeduplicationId", stored.get("d"))
        put("SequenceNumber", stored.get("n"))
    put("MessageGroupId", item.group_id)
    trace = stored.get("s", {}).get("AWSTraceHeader")
    if trace is not None:
        put("AWSTraceHeader", trace["StringValue"])
    source = stored.get("src")
    if source is not None and source != queue.arn:
        put("DeadLetterQueueSourceArn", source)
    return out
