"""0001: SQS data under the namespace convention, each queue in its region.

Before (up to 0.1.0), SQS kept one namespace per account, whatever the region:
- resources ``sqs.queue`` named ``<account>/<queue>`` (the body records the region the queue was created in);
- work queues ``sqs/<account>/<queue>`` holding each queue's messages;
- resources ``sqs.move-task`` named ``<account>/<source queue>/<task id>`` (the body has the source queue's ARN);
- kv ``sqs.dedup`` keyed ``<account>/<queue>/<scope><deduplication id>`` (FIFO deduplication, 5-minute TTL).
After: ``sqs/queue`` named ``<account>/<region>/<queue>``, work queues ``sqs/message/<account>/<region>/<queue>``,
``sqs/move-task`` named ``<account>/<region>/<source queue>/<task id>``, ``sqs/dedup`` keyed
``<account>/<region>/<queue>/<scope><id>``. A queue goes to the region its body records, which is the region its
ARN has always carried (so redrive policies, rule targets and pipe sources naming that ARN still find it); data
without one goes to the server's default region. Messages, leases and receipt handles are kept as they are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipework.store.base import Batch, Store

if TYPE_CHECKING:
    from . import Defaults

ID = "0001-sqs-regions"
SUMMARY = "SQS queues, messages, move tasks and deduplication ids keyed by account and region"

OLD_QUEUE, NEW_QUEUE = "sqs.queue", "sqs/queue"
OLD_MOVE_TASK, NEW_MOVE_TASK = "sqs.move-task", "sqs/move-task"
OLD_DEDUP, NEW_DEDUP = "sqs.dedup", "sqs/dedup"
OLD_MESSAGES, NEW_MESSAGES = "sqs/", "sqs/message/"
PAGE = 1000


async def plan(store: Store, batch: Batch, defaults: Defaults) -> None:
    regions: dict[str, str] = {}  # old key "<account>/<queue>" -> the queue's region
    token: str | None = None
    while True:
        page = await store.list_resources(OLD_QUEUE, limit=PAGE, next_token=token)
        for resource in page.items:
            region = resource.body.get("region") or defaults.region
            regions[resource.name] = region
            account, _, name = resource.name.partition("/")
            new_key = f"{account}/{region}/{name}"
            batch.rename_resource(OLD_QUEUE, resource.name, NEW_QUEUE, new_key)
            batch.rename_queue(OLD_MESSAGES + resource.name, NEW_MESSAGES + new_key)
        token = page.next_token
        if token is None:
            break

    while True:
        page = await store.list_resources(OLD_MOVE_TASK, limit=PAGE, next_token=token)
        for resource in page.items:
            parts = resource.name.split("/", 2)
            if len(parts) != 3:
                continue  # not written by Pipework; left where it is
            account, queue, task_id = parts
            region = regions.get(f"{account}/{queue}") or _arn_region(
                resource.body.get("sourceArn"), defaults
            )
            batch.rename_resource(
                OLD_MOVE_TASK, resource.name, NEW_MOVE_TASK, f"{account}/{region}/{queue}/{task_id}"
            )
        token = page.next_token
        if token is None:
            break

    after = ""
    while entries := await store.kv_list(OLD_DEDUP, start=after, limit=PAGE):
        for entry in entries:
            parts = entry.key.split("/", 2)
            if len(parts) != 3:
                continue  # not written by Pipework; expires where it is
            account, queue, rest = parts
            region = regions.get(f"{account}/{queue}", defaults.region)
            batch.kv_rename(OLD_DEDUP, entry.key, NEW_DEDUP, f"{account}/{region}/{queue}/{rest}")
        after = entries[-1].key + "\0"


def _arn_region(arn: object, defaults: Defaults) -> str:
    parts = arn.split(":") if isinstance(arn, str) else []
    return parts[3] if len(parts) == 6 and parts[3] else defaults.region
