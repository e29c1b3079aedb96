"""`Connectors`: what every target and source of one instance shares — one HTTP client, the clock, the local
functions, the log directory — and the ports to the served APIs. Built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx

from pipework.clock import Clock

from .ports import Admission, ApiClient, ApiDestinationCatalog, EventBuses, LogGroups, TableStreams
from .targets.function import Functions


@dataclass(frozen=True)
class Connectors:
    """The shared connectors of an instance.

    Parameters:
        clock: the instance's clock (rate limits, token expiry, log timestamps).
        http: the one HTTP client (API destinations, OAuth token endpoints).
        functions: the local functions (Lambda-style targets and enrichments).
        log_directory: where log-group targets write their files.
        api: in-process calls to the served APIs (validated against botocore's models).
        buses, destinations, streams: what EventBridge and DynamoDB Streams own, through ports.
        logs: CloudWatch Logs' log groups, where log-group targets write (None: files under `log_directory`).
        admission: the circuit breakers, asked again by a target that waited for its rate limit.
    """

    clock: Clock
    http: httpx.AsyncClient
    functions: Functions
    log_directory: Path
    api: ApiClient
    buses: EventBuses
    destinations: ApiDestinationCatalog
    streams: TableStreams
    logs: LogGroups | None = None
    admission: Admission | None = None

    async def close(self) -> None:
        await self.http.aclose()
        await self.functions.close()
