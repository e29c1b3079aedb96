"""The console's pages: one handler per URL, each reading what it shows (`reads`) and rendering one template.
A name that does not exist is a 404 page, a failed read a 400 page with AWS's error; never a bare 500."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from . import charts, reads
from .gate import account_of
from .reads import ConsoleError

if TYPE_CHECKING:
    from pipework.api.instance import Instance

log = logging.getLogger(__name__)

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
TEMPLATES.filters["pretty"] = reads.pretty
TEMPLATES.filters["iso"] = reads.iso
TEMPLATES.filters["svg"] = charts.svg

#: The navigation bar: (label, URL).
NAVIGATION = (
    ("Overview", "/console/"),
    ("Buses", "/console/buses"),
    ("Rules", "/console/rules"),
    ("Pipes", "/console/pipes"),
    ("Schedules", "/console/schedules"),
    ("Queues", "/console/queues"),
    ("Tables", "/console/tables"),
    ("Dead letters", "/console/dead-letters"),
    ("Archives", "/console/archives"),
    ("Breakers", "/console/breakers"),
    ("Alarms", "/console/alarms"),
)


class NotFound(Exception):
    """The page names something that does not exist."""


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """`template` with `context`, the navigation bar and, when someone is signed in, their session (the page
    carries its CSRF token for the script's requests)."""
    path = request.url.path
    if path == "/console/rule":
        path = "/console/rules"  # one rule's page is under Rules
    active = next(
        (url for _, url in sorted(NAVIGATION, key=lambda n: -len(n[1])) if path.startswith(url.rstrip("/"))),
        "/console/",
    )
    session = request.scope.get("state", {}).get("console_session")
    signed_in = session is not None
    page = TEMPLATES.get_template(template).render(
        navigation=NAVIGATION if signed_in or template != "login.html" else (),
        active=active,
        session=session,
        **context,
    )
    headers = {"Cache-Control": "no-store"} if signed_in else None
    return HTMLResponse(page, status_code=status, headers=headers)


def page(
    handler: Callable[[Request, Instance], Awaitable[Response]], current: Callable[[], Instance]
) -> Callable[[Request], Awaitable[Response]]:
    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request, current())
        except NotFound as exc:
            return render(request, "error.html", 404, title="Not found", message=str(exc))
        except ConsoleError as exc:
            return render(request, "error.html", 400, title=exc.code, message=exc.message)
        except Exception:
            log.exception("console page %s failed", request.url.path)
            return render(
                request, "error.html", 500, title="Internal failure", message="See the server's log."
            )

    return endpoint


