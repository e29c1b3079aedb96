"""0005: Scheduler data under the namespace convention, each group and schedule in its account and region.

Before, the Scheduler kept one namespace for every account and region:
- resources ``scheduler/group`` named ``<group>`` and ``scheduler/schedule`` named ``<group>/<schedule>`` (their
  ``Arn`` was built from the server's region);
- the shared work queue ``scheduler/ticks``: one item per enabled schedule, id ``<group>/<schedule>#<generation>``,
  payload ``{"key": "<group>/<schedule>", "generation": n}``, due shortly before the occurrence in its
  attributes' ``at``;
- kv ``scheduler/client-tokens`` keyed ``<token>`` (the client tokens of deletions, 8 hours).
After: groups ``<account>/<region>/<group>``, schedules ``<account>/<region>/<group>/<schedule>``, tick ids and
payloads naming that key, tokens ``<account>/<region>/<token>`` (values unchanged: they name what was deleted
within the token's region).

Groups and schedules go to the account and region their ARNs name. An item's id cannot be renamed, so each tick is
enqueued anew under its new id with the same due time and attributes, and the old one removed, in the same commit:
every schedule still fires once at its next occurrence. Invocations already enqueued (``scheduler/invocations``)
stay as they are: their payload has the schedule's ARN, by which the current code finds the schedule. A token's
schedule is gone, so its region is unknown: tokens go to the server's default account and region.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from pipework.store.base import Batch, Store

from .listing import named_bodies

if TYPE_CHECKING:
    from . import Defaults

ID = "0005-scheduler-regions"
SUMMARY = "Scheduler groups, schedules, their ticks and client tokens keyed by account and region"

GROUP, SCHEDULE = "scheduler/group", "scheduler/schedule"
TICKS = "scheduler/ticks"
TOKENS = "scheduler/client-tokens"
PAGE = 1000


async def plan(store: Store, batch: Batch, defaults: Defaults) -> None:
    for name, body in await named_bodies(store, GROUP):
        if "/" not in name:
            account, region = _owner(body.get("Arn"), defaults)
            batch.rename_resource(GROUP, name, GROUP, f"{account}/{region}/{name}")

    new_keys: dict[str, str] = {}  # old schedule key "<group>/<name>" -> new key
    for name, body in await named_bodies(store, SCHEDULE):
        if name.count("/") != 1:
            continue  # already keyed by account and region
        account, region = _owner(body.get("Arn"), defaults)
        new_keys[name] = f"{account}/{region}/{name}"
        batch.rename_resource(SCHEDULE, name, SCHEDULE, new_keys[name])

    after = 0
    while items := await store.peek(TICKS, after_seq=after, limit=PAGE):
        for item in items:
            tick = orjson.loads(item.payload)
            old = tick.get("key") if isinstance(tick, dict) else None
            if not isinstance(old, str) or old.count("/") != 1:
                continue  # already keyed by account and region (or not a tick Pipework wrote)
            # A tick without its schedule (deleted meanwhile) is acked when due, wherever it goes.
            key = new_keys.get(old, f"{defaults.account}/{defaults.region}/{old}")
            batch.enqueue(
                TICKS,
                f"{key}#{tick.get('generation')}",
                orjson.dumps({**tick, "key": key}),
                due_at=item.due_at,
                group_id=item.group_id,
                attributes=item.attributes,
            )
            # The store has no plain delete: dead-letter the old tick and drop the dead letter.
            batch.dead_letter(TICKS, item.id)
            batch.delete_dead_letters(TICKS, [item.id])
        after = items[-1].seq

    start = ""
    while entries := await store.kv_list(TOKENS, start=start, limit=PAGE):
        for entry in entries:
            if "/" not in entry.key:
                new_key = f"{defaults.account}/{defaults.region}/{entry.key}"
                batch.kv_rename(TOKENS, entry.key, TOKENS, new_key)
        start = entries[-1].key + "\0"


def _owner(arn: object, defaults: Defaults) -> tuple[str, str]:
    """(account, region) of a Scheduler ARN (``arn:aws:scheduler:<region>:<account>:...``), else the defaults."""
    parts = arn.split(":", 5) if isinstance(arn, str) else []
    if len(parts) == 6 and parts[3] and parts[4]:
        return parts[4], parts[3]
    return defaults.account, defaults.region
