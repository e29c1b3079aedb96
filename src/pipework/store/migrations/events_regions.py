"""0003: EventBridge data under the namespace convention, each resource in its account and region.

Before, EventBridge kept one namespace for every account and region, and built every ARN from the server's
``--region`` (so each ARN names the region the server had when the resource was created):
- resources ``events/bus``, ``events/archive``, ``events/replay``, ``events/connection``,
  ``events/api-destination`` named by the resource's name, and ``events/rule`` named ``<bus>|<rule>``;
- logs ``events/archive/<archive>`` holding each archive's events;
- items of the work queue ``events/rule-ticks`` (scheduled rules) whose payload names the bus and the rule only.
After: the same kinds named ``<account>/<region>/<name>`` (a rule ``<account>/<region>/<bus>/<rule>``, a ``/`` in a
name part written ``%2F``, a ``%`` as ``%25``), logs ``events/archive/<account>/<region>/<archive>``, and tick
payloads that name the rule's account and region too (a tick is put back with the same due time and attributes).

A resource goes to the account and region of its ARN, so targets, archives and replays naming that ARN still find
it; data without one goes to the server's default account and region. A rule goes where its ARN points even if its
bus went elsewhere (a ``default`` bus is created in each region when it is first used). Deliveries and dead letters
in ``events/deliveries`` are left as they are: a payload that names no account and region is read as its rule
ARN's. Archived events (their positions, so replays' cursors) are kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from pipework.store.base import Batch, Store

from .listing import named_bodies

if TYPE_CHECKING:
    from . import Defaults

ID = "0003-events-regions"
SUMMARY = (
    "EventBridge buses, rules, archives and their events, replays, connections, API destinations and "
    "scheduled-rule ticks keyed by account and region"
)

BUS, RULE, ARCHIVE = "events/bus", "events/rule", "events/archive"
NAMED = (  # kind, the body member holding the resource's ARN
    (BUS, "Arn"),
    (ARCHIVE, "ArchiveArn"),
    ("events/replay", "ReplayArn"),
    ("events/connection", "ConnectionArn"),
    ("events/api-destination", "ApiDestinationArn"),
)
ARCHIVE_LOG = "events/archive/"
RULE_TICKS = "events/rule-ticks"
PAGE = 1000


async def plan(store: Store, batch: Batch, defaults: Defaults) -> None:
    for kind, arn_member in NAMED:
        for old_name, body in await named_bodies(store, kind):
            account, region = _owner(body.get(arn_member), defaults)
            new_name = _key(account, region, old_name)
            batch.rename_resource(kind, old_name, kind, new_name)
            if kind == ARCHIVE:
                batch.rename_log(ARCHIVE_LOG + old_name, ARCHIVE_LOG + new_name)

    owners: dict[tuple[str, str], tuple[str, str]] = {}  # (bus, rule) -> (account, region) of the rule's ARN
    for old_name, body in await named_bodies(store, RULE):
        bus, separator, rule = old_name.partition("|")
        if not separator:
            continue  # not written by Pipework; left where it is
        account, region = owners[(bus, rule)] = _owner(body.get("Arn"), defaults)
        batch.rename_resource(RULE, old_name, RULE, _key(account, region, bus, rule))

    after = 0
    while items := await store.peek(RULE_TICKS, after_seq=after, limit=PAGE):
        for item in items:
            tick = orjson.loads(item.payload)
            if "region" in tick or "bus" not in tick or "rule" not in tick:
                continue
            account, region = owners.get((tick["bus"], tick["rule"]), (defaults.account, defaults.region))
            # Queue items cannot be rewritten in place: the tick is replaced, due when it was. The store has no
            # plain delete: the old one is dead-lettered and its dead letter dropped in the same batch.
            batch.dead_letter(RULE_TICKS, item.id)
            batch.delete_dead_letters(RULE_TICKS, [item.id])
            batch.enqueue(
                RULE_TICKS,
                f"{item.id}-{region}",
                orjson.dumps({**tick, "account": account, "region": region}),
                due_at=item.due_at,
                attributes=item.attributes,
            )
        after = items[-1].seq


def _owner(arn: object, defaults: Defaults) -> tuple[str, str]:
    """(account, region) of an ARN ``arn:<partition>:events:<region>:<account>:...``, else the defaults."""
    parts = arn.split(":", 5) if isinstance(arn, str) else []
    if len(parts) == 6 and parts[3] and parts[4]:
        return parts[4], parts[3]
    return defaults.account, defaults.region


def _key(account: str, region: str, *names: str) -> str:
    return "/".join((account, region, *(n.replace("%", "%25").replace("/", "%2F") for n in names)))