def _page_number(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 7 else 1


async def overview(request: Request, pipework: Instance) -> Response:
    return render(
        request,
        "overview.html",
        title="Overview",
        data=await reads.overview(pipework, account=account_of(request)),
    )


async def buses(request: Request, pipework: Instance) -> Response:
    return render(
        request, "buses.html", title="Buses", buses=await reads.buses(pipework, account=account_of(request))
    )


async def bus(request: Request, pipework: Instance) -> Response:
    name = request.path_params["name"]
    search = request.query_params.get("q", "")
    found = await reads.bus(
        pipework, name, search=search, page=_page_number(request), account=account_of(request)
    )
    if found is None:
        raise NotFound(f"Event bus {name} does not exist.")
    return render(request, "bus.html", title=f"Bus {name}", bus=found, data=found, search=search)


async def rules(request: Request, pipework: Instance) -> Response:
    search = request.query_params.get("q", "")
    found = await reads.rules(
        pipework, search=search, page=_page_number(request), account=account_of(request)
    )
    return render(request, "rules.html", title="Rules", search=search, data=found)


async def rule(request: Request, pipework: Instance) -> Response:
    bus_name = request.query_params.get("bus", "default")
    name = request.query_params.get("name", "")
    found = await reads.rule(pipework, bus_name, name, account=account_of(request))
    if found is None:
        raise NotFound(f"Rule {name} does not exist on EventBus {bus_name}.")
    return render(request, "rule.html", title=f"Rule {name}", rule=found)


async def pipes(request: Request, pipework: Instance) -> Response:
    return render(
        request, "pipes.html", title="Pipes", pipes=reads.pipes(pipework, account=account_of(request))
    )


async def pipe(request: Request, pipework: Instance) -> Response:
    name = request.path_params["name"]
    found = await reads.pipe(pipework, name, account=account_of(request))
    if found is None:
        raise NotFound(f"Pipe {name} does not exist.")
    return render(request, "pipe.html", title=f"Pipe {name}", pipe=found)


async def schedules(request: Request, pipework: Instance) -> Response:
    return render(
        request,
        "schedules.html",
        title="Schedules",
        schedules=reads.schedules(pipework, account=account_of(request)),
    )


async def queues(request: Request, pipework: Instance) -> Response:
    return render(
        request,
        "queues.html",
        title="Queues",
        queues=await reads.queues(pipework, account=account_of(request)),
    )


async def queue(request: Request, pipework: Instance) -> Response:
    name = request.path_params["name"]
    found = await reads.queue(pipework, name, account=account_of(request))
    if found is None:
        raise NotFound(f"Queue {name} does not exist.")
    return render(request, "queue.html", title=f"Queue {name}", queue=found)


async def tables(request: Request, pipework: Instance) -> Response:
    return render(
        request,
        "tables.html",
        title="Tables",
        tables=await reads.tables(pipework, account=account_of(request)),
    )


async def table(request: Request, pipework: Instance) -> Response:
    name = request.path_params["name"]
    listed = await reads.tables(pipework, account=account_of(request))
    found = next((t for t in listed if t["Name"] == name), None)
    if found is None:
        raise NotFound(f"Table {name} does not exist.")
    items = await reads.table_items(
        pipework, name, request.query_params.get("start"), account=account_of(request)
    )
    return render(request, "table.html", title=f"Table {name}", table=found, items=items)


async def dead_letters(request: Request, pipework: Instance) -> Response:
    return render(
        request,
        "dead_letters.html",
        title="Dead letters",
        rules=await reads.rule_dead_letters(pipework, account=account_of(request)),
        pipes=await reads.pipe_dead_letters(pipework, account=account_of(request)),
    )


async def archives(request: Request, pipework: Instance) -> Response:
    return render(
        request,
        "archives.html",
        title="Archives",
        data=await reads.archives(pipework, account=account_of(request)),
    )


async def breakers(request: Request, pipework: Instance) -> Response:
    return render(request, "breakers.html", title="Breakers", breakers=await reads.breakers(pipework))


async def alarms(request: Request, pipework: Instance) -> Response:
    return render(
        request,
        "alarms.html",
        title="Alarms",
        alarms=await reads.alarms(pipework, account=account_of(request)),
    )


async def _home(request: Request) -> Response:
    return RedirectResponse("/console/", status_code=307)


def routes(current: Callable[[], Instance]) -> list[Route]:
    def get(path: str, handler: Callable[[Request, Instance], Awaitable[Response]]) -> Route:
        return Route(path, page(handler, current), methods=["GET"])

    return [
        Route("/console", _home, methods=["GET"]),
        get("/console/", overview),
        get("/console/buses", buses),
        get("/console/buses/{name:path}", bus),
        get("/console/rules", rules),
        get("/console/rule", rule),
        get("/console/pipes", pipes),
        get("/console/pipes/{name:path}", pipe),
        get("/console/schedules", schedules),
        get("/console/queues", queues),
        get("/console/queues/{name:path}", queue),
        get("/console/tables", tables),
        get("/console/tables/{name:path}", table),
        get("/console/dead-letters", dead_letters),
        get("/console/archives", archives),
        get("/console/breakers", breakers),
        get("/console/alarms", alarms),
    ]
