"""kv range reads (start/end/reverse) and counts, used by tables for Query and Scan pages and DescribeTable, against both
backends."""

from __future__ import annotations

import pytest

from pipework.clock import ManualClock
from pipework.store import Store

pytestmark = pytest.mark.anyio

KEYS = ["a", "a\x00b", "a\x01", "a!", "ab", "b", "b/1", "é", "\U0001f600"]


async def _fill(store: Store) -> None:
    batch = store.batch()
    for key in KEYS:
        batch.kv_put("t", key, key.encode())
    batch.kv_put("other", "a", b"x")
    await store.commit(batch)


async def test_kv_list_orders_by_code_point_like_utf8_bytes(store: Store) -> None:
    await _fill(store)
    assert [e.key for e in await store.kv_list("t")] == sorted(KEYS)
    assert sorted(KEYS, key=lambda k: k.encode()) == sorted(KEYS)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"start": "a!", "end": "b"}, ["a!", "ab"]),
        ({"start": "a" + "\x00"}, ["a\x00b", "a\x01", "a!", "ab", "b", "b/1", "é", "\U0001f600"]),
        ({"end": "a\x00\x00"}, ["a"]),
        ({"prefix": "a", "start": "a\x01"}, ["a\x01", "a!", "ab"]),
        ({"prefix": "a", "reverse": True, "limit": 2}, ["ab", "a!"]),
        ({"prefix": "b", "end": "b/"}, ["b"]),
        ({"start": "b", "reverse": True}, ["\U0001f600", "é", "b/1", "b"]),
        ({"prefix": "\U0001f600"}, ["\U0001f600"]),
        ({"prefix": "a", "start": "0", "end": "zz"}, ["a", "a\x00b", "a\x01", "a!", "ab"]),
    ],
    ids=[
        "start-end",
        "successor",
        "end-only",
        "prefix-start",
        "reverse",
        "prefix-end",
        "start-reverse",
        "astral-prefix",
        "bounds-wider-than-prefix",
    ],
)
async def test_kv_list_range_bounds(store: Store, kwargs: dict[str, object], expected: list[str]) -> None:
    await _fill(store)
    assert [e.key for e in await store.kv_list("t", **kwargs)] == expected  # type: ignore[arg-type]


async def test_kv_stats_counts_live_entries_and_their_bytes(store: Store, clock: ManualClock) -> None:
    assert await store.kv_stats("t") == (0, 0)
    await _fill(store)
    assert await store.kv_stats("t") == (len(KEYS), sum(len(k.encode()) for k in KEYS))
    assert await store.kv_stats("other") == (1, 1)
    await store.kv_put("t", "short-lived", b"12345", ttl=10)
    assert await store.kv_stats("t") == (len(KEYS) + 1, sum(len(k.encode()) for k in KEYS) + 5)
    clock.advance(10)
    await store.kv_delete("t", "a")
    assert await store.kv_stats("t") == (len(KEYS) - 1, sum(len(k.encode()) for k in KEYS) - 1)
