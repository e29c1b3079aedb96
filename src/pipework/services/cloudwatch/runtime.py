"""The alarm evaluator: at each minute boundary of the instance's clock it flushes the metrics, then evaluates
every metric alarm over the EvaluationPeriods whole periods just ended and moves those whose state changed.

The boundary is a clock timer while alarms exist, so on a manual clock time travel stops at every minute and
answers only after the evaluations (and their events and actions) it made due have run; without alarms it is a
safety net only (the loop still samples gauges and flushes, and time travel does not stop for it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from typing import Any

from pipework.engine.metrics import Recorder

from . import queries
from .alarms import Alarms
from .evaluation import evaluate, reason_data_text

log = logging.getLogger("pipework.cloudwatch")
#: Seconds between two trims of the alarm history to its 30 days.
HISTORY_SWEEP = 3600.0


class Evaluator:
    """Evaluates `alarms` on `recorder`'s metrics every minute of the clock."""

    def __init__(self, alarms: Alarms, recorder: Recorder) -> None:
        self.alarms = alarms
        self.recorder = recorder
        self.clock = alarms.clock
        self._task: asyncio.Task[None] | None = None
        self._sleep: asyncio.Future[None] | None = None
        self._next_trim = 0.0
        alarms.changed.append(self._replan)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="cloudwatch:alarms")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _replan(self) -> None:
        """Alarms came or went: wake the loop so its next wait is a timer exactly when alarms exist."""
        if self._sleep is not None and not self._sleep.done():
            self._sleep.set_result(None)  # not cancel: the loop awaits it directly, as the clock needs to see

    async def _run(self) -> None:
        while True:
            boundary = (math.floor(self.clock.now() / 60) + 1) * 60
            self._sleep = self.clock.sleep_until(boundary, timer=self.alarms.count() > 0)
            await self._sleep
            if self.clock.now() < boundary:
                continue  # woken to re-plan
            try:
                await self.tick()
            except Exception:
                log.exception("evaluating alarms failed; trying again at the next minute")

    async def tick(self) -> None:
        """One minute boundary: sample gauges, flush, evaluate every metric alarm."""
        await self.recorder.sample()
        await self.recorder.flush()
        now = self.clock.now()
        async with self.alarms.lock:
            for (account, region), alarms in list(self.alarms.by_region.items()):
                for alarm in list(alarms.values()):
                    if alarm["AlarmType"] != "MetricAlarm":
                        continue
                    try:
                        await self.evaluate(alarm, account, region, now)
                    except Exception:
                        log.exception("evaluating alarm %s failed", alarm["AlarmName"])
        if now >= self._next_trim:
            self._next_trim = now + HISTORY_SWEEP
            await self.alarms.trim_history()

    async def evaluate(self, alarm: dict[str, Any], account: str, region: str, now: float) -> None:
        periods_n = alarm["EvaluationPeriods"]
        if "Metrics" in alarm:
            parsed = queries.parse_queries(alarm["Metrics"])
            returned = next(q for q in parsed if q.return_data)
            period = returned.period or min((q.period for q in parsed if q.metric), default=60)
            end = math.floor(now / period) * period
            start = end - periods_n * period
            results = await queries.run_queries(self.recorder, account, region, parsed, start, end)
            series = next(s for q, s, _ in results if q.id == returned.id)
            statistic = returned.stat or "Expression"
        else:
            period = alarm["Period"]
            end = math.floor(now / period) * period
            start = end - periods_n * period
            metric = queries.metric_of(alarm)
            statistic = alarm.get("Statistic") or alarm["ExtendedStatistic"]
            found = await queries.periods(
                self.recorder, account, region, metric, start, end, period, alarm.get("Unit")
            )
            series = {}
            for at, aggregate in found.items():
                value = aggregate.statistic(statistic)
                if value is not None:
                    series[at] = value
        width = max(period, 60)
        values = [(float(t), series.get(float(t))) for t in range(int(start), int(end), width)]
        outcome = evaluate(
            values=values,
            threshold=alarm["Threshold"],
            comparison=alarm["ComparisonOperator"],
            datapoints_to_alarm=alarm.get("DatapointsToAlarm", periods_n),
            treat_missing=alarm.get("TreatMissingData", "missing"),
            period=period,
            statistic=statistic,
            now=now,
        )
        if outcome.state is None or outcome.state == alarm["StateValue"]:
            return
        await self.alarms.transition(
            alarm, outcome.state, outcome.reason, reason_data_text(outcome.reason_data)
        )
