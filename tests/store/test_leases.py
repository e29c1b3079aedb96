"""Named leases on every backend: one holder at a time, renewals keep the fencing token, a release frees the lease
at once and the next holder gets a greater token. (Timing across nodes, fencing and expiry by the database's clock:
`test_postgres_nodes.py`.)"""

from __future__ import annotations

import pytest

from pipework.store import Store

pytestmark = pytest.mark.anyio


async def test_one_holder_at_a_time_and_tokens_grow_on_a_change_of_hands(store: Store) -> None:
    taken = await store.acquire_lease("ticker/x", "node-a", 30)
    assert taken is not None and (taken.name, taken.holder) == ("ticker/x", "node-a")
    assert await store.acquire_lease("ticker/x", "node-b", 30) is None
    renewed = await store.acquire_lease("ticker/x", "node-a", 30)
    assert renewed is not None and renewed.token == taken.token and renewed.expires_at >= taken.expires_at
    assert [lease.holder for lease in await store.list_leases("ticker/")] == ["node-a"]
    assert await store.list_leases("other/") == []
    await store.release_lease("ticker/x", "node-b")  # not its holder: nothing happens
    assert await store.acquire_lease("ticker/x", "node-b", 30) is None
    await store.release_lease("ticker/x", "node-a")
    assert await store.list_leases() == []
    moved = await store.acquire_lease("ticker/x", "node-b", 30)
    assert moved is not None and moved.token == taken.token + 1
