"""`wait_for_due(fifo=True)`: items of a blocked group do not count as due, so FIFO consumers wait instead of
spinning; they wake when the blocking item is acked or its visibility timeout passes. Both backends."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pipework.clock import ManualClock
from pipework.store import Store

pytestmark = pytest.mark.anyio


async def fill_group(store: Store) -> Any:
    await store.enqueue("q", "a1", b"", group_id="a")
    await store.enqueue("q", "a2", b"", group_id="a")
    (first,) = await store.lease("q", visibility_timeout=30, fifo=True)
    return first


async def test_fifo_wait_ignores_items_whose_group_is_in_flight(
    store: Store, clock: ManualClock, until: Any
) -> None:
    first = await fill_group(store)
    assert await store.wait_for_due("q", timeout=0) is True  # without fifo, a2 counts as due
    waiter = asyncio.create_task(store.wait_for_due("q", timeout=20, fifo=True))
    await until(lambda: clock.sleepers == 2)  # its bound, and the due time past it (a1's lease)
    assert not waiter.done()
    await store.ack("q", "a1", first.lease_token)
    assert await asyncio.wait_for(waiter, 5) is True
    assert [i.id for i in await store.lease("q", visibility_timeout=30, fifo=True)] == ["a2"]


async def test_fifo_wait_wakes_when_the_blocking_item_becomes_visible_again(
    store: Store, clock: ManualClock, until: Any
) -> None:
    await fill_group(store)
    waiter = asyncio.create_task(store.wait_for_due("q", timeout=300, fifo=True))
    await until(lambda: clock.sleepers == 1)
    clock.advance(30)
    assert await asyncio.wait_for(waiter, 5) is True


async def test_fifo_wait_returns_at_once_for_an_unblocked_group_or_an_ungrouped_item(store: Store) -> None:
    await fill_group(store)
    await store.enqueue("q", "b1", b"", group_id="b")
    assert await store.wait_for_due("q", timeout=0, fifo=True) is True
    await store.enqueue("other", "x", b"")
    assert await store.wait_for_due("other", timeout=0, fifo=True) is True


async def test_fifo_wait_times_out_while_the_group_stays_blocked(
    store: Store, clock: ManualClock, until: Any
) -> None:
    await fill_group(store)
    waiter = asyncio.create_task(store.wait_for_due("q", timeout=10, fifo=True))
    await until(lambda: clock.sleepers == 2)  # its bound, and the due time past it (a1's lease)
    clock.advance(10)
    assert await asyncio.wait_for(waiter, 5) is False
