"""`pipework serve`: run one Pipework instance (store + served APIs) behind uvicorn until SIGINT or SIGTERM.

Once listening it prints the endpoint URL, an ``AWS_ENDPOINT_URL`` export line and a boto3 one-liner.
"""

from __future__ import annotations

import argparse
import logging
import os
import runpy
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import uvicorn

from pipework import __version__
from pipework.clock import ManualClock

if TYPE_CHECKING:
    # Imported when the command runs: every other command starts without loading the services and botocore.
    from pipework.api.app import PipeworkApp
    from pipework.app import Pipework


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the server (AWS APIs on one port)",
        description="Serve the AWS APIs (SQS, EventBridge, ...) over AWS's wire protocols on one port. "
        "Stops gracefully on SIGINT or SIGTERM.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=4566, help="port to listen on; 0 picks a free one (default: 4566)"
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(".pipework"),
        help="data directory (default: ./.pipework); with --store it holds only local files (logs)",
    )
    parser.add_argument(
        "--memory", action="store_true", help="keep everything in memory; nothing is persisted"
    )
    parser.add_argument(
        "--store",
        default=os.environ.get("PIPEWORK_STORE") or None,
        metavar="URL",
        help="store URL instead of --data/--memory, e.g. postgresql://USER:PASS@HOST:5432/DB for the database "
        "several nodes share (default: $PIPEWORK_STORE)",
    )
    parser.add_argument(
        "--lease-time",
        type=float,
        default=float(os.environ.get("PIPEWORK_LEASE_TIME") or 30.0),
        metavar="SECONDS",
        help="with a shared --store: seconds a singleton job's lease lasts, so how long a pipe's source, a replay, "
        "a move task, a sweep or a ticker waits to move to another node when its node dies "
        "(default: $PIPEWORK_LEASE_TIME or 30)",
    )
    parser.add_argument(
        "--node-id",
        default=os.environ.get("PIPEWORK_NODE_ID") or None,
        help="this node's id among the nodes sharing --store (default: host-pid-random)",
    )
    parser.add_argument("--region", default="us-east-1", help="default region (default: us-east-1)")
    parser.add_argument(
        "--account", default="000000000000", help="account id in ARNs (default: 000000000000)"
    )
    parser.add_argument(
        "--functions",
        action="append",
        default=[],
        metavar="MODULE_OR_FILE",
        help="load local functions (each top-level handler(event, context)) from a module or .py file; "
        "repeatable; addressed as arn:aws:lambda:<region>:<account>:function:<name>",
    )
    parser.add_argument(
        "--function-timeout", type=float, default=3.0, help="seconds a function may run (default: 3)"
    )
    parser.add_argument(
        "--load",
        action="append",
        default=[],
        metavar="SCRIPT",
        help="once listening, run this Python script (with AWS_ENDPOINT_URL set to the server) to create "
        "definitions, e.g. examples/power-dispatch/setup.py; repeatable",
    )
    parser.add_argument(
        "--template",
        action="append",
        default=[],
        metavar="TEMPLATE",
        help="once listening, deploy this CloudFormation / SAM template as a stack named after the file "
        "(as `pipework deploy` does); repeatable",
    )
    parser.add_argument(
        "--manual-clock",
        action="store_true",
        help='run on a clock that moves only when told (POST /_pipework/clock {"Advance": SECONDS} or '
        '{"Set": EPOCH_SECONDS}): schedules, retries, visibility timeouts and long polls wait for it',
    )
    parser.add_argument(
        "--clock-start",
        type=float,
        default=None,
        metavar="EPOCH_SECONDS",
        help="with --manual-clock, the time the clock starts at (default: the real time at start)",
    )
    parser.add_argument(
        "--auth",
        choices=["off", "sigv4"],
        default=None,
        help="off: accept any credentials; sigv4: check signatures against --credentials and authorize by their "
        "policies (default: sigv4 with a PostgreSQL --store or a --host other than loopback, else off)",
    )
    parser.add_argument(
        "--credentials",
        type=Path,
        default=None,
        metavar="FILE",
        help='JSON keys, roles and policies for --auth sigv4: {"Keys": [...], "Roles": [...]} (see docs/auth.md)',
    )
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=None,
        metavar="PER_SECOND",
        help="with auth on, the requests per second each key may make (ThrottlingException beyond)",
    )
    parser.add_argument(
        "--tls-cert", type=Path, default=None, metavar="PEM", help="serve HTTPS with this certificate"
    )
    parser.add_argument(
        "--tls-key", type=Path, default=None, metavar="PEM", help="the private key of --tls-cert"
    )
    parser.add_argument(
        "--otlp-endpoint",
        metavar="URL",
        help="export OpenTelemetry spans (ingest, matching, delivery attempts) to this OTLP/HTTP collector, "
        "e.g. http://localhost:4318 (needs: pip install 'pipework[otel]')",
    )
    parser.add_argument(
        "--metrics-retention-days",
        type=float,
        default=15.0,
        metavar="DAYS",
        help="how long per-minute metric datapoints are kept (default: 15, as CloudWatch)",
    )
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"], help="(default: info)"
    )
    parser.set_defaults(func=run)


