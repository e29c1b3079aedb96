"""Atomic batches (both backends), group commit and crash durability (SQLite)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pipework.clock import ManualClock, SystemClock
from pipework.store import ItemNotFound, QueueCounts, StaleLease, Store, VersionConflict
from pipework.store.sqlite import SqliteStore

pytestmark = pytest.mark.anyio


async def test_batch_commits_writes_across_families_and_returns_their_results(store: Store) -> None:
    batch = store.batch()
    batch.append("bus/default", b'{"id": "e1"}', key="e1")
    batch.enqueue("deliveries", "e1/rule-a/t1", b"e1", attributes={"rule": "rule-a"})
    batch.enqueue("deliveries", "e1/rule-b/t1", b"e1", attributes={"rule": "rule-b"})
    batch.kv_put("metrics", "put-events", b"1")
    batch.put_resource("archive", "a", {"EventCount": 1})
    result = await store.commit(batch)
    assert result.positions == [1]
    assert result.results[1] is None and result.results[4].version == 1
    assert (await store.counts("deliveries")).visible == 2
    assert [r.key for r in await store.read_log("bus/default")] == ["e1"]


async def test_a_failing_write_aborts_the_whole_batch(store: Store) -> None:
    await store.put_resource("rule", "r", {"v": 1})
    await store.enqueue("deliveries", "existing", b"")
    (existing,) = await store.lease("deliveries", visibility_timeout=30)
    batch = store.batch()
    batch.append("bus/default", b"event")
    batch.enqueue("deliveries", "new", b"")
    batch.kv_put("state", "k", b"v")
    batch.put_resource("rule", "r", {"v": 2})
    batch.ack("deliveries", "existing", existing.lease_token or "")
    batch.put_resource("rule", "r", {"v": 3}, expected_version=1)  # version is 2 by now: conflict
    with pytest.raises(VersionConflict):
        await store.commit(batch)
    assert await store.read_log("bus/default") == []
    assert await store.get_item("deliveries", "new") is None
    assert await store.get_item("deliveries", "existing") is not None
    assert await store.kv_get("state", "k") is None
    resource = await store.get_resource("rule", "r")
    assert resource is not None and resource.body == {"v": 1} and resource.version == 1
    # the log's position counter was not advanced by the aborted append either
    assert await store.append("bus/default", b"event") == 1


async def test_writes_in_a_batch_see_the_earlier_writes_of_the_same_batch(store: Store) -> None:
    batch = store.batch()
    batch.enqueue("q", "a", b"")
    batch.move("q", "a", "q2")
    batch.put_resource("rule", "r", {}, expected_version=0)
    batch.put_resource("rule", "r", {"again": True}, expected_version=1)
    await store.commit(batch)
    assert await store.get_item("q2", "a") is not None
    resource = await store.get_resource("rule", "r")
    assert resource is not None and resource.version == 2


async def test_concurrent_commits_each_keep_their_own_outcome(store: Store) -> None:
    await store.enqueue("q", "a", b"")

    async def bad() -> None:
        batch = store.batch()
        batch.append("log", b"bad")
        batch.ack("q", "a", "wrong-token")
        await store.commit(batch)

    async def good(i: int) -> int:
        return await store.append("log", str(i).encode())

    outcomes = await asyncio.gather(bad(), *(good(i) for i in range(20)), return_exceptions=True)
    assert isinstance(outcomes[0], StaleLease)
    assert sorted(o for o in outcomes[1:] if isinstance(o, int)) == list(range(1, 21))
    assert b"bad" not in [r.payload for r in await store.read_log("log", limit=100)]


async def test_group_commit_persists_every_concurrent_commit_across_reopen(tmp_path: Path) -> None:
    clock = ManualClock()
    store = await SqliteStore.open(str(tmp_path), clock)

    async def writer(task: int) -> None:
        for i in range(20):
            batch = store.batch()
            batch.append("bus", f"{task}-{i}".encode())
            batch.enqueue("deliveries", f"{task}-{i}", b"")
            await store.commit(batch)

    await asyncio.gather(*(writer(t) for t in range(50)))
    commits = store.group_commits
    await store.close()
    assert commits < 1000  # concurrent callers shared COMMITs
    reopened = await SqliteStore.open(str(tmp_path), clock)
    try:
        records = await reopened.read_log("bus", limit=2000)
        assert sorted(r.payload for r in records) == sorted(
            f"{t}-{i}".encode() for t in range(50) for i in range(20)
        )
        assert [r.position for r in records] == list(range(1, 1001))
        assert await reopened.counts("deliveries") == QueueCounts(
            visible=1000, in_flight=0, delayed=0, dead_letters=0
        )
    finally:
        await reopened.close()


async def test_kv_revisions_do_not_repeat_after_reopen(tmp_path: Path) -> None:
    clock = ManualClock()
    store = await SqliteStore.open(str(tmp_path), clock)
    first = await store.kv_put("b", "k", b"1")
    await store.kv_delete("b", "k")
    await store.close()
    reopened = await SqliteStore.open(str(tmp_path), clock)
    try:
        assert (await reopened.kv_put("b", "k", b"2")).revision > first.revision
    finally:
        await reopened.close()


async def test_closed_store_refuses_calls(store: Store) -> None:
    from pipework.store import StoreClosed

    await store.close()
    with pytest.raises(StoreClosed):
        await store.append("l", b"")
    with pytest.raises(StoreClosed):
        await store.read_log("l")


CRASH_WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from pipework.clock import SystemClock
    from pipework.store.sqlite import SqliteStore

    async def main() -> None:
        store = await SqliteStore.open(sys.argv[1], SystemClock())

        async def writer(task: int) -> None:
            i = 0
            while True:
                batch = store.batch()
                batch.append("bus", f"{task}-{i}".encode())
                batch.enqueue("deliveries", f"{task}-{i}", b"x" * 100)
                batch.kv_put("last", str(task), str(i).encode())
                await store.commit(batch)
                # printed only after the commit returned: the parent treats it as acknowledged
                sys.stdout.write(f"{task}-{i}\\n")
                sys.stdout.flush()
                i += 1

        await asyncio.gather(*(writer(t) for t in range(8)))

    asyncio.run(main())
    """
)


