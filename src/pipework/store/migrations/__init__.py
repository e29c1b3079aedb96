"""Store migrations: move data written by older Pipework versions to the current namespaces when a store opens.

Each migration has an id (``NNNN-what``), is applied at most once, and is committed in one batch together with
the list of applied ids (kv ``pipework/schema``, key ``migrations``), so a crash leaves it either done and recorded
or not started. A store that records an id this version does not know was written by a newer Pipework and is
refused (`SchemaTooNew`) before anything is changed. Migrations restate the old and new layouts as plain strings
and never import service code: a service's layout may change again later, a migration's input never does.

Adding one: write a module here with a ``MIGRATION = Migration(...)`` whose `plan` reads the old namespaces and
adds writes (usually renames) to the batch, append it to `MIGRATIONS`, and test it on data in the old layout.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import orjson

from pipework.store.base import Batch, Store
from pipework.store.errors import SchemaTooNew

from . import dynamodb_regions, events_regions, pipes_regions, scheduler_regions, sqs_regions

log = logging.getLogger(__name__)

SCHEMA_BUCKET = "pipework/schema"
SCHEMA_KEY = "migrations"  # value: JSON list of the applied migration ids, in the order applied


@dataclass(frozen=True)
class Defaults:
    """What data written before records carried an account and a region belongs to: the server's `--region` and
    `--account`."""

    region: str
    account: str


Plan = Callable[[Store, Batch, Defaults], Awaitable[None]]


@dataclass(frozen=True)
class Migration:
    """One migration: `id` (``NNNN-what``, never reused), a one-line `summary` for the log, and `plan`, which
    reads the store and adds the writes that migrate it to the batch (committed with the schema record)."""

    id: str
    summary: str
    plan: Plan


MIGRATIONS: tuple[Migration, ...] = (
    Migration(sqs_regions.ID, sqs_regions.SUMMARY, sqs_regions.plan),
    Migration(dynamodb_regions.ID, dynamodb_regions.SUMMARY, dynamodb_regions.plan),
    Migration(events_regions.ID, events_regions.SUMMARY, events_regions.plan),
    Migration(pipes_regions.ID, pipes_regions.SUMMARY, pipes_regions.plan),
    Migration(scheduler_regions.ID, scheduler_regions.SUMMARY, scheduler_regions.plan),
)


async def applied_migrations(store: Store) -> list[str]:
    """The ids of the migrations recorded in `store`, in the order they were applied."""
    entry = await store.kv_get(SCHEMA_BUCKET, SCHEMA_KEY)
    return list(orjson.loads(entry.value)) if entry is not None else []


async def migrate(
    store: Store,
    defaults: Defaults,
    migrations: Sequence[Migration] = MIGRATIONS,
    *,
    where: str = "This store",
) -> list[str]:
    """Apply the migrations `store` has not had yet, each in one commit; return their ids.

    Raises `SchemaTooNew` (changing nothing) if the store records a migration not in `migrations`; `where` names
    the store in that message (e.g. the data directory)."""
    entry = await store.kv_get(SCHEMA_BUCKET, SCHEMA_KEY)
    applied: list[str] = list(orjson.loads(entry.value)) if entry is not None else []
    revision = entry.revision if entry is not None else 0
    known = {m.id for m in migrations}
    unknown = [i for i in applied if i not in known]
    if unknown:
        raise SchemaTooNew(
            f"{where} was written by a newer version of Pipework: it records store migrations this version "
            f"does not know ({', '.join(unknown)}). Run it with that newer version (or a later one), or start "
            "this version on another data directory (--data DIR, or --memory)."
        )
    done: list[str] = []
    for migration in migrations:
        if migration.id in applied:
            continue
        batch = store.batch()
        await migration.plan(store, batch, defaults)
        applied = [*applied, migration.id]
        changes = len(batch)
        # Compare-and-set on the schema record: a second process migrating the same store at once fails here.
        batch.kv_put(SCHEMA_BUCKET, SCHEMA_KEY, orjson.dumps(applied), expected_revision=revision)
        result = await store.commit(batch)
        revision = result.results[-1].revision
        if changes:
            log.info("store migration %s applied (%s; %d changes)", migration.id, migration.summary, changes)
        done.append(migration.id)
    return done
