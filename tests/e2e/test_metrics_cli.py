"""``pipework metrics`` and ``pipework alarms list|show|history`` against a running server."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from typing import Any

from pipework.cli.metrics import sparkline
from pipework.clock import ManualClock

START = 1_800_000_000.0


def cli(server: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipework.cli.main", *args, "--endpoint-url", server.endpoint_url],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_sparkline_scales_values_to_bars() -> None:
    assert sparkline([]) == ""
    assert sparkline([1, 1]) == "▁▁"
    assert sparkline([0, 5, 10]) == "▁▄█"


def test_metrics_prints_a_table_with_a_sparkline_per_series(server: Any) -> None:
    cloudwatch = server.client("cloudwatch")
    now = dt.datetime.now(dt.UTC)
    for minutes_ago, value in ((3, 1.0), (2, 4.0), (1, 9.0)):
        cloudwatch.put_metric_data(
            Namespace="Plant",
            MetricData=[
                {
                    "MetricName": "Load",
                    "Dimensions": [{"Name": "Site", "Value": "north"}],
                    "Timestamp": now - dt.timedelta(minutes=minutes_ago),
                    "Value": value,
                }
            ],
        )
    done = cli(server, "metrics", "--namespace", "Plant", "--minutes", "10")
    assert done.returncode == 0, done.stderr
    header, row = done.stdout.splitlines()
    assert header.split() == ["NAMESPACE", "METRIC", "SUM", "LAST", "TREND"]
    assert row.split() == ["Plant", "Load{Site=north}", "14", "9", "▁▃█"]


def test_alarms_list_show_and_history(make_server: Any) -> None:
    # On a manual clock: on the real one, a minute boundary falling between SetAlarmState and the CLI calls
    # re-evaluated the alarm (no data: INSUFFICIENT_DATA), as CloudWatch does, and the listing saw that instead.
    server = make_server(clock=ManualClock(start=START))
    cloudwatch = server.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="pipe-failing",
        Namespace="AWS/EventBridge/Pipes",
        MetricName="ExecutionFailed",
        Dimensions=[{"Name": "PipeName", "Value": "power"}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=15,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName="pipe-failing", StateValue="ALARM", StateReason="drill")
    listed = cli(server, "alarms", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[1].split()[:3] == [
        "pipe-failing",
        "ALARM",
        "ExecutionFailed{PipeName=power}",
    ]
    shown = cli(server, "alarms", "show", "pipe-failing")
    assert json.loads(shown.stdout)["StateReason"] == "drill"
    history = cli(server, "alarms", "history", "pipe-failing")
    summaries = [line.split(None, 3)[3] for line in history.stdout.splitlines()[1:]]
    assert summaries == ['Alarm "pipe-failing" created', "Alarm updated from INSUFFICIENT_DATA to ALARM"]
    assert cli(server, "alarms", "show", "nothing").returncode == 1
    # The next minute's evaluation puts the alarm back where its (missing) data says.
    server.advance(60)
    listed = cli(server, "alarms", "list")
    assert listed.stdout.splitlines()[1].split()[:2] == ["pipe-failing", "INSUFFICIENT_DATA"]
