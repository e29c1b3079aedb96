"""The web console, ``/console/``: server-rendered pages (Jinja2) over a running instance, with a little
hand-written JavaScript (fetch for the buttons, EventSource for a bus's live tail). Its templates and assets ship
in the package; nothing is loaded from elsewhere at run time.

    /console/                 overview         /console/rules[?q=&page=]     rules, searchable, paged
    /console/buses            buses            /console/rule?bus=B&name=N    one rule; test its pattern
    /console/buses/NAME       one bus: rules, targets, live tail, put an event
    /console/pipes[/NAME]     pipes; one pipe: stages, metrics, logs, invoke, start/stop
    /console/schedules        /console/queues   /console/tables[/NAME]   /console/dead-letters   /console/archives

The buttons post JSON to ``/console/api/...`` (see `actions`); they act in the server's default region.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from pipework.api.extensions_http import OpenStreams

from . import actions, gate, pages
from .gate import Gate

if TYPE_CHECKING:
    from pipework.api.instance import Instance

__all__ = ["Gate", "routes"]

STATIC = Path(__file__).parent / "static"


def routes(current: Callable[[], Instance], streams: OpenStreams, guard: Gate) -> list[BaseRoute]:
    """The console's routes, for the instance `current()` returns; its live tails register with `streams`; `guard`
    (which stands before them) signs people in and out."""
    return [
        *gate.routes(guard, pages.render),
        *pages.routes(current),
        *actions.routes(current, streams),
        Mount("/console/static", app=StaticFiles(directory=STATIC), name="console-static"),
    ]
