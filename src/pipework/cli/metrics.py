"""Metrics and alarm commands: ``pipework metrics`` and ``pipework alarms list|show|history``.

Thin wrappers over the CloudWatch API (boto3). ``metrics`` lists every metric with datapoints in the window (ListMetrics
then GetMetricData, Sum per period) as a table with a sparkline per series; ``alarms`` reads DescribeAlarms and
DescribeAlarmHistory. ``--endpoint-url`` defaults to ``$AWS_ENDPOINT_URL`` or http://localhost:4566.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from typing import Any

from .events import table

SPARKS = "▁▂▃▄▅▆▇█"


def _client(args: argparse.Namespace) -> Any:
    import boto3

    endpoint = args.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or "http://localhost:4566"
    return boto3.client(
        "cloudwatch",
        endpoint_url=endpoint,
        region_name=args.region or os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
    )


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--endpoint-url", help="server URL (default: $AWS_ENDPOINT_URL or http://localhost:4566)"
    )
    parser.add_argument("--region", help="the region (default: $AWS_DEFAULT_REGION or us-east-1)")


def sparkline(values: list[float]) -> str:
    """Values as a one-line bar chart (empty for none)."""
    if not values:
        return ""
    low, high = min(values), max(values)
    span = high - low
    return "".join(SPARKS[0 if span == 0 else int((v - low) / span * (len(SPARKS) - 1))] for v in values)


def register(subparsers: Any) -> None:
    metrics = subparsers.add_parser("metrics", help="metrics with datapoints recently, with sparklines")
    metrics.add_argument("--namespace", help="only this namespace (e.g. AWS/EventBridge/Pipes)")
    metrics.add_argument("--name", help="only this metric name")
    metrics.add_argument("--minutes", type=int, default=60, help="the window, back from now (default 60)")
    metrics.add_argument("--period", type=int, default=60, help="seconds per point (default 60)")
    metrics.add_argument("--stat", default="Sum", help="the statistic (default Sum)")
    _common(metrics)
    metrics.set_defaults(func=run_metrics)

    alarms = subparsers.add_parser("alarms", help="CloudWatch alarms: list, show, history")
    commands = alarms.add_subparsers(dest="alarms_command", required=True)
    listing = commands.add_parser("list", help="list alarms and their states")
    listing.add_argument("--state", choices=["OK", "ALARM", "INSUFFICIENT_DATA"])
    _common(listing)
    listing.set_defaults(func=run_alarms_list)
    show = commands.add_parser("show", help="print one alarm as JSON")
    show.add_argument("name")
    _common(show)
    show.set_defaults(func=run_alarms_show)
    history = commands.add_parser("history", help="an alarm's history, oldest first")
    history.add_argument("name")
    history.add_argument("--type", choices=["ConfigurationUpdate", "StateUpdate", "Action"])
    _common(history)
    history.set_defaults(func=run_alarms_history)


def _label(metric: dict[str, Any]) -> str:
    dims = ",".join(f"{d['Name']}={d['Value']}" for d in metric.get("Dimensions") or ())
    return f"{metric['MetricName']}{{{dims}}}" if dims else metric["MetricName"]


def run_metrics(args: argparse.Namespace) -> int:
    client = _client(args)
    params: dict[str, Any] = {}
    if args.namespace:
        params["Namespace"] = args.namespace
    if args.name:
        params["MetricName"] = args.name
    metrics = [m for page in client.get_paginator("list_metrics").paginate(**params) for m in page["Metrics"]]
    end = dt.datetime.now(dt.UTC)
    start = end - dt.timedelta(minutes=args.minutes)
    rows = []
    for offset in range(0, len(metrics), 500):
        chunk = metrics[offset : offset + 500]
        queries = [
            {
                "Id": f"m{i}",
                "MetricStat": {
                    "Metric": {k: m[k] for k in ("Namespace", "MetricName", "Dimensions")},
                    "Period": args.period,
                    "Stat": args.stat,
                },
            }
            for i, m in enumerate(chunk)
        ]
        found = client.get_metric_data(
            MetricDataQueries=queries, StartTime=start, EndTime=end, ScanBy="TimestampAscending"
        )
        for metric, result in zip(chunk, found["MetricDataResults"]):
            values = result["Values"]
            if not values:
                continue
            rows.append(
                {
                    "NAMESPACE": metric["Namespace"],
                    "METRIC": _label(metric),
                    args.stat.upper(): f"{sum(values) if args.stat == 'Sum' else values[-1]:g}",
                    "LAST": f"{values[-1]:g}",
                    "TREND": sparkline(values),
                }
            )
    if not rows:
        print(f"no datapoints in the last {args.minutes} minutes")
        return 0
    rows.sort(key=lambda r: (r["NAMESPACE"], r["METRIC"]))
    print(table(rows, ["NAMESPACE", "METRIC", args.stat.upper(), "LAST", "TREND"]))
    return 0


def run_alarms_list(args: argparse.Namespace) -> int:
    client = _client(args)
    params: dict[str, Any] = {"AlarmTypes": ["MetricAlarm", "CompositeAlarm"]}
    if args.state:
        params["StateValue"] = args.state
    rows = []
    for page in client.get_paginator("describe_alarms").paginate(**params):
        for alarm in page["MetricAlarms"]:
            what = _label(alarm) if "MetricName" in alarm else "metric math"
            rows.append(
                {
                    "NAME": alarm["AlarmName"],
                    "STATE": alarm["StateValue"],
                    "METRIC": what,
                    "SINCE": alarm["StateUpdatedTimestamp"].strftime("%Y-%m-%d %H:%M:%S"),
                }
            )
        for alarm in page["CompositeAlarms"]:
            rows.append(
                {
                    "NAME": alarm["AlarmName"],
                    "STATE": alarm["StateValue"],
                    "METRIC": alarm["AlarmRule"],
                    "SINCE": alarm["StateUpdatedTimestamp"].strftime("%Y-%m-%d %H:%M:%S"),
                }
            )
    print(table(rows, ["NAME", "STATE", "METRIC", "SINCE"]) if rows else "no alarms")
    return 0


def run_alarms_show(args: argparse.Namespace) -> int:
    client = _client(args)
    found = client.describe_alarms(AlarmNames=[args.name], AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    alarms = found["MetricAlarms"] + found["CompositeAlarms"]
    if not alarms:
        print(f"no alarm named {args.name}", file=sys.stderr)
        return 1
    print(json.dumps(alarms[0], indent=2, default=str))
    return 0


def run_alarms_history(args: argparse.Namespace) -> int:
    client = _client(args)
    params: dict[str, Any] = {
        "AlarmName": args.name,
        "AlarmTypes": ["MetricAlarm", "CompositeAlarm"],
        "ScanBy": "TimestampAscending",
    }
    if args.type:
        params["HistoryItemType"] = args.type
    items = [
        i
        for page in client.get_paginator("describe_alarm_history").paginate(**params)
        for i in page["AlarmHistoryItems"]
    ]
    rows = [
        {
            "TIME": i["Timestamp"].strftime("%Y-%m-%d %H:%M:%S"),
            "TYPE": i["HistoryItemType"],
            "SUMMARY": i["HistorySummary"],
        }
        for i in items
    ]
    print(table(rows, ["TIME", "TYPE", "SUMMARY"]) if rows else f"no history for {args.name}")
    return 0
