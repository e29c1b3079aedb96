"""The PostgreSQL store's tables as numbered migrations, applied on open under an advisory lock.

Several nodes may start at once: the first to take the lock migrates, the others wait for it and then find
nothing left to do. A database migrated by a newer Pipework is refused rather than written with old assumptions.
(These create and change tables; the data migrations every backend shares, `pipework.store.migrations`, run after
them under the same lock.)
"""

from __future__ import annotations

import time
from typing import Any

from pipework.store.errors import SchemaTooNew

# Text that is compared or ordered (names, keys, ids) uses the "C" collation: byte order of UTF-8, which is code
# point order, as the other backends sort. Keys that may contain NUL (kv keys: DynamoDB's range pagination uses
# `key + "\0"`) are bytea, since PostgreSQL text cannot hold NUL. Times are the store clock's epoch seconds.
V1 = """
CREATE SEQUENCE item_seq;
CREATE SEQUENCE kv_revision;

CREATE TABLE resources (
    kind text COLLATE "C" NOT NULL, name text COLLATE "C" NOT NULL, body bytea NOT NULL, version bigint NOT NULL,
    created double precision NOT NULL, updated double precision NOT NULL, PRIMARY KEY (kind, name));

CREATE TABLE log_heads (
    log text COLLATE "C" PRIMARY KEY, last_position bigint NOT NULL, count bigint NOT NULL,
    size_bytes bigint NOT NULL);
CREATE TABLE log_records (
    log text COLLATE "C" NOT NULL, position bigint NOT NULL, time double precision NOT NULL, key text,
    payload bytea NOT NULL, PRIMARY KEY (log, position));
-- read_log_window: a time range in (time, position) order
CREATE INDEX log_records_time ON log_records (log, time, position);

CREATE TABLE items (
    queue text COLLATE "C" NOT NULL, id text COLLATE "C" NOT NULL, seq bigint NOT NULL, payload bytea NOT NULL,
    group_id text COLLATE "C", attributes bytea NOT NULL, enqueued_at double precision NOT NULL,
    due_at double precision NOT NULL, attempts integer NOT NULL, first_leased_at double precision,
    lease_token text, PRIMARY KEY (queue, id));
-- leasing: the earliest due items of a queue are the first entries of this index
CREATE INDEX items_due ON items (queue, due_at, seq);
CREATE INDEX items_seq ON items (queue, seq);
-- FIFO: "has this group an earlier item not yet due?" is one probe of this index
CREATE INDEX items_group ON items (queue, group_id, seq);
CREATE INDEX items_enqueued ON items (queue, enqueued_at);

CREATE TABLE dead_letters (
    queue text COLLATE "C" NOT NULL, id text COLLATE "C" NOT NULL, seq bigint NOT NULL, payload bytea NOT NULL,
    group_id text COLLATE "C", attributes bytea NOT NULL, enqueued_at double precision NOT NULL,
    attempts integer NOT NULL, dead_lettered_at double precision NOT NULL, error bytea NOT NULL,
    PRIMARY KEY (queue, id));
CREATE INDEX dead_letters_seq ON dead_letters (queue, seq);

CREATE TABLE kv (
    bucket text COLLATE "C" NOT NULL, key bytea NOT NULL, value bytea NOT NULL, revision bigint NOT NULL,
    expires_at double precision, PRIMARY KEY (bucket, key));
"""

# Several nodes: named leases with fencing tokens (singleton jobs, node heartbeats). Times are the database's own
# clock (`clock_timestamp()`), so leases do not depend on the nodes' clocks agreeing.
# The work-queue table sees an insert, an update and a delete per delivery: vacuum it after 1 % of its rows
# changed (the default 20 % lets dead tuples pile up between runs on a busy queue) and without cost pauses.
V2 = """
CREATE TABLE leases (
    name text COLLATE "C" PRIMARY KEY, holder text NOT NULL, token bigint NOT NULL,
    expires_at double precision NOT NULL, acquired_at double precision NOT NULL);
ALTER TABLE items SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000,
    autovacuum_analyze_scale_factor = 0.02, autovacuum_vacuum_cost_delay = 0, fillfactor = 90);
ALTER TABLE leases SET (autovacuum_vacuum_scale_factor = 0.0, autovacuum_vacuum_threshold = 500,
    fillfactor = 50);
"""

# (version, SQL), in order. Append new migrations; never edit one that has shipped.
MIGRATIONS: tuple[tuple[int, str], ...] = ((1, V1), (2, V2))
LATEST = MIGRATIONS[-1][0]


async def migrate(conn: Any, schema: str) -> int:
    """Create `schema` if needed and apply the migrations it lacks; returns the schema version now in force.

    `conn` is an asyncpg connection whose search_path is `schema`. The caller holds the store's "migrate" lock
    (`PostgresStore.exclusive`), which serialises concurrent openers of this schema, including `CREATE SCHEMA`,
    which is not safe to race.
    """
    await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    await conn.execute(
        f'CREATE TABLE IF NOT EXISTS "{schema}".migrations '
        "(version integer PRIMARY KEY, applied_at double precision NOT NULL)"
    )
    current = await conn.fetchval(f'SELECT coalesce(max(version), 0) FROM "{schema}".migrations')
    if current > LATEST:
        raise SchemaTooNew(
            f"The PostgreSQL schema {schema!r} is at version {current}, newer than this Pipework knows "
            f"({LATEST}): it was created by a newer version of Pipework. Run this node with that version "
            "(or a later one), or point it at another schema (?schema=NAME in the store URL)."
        )
    for version, sql in MIGRATIONS:
        if version <= current:
            continue
        async with conn.transaction():
            await conn.execute(f'SET LOCAL search_path TO "{schema}"')
            await conn.execute(sql)
            await conn.execute(f'INSERT INTO "{schema}".migrations VALUES ($1, $2)', version, time.time())
        current = version
    return int(current)
