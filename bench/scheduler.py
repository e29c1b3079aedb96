"""Scheduler benchmark: N schedules (half cron, half rate) each firing once over the next minutes, on the real
SQLite store and the system clock; reports firing lateness p50/p99/max, burst throughput and CPU while nothing is
due.

    python bench/scheduler.py                   # 100,000 schedules over 5 minutes, to a local function
    python bench/scheduler.py --target queue    # the same, to an SQS queue
    python bench/scheduler.py --smoke           # 1,000 rate schedules over 3 seconds (a few seconds in all)

Lateness = when the target got the invocation − the occurrence's scheduled time (FlexibleTimeWindow OFF, so the
scheduled time is when it is due). The scheduled time is the one the bench chose for the schedule, not one the
scheduler reports; the bench checks that `<aws.scheduler.scheduled-time>` agrees with it. "Got it" is when the
local function started running (`--target function`), or the SentTimestamp of the queue message (`--target queue`).

Cron occurrences land on minute boundaries (AWS's cron resolution), so each minute of the window is a burst of
N/2/minutes schedules; rate occurrences are spread uniformly (StartDate at whole seconds). Burst throughput = the
invocations of one burst / the time from its first to its last invocation (median over the bursts). Schedules are
created in process through the Scheduler API's operations (the same code the HTTP API calls).
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

import orjson

from pipework.app import Pipework, Settings
from pipework.services.base import RequestContext
from pipework.services.scheduler.model import FIRE_AHEAD

FN = "arn:aws:lambda:us-east-1:000000000000:function:bench"
QUEUE = "arn:aws:sqs:us-east-1:000000000000:bench"
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


def parse_time(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def cron_bursts(fired: list[tuple[float, float]]) -> dict[float, list[float]]:
    """When the target got each invocation due on a minute boundary (a cron burst), by its scheduled time."""
    bursts: dict[float, list[float]] = {}
    for at, when in fired:
        if at % 60 == 0:
            bursts.setdefault(at, []).append(when)
    return {at: times for at, times in bursts.items() if len(times) >= 100}


def burst_rates(bursts: dict[float, list[float]]) -> list[float]:
    """Invocations per second of each burst, from its first invocation to its last."""
    return [len(times) / (max(times) - min(times)) for times in bursts.values() if max(times) > min(times)]


def burst_starts(bursts: dict[float, list[float]]) -> list[float]:
    """Lateness of each burst's first invocation."""
    return [min(times) - at for at, times in bursts.items()]


async def run(
    count: int, span: float, lead: float, cron_share: float, target: str, data: Path
) -> dict[str, Any]:
    fired: list[tuple[float, float]] = []  # (scheduled time, when the target got it)
    disagree = 0  # invocations whose <aws.scheduler.scheduled-time> is not the bench's scheduled time

    def bench(event: Any, context: Any) -> None:
        nonlocal disagree
        fired.append((event["at"], time.time()))
        disagree += parse_time(event["scheduled"]) != event["at"]

    pipework = await Pipework.open(Settings(data_dir=data), functions={"bench": bench})
    if target == "queue":
        await pipework.sqs.handle("CreateQueue", {"QueueName": "bench"}, CTX)
    service = pipework.scheduler
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
            "Target": {
                "Arn": FN if target == "function" else QUEUE,
                "RoleArn": ROLE,
                "Input": f'{{"at": {at}, "scheduled": "<aws.scheduler.scheduled-time>"}}',
            },
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
    # Nothing is due until the ticker fires the first occurrences, FIRE_AHEAD before their time.
    quiet = until_first - FIRE_AHEAD
    if quiet < 1.5:
        raise SystemExit(f"creating took {create_seconds:.0f} s: raise --lead above {lead:.0f} s")
    await asyncio.sleep(0.5)
    idle_before = await measure_idle(min(10.0, quiet - 1.0))

    dispatcher = service.dispatcher
    deadline = last_due + 60
    # CPU of the whole process (every thread: the store's writer too) from before the first tick to the last
    # invocation: steadier than lateness on a shared machine, where lateness mostly measures the neighbours.
    await asyncio.sleep(max(0.0, min(first, first_minute) - FIRE_AHEAD - 0.5 - time.time()))
    burst_cpu = cpu_seconds()
    while dispatcher.metrics["Invocations"] < count and time.time() < deadline:
        await asyncio.sleep(0.05)
    burst_cpu = cpu_seconds() - burst_cpu
    await asyncio.sleep(1.0)
    idle_after = await measure_idle(5.0)
    if target == "queue":
        store, after = pipework.store, 0
        while items := await store.peek("sqs/000000000000/bench", after_seq=after, limit=5000):
            for item in items:
                event = orjson.loads(item.payload)
                fired.append((event["at"], item.enqueued_at))
                disagree += parse_time(event["scheduled"]) != event["at"]
            after = items[-1].seq
    await pipework.close()
    ordered = sorted(when - at for at, when in fired)
    bursts = cron_bursts(fired)
    rates, starts = burst_rates(bursts), burst_starts(bursts)
    quantile = statistics.quantiles(ordered, n=100) if len(ordered) > 1 else ordered * 99
    return {
        "schedules": count,
        "fired": len(fired),
        "create/s": count / create_seconds,
        "lateness p50 (s)": quantile[49],
        "lateness p99 (s)": quantile[98],
        "lateness max (s)": ordered[-1] if ordered else float("nan"),
        "scheduled-time disagreements": disagree,
        "burst invocations/s (median)": statistics.median(rates) if rates else float("nan"),
        "burst first invocation lateness (s, median)": statistics.median(starts) if starts else float("nan"),
        "burst first invocation lateness (s, max)": max(starts, default=float("nan")),
        "CPU per 1,000 invocations (ms)": 1e6 * burst_cpu / max(1, len(fired)),
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
    parser.add_argument("--target", choices=("function", "queue"), default="function")
    args = parser.parse_args()
    if args.smoke:
        args.count, args.span, args.lead, args.cron_share = 1000, 3.0, 7.0, 0.0
    with tempfile.TemporaryDirectory() as data:
        result = asyncio.run(run(args.count, args.span, args.lead, args.cron_share, args.target, Path(data)))
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value:,.3f}" if isinstance(value, float) else f"{key:<{width}}  {value:,}")
    ok = result["fired"] == result["schedules"] and not result["scheduled-time disagreements"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
