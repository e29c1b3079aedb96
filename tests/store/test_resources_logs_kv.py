"""Resources, logs and kv against both backends."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pipework.clock import ManualClock
from pipework.store import LogStats, RevisionConflict, Store, VersionConflict

pytestmark = pytest.mark.anyio


# ── resources ──


async def test_put_resource_creates_then_replaces_with_growing_versions(
    store: Store, clock: ManualClock
) -> None:
    created = await store.put_resource("rule", "r1", {"State": "ENABLED"})
    clock.advance(5)
    replaced = await store.put_resource("rule", "r1", {"State": "DISABLED"})
    assert (created.version, replaced.version) == (1, 2)
    assert replaced.created == created.created and replaced.updated == created.updated + 5
    fetched = await store.get_resource("rule", "r1")
    assert fetched == replaced
    assert await store.get_resource("rule", "missing") is None
    assert await store.get_resource("bus", "r1") is None


@pytest.mark.parametrize(
    ("existing", "expected_version", "succeeds"),
    [
        (False, 0, True),  # create-only on absent
        (True, 0, False),  # create-only on present
        (True, 1, True),  # matching version
        (True, 2, False),  # stale version
        (False, 1, False),  # expecting a version of something absent
        (True, None, True),  # unconditional
    ],
)
async def test_put_resource_expected_version(
    store: Store, existing: bool, expected_version: int | None, succeeds: bool
) -> None:
    if existing:
        await store.put_resource("queue", "q", {"n": 1})
    if succeeds:
        await store.put_resource("queue", "q", {"n": 2}, expected_version=expected_version)
        resource = await store.get_resource("queue", "q")
        assert resource is not None and resource.body == {"n": 2}
    else:
        with pytest.raises(VersionConflict):
            await store.put_resource("queue", "q", {"n": 2}, expected_version=expected_version)


async def test_delete_resource_honours_expected_version(store: Store) -> None:
    await store.put_resource("bus", "b", {})
    with pytest.raises(VersionConflict):
        await store.delete_resource("bus", "b", expected_version=7)
    assert await store.delete_resource("bus", "b", expected_version=1) is True
    assert await store.delete_resource("bus", "b") is False
    assert await store.get_resource("bus", "b") is None


async def test_list_resources_filters_by_kind_and_prefix_and_paginates_in_name_order(store: Store) -> None:
    for name in ["orders-3", "orders-1", "payments", "orders-2", "orders-4"]:
        await store.put_resource("rule", name, {"name": name})
    await store.put_resource("bus", "orders-9", {})
    page = await store.list_resources("rule", prefix="orders-", limit=3)
    assert [r.name for r in page.items] == ["orders-1", "orders-2", "orders-3"]
    assert page.next_token is not None
    rest = await store.list_resources("rule", prefix="orders-", limit=3, next_token=page.next_token)
    assert [r.name for r in rest.items] == ["orders-4"] and rest.next_token is None
    exact = await store.list_resources("rule", limit=5)
    assert len(exact.items) == 5 and exact.next_token is None


async def test_resource_body_is_a_copy_not_shared_state(store: Store) -> None:
    body = {"Targets": [{"Id": "t"}]}
    await store.put_resource("rule", "r", body)
    body["Targets"].append({"Id": "u"})
    fetched = await store.get_resource("rule", "r")
    assert fetched is not None and fetched.body == {"Targets": [{"Id": "t"}]}


# ── logs ──


async def test_append_assigns_increasing_positions_per_log_and_reads_after_a_position(store: Store) -> None:
    positions = [await store.append("bus/default", f"e{i}".encode(), key="k") for i in range(5)]
    other = await store.append("bus/other", b"x")
    assert positions == [1, 2, 3, 4, 5] and other == 1
    records = await store.read_log("bus/default", after=2, limit=2)
    assert [(r.position, r.payload, r.key) for r in records] == [(3, b"e2", "k"), (4, b"e3", "k")]
    assert await store.read_log("nope") == []


async def test_read_log_window_is_half_open_and_pages_by_time_then_position(
    store: Store, clock: ManualClock
) -> None:
    start = clock.now()
    for i in range(6):
        await store.append("archive", str(i).encode(), time=start + i * 10)
    window = await store.read_log_window("archive", start + 10, start + 40)
    assert [r.payload for r in window] == [b"1", b"2", b"3"]
    # appended out of time order, and two records sharing a time: read oldest time first, then by position
    await store.append("archive", b"late", time=start + 15)
    await store.append("archive", b"twin", time=start + 20)
    first = await store.read_log_window("archive", start, start + 60, limit=4)
    cursor = (first[-1].time, first[-1].position)
    second = await store.read_log_window("archive", start, start + 60, after=cursor, limit=4)
    assert [r.payload for r in first + second] == [b"0", b"1", b"late", b"2", b"twin", b"3", b"4", b"5"]


async def test_trim_log_deletes_by_age_keeps_positions_and_updates_stats(
    store: Store, clock: ManualClock
) -> None:
    t0 = clock.now()
    for i in range(4):
        await store.append("stream", b"x" * (i + 1), time=t0 + i)
    assert await store.log_stats("stream") == LogStats(
        count=4, size_bytes=10, first_position=1, last_position=4
    )
    assert await store.trim_log("stream", before=t0 + 2) == 2
    assert await store.log_stats("stream") == LogStats(
        count=2, size_bytes=7, first_position=3, last_position=4
    )
    assert await store.append("stream", b"y") == 5  # positions are never reused after a trim
    assert await store.log_stats("missing") == LogStats(0, 0, 0, 0)


async def test_delete_log_removes_records_and_restarts_positions(store: Store) -> None:
    await store.append("l", b"a")
    await store.append("l", b"b")
    assert await store.delete_log("l") == 2
    assert await store.read_log("l") == []
    assert await store.append("l", b"c") == 1


async def test_wait_for_log_wakes_on_append_without_polling(
    store: Store, clock: ManualClock, until: Any
) -> None:
    waiter = asyncio.create_task(store.wait_for_log("l", after=0, timeout=60))
    await until(lambda: clock.sleepers == 1)
    await store.append("l", b"new")
    assert await asyncio.wait_for(waiter, 5) is True


async def test_wait_for_log_times_out_on_the_clock_and_returns_at_once_when_records_exist(
    store: Store, clock: ManualClock, until: Any
) -> None:
    waiter = asyncio.create_task(store.wait_for_log("l", after=0, timeout=30))
    await until(lambda: clock.sleepers == 1)
    clock.advance(30)
    assert await asyncio.wait_for(waiter, 5) is False
    await store.append("l", b"x")
    assert await store.wait_for_log("l", after=0, timeout=30) is True


# ── kv ──


async def test_kv_put_get_delete_and_revisions_never_repeat(store: Store) -> None:
    first = await store.kv_put("checkpoints", "pipe-a", b"1")
    second = await store.kv_put("checkpoints", "pipe-a", b"2")
    assert second.revision > first.revision
    entry = await store.kv_get("checkpoints", "pipe-a")
    assert entry is not None and entry.value == b"2"
    assert await store.kv_delete("checkpoints", "pipe-a") is True
    assert await store.kv_get("checkpoints", "pipe-a") is None
    recreated = await store.kv_put("checkpoints", "pipe-a", b"3")
    assert recreated.revision > second.revision
    assert await store.kv_delete("checkpoints", "absent") is False


async def test_kv_compare_and_set(store: Store) -> None:
    created = await store.kv_put("leases", "leader", b"node-1", expected_revision=0)
    with pytest.raises(RevisionConflict):
        await store.kv_put("leases", "leader", b"node-2", expected_revision=0)
    with pytest.raises(RevisionConflict):
        await store.kv_put("leases", "leader", b"node-2", expected_revision=created.revision + 100)
    renewed = await store.kv_put("leases", "leader", b"node-1", expected_revision=created.revision)
    with pytest.raises(RevisionConflict):
        await store.kv_delete("leases", "leader", expected_revision=created.revision)
    assert await store.kv_delete("leases", "leader", expected_revision=renewed.revision) is True


async def test_kv_ttl_expires_entries_which_then_count_as_absent(store: Store, clock: ManualClock) -> None:
    old = await store.kv_put("dedup", "msg-1", b"id-1", ttl=300, expected_revision=0)
    assert old.expires_at == clock.now() + 300
    clock.advance(299)
    assert await store.kv_get("dedup", "msg-1") is not None
    with pytest.raises(RevisionConflict):
        await store.kv_put("dedup", "msg-1", b"id-2", ttl=300, expected_revision=0)
    clock.advance(1)
    assert await store.kv_get("dedup", "msg-1") is None
    assert await store.kv_list("dedup") == []
    fresh = await store.kv_put("dedup", "msg-1", b"id-2", ttl=300, expected_revision=0)
    assert fresh.revision > old.revision
    with pytest.raises(RevisionConflict):  # the expired entry's revision is no longer valid for CAS
        await store.kv_put("dedup", "msg-1", b"id-3", expected_revision=old.revision)


async def test_kv_list_by_prefix_in_key_order(store: Store) -> None:
    for key in ["b/2", "a/1", "b/1", "c"]:
        await store.kv_put("state", key, key.encode())
    await store.kv_put("other", "b/3", b"")
    assert [e.key for e in await store.kv_list("state", prefix="b/")] == ["b/1", "b/2"]
    assert [e.key for e in await store.kv_list("state", limit=2)] == ["a/1", "b/1"]
