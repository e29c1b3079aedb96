"""Queue operations: CreateQueue, GetQueueUrl, ListQueues, DeleteQueue, Get/SetQueueAttributes, PurgeQueue,
tags, permissions and ListDeadLetterSourceQueues.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson

from pipework.jsontypes import JSON
from pipework.services.base import RequestContext

from . import errors
from .model import (
    ALL_ATTRIBUTES,
    COUNTS,
    INTEGER_ATTRIBUTES,
    KIND_QUEUE,
    Queue,
    check_queue_name,
    normalize_attributes,
    queue_key,
)
from .state import DEDUP_BUCKET, SqsState

PURGE_INTERVAL = 60.0


class QueueOperations(SqsState):
    """The operations on queues as resources (see `MessageOperations` for messages)."""

    # ── create, find, list, delete ──

    async def op_CreateQueue(self, params: JSON, ctx: RequestContext) -> JSON:
        name: str = params["QueueName"]
        given = {k: str(v) for k, v in (params.get("Attributes") or {}).items()}
        fifo = given.get("FifoQueue", "").lower() == "true"
        if name.endswith(".fifo") and not fifo and given.get("FifoQueue") is None:
            raise errors.invalid_parameter(
                "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
            )
        check_queue_name(name, fifo)
        attributes = normalize_attributes(given, fifo=fifo, creating=True)
        async with self.definitions:
            existing = self.queues.get(queue_key(ctx.account, ctx.region, name))
            if existing is not None:
                for attribute, value in attributes.items():
                    if existing.attributes.get(attribute, _default(attribute)) != value:
                        raise errors.queue_name_exists(attribute)
                return {"QueueUrl": existing.url(ctx.host)}
            now = self.clock.now()
            queue = Queue(ctx.account, name, ctx.region, now, now, tags=dict(params.get("tags") or {}))
            queue = queue.with_attributes(attributes, now)
            self._check_redrive(queue)
            await self.save_queue(queue)
        return {"QueueUrl": queue.url(ctx.host)}

    async def op_GetQueueUrl(self, params: JSON, ctx: RequestContext) -> JSON:
        account = params.get("QueueOwnerAWSAccountId") or ctx.account
        queue = self.queues.get(queue_key(account, ctx.region, params["QueueName"]))
        if queue is None:
            raise errors.queue_does_not_exist()
        return {"QueueUrl": queue.url(ctx.host)}

    async def op_ListQueues(self, params: JSON, ctx: RequestContext) -> JSON:
        prefix: str = params.get("QueueNamePrefix") or ""
        limit, after = _paging(params)
        names = sorted(
            q.name
            for q in self.queues.values()
            if q.account == ctx.account
            and q.region == ctx.region
            and q.name.startswith(prefix)
            and q.name > after
        )
        page = names[: limit or 1000]
        out: JSON = {}
        if page:
            out["QueueUrls"] = [
                self.queues[queue_key(ctx.account, ctx.region, n)].url(ctx.host) for n in page
            ]
        if limit is not None and len(names) > limit:
            out["NextToken"] = base64.urlsafe_b64encode(page[-1].encode()).decode()
        return out

    async def op_DeleteQueue(self, params: JSON, ctx: RequestContext) -> JSON:
        async with self.definitions:
            queue = self.queue_for_url(params["QueueUrl"], ctx)
            await self.store.delete_resource(KIND_QUEUE, queue.key)
            del self.queues[queue.key]
            # The definition goes first: from here the queue does not exist, so no new message can land in it.
            await self.store.delete_queue(queue.store_queue)
            await self._forget_deduplication(queue)
            self._purged_at.pop(queue.key, None)
        return {}

    async def _forget_deduplication(self, queue: Queue) -> None:
        while True:
            entries = await self.store.kv_list(DEDUP_BUCKET, prefix=queue.key + "/", limit=500)
            if not entries:
                return
            batch = self.store.batch()
            for entry in entries:
                batch.kv_delete(DEDUP_BUCKET, entry.key)
            await self.store.commit(batch)

    async def op_PurgeQueue(self, params: JSON, ctx: RequestContext) -> JSON:
        queue = self.queue_for_url(params["QueueUrl"], ctx)
        now = self.clock.now()
        last = self._purged_at.get(queue.key)
        if last is not None and now - last < PURGE_INTERVAL:
            raise errors.purge_in_progress(queue.name)
        self._purged_at[queue.key] = now
        await self.store.purge(queue.store_queue)
        return {}

    # ── attributes ──

    async def op_GetQueueAttributes(self, params: JSON, ctx: RequestContext) -> JSON:
        queue = self.queue_for_url(params["QueueUrl"], ctx)
        wanted = list(params.get("AttributeNames") or [])
        names = ALL_ATTRIBUTES if "All" in wanted else wanted
        out: dict[str, str] = {}
        counts = None
        if any(n in COUNTS for n in names):
            await self.expire(queue)
            counts = await self.store.counts(queue.store_queue)
        for name in names:
            value = self._attribute(queue, name, counts)
            if value is not None:
                out[name] = value
        return {"Attributes": out} if out else {}

    def _attribute(self, queue: Queue, name: str, counts: Any) -> str | None:
        if name in queue.attributes:
            return queue.attributes[name]
        if name == "KmsDataKeyReusePeriodSeconds" and "KmsMasterKeyId" not in queue.attributes:
            return None  # reported only for queues encrypted with a KMS key, as on AWS
        if name in INTEGER_ATTRIBUTES:
            return str(queue.integer(name))
        if name == "QueueArn":
            return queue.arn
        if name == "CreatedTimestamp":
            return str(int(queue.created))
        if name == "LastModifiedTimestamp":
            return str(int(queue.modified))
        if name == "ApproximateNumberOfMessages":
            return str(counts.visible)
        if name == "ApproximateNumberOfMessagesNotVisible":
            return str(counts.in_flight)
        if name == "ApproximateNumberOfMessagesDelayed":
            return str(counts.delayed)
        if name == "SqsManagedSseEnabled":
            return "false" if queue.attributes.get("KmsMasterKeyId") else "true"
        if queue.fifo:
            fifo_defaults = {
                "FifoQueue": "true",
                "ContentBasedDeduplication": "false",
                "DeduplicationScope": "queue",
                "FifoThroughputLimit": "perQueue",
            }
            return fifo_defaults.get(name)
        return None

    async def op_SetQueueAttributes(self, params: JSON, ctx: RequestContext) -> JSON:
        given = {k: str(v) for k, v in (params.get("Attributes") or {}).items()}
        async with self.definitions:
            queue = self.queue_for_url(params["QueueUrl"], ctx)
            changes = normalize_attributes(given, fifo=queue.fifo, creating=False)
            updated = queue.with_attributes(changes, self.clock.now())
            self._check_redrive(updated)
            await self.save_queue(updated)
        return {}

    def _check_redrive(self, queue: Queue) -> None:
        policy = queue.redrive_policy
        if policy is None:
            return
        text = queue.attributes["RedrivePolicy"]
        # A regional SQS sees only its region's queues: a dead-letter queue of another region does not exist.
        target = self.queue_for_arn(policy.dead_letter_target_arn, queue.region)
        if target is None:
            raise errors.invalid_value("RedrivePolicy", text, "Dead letter target does not exist.")
        if target.fifo != queue.fifo:
            raise errors.invalid_value(
                "RedrivePolicy", text, "Dead-letter queue must be same type of queue as the source."
            )
        if not target.redrive_allows(queue.arn):
            raise errors.invalid_value(
                "RedrivePolicy",
                text,
                f"Queue {target.arn} does not allow this queue to use it as a dead-letter queue.",
            )

    async def op_ListDeadLetterSourceQueues(self, params: JSON, ctx: RequestContext) -> JSON:
        target = self.queue_for_url(params["QueueUrl"], ctx)
        limit, after = _paging(params)
        sources = sorted(
            (q for q in self.queues.values() if _dead_letter_target(q) == target.arn and q.name > after),
            key=lambda q: q.name,
        )
        page = sources[: limit or 1000]
        out: JSON = {"queueUrls": [q.url(ctx.host) for q in page]}
        if limit is not None and len(sources) > limit:
            out["NextToken"] = base64.urlsafe_b64encode(page[-1].name.encode()).decode()
        return out

    # ── tags and permissions ──

    async def op_TagQueue(self, params: JSON, ctx: RequestContext) -> JSON:
        async with self.definitions:
            queue = self.queue_for_url(params["QueueUrl"], ctx)
            tags = {**queue.tags, **(params.get("Tags") or {})}
            if len(tags) > 50:
                raise errors.invalid_parameter("Too many tags added for queue " + queue.name + ".")
            await self.save_queue(_replace_tags(queue, tags))
        return {}

    async def op_UntagQueue(self, params: JSON, ctx: RequestContext) -> JSON:
        async with self.definitions:
            queue = self.queue_for_url(params["QueueUrl"], ctx)
            removed = set(params.get("TagKeys") or [])
            await self.save_queue(
                _replace_tags(queue, {k: v for k, v in queue.tags.items() if k not in removed})
            )
        return {}

    async def op_ListQueueTags(self, params: JSON, ctx: RequestContext) -> JSON:
        queue = self.queue_for_url(params["QueueUrl"], ctx)
        return {"Tags": dict(queue.tags)} if queue.tags else {}

    async def op_AddPermission(self, params: JSON, ctx: RequestContext) -> JSON:
        async with self.definitions:
            queue = self.queue_for_url(params["QueueUrl"], ctx)
            policy = _policy(queue)
            label = params["Label"]
            if any(s.get("Sid") == label for s in policy["Statement"]):
                raise errors.invalid_value("Label", label, "Already exists.")
            accounts = params.get("AWSAccountIds") or []
            actions = params.get("Actions") or []
            if not accounts or not actions:
                raise errors.missing_parameter("AWSAccountIds" if not accounts else "Actions")
            policy["Statement"].append(
                {
                    "Sid": label,
                    "Effect": "Allow",
                    "Principal": {"AWS": [f"arn:aws:iam::{a}:root" for a in accounts]},
                    "Action": [f"SQS:{a}" for a in actions],
                    "Resource": queue.arn,
                }
            )
            await self._save_policy(queue, policy)
        return {}

    async def op_RemovePermission(self, params: JSON, ctx: RequestContext) -> JSON:
        async with self.definitions:
            queue = self.queue_for_url(params["QueueUrl"], ctx)
            policy = _policy(queue)
            kept = [s for s in policy["Statement"] if s.get("Sid") != params["Label"]]
            if len(kept) == len(policy["Statement"]):
                raise errors.invalid_value("Label", params["Label"], "can't find label on existing policy.")
            policy["Statement"] = kept
            await self._save_policy(queue, policy if kept else None)
        return {}

    async def _save_policy(self, queue: Queue, policy: JSON | None) -> None:
        text = orjson.dumps(policy).decode() if policy else ""
        await self.save_queue(queue.with_attributes({"Policy": text}, self.clock.now()))


def _paging(params: JSON) -> tuple[int | None, str]:
    """A list call's MaxResults (1 to 1000, or None) and the queue name its NextToken continues after."""
    limit: int | None = params.get("MaxResults")
    if limit is not None and not 1 <= limit <= 1000:
        raise errors.invalid_value("MaxResults", limit, "MaxResults must be an integer between 1 and 1000.")
    after = ""
    if params.get("NextToken"):
        try:
            after = base64.urlsafe_b64decode(params["NextToken"]).decode()
        except ValueError:  # not base64 (binascii.Error) or not UTF-8 (UnicodeDecodeError)
            raise errors.invalid_parameter("Invalid NextToken value.") from None
    return limit, after


def _dead_letter_target(queue: Queue) -> str | None:
    policy = queue.redrive_policy
    return policy.dead_letter_target_arn if policy else None


def _default(attribute: str) -> str:
    if attribute in INTEGER_ATTRIBUTES:
        return str(INTEGER_ATTRIBUTES[attribute][2])
    return {"ContentBasedDeduplication": "false", "FifoQueue": "false"}.get(attribute, "")


def _replace_tags(queue: Queue, tags: dict[str, str]) -> Queue:
    return Queue(
        queue.account, queue.name, queue.region, queue.created, queue.modified, queue.attributes, tags
    )


def _policy(queue: Queue) -> JSON:
    text = queue.attributes.get("Policy")
    if text:
        try:
            policy = orjson.loads(text)
            if isinstance(policy, dict) and isinstance(policy.get("Statement"), list):
                return policy
        except orjson.JSONDecodeError:
            pass
    return {"Version": "2012-10-17", "Id": f"{queue.arn}/SQSDefaultPolicy", "Statement": []}
