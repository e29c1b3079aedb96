"""The vendor mediator built the DIY way, from AWS-compatible pieces only, as the loyalty platform did on AWS — for
comparison with `mediator.py`'s one breaker:

- a status monitor: a Scheduler schedule (``rate(1 minute)``) invoking the ``status_check`` function, which polls
  the vendor's status endpoint, keeps the status in the ``VendorStatus`` table and puts a ``Vendor Status
  Changed`` event on the bus when it changes;
- a breaker in every sender: the ``sender`` function reads the status table first; while the vendor is down (or
  when its call fails) it puts the order back as an ``Order Retry`` event instead of calling;
- an archive of the ``Order Retry`` events (with RetentionDays);
- the catch-up: a rule on ``Vendor Status Changed`` with status ``up`` invokes ``catch_up``, which replays the
  outage window of the archive (a replay named ``vendor-outage-...``) to the rule that sends replayed retries to
  the sender.

    python examples/vendor-mediator/diy.py      # the same 10 s outage as mediator.py, the DIY way

The functions call the server with boto3 (`Functions.endpoint_url`), as AWS functions would call AWS.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from mediator import BUS, client, place_orders
from vendor import Vendor

ACCOUNT = "000000000000"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/diy"
FUNCTION = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:"
TABLE = "VendorStatus"
REPLAY_PREFIX = "vendor-outage-"


class Functions:
    """The three functions of the DIY mediator (register `handlers()` with the server)."""

    def __init__(self, endpoint_url: str, vendor_url: str, now: Any = time.time) -> None:
        self.endpoint_url = endpoint_url
        self.vendor_url = vendor_url
        self.now = now

    def handlers(self) -> dict[str, Any]:
        return {"sender": self.sender, "status_check": self.status_check, "catch_up": self.catch_up}

    def _status(self) -> dict[str, Any]:
        item = client("dynamodb", self.endpoint_url).get_item(
            TableName=TABLE, Key={"vendor": {"S": "vouchers"}}
        )
        found = item.get("Item") or {}
        return {k: next(iter(v.values())) for k, v in found.items()}

    def _retry_later(self, order: str) -> None:
        entry = {"EventBusName": BUS, "Source": "mediator", "DetailType": "Order Retry"}
        entry["Detail"] = json.dumps({"orderId": order})
        client("events", self.endpoint_url).put_events(Entries=[entry])

    def sender(self, event: dict[str, Any], context: Any) -> None:
        """Send an order's voucher request, unless the status table says the vendor is down (the breaker)."""
        order = event["detail"]["orderId"]
        if self._status().get("status") == "down":
            self._retry_later(order)
            return
        request = urllib.request.Request(
            f"{self.vendor_url}/vouchers",
            data=json.dumps({"orderId": order}).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=2):
                pass
        except (urllib.error.URLError, OSError):
            self._retry_later(order)  # archived: the catch-up replays it

    def status_check(self, event: Any, context: Any) -> None:
        """Poll the vendor's status; on a change, record it and announce it."""
        try:
            with urllib.request.urlopen(f"{self.vendor_url}/status", timeout=2) as answer:
                status = "up" if answer.status == 200 else "down"
        except (urllib.error.URLError, OSError):
            status = "down"
        previous = self._status()
        if previous.get("status") == status:
            return
        now = self.now()
        item = {"vendor": {"S": "vouchers"}, "status": {"S": status}, "since": {"N": str(now)}}
        client("dynamodb", self.endpoint_url).put_item(TableName=TABLE, Item=item)
        detail = {"status": status, "since": now, "previousSince": float(previous.get("since", now))}
        entry = {"EventBusName": BUS, "Source": "mediator", "DetailType": "Vendor Status Changed"}
        entry["Detail"] = json.dumps(detail)
        client("events", self.endpoint_url).put_events(Entries=[entry])

    def catch_up(self, event: dict[str, Any], context: Any) -> None:
        """The vendor is up again: replay the outage window's retries (from the first failure the monitor could
        have missed: one polling interval before the status turned down)."""
        events = client("events", self.endpoint_url)
        start = float(event["detail"]["previousSince"]) - 60
        end = float(event["detail"]["since"])
        region_arn = f"arn:aws:events:us-east-1:{ACCOUNT}"
        events.start_replay(
            ReplayName=f"{REPLAY_PREFIX}{int(end)}",
            EventSourceArn=f"{region_arn}:archive/order-retries",
            EventStartTime=dt.datetime.fromtimestamp(start, dt.UTC),
            EventEndTime=dt.datetime.fromtimestamp(end, dt.UTC),
            Destination={
                "Arn": f"{region_arn}:event-bus/{BUS}",
                "FilterArns": [f"{region_arn}:rule/{BUS}/retries"],
            },
        )


def setup(endpoint_url: str) -> None:
    """The bus, table, archive, rules and schedule of the DIY mediator (the functions are registered separately)."""
    events, ddb = client("events", endpoint_url), client("dynamodb", endpoint_url)
    bus = events.create_event_bus(Name=BUS)["EventBusArn"]
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "vendor", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "vendor", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(
        TableName=TABLE, Item={"vendor": {"S": "vouchers"}, "status": {"S": "up"}, "since": {"N": "0"}}
    )
    events.create_archive(
        ArchiveName="order-retries",
        EventSourceArn=bus,
        EventPattern=json.dumps({"detail-type": ["Order Retry"]}),
        RetentionDays=7,
    )
    rules = {
        "orders": {"detail-type": ["Order Placed"]},
        "retries": {"detail-type": ["Order Retry"], "replay-name": [{"prefix": REPLAY_PREFIX}]},
        "vendor-back-up": {"detail-type": ["Vendor Status Changed"], "detail": {"status": ["up"]}},
    }
    function_of = {"orders": "sender", "retries": "sender", "vendor-back-up": "catch_up"}
    for name, pattern in rules.items():
        events.put_rule(Name=name, EventBusName=BUS, EventPattern=json.dumps(pattern))
        events.put_targets(
            Rule=name, EventBusName=BUS, Targets=[{"Id": "fn", "Arn": FUNCTION + function_of[name]}]
        )
    client("scheduler", endpoint_url).create_schedule(
        Name="vendor-status",
        ScheduleExpression="rate(1 minute)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": FUNCTION + "status_check", "RoleArn": ROLE, "Input": "{}"},
    )


def main() -> None:
    from pipework.app import Settings
    from pipework.testing import serve_in_thread

    vendor = Vendor()
    functions = Functions("", vendor.url)
    with serve_in_thread(
        Settings(memory=True, function_timeout=10), functions=functions.handlers()
    ) as server:
        functions.endpoint_url = url = server.endpoint_url
        setup(url)
        placed = place_orders(url, 0, 20)
        time.sleep(1)
        vendor.down()
        print("vendor DOWN for 70 s (the monitor polls once a minute)")
        placed += place_orders(url, 20, 40)
        time.sleep(70)
        vendor.up()
        print("vendor up again; waiting for the next status check and the replay")
        deadline = time.monotonic() + 90
        while len(vendor.issued()) < len(placed) and time.monotonic() < deadline:
            time.sleep(0.5)
        during = [c for c in vendor.voucher_calls() if not c.up]
        print(
            f"vouchers:    {len(vendor.issued())} of {len(placed)} orders, in order: {vendor.issued() == placed}"
        )
        print(f"voucher calls while the vendor was down: {len(during)}")
    vendor.close()


if __name__ == "__main__":
    main()
