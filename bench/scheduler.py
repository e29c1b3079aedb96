"""Scheduler benchmark: N schedules (half cron, half rate) each firing once over the next minutes, on the real
SQLite store and the system clock; reports firing lateness p50/p99/max and CPU while nothing is due.

    python bench/scheduler.py              # 100,000 schedules over 5 minutes
    python bench/scheduler.py --smoke      # 1,000 rate schedules over 3 seconds (a few seconds in all)

Lateness = when the target (a local function) ran − the occurrence's scheduled time. Cron occurrences land on
minute boundaries (AWS's cron resolution), so each minute of the window is a burst of N/2/minutes schedules;
rate occurrences are spread uniformly (StartDate at whole seconds). Schedules are created in process through the
Scheduler API's operations (the same code the HTTP API calls).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pipework.app import Pipework, Settings
from pipework.services.base import RequestContext

FN = "arn:aws:lambda:us-east-1:000000000000:function:bench"
ROLE = "arn:aws:iam::000000000000:role/bench"
CTX = RequestContext("scheduler", "CreateSchedule", "us-east-1", "000000000000", "bench")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cron_at(when: float) -> str:
    m = dt.datetime.fromtimestamp(when, dt.UTC)
    return f"cron({m.minute} {m.hour} {m.day} {m.month} ? {m.year})"


async def measure_idle(seconds: float) -> float:
    """CPU of this process, as % of one core, over `seconds` of wall time."""
    before, start = cpu_seconds(), time.monotonic()
    await asyncio.sleep(seconds)
    return 100 * (cpu_seconds() - before) / (time.monotonic() - start)


async def run(count: int, span: float, lead: float, cron_share: float, data: Path) -> dict[str, Any]:
    pipework = Pipework(Settings(data_dir=data), services=["pipework.services.scheduler:create_service"])
    fired: list[float] = []

    def bench(event: Any, context: Any) -> None:
        fired.append(time.time() - event["at"])

    pipework.functions.register("bench", bench)
    await pipework.start()
    service = pipework.services["scheduler"]
    rng = random.Random(7)
    first = math.ceil(time.time() + lead)
    first_minute = math.ceil(first / 60) * 60
    minutes = max(1, int(span // 60))
    requests = []
    for i in range(count):
        if rng.random() < cron_share:
            at = first_minute + 60 * rng.randrange(minutes)
            expression, start = cron_at(at), None
        else:
            at = first + rng.randrange(int(span))
            expression, start = "rate(1 day)", dt.datetime.fromtimestamp(at, dt.UTC)
        params: dict[str, Any] = {
            "Name": f"s{i}",
            "ScheduleExpression": expression,
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {"Arn": FN, "RoleArn": ROLE, "Input": f'{{"at": {at}}}'},
        }
        if start is not None:
            params["StartDate"] = start
        requests.append(params)
    last_due = max(first + span, first_minute + 60 * (minutes - 1))

    created_at = time.monotonic()
    for offset in range(0, count, 500):
        await asyncio.gather(
            *(service.handle("CreateSchedule", p, CTX) for p in requests[offset : offset + 500])
        )
    create_seconds = time.monotonic() - created_at
    until_first = min(first, first_minute) - time.time()
    if until_first < 1.5:
        raise SystemExit(f"creating took {create_seconds:.0f} s: raise --lead above {lead:.0f} s")
    await asyncio.sleep(0.5)
    idle_before = await measure_idle(min(10.0, until_first - 1.0))

    deadline = last_due + 60
    while len(fired) < count and time.time() < deadline:
        await asyncio.sleep(0.2)
    await asyncio.sleep(1.0)
    idle_after = await measure_idle(5.0)
    await pipework.stop()
    ordered = sorted(fired)
    quantile = statistics.quantiles(ordered, n=100) if len(ordered) > 1 else ordered * 99
    return {
        "schedules": count,
        "fired": len(fired),
        "create/s": count / create_seconds,
        "lateness p50 (s)": quantile[49],
        "lateness p99 (s)": quantile[98],
        "lateness max (s)": ordered[-1] if ordered else float("nan"),
        "idle CPU before (% core)": idle_before,
        "idle CPU after (% core)": idle_after,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="1,000 rate schedules over 3 s")
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--span", type=float, default=300.0, help="seconds the occurrences spread over")
    parser.add_argument(
        "--lead", type=float, default=150.0, help="seconds from start to the first occurrence"
    )
    parser.add_argument("--cron-share", type=float, default=0.5)
    args = parser.parse_args()
    if args.smoke:
        args.count, args.span, args.lead, args.cron_share = 1000, 3.0, 4.0, 0.0
    with tempfile.TemporaryDirectory() as data:
        result = asyncio.run(run(args.count, args.span, args.lead, args.cron_share, Path(data)))
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value:,.3f}" if isinstance(value, float) else f"{key:<{width}}  {value:,}")
    return 0 if result["fired"] == result["schedules"] else 1


if __name__ == "__main__":
    sys.exit(main())
