"""`run_forever`: the background loop every long-running task shares (dispatchers, the schedule ticker, pipe pollers
and redrive, the DynamoDB TTL sweeper): call one step after another, and survive anything a step raises.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Final

from pipework.clock import Clock

log = logging.getLogger("pipework.loops")

#: A step returns `STOP` to end the loop (any other value goes on).
STOP: Final = object()


async def run_forever(
    name: str,
    step: Callable[[], Awaitable[object]],
    *,
    clock: Clock,
    pause: float,
    running: Callable[[], bool] = lambda: True,
) -> None:
    """Await `step()` again and again while `running()` holds, until a step returns `STOP`.

    A step that raises is logged under `name` and the loop goes on after `pause` seconds of clock time: a store
    hiccup or a bug in one item must not end a background task (what a step was doing is retried from durable
    state: leased items come back after their lease, a stream re-reads from its checkpoint). Cancelling the task
    ends the loop.
    """
    while running():
        try:
            if await step() is STOP:
                return
        except asyncio.CancelledError:
            raise
        except Exception:  # the loop must survive anything; see the docstring for why nothing is lost
            log.exception("%s failed; again in %s s", name, pause)
            await clock.sleep(pause)
