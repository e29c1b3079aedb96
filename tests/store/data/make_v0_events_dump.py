"""Writes `v0_events.sql`: a data directory with EventBridge data as Pipework wrote it before buses, rules and the
rest were keyed by account and region (commit 63f16c0, the same code as `make_v0_dump.py`), dumped as SQL for the
migration tests. Kept for the record: it needs that commit's code (e.g. ``git worktree add /tmp/old63 63f16c0``
and ``PYTHONPATH=/tmp/old63/src python tests/store/data/make_v0_events_dump.py``); the current code writes the new
layout. `v0_events.json` beside it keeps what the tests need to know (ARNs, the dead letter's id, the clock).

That version named every EventBridge resource by its name alone and built every ARN from the server's --region,
whatever the request's. What it holds (account 000000000000, ManualClock from 1_800_000_000):
- run 1, --region eu-central-1: SQS queue `eu-queue` (eu-central-1); bus `eu-bus` with rule `eu-rule` (source
  shop -> eu-queue); connection `eu-conn`. Their ARNs, and that of the default bus created then, name eu-central-1.
- run 2, the same directory, --region us-east-1: SQS queue `orders-queue`; bus `orders` (tagged team=shop) with rule `to-queue`
  (source shop -> orders-queue) and archive `orders-archive` (two events archived, `order 1` and `order 2`, both
  delivered to the queue); a COMPLETED replay `orders-replay` of that archive (delivered both again); on the
  default bus, rule `to-missing` (source shop -> a queue that does not exist: one dead letter, for `lost 1`) and a
  scheduled rule `hourly` (rate(1 hour) -> orders-queue, which that version stored but never fired); connection
  `api-conn` (API key) and API destination `hook`. (In this order because that version could not restart on a
  store holding a replay.)
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pipework.app import Pipework, Settings
from pipework.clock import ManualClock
from pipework.testing import RunningServer, make_client

START = 1_800_000_000.0
HERE = Path(__file__).parent
ACCOUNT = "000000000000"
SERVICES = ["pipework.services.sqs:create_service", "pipework.services.events:create_service"]


def wait(condition: Any, what: str) -> Any:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def queue_bodies(sqs: Any, url: str, count: int) -> list[str]:
    bodies: list[str] = []

    def more() -> bool:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            bodies.append(json.loads(message["Body"])["detail"]["n"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return len(bodies) >= count

    wait(more, f"{count} messages")
    return sorted(bodies)


def entry(bus: str, n: str) -> dict[str, Any]:
    return {"EventBusName": bus, "Source": "shop", "DetailType": "Order", "Detail": json.dumps({"n": n})}


def main() -> None:
    clock = ManualClock(start=START)
    facts: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        pattern = json.dumps({"source": ["shop"]})
        pipework = Pipework(
            Settings(data_dir=Path(tmp), region="eu-central-1"), clock=clock, services=SERVICES
        )
        server = RunningServer(pipework)
        server.start()
        eu_sqs = make_client(server.endpoint_url, "sqs", region="eu-central-1")
        eu_events = make_client(server.endpoint_url, "events", region="eu-central-1")
        eu_sqs.create_queue(QueueName="eu-queue")
        eu_bus_arn = eu_events.create_event_bus(Name="eu-bus")["EventBusArn"]
        eu_events.put_rule(Name="eu-rule", EventBusName="eu-bus", EventPattern=pattern)
        eu_events.put_targets(
            Rule="eu-rule",
            EventBusName="eu-bus",
            Targets=[{"Id": "q", "Arn": f"arn:aws:sqs:eu-central-1:{ACCOUNT}:eu-queue"}],
        )
        eu_connection_arn = eu_events.create_connection(
            Name="eu-conn",
            AuthorizationType="BASIC",
            AuthParameters={"BasicAuthParameters": {"Username": "u", "Password": "p"}},
        )["ConnectionArn"]
        server.stop()

        pipework = Pipework(Settings(data_dir=Path(tmp), region="us-east-1"), clock=clock, services=SERVICES)
        server = RunningServer(pipework)
        server.start()
        sqs = make_client(server.endpoint_url, "sqs", region="us-east-1")
        events = make_client(server.endpoint_url, "events", region="us-east-1")
        url = sqs.create_queue(QueueName="orders-queue")["QueueUrl"]
        queue_arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:orders-queue"
        bus_arn = events.create_event_bus(Name="orders", Tags=[{"Key": "team", "Value": "shop"}])[
            "EventBusArn"
        ]
        events.put_rule(Name="to-queue", EventBusName="orders", EventPattern=pattern)
        events.put_targets(Rule="to-queue", EventBusName="orders", Targets=[{"Id": "q", "Arn": queue_arn}])
        archive_arn = events.create_archive(ArchiveName="orders-archive", EventSourceArn=bus_arn)[
            "ArchiveArn"
        ]
        events.put_rule(Name="to-missing", EventPattern=pattern)
        events.put_targets(
            Rule="to-missing", Targets=[{"Id": "gone", "Arn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:missing"}]
        )
        events.put_rule(Name="hourly", ScheduleExpression="rate(1 hour)")
        events.put_targets(Rule="hourly", Targets=[{"Id": "q", "Arn": queue_arn}])
        connection_arn = events.create_connection(
            Name="api-conn",
            AuthorizationType="API_KEY",
            AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-key", "ApiKeyValue": "secret"}},
        )["ConnectionArn"]
        destination_arn = events.create_api_destination(
            Name="hook",
            ConnectionArn=connection_arn,
            InvocationEndpoint="http://127.0.0.1:9/hook",
            HttpMethod="POST",
        )["ApiDestinationArn"]

        events.put_events(Entries=[entry("orders", "order 1"), entry("orders", "order 2")])
        assert queue_bodies(sqs, url, 2) == ["order 1", "order 2"]
        events.put_events(Entries=[entry("default", "lost 1")])
        dead = wait(lambda: server.run(pipework.services["events"].dead_letters()), "the dead letter")
        facts["dead_letter_id"] = dead[0]["Id"]

        replay_arn = events.start_replay(
            ReplayName="orders-replay",
            EventSourceArn=archive_arn,
            EventStartTime=START - 60,
            EventEndTime=START + 60,
            Destination={"Arn": bus_arn},
        )["ReplayArn"]
        wait(lambda: events.describe_replay(ReplayName="orders-replay")["State"] == "COMPLETED", "the replay")
        assert queue_bodies(sqs, url, 2) == ["order 1", "order 2"]
        server.stop()

        connection = sqlite3.connect(Path(tmp) / "pipework.db")
        dump = "\n".join(connection.iterdump()) + "\n"
        connection.close()
    (HERE / "v0_events.sql").write_text(dump)
    facts.update(
        {
            "clock": clock.now(),
            "bus_arn": bus_arn,
            "archive_arn": archive_arn,
            "replay_arn": replay_arn,
            "connection_arn": connection_arn,
            "destination_arn": destination_arn,
            "eu_bus_arn": eu_bus_arn,
            "eu_connection_arn": eu_connection_arn,
        }
    )
    (HERE / "v0_events.json").write_text(json.dumps(facts, indent=2) + "\n")
    print(f"wrote {HERE / 'v0_events.sql'} ({len(dump)} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
