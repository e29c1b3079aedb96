"""The vendor mediator with a Pipework circuit breaker: orders on the ``orders`` bus go to the vendor's voucher API
through an API destination; a breaker with a health check parks them while the vendor is down and resumes them,
in the order they were placed, once its status endpoint answers again. No status monitor, no replay, no dead
letters to reconcile.

    python examples/vendor-mediator/mediator.py      # starts Pipework and a fake vendor, runs a 10 s outage

`setup(endpoint_url, vendor_url)` is the whole configuration (the test and the demo both use it).
"""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3

sys.path.insert(0, str(Path(__file__).parent))
from vendor import Vendor

BUS = "orders"


def client(service: str, endpoint_url: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def pipework(endpoint_url: str, method: str, path: str, body: Any = None) -> Any:
    """Call one of Pipework's own routes (``/_pipework/...``)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        endpoint_url + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


def setup(endpoint_url: str, vendor_url: str, *, interval: float = 2.0, resume_rate: float = 50.0) -> str:
    """The bus, the vendor's connection and API destination, the rule, and the breaker; returns the breaker name."""
    events = client("events", endpoint_url)
    events.create_event_bus(Name=BUS)
    connection = events.create_connection(
        Name="vendor",
        AuthorizationType="API_KEY",
        AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "secret"}},
    )
    destination = events.create_api_destination(
        Name="vouchers",
        ConnectionArn=connection["ConnectionArn"],
        InvocationEndpoint=f"{vendor_url}/vouchers",
        HttpMethod="POST",
        InvocationRateLimitPerSecond=100,
    )
    events.put_rule(
        Name="orders-to-vendor", EventBusName=BUS, EventPattern=json.dumps({"detail-type": ["Order Placed"]})
    )
    events.put_targets(
        Rule="orders-to-vendor",
        EventBusName=BUS,
        Targets=[
            {
                "Id": "vendor",
                "Arn": destination["ApiDestinationArn"],
                "InputPath": "$.detail",
                "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600},
            }
        ],
    )
    # The few lines that replace the status monitor, the status table, the circuit breaker and the replay.
    pipework(
        endpoint_url,
        "PUT",
        "/_pipework/breakers/vendor",
        {
            "Target": destination["ApiDestinationArn"],
            "FailureThreshold": 3,
            "OpenSeconds": 30,
            "ResumeRatePerSecond": resume_rate,
            "HealthCheck": {
                "Url": f"{vendor_url}/status",
                "IntervalSeconds": interval,
                "HealthyThreshold": 1,
            },
        },
    )
    return "vendor"


def place_orders(endpoint_url: str, first: int, count: int) -> list[str]:
    """Put `count` orders on the bus, ten per PutEvents call, in order; their ids."""
    events = client("events", endpoint_url)
    ids = [f"order-{n:04d}" for n in range(first, first + count)]
    for start in range(0, count, 10):
        entries = [
            {
                "EventBusName": BUS,
                "Source": "shop",
                "DetailType": "Order Placed",
                "Detail": json.dumps({"orderId": i}),
            }
            for i in ids[start : start + 10]
        ]
        answer = events.put_events(Entries=entries)
        assert answer["FailedEntryCount"] == 0, answer
    return ids


def main() -> None:
    from pipework.testing import serve_in_thread

    vendor = Vendor()
    with serve_in_thread() as server:
        url = server.endpoint_url
        setup(url, vendor.url)
        placed = place_orders(url, 0, 20)
        time.sleep(1)
        print(f"vendor up:   {len(vendor.issued())} vouchers issued")
        vendor.down()
        print("vendor DOWN for 10 s")
        placed += place_orders(url, 20, 40)
        time.sleep(2)
        breaker = pipework(url, "GET", "/_pipework/breakers/vendor")
        print(f"breaker:     {breaker['State']}, {breaker['Parked']} deliveries parked ({breaker['Reason']})")
        before_open = len([c for c in vendor.voucher_calls() if not c.up])
        time.sleep(8)
        vendor.up()
        print("vendor up again")
        deadline = time.monotonic() + 30
        while len(vendor.issued()) < len(placed) and time.monotonic() < deadline:
            time.sleep(0.2)
        breaker = pipework(url, "GET", "/_pipework/breakers/vendor")
        dead = pipework(url, "GET", "/_pipework/events/dead-letters")["DeadLetters"]
        during = [c for c in vendor.voucher_calls() if not c.up]
        print(f"breaker:     {breaker['State']} ({breaker['Reason']})")
        issued = vendor.issued()
        # Before the outage, concurrent deliveries may reach the vendor a few milliseconds out of order; the parked
        # ones are resumed one at a time, in the order they were placed.
        print(
            f"vouchers:    {len(issued)} of {len(placed)} orders; "
            f"the parked ones resumed in order: {issued[20:] == placed[20:]}"
        )
        print(
            f"dead letters: {len(dead)}; voucher calls while the vendor was down: {len(during)} "
            f"({before_open} before the breaker opened)"
        )
    vendor.close()


if __name__ == "__main__":
    main()
