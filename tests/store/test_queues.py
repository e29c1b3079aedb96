"""Work queues against both backends: leasing, visibility, tokens, FIFO groups, move, dead letters, counts."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pipework.clock import ManualClock
from pipework.store import DuplicateItem, ItemNotFound, NotInFlight, QueueCounts, StaleLease, Store

pytestmark = pytest.mark.anyio


async def enqueue_many(store: Store, queue: str, ids: list[str], **kwargs: Any) -> None:
    for item_id in ids:
        await store.enqueue(queue, item_id, item_id.encode(), **kwargs)


async def test_lease_returns_due_items_oldest_first_with_lease_metadata(
    store: Store, clock: ManualClock
) -> None:
    sent = clock.now()
    await enqueue_many(store, "q", ["a", "b", "c"], attributes={"Attempt": {"n": 1}})
    clock.advance(1)
    leased = await store.lease("q", max_items=2, visibility_timeout=30)
    assert [i.id for i in leased] == ["a", "b"]
    first = leased[0]
    assert first.payload == b"a" and first.attributes == {"Attempt": {"n": 1}}
    assert (first.attempts, first.enqueued_at, first.first_leased_at) == (1, sent, sent + 1)
    assert first.due_at == sent + 31 and first.in_flight and first.lease_token
    assert leased[0].lease_token != leased[1].lease_token
    assert [i.id for i in await store.lease("q", max_items=5, visibility_timeout=30)] == ["c"]
    assert await store.lease("q", max_items=5, visibility_timeout=30) == []


async def test_items_become_visible_again_when_the_visibility_timeout_expires(
    store: Store, clock: ManualClock
) -> None:
    await store.enqueue("q", "a", b"")
    (first,) = await store.lease("q", visibility_timeout=30)
    clock.advance(29.9)
    assert await store.lease("q", visibility_timeout=30) == []
    clock.advance(0.1)
    (second,) = await store.lease("q", visibility_timeout=30)
    assert second.attempts == 2 and second.first_leased_at == first.first_leased_at
    assert second.lease_token != first.lease_token
    with pytest.raises(StaleLease):
        await store.ack("q", "a", first.lease_token or "")
    await store.ack("q", "a", second.lease_token or "")
    assert await store.get_item("q", "a") is None


async def test_ack_errors_for_unknown_item_and_never_leased_item(store: Store) -> None:
    with pytest.raises(ItemNotFound):
        await store.ack("q", "ghost", "token")
    await store.enqueue("q", "a", b"")
    with pytest.raises(StaleLease):
        await store.ack("q", "a", "never-issued")


async def test_ack_with_expired_but_not_superseded_token_still_deletes(
    store: Store, clock: ManualClock
) -> None:
    await store.enqueue("q", "a", b"")
    (item,) = await store.lease("q", visibility_timeout=10)
    clock.advance(60)
    await store.ack("q", "a", item.lease_token or "")
    assert await store.counts("q") == QueueCounts(0, 0, 0, 0)


async def test_delayed_items_are_not_leased_before_their_due_time(store: Store, clock: ManualClock) -> None:
    await store.enqueue("q", "later", b"", due_at=clock.now() + 10)
    await store.enqueue("q", "now", b"")
    assert [i.id for i in await store.lease("q", max_items=10, visibility_timeout=60)] == ["now"]
    clock.advance(10)
    assert [i.id for i in await store.lease("q", max_items=10, visibility_timeout=60)] == ["later"]


async def test_change_visibility_extends_or_releases_and_keeps_the_token(
    store: Store, clock: ManualClock
) -> None:
    await store.enqueue("q", "a", b"")
    (item,) = await store.lease("q", visibility_timeout=10)
    token = item.lease_token or ""
    await store.change_visibility("q", "a", token, 100)
    clock.advance(50)
    assert await store.lease("q", visibility_timeout=10) == []
    await store.change_visibility("q", "a", token, 0)
    assert await store.counts("q") == QueueCounts(visible=1, in_flight=0, delayed=0, dead_letters=0)
    with pytest.raises(NotInFlight):
        await store.change_visibility("q", "a", token, 10, require_in_flight=True)
    await store.ack("q", "a", token)


async def test_retry_ends_the_lease_delays_the_item_and_merges_attributes(
    store: Store, clock: ManualClock
) -> None:
    await store.enqueue("deliveries", "d1", b"event", attributes={"rule": "r1"})
    (item,) = await store.lease("deliveries", visibility_timeout=30)
    await store.retry(
        "deliveries", "d1", item.lease_token or "", due_at=clock.now() + 8, attributes={"error": "503"}
    )
    assert await store.counts("deliveries") == QueueCounts(visible=0, in_flight=0, delayed=1, dead_letters=0)
    with pytest.raises(StaleLease):
        await store.ack("deliveries", "d1", item.lease_token or "")
    clock.advance(8)
    (again,) = await store.lease("deliveries", visibility_timeout=30)
    assert again.attempts == 2 and again.attributes == {"rule": "r1", "error": "503"}


async def test_release_puts_an_item_back_without_counting_its_lease(store: Store, clock: ManualClock) -> None:
    await store.enqueue("deliveries", "d1", b"event", attributes={"rule": "r1"})
    (first,) = await store.lease("deliveries", visibility_timeout=30)
    await store.retry("deliveries", "d1", first.lease_token or "")
    (second,) = await store.lease("deliveries", visibility_timeout=30)
    assert second.attempts == 2
    await store.release(
        "deliveries", "d1", second.lease_token or "", due_at=clock.now() + 5, attributes={"parked": 1}
    )
    assert await store.counts("deliveries") == QueueCounts(visible=0, in_flight=0, delayed=1, dead_letters=0)
    with pytest.raises(StaleLease):
        await store.ack("deliveries", "d1", second.lease_token or "")
    clock.advance(5)
    (third,) = await store.lease("deliveries", visibility_timeout=30)
    assert third.attempts == 2 and third.attributes == {"rule": "r1", "parked": 1}
    assert third.first_leased_at == first.first_leased_at


async def test_release_of_a_first_lease_leaves_the_item_as_never_leased(
    store: Store, clock: ManualClock
) -> None:
    await store.enqueue("q", "a", b"")
    (leased,) = await store.lease("q", visibility_timeout=30)
    await store.release("q", "a", leased.lease_token or "")
    item = await store.get_item("q", "a")
    assert item is not None and (item.attempts, item.first_leased_at, item.in_flight) == (0, None, False)
    with pytest.raises(StaleLease):
        await store.release("q", "a", leased.lease_token or "")
    clock.advance(1)
    (again,) = await store.lease("q", visibility_timeout=30)
    assert (again.attempts, again.first_leased_at) == (1, clock.now())


async def test_enqueue_rejects_a_duplicate_id_in_the_same_queue_only(store: Store) -> None:
    await store.enqueue("q", "a", b"")
    with pytest.raises(DuplicateItem):
        await store.enqueue("q", "a", b"")
    await store.enqueue("other", "a", b"")


async def test_fifo_lease_skips_groups_in_flight_and_keeps_group_order(
    store: Store, clock: ManualClock
) -> None:
    for item_id, group in [("g1-1", "g1"), ("g2-1", "g2"), ("g1-2", "g1"), ("g1-3", "g1"), ("g2-2", "g2")]:
        await store.enqueue("q.fifo", item_id, b"", group_id=group)
    first = await store.lease("q.fifo", max_items=2, visibility_timeout=30, fifo=True)
    assert [i.id for i in first] == ["g1-1", "g2-1"]
    assert await store.lease("q.fifo", max_items=10, visibility_timeout=30, fifo=True) == []
    await store.ack("q.fifo", "g1-1", first[0].lease_token or "")
    second = await store.lease("q.fifo", max_items=10, visibility_timeout=30, fifo=True)
    assert [i.id for i in second] == ["g1-2", "g1-3"]  # g2 still has g2-1 in flight
    clock.advance(30)  # everything in flight expires: each group restarts at its head, in order
    third = await store.lease("q.fifo", max_items=10, visibility_timeout=30, fifo=True)
    assert [i.id for i in third] == ["g2-1", "g1-2", "g1-3", "g2-2"]


async def test_fifo_lease_does_not_pass_an_earlier_item_of_the_group_that_is_not_yet_due(
    store: Store, clock: ManualClock
) -> None:
    await store.enqueue("q.fifo", "a1", b"", group_id="a")
    await store.enqueue("q.fifo", "a2", b"", group_id="a")
    (head,) = await store.lease("q.fifo", visibility_timeout=30, fifo=True)
    await store.retry("q.fifo", "a1", head.lease_token or "", due_at=clock.now() + 10)
    assert await store.lease("q.fifo", max_items=10, visibility_timeout=30, fifo=True) == []
    clock.advance(10)
    assert [i.id for i in await store.lease("q.fifo", max_items=10, visibility_timeout=30, fifo=True)] == [
        "a1",
        "a2",
    ]


async def test_move_is_atomic_and_keeps_identity_and_history(store: Store, clock: ManualClock) -> None:
    sent = clock.now()
    await store.enqueue("source", "m", b"body", attributes={"k": "v"}, group_id="g")
    (item,) = await store.lease("source", visibility_timeout=30)
    clock.advance(1)
    await store.move("source", "m", "dlq", lease_token=item.lease_token)
    assert await store.get_item("source", "m") is None
    moved = await store.get_item("dlq", "m")
    assert moved is not None
    assert (moved.payload, moved.attributes, moved.group_id, moved.enqueued_at) == (
        b"body",
        {"k": "v"},
        "g",
        sent,
    )
    assert moved.attempts == 1 and not moved.in_flight and moved.seq > item.seq
    await store.move("dlq", "m", "source", reset_attempts=True)
    back = await store.get_item("source", "m")
    assert back is not None and back.attempts == 0 and back.first_leased_at is None


async def test_move_fails_whole_without_losing_the_item(store: Store) -> None:
    await store.enqueue("source", "m", b"1")
    await store.enqueue("dlq", "m", b"2")
    with pytest.raises(DuplicateItem):
        await store.move("source", "m", "dlq")
    with pytest.raises(StaleLease):
        await store.move("source", "m", "elsewhere", lease_token="bogus")
    assert (await store.get_item("source", "m")) is not None
    assert (await store.get_item("elsewhere", "m")) is None


async def test_lease_moves_items_past_max_receive_count_to_the_dead_letter_queue(
    store: Store, clock: ManualClock
) -> None:
    await store.enqueue("q", "poison", b"poison")
    await store.enqueue("q", "fine", b"fine", due_at=clock.now() + 100)
    for _ in range(2):
        leased = await store.lease(
            "q", max_items=1, visibility_timeout=5, max_receive_count=2, dead_letter_queue="q-dlq"
        )
        assert [i.id for i in leased] == ["poison"]
        clock.advance(5)
    clock.advance(100)
    # third receive: poison has been received twice, so it moves and the next item is returned instead
    leased = await store.lease(
        "q", max_items=1, visibility_timeout=5, max_receive_count=2, dead_letter_queue="q-dlq"
    )
    assert [i.id for i in leased] == ["fine"]
    moved = await store.get_item("q-dlq", "poison")
    assert moved is not None and moved.attempts == 2 and moved.payload == b"poison"
    assert await store.get_item("q", "poison") is None


async def test_dead_letter_keeps_the_full_item_and_error_and_redrive_restores_it(
    store: Store, clock: ManualClock
) -> None:
    await enqueue_many(store, "deliveries", ["d1", "d2", "d3"], attributes={"target": "t"})
    for item in await store.lease("deliveries", max_items=3, visibility_timeout=30):
        await store.dead_letter(
            "deliveries", item.id, lease_token=item.lease_token, error={"ERROR_CODE": "Throttling"}
        )
    dead = await store.list_dead_letters("deliveries")
    assert [d.id for d in dead] == ["d1", "d2", "d3"]
    assert dead[0].payload == b"d1" and dead[0].attributes == {"target": "t"} and dead[0].attempts == 1
    assert dead[0].error == {"ERROR_CODE": "Throttling"} and dead[0].dead_lettered_at == clock.now()
    assert [d.id for d in await store.list_dead_letters("deliveries", after_seq=dead[0].seq, limit=1)] == [
        "d2"
    ]
    assert await store.counts("deliveries") == QueueCounts(0, 0, 0, dead_letters=3)
    with pytest.raises(DuplicateItem):  # ids stay reserved while dead-lettered
        await store.enqueue("deliveries", "d1", b"")
    assert await store.redrive("deliveries", ["d2", "unknown"]) == 1
    assert await store.redrive("deliveries", limit=1) == 1
    leased = await store.lease("deliveries", max_items=5, visibility_timeout=30)
    assert [(i.id, i.attempts) for i in leased] == [("d2", 1), ("d1", 1)]
    assert await store.delete_dead_letters("deliveries") == 1
    assert await store.list_dead_letters("deliveries") == []


async def test_counts_split_visible_in_flight_and_delayed_at_a_given_time(
    store: Store, clock: ManualClock
) -> None:
    now = clock.now()
    await enqueue_many(store, "q", ["a", "b", "c"])
    await store.enqueue("q", "delayed", b"", due_at=now + 100)
    await store.lease("q", max_items=1, visibility_timeout=50)
    assert await store.counts("q") == QueueCounts(visible=2, in_flight=1, delayed=1, dead_letters=0)
    assert await store.counts("q", now=now + 60) == QueueCounts(
        visible=3, in_flight=0, delayed=1, dead_letters=0
    )
    assert await store.counts("q", now=now + 100) == QueueCounts(4, 0, 0, 0)
    assert await store.counts("empty") == QueueCounts(0, 0, 0, 0)


async def test_purge_deletes_every_item_but_not_dead_letters(store: Store) -> None:
    await enqueue_many(store, "q", ["a", "b", "c"])
    (item,) = await store.lease("q", visibility_timeout=30)
    await store.dead_letter("q", item.id, lease_token=item.lease_token)
    await store.lease("q", visibility_timeout=30)
    assert await store.purge("q") == 2
    assert await store.counts("q") == QueueCounts(0, 0, 0, dead_letters=1)
    assert await store.delete_queue("q") == 1


async def test_expire_deletes_items_enqueued_before_the_retention_cutoff(
    store: Store, clock: ManualClock
) -> None:
    await store.enqueue("q", "old", b"")
    clock.advance(10)
    await store.enqueue("q", "new", b"")
    await store.lease("q", max_items=2, visibility_timeout=30)  # in flight items expire too
    assert await store.expire("q", enqueued_before=clock.now() - 5) == 1
    assert [i.id for i in await store.peek("q")] == ["new"]


async def test_peek_lists_items_in_enqueue_order_without_leasing_or_exposing_tokens(store: Store) -> None:
    await enqueue_many(store, "q", ["a", "b", "c"])
    await store.lease("q", visibility_timeout=30)
    items = await store.peek("q", limit=2)
    assert [(i.id, i.in_flight, i.lease_token) for i in items] == [("a", True, None), ("b", False, None)]
    rest = await store.peek("q", after_seq=items[-1].seq)
    assert [i.id for i in rest] == ["c"]
    assert (await store.counts("q")).visible == 2


async def test_zero_visibility_timeout_leases_each_item_once_per_call(store: Store) -> None:
    await enqueue_many(store, "q", ["a", "b"])
    leased = await store.lease("q", max_items=10, visibility_timeout=0)
    assert [i.id for i in leased] == ["a", "b"]
    assert not leased[0].in_flight


async def test_wait_for_due_wakes_on_enqueue(store: Store, clock: ManualClock, until: Any) -> None:
    waiter = asyncio.create_task(store.wait_for_due("q", timeout=20))
    await until(lambda: clock.sleepers == 1)
    await store.enqueue("q", "a", b"")
    assert await asyncio.wait_for(waiter, 5) is True


async def test_wait_for_due_wakes_when_a_visibility_timeout_expires(
    store: Store, clock: ManualClock, until: Any
) -> None:
    await store.enqueue("q", "a", b"")
    await store.lease("q", visibility_timeout=30)
    waiter = asyncio.create_task(store.wait_for_due("q", timeout=300))
    await until(lambda: clock.sleepers == 1)
    clock.advance(29)
    await asyncio.sleep(0)
    assert not waiter.done()
    clock.advance(1)
    assert await asyncio.wait_for(waiter, 5) is True
    assert len(await store.lease("q", visibility_timeout=30)) == 1


async def test_wait_for_due_times_out_on_an_empty_queue(store: Store, clock: ManualClock, until: Any) -> None:
    waiter = asyncio.create_task(store.wait_for_due("q", timeout=20))
    await until(lambda: clock.sleepers == 1)
    clock.advance(20)
    assert await asyncio.wait_for(waiter, 5) is False
    await store.enqueue("q", "a", b"")
    assert await store.wait_for_due("q", timeout=20) is True


async def test_zero_visibility_timeout_leases_items_due_earlier_once_per_call(
    store: Store, clock: ManualClock
) -> None:
    await enqueue_many(store, "q", ["a", "b"])
    # Leased with a zero timeout, they are due again at now: later than they were due before.
    clock.advance(1)
    leased = await store.lease("q", max_items=10, visibility_timeout=0)
    assert [i.id for i in leased] == ["a", "b"]
    assert [i.id for i in await store.lease("q", max_items=10, visibility_timeout=0)] == ["a", "b"]
