"""0004: Pipes data under the namespace convention, each pipe in its account and region.

Before, Pipes kept one namespace for every account and region:
- resources ``pipes/pipe`` named ``<pipe>`` (the body's ``Arn`` was built from the server's region);
- work queues ``pipes/<pipe>/redrive`` holding each pipe's dead letters (full records) and redriven records.
After: ``pipes/pipe`` named ``<account>/<region>/<pipe>``, the redrive queue ``pipes/redrive/<that name>``.

A pipe goes to the account and region its ARN names, which is what it was shown as all along (and what its stream
checkpoints and dead-letter messages name, so those stay valid). Dead letters keep their ids, errors and times, so
a redrive by id still finds them; a pipe's state (a stopped pipe stays stopped) is in its body, kept as it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipework.store.base import Batch, Store

if TYPE_CHECKING:
    from . import Defaults

ID = "0004-pipes-regions"
SUMMARY = "Pipes and their dead letters keyed by account and region"

KIND = "pipes/pipe"
NEW_REDRIVE = "pipes/redrive/"
PAGE = 1000


async def plan(store: Store, batch: Batch, defaults: Defaults) -> None:
    async for resource in store.all_resources(KIND, page=PAGE):
        if "/" in resource.name:
            continue  # already keyed by account and region
        account, region = _owner(resource.body.get("Arn"), defaults)
        key = f"{account}/{region}/{resource.name}"
        batch.rename_resource(KIND, resource.name, KIND, key)
        batch.rename_queue(f"pipes/{resource.name}/redrive", NEW_REDRIVE + key)


def _owner(arn: object, defaults: Defaults) -> tuple[str, str]:
    """(account, region) of ``arn:aws:pipes:<region>:<account>:pipe/<name>``, else the defaults."""
    parts = arn.split(":") if isinstance(arn, str) else []
    if len(parts) == 6 and parts[3] and parts[4]:
        return parts[4], parts[3]
    return defaults.account, defaults.region
