"""`pipework.ids.random_uuid`: canonical version-4 UUIDs, unique, and different in a forked child."""

from __future__ import annotations

import os
import uuid

from pipework.ids import random_uuid


def test_random_uuids_are_canonical_version_4() -> None:
    made = [random_uuid() for _ in range(5000)]
    for text in made:
        parsed = uuid.UUID(text)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert str(parsed) == text
    assert len(set(made)) == len(made)


def test_a_forked_child_draws_different_ids() -> None:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: write its next id and leave at once
        os.write(write, random_uuid().encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    os.close(read)
    assert uuid.UUID(child).version == 4
    assert child != random_uuid()