@pytest.mark.slow
async def test_every_acknowledged_commit_survives_sigkill(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    process = subprocess.Popen(
        [sys.executable, "-c", CRASH_WRITER, str(tmp_path)], stdout=subprocess.PIPE, env=env, text=True
    )
    assert process.stdout is not None
    acknowledged: list[str] = []
    for line in process.stdout:
        acknowledged.append(line.strip())
        if len(acknowledged) >= 400:
            break
    process.send_signal(signal.SIGKILL)
    process.wait()
    # lines the child wrote before dying are also acknowledged commits
    # lines the child wrote before dying are acknowledged commits too; a torn last line (no newline) is not
    rest = process.stdout.read()
    complete = rest if rest.endswith("\n") else rest.rpartition("\n")[0]
    acknowledged += [line for line in complete.splitlines() if line]
    process.stdout.close()

    store = await SqliteStore.open(str(tmp_path), SystemClock())
    try:
        payloads = {r.payload.decode() for r in await store.read_log("bus", limit=1_000_000)}
        items = {i.id for i in await store.peek("deliveries", limit=1_000_000)}
        missing = [a for a in acknowledged if a and (a not in payloads or a not in items)]
        assert missing == []
        assert payloads == items  # the log append and the enqueue of one commit are never split
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("url", "backend"), [("memory://", "MemoryStore"), ("sqlite://{dir}", "SqliteStore")]
)
async def test_open_store_picks_the_backend_from_the_url(tmp_path: Path, url: str, backend: str) -> None:
    from pipework.store import open_store

    store = await open_store(url.format(dir=tmp_path), ManualClock())
    try:
        assert type(store).__name__ == backend
        assert await store.append("l", b"x") == 1
    finally:
        await store.close()


async def test_a_batch_of_acks_is_all_or_nothing_with_the_error_of_the_failing_ack(store: Store) -> None:
    # SQLite runs a run of acks as one statement; a stale, unknown or repeated ack must still fail the batch
    # with the error a single ack raises, and leave every item in place.
    for name in "abcd":
        await store.enqueue("q", name, b"")
    leased = {
        item.id: item.lease_token or "" for item in await store.lease("q", max_items=4, visibility_timeout=30)
    }
    for bad, error in (("stale", StaleLease), ("ghost", ItemNotFound), ("repeat", ItemNotFound)):
        batch = store.batch()
        for name in "abc":
            batch.ack("q", name, leased[name])
        if bad == "stale":
            batch.ack("q", "d", "never-issued")
        elif bad == "ghost":
            batch.ack("q", "nope", "token")
        else:
            batch.ack("q", "a", leased["a"])
        with pytest.raises(error):
            await store.commit(batch)
        assert [await store.get_item("q", name) is not None for name in "abcd"] == [True] * 4
    batch = store.batch()
    for name in "abcd":
        batch.ack("q", name, leased[name])
    batch.put_resource("rule", "r", {})
    result = await store.commit(batch)
    assert result.results[:4] == (None, None, None, None)
    assert (await store.counts("q")) == QueueCounts(0, 0, 0, 0)
