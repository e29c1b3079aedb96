"""The store's exceptions: one hierarchy, raised by every backend for the same conditions.

Services translate these into AWS errors (e.g. `StaleLease` on DeleteMessage is silently ignored, as SQS does).
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class of every error the store raises on purpose."""


class StoreUnavailable(StoreError):
    """The database cannot be reached now (down, restarting, connection lost): nothing was done, or a commit's
    outcome is unknown; the caller may try again (the API answers ServiceUnavailable, which SDKs retry)."""


class LeaseLost(StoreError):
    """A commit made under a lease (`base.FENCE`) whose fencing token is no longer current: another node took
    the lease, so this node must not write for that job any more. Nothing was applied."""


class StoreClosed(StoreError):
    """The store was closed; no more reads or commits are accepted."""


class Conflict(StoreError):
    """An optimistic-concurrency precondition failed (expected version or revision did not match)."""


class VersionConflict(Conflict):
    """`put_resource` / `delete_resource` with an `expected_version` that is not the current one."""


class RevisionConflict(Conflict):
    """`kv_put` / `kv_delete` with an `expected_revision` that is not the current one (0 = must not exist)."""


class DuplicateItem(StoreError):
    """An item with this id already exists in the target queue (or dead-letter set)."""


class ItemNotFound(StoreError):
    """No item with this id in the queue (acked, moved, expired, purged, or never there)."""


class StaleLease(StoreError):
    """The lease token is not the item's most recent one: it was leased again since (or never leased)."""


class NotInFlight(StoreError):
    """`change_visibility(..., require_in_flight=True)` on an item whose visibility timeout already expired."""


class SchemaTooNew(StoreError):
    """The store was migrated by a newer Pipework: it records migrations this version does not know, so its data
    may be laid out in ways this version would misread. Nothing was changed."""
