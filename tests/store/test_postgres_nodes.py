"""What only the PostgreSQL store has to get right: several stores ("nodes") on one database at once.

Each test opens two or more `PostgresStore`s on one fresh schema and drives them concurrently: leases never
overlap, compare-and-set holds across nodes, concurrent opens create the tables and migrate the data once, batches
that lock in opposite orders both commit.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import asyncpg
import orjson
import pytest

from pipework.clock import ManualClock
from pipework.store import RevisionConflict, SchemaTooNew, Store, VersionConflict, open_store
from pipework.store.migrations import MIGRATIONS, SCHEMA_BUCKET, SCHEMA_KEY, applied_migrations
from pipework.store.postgres import PostgresStore
from pipework.store.postgres_schema import LATEST
from support.postgres import URL

from .conftest import OpenPostgres

pytestmark = pytest.mark.anyio


async def nodes(postgres: OpenPostgres, clock: ManualClock, count: int = 2) -> list[PostgresStore]:
    return [await postgres(clock) for _ in range(count)]


async def close_all(stores: list[PostgresStore]) -> None:
    for store in stores:
        await store.close()


async def test_two_nodes_never_lease_the_same_item(postgres: OpenPostgres, clock: ManualClock) -> None:
    stores = await nodes(postgres, clock)
    try:
        batch = stores[0].batch()
        for i in range(300):
            batch.enqueue("deliveries", f"d{i:03}", b"")
        await stores[0].commit(batch)

        async def consume(store: PostgresStore) -> list[str]:
            taken: list[str] = []
            while leased := await store.lease("deliveries", max_items=7, visibility_timeout=30):
                taken += [item.id for item in leased]
            return taken

        results = await asyncio.gather(*(consume(store) for store in stores for _ in range(3)))
        leased = Counter(item_id for taken in results for item_id in taken)
        assert sorted(leased) == [f"d{i:03}" for i in range(300)]
        assert [item_id for item_id, times in leased.items() if times > 1] == []
    finally:
        await close_all(stores)


async def test_two_nodes_leasing_a_fifo_queue_never_pass_a_group_head_in_flight(
    postgres: OpenPostgres, clock: ManualClock
) -> None:
    stores = await nodes(postgres, clock)
    try:
        batch = stores[0].batch()
        for n in range(3):
            for group in range(40):
                batch.enqueue("q.fifo", f"g{group}-{n}", b"", group_id=f"g{group}")
        await stores[0].commit(batch)

        async def consume(store: PostgresStore) -> list[str]:
            taken: list[str] = []
            while leased := await store.lease("q.fifo", max_items=1, visibility_timeout=30, fifo=True):
                taken += [item.id for item in leased]
            return taken

        results = await asyncio.gather(*(consume(store) for store in stores for _ in range(3)))
        # Nothing is acked, so only each group's head may ever be leased, and only once.
        assert sorted(item_id for taken in results for item_id in taken) == sorted(
            f"g{group}-0" for group in range(40)
        )
    finally:
        await close_all(stores)


async def test_compare_and_set_holds_across_nodes(postgres: OpenPostgres, clock: ManualClock) -> None:
    stores = await nodes(postgres, clock)
    try:

        async def increment(store: PostgresStore, times: int) -> int:
            conflicts = 0
            for _ in range(times):
                while True:
                    entry = await store.kv_get("counters", "n")
                    value = int(entry.value) if entry else 0
                    try:
                        await store.kv_put(
                            "counters",
                            "n",
                            str(value + 1).encode(),
                            expected_revision=entry.revision if entry else 0,
                        )
                        break
                    except RevisionConflict:
                        conflicts += 1
            return conflicts

        await asyncio.gather(*(increment(store, 15) for store in stores for _ in range(2)))
        entry = await stores[1].kv_get("counters", "n")
        assert entry is not None and entry.value == b"60"  # no increment lost to a concurrent one
    finally:
        await close_all(stores)


async def test_only_one_node_wins_a_create_or_a_versioned_update(
    postgres: OpenPostgres, clock: ManualClock
) -> None:
    stores = await nodes(postgres, clock, 3)
    try:
        created = await asyncio.gather(
            *(
                store.put_resource("rule", "r", {"by": i}, expected_version=0)
                for i, store in enumerate(stores)
            ),
            return_exceptions=True,
        )
        assert sum(not isinstance(outcome, Exception) for outcome in created) == 1
        assert all(isinstance(o, VersionConflict) for o in created if isinstance(o, Exception))
        updated = await asyncio.gather(
            *(
                store.put_resource("rule", "r", {"v": i}, expected_version=1)
                for i, store in enumerate(stores)
            ),
            return_exceptions=True,
        )
        assert sum(not isinstance(outcome, Exception) for outcome in updated) == 1
        resource = await stores[2].get_resource("rule", "r")
        assert resource is not None and resource.version == 2
        leases = await asyncio.gather(
            *(
                store.kv_put("leases", "ticker", str(i).encode(), expected_revision=0)
                for i, store in enumerate(stores)
            ),
            return_exceptions=True,
        )
        assert sum(not isinstance(outcome, Exception) for outcome in leases) == 1
    finally:
        await close_all(stores)


async def test_nodes_starting_together_migrate_the_schema_once(
    postgres: OpenPostgres, clock: ManualClock
) -> None:
    stores = list(await asyncio.gather(*(postgres(clock) for _ in range(4))))
    try:
        schema = stores[0].schema
        conn = await asyncpg.connect(URL)
        try:
            versions = await conn.fetch(f'SELECT version FROM "{schema}".migrations ORDER BY version')
        finally:
            await conn.close()
        assert [row[0] for row in versions] == list(range(1, LATEST + 1))
        await stores[0].append("l", b"x")
        assert (await stores[3].read_log("l"))[0].payload == b"x"
    finally:
        await close_all(stores)


async def test_a_schema_migrated_by_a_newer_pipework_is_refused(
    postgres: OpenPostgres, clock: ManualClock
) -> None:
    store = await postgres(clock)
    await store.close()
    conn = await asyncpg.connect(URL)
    try:
        await conn.execute(f'INSERT INTO "{store.schema}".migrations VALUES ($1, 0)', LATEST + 1)
    finally:
        await conn.close()
    with pytest.raises(SchemaTooNew, match="newer than this Pipework knows"):
        await postgres(clock)


async def test_nodes_opening_a_new_schema_together_migrate_its_data_once(
    postgres_url: str, clock: ManualClock
) -> None:
    # Store migrations compare-and-set one schema record: without the open lock, all but one node would fail.
    await (
        await PostgresStore.open(postgres_url, clock)
    ).close()  # the tables exist: the nodes go straight on
    opened = await asyncio.gather(
        *(open_store(postgres_url, clock) for _ in range(4)), return_exceptions=True
    )
    stores = [store for store in opened if isinstance(store, Store)]
    try:
        assert stores == opened
        for store in stores:
            assert await applied_migrations(store) == [m.id for m in MIGRATIONS]
    finally:
        for store in stores:
            await store.close()


async def test_open_store_refuses_a_schema_whose_data_a_newer_pipework_migrated(
    postgres_url: str, clock: ManualClock
) -> None:
    store = await open_store(postgres_url, clock)
    await store.kv_put(SCHEMA_BUCKET, SCHEMA_KEY, orjson.dumps([m.id for m in MIGRATIONS] + ["9999-future"]))
    await store.close()
    with pytest.raises(SchemaTooNew, match="9999-future"):
        await open_store(postgres_url, clock)


async def test_batches_appending_to_the_same_logs_in_opposite_orders_both_commit(
    postgres: OpenPostgres, clock: ManualClock
) -> None:
    stores = await nodes(postgres, clock)

    async def writer(store: PostgresStore, logs: tuple[str, str], count: int) -> None:
        for i in range(count):
            batch = store.batch()
            batch.append(logs[0], str(i).encode())
            batch.kv_put("progress", logs[0], str(i).encode())
            batch.append(logs[1], str(i).encode())
            await store.commit(batch)

    try:
        await asyncio.gather(
            *(writer(store, logs, 20) for store in stores for logs in (("a", "b"), ("b", "a")))
        )
        # A deadlock would be broken by PostgreSQL (after deadlock_timeout) and the batch run again: locking the
        # log heads in name order avoids it, so no transaction was ever retried.
        assert [store.retried_transactions for store in stores] == [0] * len(stores)
        for log in ("a", "b"):
            assert [r.position for r in await stores[0].read_log(log, limit=100)] == list(range(1, 81))
    finally:
        await close_all(stores)


async def test_a_lease_by_one_node_is_acked_or_retried_by_another(
    postgres: OpenPostgres, clock: ManualClock
) -> None:
    first, second = await nodes(postgres, clock)
    try:
        await first.enqueue("q", "a", b"payload")
        (item,) = await first.lease("q", visibility_timeout=30)
        assert await second.lease("q", visibility_timeout=30) == []
        await second.retry("q", "a", item.lease_token or "", due_at=clock.now() + 5)
        clock.advance(5)
        (again,) = await second.lease("q", visibility_timeout=30)
        assert again.attempts == 2 and again.payload == b"payload"
        await first.ack("q", "a", again.lease_token or "")
        assert await second.get_item("q", "a") is None
    finally:
        await close_all([first, second])


# ── several nodes: notifications, named leases, fencing ──


async def test_a_commit_on_one_node_wakes_a_waiter_and_tells_the_watchers_of_another(
    postgres: OpenPostgres, clock: ManualClock
) -> None:
    first, second = await nodes(postgres, clock)
    try:
        seen: list[frozenset[str] | None] = []
        changed = asyncio.Event()

        def watch(keys: frozenset[str] | None) -> None:
            seen.append(keys)
            changed.set()

        second.watch(watch)
        waiting = asyncio.ensure_future(second.wait_for_due("work", timeout=3600))
        await asyncio.sleep(0.1)
        batch = first.batch()
        batch.enqueue("work", "w1", b"x")
        batch.put_resource("sqs/queue", "000000000000/us-east-1/q", {"a": 1})
        await first.commit(batch)
        assert await asyncio.wait_for(waiting, 10) is True  # woken, long before its hour
        await asyncio.wait_for(changed.wait(), 10)
        assert (
            seen[0] is not None and {"queue:work", "resource:sqs/queue:000000000000/us-east-1/q"} <= seen[0]
        )
    finally:
        await close_all([first, second])


async def test_a_lease_is_held_by_one_node_until_it_runs_out_and_its_token_grows_on_a_change_of_hands(
    postgres: OpenPostgres, clock: ManualClock
) -> None:
    first, second = await nodes(postgres, clock)
    try:
        taken = await first.acquire_lease("job", "a", 0.5)
        assert taken is not None and taken.holder == "a"
        assert await second.acquire_lease("job", "b", 0.5) is None
        renewed = await first.acquire_lease("job", "a", 0.5)
        assert renewed is not None and renewed.token == taken.token
        await asyncio.sleep(0.6)  # run out (the database's clock)
        moved = await second.acquire_lease("job", "b", 30)
        assert moved is not None and moved.holder == "b" and moved.token == taken.token + 1
        assert [lease.holder for lease in await first.list_leases()] == ["b"]
        await second.release_lease("job", "b")
        assert await first.list_leases() == []
        back = await first.acquire_lease("job", "a", 30)
        assert back is not None and back.token == moved.token + 1
    finally:
        await close_all([first, second])


async def test_a_commit_under_a_lost_lease_is_refused(postgres: OpenPostgres, clock: ManualClock) -> None:
    from pipework.store import LeaseLost
    from pipework.store.base import FENCE

    first, second = await nodes(postgres, clock)
    try:
        lease = await first.acquire_lease("job", "a", 0.3)
        assert lease is not None
        FENCE.set(("job", "a", lease.token))
        await first.put_resource("k/x", "under-the-lease", {})  # current token: accepted
        await asyncio.sleep(0.4)
        assert await second.acquire_lease("job", "b", 30) is not None  # another node took it over
        with pytest.raises(LeaseLost):
            await first.put_resource("k/x", "too-late", {})
        FENCE.set(None)
        assert await first.get_resource("k/x", "too-late") is None
        assert await first.get_resource("k/x", "under-the-lease") is not None
    finally:
        FENCE.set(None)
        await close_all([first, second])


async def test_maintenance_vacuums_a_churned_work_queue(postgres: OpenPostgres, clock: ManualClock) -> None:
    (store,) = await nodes(postgres, clock, 1)
    try:
        for round_ in range(3):  # enqueue and ack: dead rows pile up in `items`
            batch = store.batch()
            for i in range(1000):
                batch.enqueue("churn", f"{round_}-{i}", b"x")
            await store.commit(batch)
            for item in await store.lease("churn", max_items=1000, visibility_timeout=30):
                assert item.lease_token is not None
                await store.ack("churn", item.id, item.lease_token)
        for _ in range(100):  # the statistics reach pg_stat_user_tables asynchronously (about once a second)
            if "items" in await store.maintain():
                break
            await asyncio.sleep(0.2)
        else:
            raise AssertionError("items was never vacuumed")
        assert await store.maintain() == []  # nothing left to do
    finally:
        await store.close()
