"""What every migration reads first: all the resources of a kind, as (name, body), before it changes anything."""

from __future__ import annotations

from pipework.jsontypes import JSON
from pipework.store.base import Store


async def named_bodies(store: Store, kind: str) -> list[tuple[str, JSON]]:
    """Every resource of `kind` as (name, body), read in full first: a migration renames what it read in the same
    commit, so it never pages over names it is changing."""
    return [(resource.name, resource.body) async for resource in store.all_resources(kind)]
