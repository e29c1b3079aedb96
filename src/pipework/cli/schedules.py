"""Schedule commands: ``pipework schedules list|show|create|delete|next``.

Thin wrappers over the Scheduler API (boto3), printing readable tables. ``next`` reads the schedule and prints its
next fire times, computed with the same evaluator the server fires with (in the schedule's time zone).
``--endpoint-url`` defaults to ``$AWS_ENDPOINT_URL`` or http://localhost:4566.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from typing import Any

from .events import table

DEFAULT_ROLE = "arn:aws:iam::000000000000:role/pipework-scheduler"


def _client(args: argparse.Namespace) -> Any:
    import boto3

    endpoint = args.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or "http://localhost:4566"
    return boto3.client(
        "scheduler",
        endpoint_url=endpoint,
        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
    )


def _common(parser: argparse.ArgumentParser, *, group: bool = True) -> None:
    if group:
        parser.add_argument("--group", default="default", help="schedule group (default: default)")
    parser.add_argument(
        "--endpoint-url", help="server URL (default: $AWS_ENDPOINT_URL or http://localhost:4566)"
    )


def register(subparsers: Any) -> None:
    schedules = subparsers.add_parser(
        "schedules", help="EventBridge Scheduler schedules: list, show, create, …"
    )
    commands = schedules.add_subparsers(dest="schedules_command", required=True)

    listing = commands.add_parser("list", help="list schedules")
    listing.add_argument("--group", help="only this group")
    listing.add_argument("--prefix", default="", help="only names starting with this")
    _common(listing, group=False)
    listing.set_defaults(func=run_list)

    show = commands.add_parser("show", help="print one schedule as JSON")
    show.add_argument("name")
    _common(show)
    show.set_defaults(func=run_show)

    create = commands.add_parser("create", help="create a schedule")
    create.add_argument("name")
    create.add_argument("--expression", required=True, help="at(...), rate(...) or cron(...)")
    create.add_argument("--target-arn", required=True)
    create.add_argument("--input", help="the target's Input (text or JSON)")
    create.add_argument("--role-arn", default=DEFAULT_ROLE)
    create.add_argument("--timezone", help="IANA time zone of the expression (default UTC)")
    create.add_argument("--flexible-window", type=int, help="minutes of flexible time window (default off)")
    create.add_argument("--start-date", help="ISO-8601 (UTC)")
    create.add_argument("--end-date", help="ISO-8601 (UTC)")
    create.add_argument("--disabled", action="store_true")
    create.add_argument("--delete-after-completion", action="store_true")
    create.add_argument("--dead-letter-arn")
    create.add_argument("--max-retries", type=int)
    create.add_argument("--max-age", type=int, help="MaximumEventAgeInSeconds")
    _common(create)
    create.set_defaults(func=run_create)

    delete = commands.add_parser("delete", help="delete a schedule")
    delete.add_argument("name")
    _common(delete)
    delete.set_defaults(func=run_delete)

    upcoming = commands.add_parser("next", help="print the next fire times of a schedule")
    upcoming.add_argument("name")
    upcoming.add_argument("--count", type=int, default=5)
    _common(upcoming)
    upcoming.set_defaults(func=run_next)


def _when(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return str(value or "")


def run_list(args: argparse.Namespace) -> int:
    client = _client(args)
    params: dict[str, Any] = {"NamePrefix": args.prefix} if args.prefix else {}
    if args.group:
        params["GroupName"] = args.group
    rows: list[dict[str, Any]] = []
    for page in client.get_paginator("list_schedules").paginate(**params):
        for summary in page["Schedules"]:
            rows.append(
                {
                    "GROUP": summary["GroupName"],
                    "NAME": summary["Name"],
                    "STATE": summary["State"],
                    "TARGET": summary["Target"]["Arn"],
                    "MODIFIED": _when(summary.get("LastModificationDate")),
                }
            )
    print(table(rows, ["GROUP", "NAME", "STATE", "TARGET", "MODIFIED"]))
    return 0


def run_show(args: argparse.Namespace) -> int:
    schedule = _client(args).get_schedule(Name=args.name, GroupName=args.group)
    schedule.pop("ResponseMetadata", None)
    print(json.dumps(schedule, indent=2, default=_when))
    return 0


def run_create(args: argparse.Namespace) -> int:
    target: dict[str, Any] = {"Arn": args.target_arn, "RoleArn": args.role_arn}
    if args.input is not None:
        target["Input"] = args.input
    if args.dead_letter_arn:
        target["DeadLetterConfig"] = {"Arn": args.dead_letter_arn}
    policy = {}
    if args.max_retries is not None:
        policy["MaximumRetryAttempts"] = args.max_retries
    if args.max_age is not None:
        policy["MaximumEventAgeInSeconds"] = args.max_age
    if policy:
        target["RetryPolicy"] = policy
    params: dict[str, Any] = {
        "Name": args.name,
        "GroupName": args.group,
        "ScheduleExpression": args.expression,
        "Target": target,
        "FlexibleTimeWindow": {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": args.flexible_window}
        if args.flexible_window
        else {"Mode": "OFF"},
        "State": "DISABLED" if args.disabled else "ENABLED",
        "ActionAfterCompletion": "DELETE" if args.delete_after_completion else "NONE",
    }
    if args.timezone:
        params["ScheduleExpressionTimezone"] = args.timezone
    for key, value in (("StartDate", args.start_date), ("EndDate", args.end_date)):
        if value:
            params[key] = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    from botocore.exceptions import ClientError

    try:
        arn = _client(args).create_schedule(**params)["ScheduleArn"]
    except ClientError as exc:
        print(f"error: {exc.response['Error']['Message']}", file=sys.stderr)
        return 1
    print(arn)
    return 0


def run_delete(args: argparse.Namespace) -> int:
    _client(args).delete_schedule(Name=args.name, GroupName=args.group)
    print(f"deleted {args.group}/{args.name}")
    return 0


def run_next(args: argparse.Namespace) -> int:
    from pipework.schedule_expressions import Timing

    schedule = _client(args).get_schedule(Name=args.name, GroupName=args.group)
    timezone = schedule.get("ScheduleExpressionTimezone", "UTC")
    start, end = schedule.get("StartDate"), schedule.get("EndDate")
    created = schedule["LastModificationDate"].timestamp()
    timing = Timing.of(
        schedule["ScheduleExpression"],
        timezone,
        start=start.timestamp() if start else None,
        end=end.timestamp() if end else None,
        created=created,
    )
    now = dt.datetime.now(dt.UTC).timestamp()
    if timing.one_time:
        times = [t for t in [timing.next_after(float("-inf"))] if t is not None and t > now]
    else:
        times = timing.upcoming(now, args.count)
    if schedule["State"] == "DISABLED":
        print("(disabled: these are the times it would fire)", file=sys.stderr)
    for when in times:
        moment = dt.datetime.fromtimestamp(when, timing.tz)
        print(f"{moment:%a %Y-%m-%d %H:%M:%S %Z}  ({_when(dt.datetime.fromtimestamp(when, dt.UTC))})")
    return 0
