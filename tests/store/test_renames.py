"""Renames (what store migrations use): the data keeps everything but its name, on both backends."""

from __future__ import annotations

import pytest

from pipework.clock import ManualClock
from pipework.store import Conflict, RevisionConflict, StaleLease, Store, VersionConflict

pytestmark = pytest.mark.anyio


async def one(store: Store, write: str, *args: object) -> object:
    """Commit a batch of the one `Batch` write named `write`; its result."""
    batch = store.batch()
    getattr(batch, write)(*args)
    return (await store.commit(batch)).results[0]


async def test_a_renamed_resource_keeps_its_body_version_and_times(store: Store, clock: ManualClock) -> None:
    await store.put_resource("old.kind", "a/q", {"x": 1})
    clock.advance(5)
    before = await store.put_resource("old.kind", "a/q", {"x": 2})
    clock.advance(5)
    batch = store.batch()
    batch.rename_resource("old.kind", "a/q", "new/kind", "a/r/q")
    batch.rename_resource("old.kind", "absent", "new/kind", "a/r/absent")
    assert (await store.commit(batch)).results == (True, False)
    after = await store.get_resource("new/kind", "a/r/q")
    assert after is not None
    assert (after.body, after.version, after.created, after.updated) == (
        {"x": 2},
        2,
        before.created,
        before.updated,
    )
    assert await store.get_resource("old.kind", "a/q") is None
    assert [r.name for r in (await store.list_resources("new/kind")).items] == ["a/r/q"]


async def test_a_resource_is_not_renamed_over_another(store: Store) -> None:
    await store.put_resource("k", "a", {"v": "a"})
    await store.put_resource("k", "b", {"v": "b"})
    batch = store.batch()
    batch.rename_resource("k", "a", "k", "b")
    with pytest.raises(VersionConflict):
        await store.commit(batch)
    assert [(r.name, r.body) for r in (await store.list_resources("k")).items] == [
        ("a", {"v": "a"}),
        ("b", {"v": "b"}),
    ]


async def test_a_renamed_queue_keeps_order_due_times_attempts_leases_and_dead_letters(
    store: Store, clock: ManualClock
) -> None:
    await store.enqueue("old", "1", b"one")
    await store.enqueue("old", "2", b"two", due_at=clock.now() + 60, group_id="g", attributes={"a": 1})
    await store.enqueue("old", "3", b"three")
    leased = await store.lease("old", visibility_timeout=30)
    await store.enqueue("old", "4", b"four")
    await store.lease("old", max_items=1, visibility_timeout=0)  # item 3: attempts 1, not in flight
    await store.dead_letter("old", "4", error={"ERROR_CODE": "x"})
    items_before = await store.peek("old")
    assert await one(store, "rename_queue", "old", "new") == 4
    items_after = await store.peek("new")
    assert [
        (i.id, i.seq, i.payload, i.group_id, i.attributes, i.due_at, i.attempts) for i in items_after
    ] == [(i.id, i.seq, i.payload, i.group_id, i.attributes, i.due_at, i.attempts) for i in items_before]
    assert [i.in_flight for i in items_after] == [True, False, False]
    assert [(d.id, d.error) for d in await store.list_dead_letters("new")] == [("4", {"ERROR_CODE": "x"})]
    assert await store.peek("old") == [] and await store.list_dead_letters("old") == []
    await store.ack("new", "1", leased[0].lease_token or "")  # a lease taken before the rename still acks
    with pytest.raises(StaleLease):
        await store.ack("new", "3", "not-the-token")
    assert (await store.counts("new")).dead_letters == 1


async def test_a_queue_is_not_renamed_onto_one_with_items(store: Store) -> None:
    await store.enqueue("a", "1", b"a")
    await store.enqueue("b", "2", b"b")
    with pytest.raises(Conflict):
        await one(store, "rename_queue", "a", "b")
    assert [i.id for i in await store.peek("a")] == ["1"]
    assert await one(store, "rename_queue", "absent", "c") == 0


async def test_a_renamed_queue_leases_its_items_when_they_are_due(store: Store, clock: ManualClock) -> None:
    await store.enqueue("old", "1", b"x", due_at=clock.now() + 3600)
    await one(store, "rename_queue", "old", "new")
    assert not await store.wait_for_due("new", timeout=0)
    clock.advance(3600)
    assert [i.id for i in await store.lease("new", visibility_timeout=30)] == ["1"]


