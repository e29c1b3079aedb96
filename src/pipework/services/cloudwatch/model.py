"""Alarms as CloudWatch describes them (the MetricAlarm and CompositeAlarm shapes), stored as store resources with
epoch-second times, and their history items.

Store layout: resources ``cloudwatch/alarm`` named ``<account>/<region>/<alarm name>`` (a ``/`` in the name written
``%2F``); the history of one account and region in the log ``cloudwatch/alarm-history/<account>/<region>``, one
record per item, keyed by the alarm's name, trimmed after `HISTORY_RETENTION`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

ALARMS = "cloudwatch/alarm"
HISTORY = "cloudwatch/alarm-history"
#: CloudWatch keeps alarm history 30 days.
HISTORY_RETENTION = 30 * 86_400.0
STATES = ("OK", "ALARM", "INSUFFICIENT_DATA")
#: Members of a stored alarm that are times (epoch seconds in the store, timestamps on the wire).
TIMES = ("AlarmConfigurationUpdatedTimestamp", "StateUpdatedTimestamp", "StateTransitionedTimestamp")
#: Members kept in the store that the Describe operations do not return.
INTERNAL = ("AlarmType", "Tags", "Region", "Account")


def alarm_key(account: str, region: str, name: str) -> str:
    return f"{account}/{region}/{name.replace('/', '%2F')}"


def history_log(account: str, region: str) -> str:
    return f"{HISTORY}/{account}/{region}"


def alarm_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:cloudwatch:{region}:{account}:alarm:{name}"


def to_api(body: dict[str, Any]) -> dict[str, Any]:
    """A stored alarm as DescribeAlarms returns it."""
    out = {k: v for k, v in body.items() if k not in INTERNAL}
    for name in TIMES:
        if name in out:
            out[name] = dt.datetime.fromtimestamp(out[name], dt.UTC)
    return out


def iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


def actions_for(body: dict[str, Any], state: str) -> list[str]:
    member = {"ALARM": "AlarmActions", "OK": "OKActions", "INSUFFICIENT_DATA": "InsufficientDataActions"}[
        state
    ]
    return list(body.get(member) or ())


def configuration(body: dict[str, Any]) -> dict[str, Any]:
    """The ``configuration`` of a state-change event: the description and the metrics (as AWS writes them)."""
    out: dict[str, Any] = {}
    if body.get("AlarmDescription"):
        out["description"] = body["AlarmDescription"]
    if body.get("AlarmType") == "CompositeAlarm":
        out["alarmRule"] = body["AlarmRule"]
        return out
    if body.get("Metrics"):
        metrics = []
        for query in body["Metrics"]:
            item: dict[str, Any] = {"id": query["Id"], "returnData": query.get("ReturnData", True)}
            if "Expression" in query:
                item["expression"] = query["Expression"]
            if "MetricStat" in query:
                stat = query["MetricStat"]
                item["metricStat"] = {
                    "metric": _metric(stat["Metric"]),
                    "period": stat["Period"],
                    "stat": stat["Stat"],
                }
            metrics.append(item)
        out["metrics"] = metrics
    else:
        out["metrics"] = [
            {
                "id": "m1",
                "metricStat": {
                    "metric": _metric(body),
                    "period": body["Period"],
                    "stat": body.get("Statistic") or body.get("ExtendedStatistic"),
                },
                "returnData": True,
            }
        ]
    return out


def _metric(given: dict[str, Any]) -> dict[str, Any]:
    return {
        "namespace": given.get("Namespace"),
        "name": given.get("MetricName"),
        "dimensions": {d["Name"]: d["Value"] for d in given.get("Dimensions") or ()},
    }