class _Server(uvicorn.Server):
    """uvicorn's server, announcing where it listens once the socket is bound (so ``--port 0`` shows the port)."""

    def __init__(
        self,
        config: uvicorn.Config,
        app: PipeworkApp,
        load: list[str] | None = None,
        templates: list[str] | None = None,
        auth_why: str = "",
    ) -> None:
        super().__init__(config)
        self.pipework_app = app
        self.load = load or []
        self.templates = templates or []
        self.auth_why = auth_why

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        from pipework.app import Pipework

        await super().startup(sockets)
        pipework = self.pipework_app.pipework
        if self.started and isinstance(pipework, Pipework):
            port = pipework.settings.port
            for server in self.servers:
                for sock in server.sockets:
                    port = sock.getsockname()[1]
            tls = self.config.ssl_certfile is not None
            print(banner(pipework, port, tls=tls, auth_why=self.auth_why), flush=True)
            url = _endpoint_url(pipework.settings.host, port, tls=tls)
            pipework.functions.endpoint_url = url  # what functions' SDKs call (--port 0 is known only now)
            if self.load or self.templates:
                threading.Thread(
                    target=_run_scripts,
                    args=(self.load, url, self.templates, pipework.settings.region),
                    daemon=True,
                ).start()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.pipework_app.end_streams()  # an open console tab does not hold the shutdown up
        await super().shutdown(sockets)


def _run_scripts(paths: list[str], endpoint_url: str, templates: list[str], region: str) -> None:
    """`--template`: deploy each template as its stack; `--load`: then run each script as ``__main__`` with
    AWS_ENDPOINT_URL pointing here (a failure is reported)."""
    from pathlib import Path

    from .deploy import default_stack_name, deploy

    os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    for template in templates:
        if deploy(endpoint_url, region, Path(template), stack_name=default_stack_name(Path(template))) != 0:
            logging.getLogger("pipework.serve").error("--template %s: the stack did not deploy", template)
    for path in paths:
        try:
            runpy.run_path(path, run_name="__main__")
        except BaseException:
            logging.getLogger("pipework.serve").exception("--load %s failed", path)


_EXAMPLE_CALLS = (("sqs", "list_queues"), ("events", "list_event_buses"), ("scheduler", "list_schedules"))


def default_auth(store: str | None, host: str) -> tuple[str, str]:
    """`pipework serve`'s auth mode without --auth, and why: sigv4 for a shared (PostgreSQL) store or a listener
    other than loopback, off otherwise."""
    if (store or "").startswith(("postgres://", "postgresql://")):
        return "sigv4", "the default with a PostgreSQL store"
    if not (host in ("localhost", "::1") or host.startswith("127.")):
        return "sigv4", f"the default when listening on {host}"
    return "off", "the default on loopback with a local store; --auth sigv4 turns it on"


def auth_line(pipework: Pipework, why: str) -> str:
    """What the start message says of authentication, and why that mode."""
    settings = pipework.settings
    if pipework.guard is None:
        return f"Auth: off ({why}): any credentials are accepted"
    keys = len(list(pipework.guard.keyring.fixed()))
    roles = len(pipework.guard.keyring.roles)
    limit = f"; {settings.rate_limit:g} requests/s per key" if settings.rate_limit else ""
    return (
        f"Auth: sigv4 ({why}): requests must be signed by one of the {keys} key(s) and {roles} role(s) "
        f"of {settings.credentials} or keys made with `pipework keys create`{limit}"
    )


