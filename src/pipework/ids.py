"""`random_uuid()`: a random (version 4) UUID string for the ids made on the hot path: event ids, delivery ids,
message ids, stream record ids, request ids.

`uuid.uuid4()` reads `os.urandom`, a system call that releases the GIL: on the event loop's thread, every id gave
the store's writer thread the GIL and the loop waited to take it back (measured: about a quarter of the server's
CPU samples under PutEvents load sat in `uuid4`). These ids must be unique, not secret, so they come from a
process-local generator seeded from the operating system's randomness, and reseeded in a forked child. Nothing
that grants access (receipt handles, lease tokens, credentials) is made here.

The bottom of the layers, with `jsontypes`: it imports nothing of Pipework.
"""

from __future__ import annotations

import os
import random

_generator = random.Random(os.urandom(32))
os.register_at_fork(after_in_child=lambda: _generator.seed(os.urandom(32)))

_VERSION_4 = 0x4000 << 64  # the version nibble (4) in the time_hi_and_version field
_VARIANT = 0x8000 << 48  # the RFC 4122 variant bits (10) in the clock_seq field
_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))


def random_uuid() -> str:
    """A version 4 UUID in its canonical 36-character form, e.g. ``1f0c7d2e-5b7a-4c1e-9a3b-0d4e5f6a7b8c``."""
    hexed = "%032x" % (_generator.getrandbits(128) & _CLEAR | _VERSION_4 | _VARIANT)
    return f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:]}"