async def test_a_renamed_log_keeps_positions_times_and_its_last_position(
    store: Store, clock: ManualClock
) -> None:
    for i in range(3):
        await store.append("old", f"r{i}".encode(), key=f"k{i}")
        clock.advance(1)
    await store.trim_log("old", before=clock.now() - 2.5)  # r0 goes; positions 2, 3 stay, last stays 3
    before = await store.read_log("old")
    assert await one(store, "rename_log", "old", "new") == 2
    after = await store.read_log("new")
    assert [(r.position, r.time, r.key, r.payload) for r in after] == [
        (r.position, r.time, r.key, r.payload) for r in before
    ]
    assert all(r.log == "new" for r in after)
    assert (await store.log_stats("new")).last_position == 3
    assert await store.read_log("old") == [] and (await store.log_stats("old")).last_position == 0
    assert (await store.append("new", b"next")) == 4


async def test_a_log_is_not_renamed_onto_an_existing_one(store: Store) -> None:
    await store.append("a", b"a")
    await store.append("b", b"b")
    with pytest.raises(Conflict):
        await one(store, "rename_log", "a", "b")
    assert [r.payload for r in await store.read_log("a")] == [b"a"]


async def test_a_renamed_kv_entry_keeps_value_revision_and_expiry(store: Store, clock: ManualClock) -> None:
    entry = await store.kv_put("old", "a/q/id", b"v", ttl=300)
    await store.kv_put("old", "a/q/gone", b"v", ttl=1)
    clock.advance(10)
    batch = store.batch()
    batch.kv_rename("old", "a/q/id", "new", "a/r/q/id")
    batch.kv_rename("old", "a/q/gone", "new", "a/r/q/gone")  # expired: nothing to rename
    assert (await store.commit(batch)).results == (True, False)
    moved = await store.kv_get("new", "a/r/q/id")
    assert moved is not None
    assert (moved.value, moved.revision, moved.expires_at) == (b"v", entry.revision, entry.expires_at)
    assert await store.kv_get("old", "a/q/id") is None
    clock.advance(290)
    assert await store.kv_get("new", "a/r/q/id") is None  # expires when it would have


async def test_a_kv_entry_is_not_renamed_over_a_live_one_and_the_batch_is_undone(store: Store) -> None:
    await store.kv_put("b", "x", b"x")
    await store.kv_put("b", "y", b"y")
    await store.put_resource("k", "r", {})
    batch = store.batch()
    batch.rename_resource("k", "r", "k2", "r")
    batch.kv_rename("b", "x", "b", "y")
    with pytest.raises(RevisionConflict):
        await store.commit(batch)
    assert await store.get_resource("k", "r") is not None and await store.get_resource("k2", "r") is None
    assert [(e.key, e.value) for e in await store.kv_list("b")] == [("x", b"x"), ("y", b"y")]


async def test_a_renamed_bucket_keeps_every_entry_as_it_was(store: Store, clock: ManualClock) -> None:
    kept = await store.kv_put("dynamodb-items/t1", "a", b"1")
    expiring = await store.kv_put("dynamodb-items/t1", "b", b"2", ttl=60)
    await store.kv_put("dynamodb-items/t2", "c", b"3")
    assert await one(store, "rename_bucket", "dynamodb-items/t1", "dynamodb/item/t1") == 2
    assert await store.kv_list("dynamodb/item/t1") == [
        type(kept)("dynamodb/item/t1", "a", b"1", kept.revision, None),
        type(kept)("dynamodb/item/t1", "b", b"2", expiring.revision, expiring.expires_at),
    ]
    assert await store.kv_stats("dynamodb/item/t1") == (2, 2)
    assert await store.kv_list("dynamodb-items/t1") == []
    assert [e.key for e in await store.kv_list("dynamodb-items/t2")] == ["c"]
    with pytest.raises(Conflict):
        await one(store, "rename_bucket", "dynamodb-items/t2", "dynamodb/item/t1")
    assert await one(store, "rename_bucket", "absent", "dynamodb/item/t3") == 0