def banner(pipework: Pipework, port: int, *, tls: bool = False, auth_why: str = "") -> str:
    settings = pipework.settings
    url = _endpoint_url(settings.host, port, tls=tls)
    if settings.store:
        where = f"store {redact(settings.store)}"
    else:
        where = "in memory" if settings.memory else f"data in {settings.data_dir}"
    if isinstance(pipework.clock, ManualClock):
        where += '; manual clock: POST /_pipework/clock {"Advance": SECONDS} moves it'
    served = sorted(service.name for service in pipework.served)
    services = ", ".join(served) or "no services"
    # A call that works against whichever API is served (SQS first: the quickest to try).
    example = next(((svc, call) for svc, call in _EXAMPLE_CALLS if svc in served), _EXAMPLE_CALLS[0])
    client = (
        f"boto3.client('{example[0]}', endpoint_url='{url}', region_name='{settings.region}', "
        "aws_access_key_id='test', aws_secret_access_key='test')"
        if pipework.guard is None
        else "aws_access_key_id=..., aws_secret_access_key=...)"
    )
    return "\n".join(
        [
            f"Pipework {__version__} listening on {url} ({where}; region {settings.region}; "
            f"account {settings.account})",
            f"Serving: {services}",
            f"Console: {url}/console/"
            + (" (sign in with an admin key)" if pipework.guard is not None else ""),
            auth_line(pipework, auth_why or f"--auth {pipework.settings.auth}"),
            "",
            "Point AWS SDKs and the AWS CLI at it:",
            f"  export AWS_ENDPOINT_URL={url}",
            "Or from Python:",
            f'  python -c "import boto3; print({client}.{example[1]}())"',
            "",
            "Press Ctrl+C to stop.",
        ]
    )


def redact(url: str) -> str:
    """`url` without its password, for printing."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


class _Stopped(Exception):
    """SIGTERM arrived and uvicorn has already shut down."""


def _stop_after_shutdown(signum: int, frame: object) -> None:
    raise _Stopped


def _endpoint_url(host: str, port: int, *, tls: bool = False) -> str:
    from pipework.app import Settings

    url: str = Settings(host=host, port=port).endpoint_url
    return "https" + url[4:] if tls else url


def run(args: argparse.Namespace) -> int:
    from pipework.app import Settings, asgi_app

    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    auth, why = (args.auth, f"--auth {args.auth}") if args.auth else default_auth(args.store, args.host)
    settings = Settings(
        data_dir=args.data,
        memory=args.memory,
        store=args.store,
        region=args.region,
        account=args.account,
        host=args.host,
        port=args.port,
        functions=tuple(args.functions),
        function_timeout=args.function_timeout,
        auth=auth,
        credentials=args.credentials,
        rate_limit=args.rate_limit,
        lease_time=args.lease_time,
        node_id=args.node_id,
        metrics_retention_days=args.metrics_retention_days,
        otlp_endpoint=args.otlp_endpoint,
    )
    if args.lease_time <= 0:
        print("pipework: --lease-time must be positive", file=sys.stderr)
        return 2
    if (args.tls_cert is None) != (args.tls_key is None):
        print("pipework: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    if args.metrics_retention_days <= 0:
        print("pipework: --metrics-retention-days must be positive", file=sys.stderr)
        return 2
    if args.clock_start is not None and not args.manual_clock:
        print("pipework: --clock-start needs --manual-clock", file=sys.stderr)
        return 2
    clock = None
    if args.manual_clock:
        clock = ManualClock(start=time.time() if args.clock_start is None else args.clock_start)
    app = asgi_app(settings, clock=clock)
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        lifespan="on",
        access_log=False,
        log_level=args.log_level,
        timeout_graceful_shutdown=10,
        ssl_certfile=str(args.tls_cert) if args.tls_cert else None,
        ssl_keyfile=str(args.tls_key) if args.tls_key else None,
    )
    server = _Server(config, app, args.load, args.template, why)
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal to the handler it found; make that
    # handler end the process normally (exit 0) instead of dying by the signal.
    previous = signal.signal(signal.SIGTERM, _stop_after_shutdown)
    failed = 1
    try:
        server.run()
    except (KeyboardInterrupt, _Stopped):
        pass
    except SystemExit as exit:
        if server.started:
            raise
        failed = exit.code if isinstance(exit.code, int) else 1  # uvicorn's 3: the app's startup failed
    finally:
        signal.signal(signal.SIGTERM, previous)
    # uvicorn returns (port taken) or exits (the store cannot open) when startup fails.
    if not server.started:
        reason = app.startup_error or "the server failed to start (see the log above)"
        print(f"pipework: {reason}", file=sys.stderr)
        return failed
    return 0
