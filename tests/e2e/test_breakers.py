"""Circuit breakers end to end, through boto3 and the /_pipework/breakers routes against a real server and a real
local HTTP vendor (examples/vendor-mediator/vendor.py): a 30-second vendor outage with 200 orders on a rule, the
same through a table stream and a pipe, manual control, state-change events, and a breaker that survives kill -9.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipework.clock import ManualClock
from support.http import wait_for
from support.pipes import make_table
from support.queues import make_queue

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "vendor-mediator"
ROLE = "arn:aws:iam::000000000000:role/pipe"


def load(name: str) -> Any:
    sys.path.insert(0, str(EXAMPLE))
    try:
        spec = importlib.util.spec_from_file_location(f"vendor_mediator_{name}", EXAMPLE / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(EXAMPLE))


mediator = load("mediator")


@pytest.fixture
def vendor() -> Iterator[Any]:
    served = mediator.Vendor()
    yield served
    served.close()


def advance(server: Any, seconds: float, *, by: float = 0.25) -> None:
    """Move the server's clock in steps of `by` seconds: each step's work (HTTP calls to the vendor included) must
    settle within the clock's real-time bound, which a loaded machine could exceed for a long step full of calls."""
    moved = 0.0
    while True:
        piece = min(by, seconds - moved)
        server.advance(max(piece, 0.0))
        moved += piece
        if moved >= seconds - 1e-9:
            return


def breaker(url: str, name: str = "vendor") -> Any:
    return httpx.get(f"{url}/_pipework/breakers/{name}").json()


def watch_breaker_events(server: Any) -> str:
    """A rule on the default bus sending every breaker state change to a queue; the queue URL."""
    url, arn = make_queue(server, "breaker-events")
    events = server.client("events")
    events.put_rule(Name="breaker-changes", EventPattern=json.dumps({"source": ["pipework.breaker"]}))
    events.put_targets(Rule="breaker-changes", Targets=[{"Id": "q", "Arn": arn}])
    return url


def drain(server: Any, url: str) -> list[Any]:
    out = []
    sqs = server.client("sqs")
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return out
        for message in got:
            out.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_a_30_second_outage_with_200_orders_parks_and_resumes_every_order_once_in_order(
    make_server: Any, vendor: Any
) -> None:
    server = make_server(clock=ManualClock(start=1_800_000_000.0))
    url = server.endpoint_url
    changes = watch_breaker_events(server)
    mediator.setup(url, vendor.url, interval=5.0, resume_rate=50.0)
    placed = mediator.place_orders(url, 0, 50)
    advance(server, 1)  # the destination's rate limit (100/s) spaces the calls on the clock
    assert len(vendor.issued()) == 50

    vendor.down()
    placed += mediator.place_orders(url, 50, 100)
    advance(server, 0.5)
    assert breaker(url)["State"] == "OPEN"
    advance(server, 0.5)  # calls begun before the breaker opened end (and are parked)
    called_before_open = len(vendor.voucher_calls())
    # The calls are spaced by the destination's rate limit: after the third failure, the calls waiting for their
    # slot are parked instead of made.
    assert called_before_open == 50 + 3
    for _ in range(
        6
    ):  # 30 s of outage: health checks fail, retries come due and are parked, nothing is called
        advance(server, 5)
        assert len(vendor.voucher_calls()) == called_before_open
    placed += mediator.place_orders(url, 150, 50)
    advance(server, 1)
    assert len(vendor.voucher_calls()) == called_before_open
    parked = breaker(url)
    assert parked["State"] == "OPEN" and parked["Parked"] == 150, parked
    assert all(not call.up for call in vendor.voucher_calls()[50:])

    vendor.up()
    for _ in range(20):
        advance(server, 5)
        if len(vendor.issued()) == 200:
            break
    assert vendor.issued() == placed  # every order, in the order it was placed
    succeeded = Counter(c.order for c in vendor.voucher_calls() if c.status == 200)
    assert set(succeeded.values()) == {1}  # delivered once each (the vendor's idempotency was not needed)
    dead = httpx.get(f"{url}/_pipework/events/dead-letters").json()["DeadLetters"]
    assert dead == []
    closed = breaker(url)
    assert closed["State"] == "CLOSED" and closed["Parked"] == 0
    advance(server, 1)
    states = [(e["detail"]["PreviousState"], e["detail"]["State"]) for e in drain(server, changes)]
    assert states[0] == ("CLOSED", "OPEN") and states[-1][1] == "CLOSED", states
    assert ("HALF_OPEN", "OPEN") in states  # the 30 s open period ended with a failing check: open again
    detail = drain  # noqa: F841 (kept simple: details checked in the manual-control test)


def test_pipe_from_a_table_stream_stops_reading_while_open_and_resumes_where_it_stopped(
    make_server: Any, vendor: Any
) -> None:
    server = make_server(clock=ManualClock(start=1_800_000_000.0))
    url = server.endpoint_url
    events = server.client("events")
    connection = events.create_connection(
        Name="vendor",
        AuthorizationType="API_KEY",
        AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "k"}},
    )
    destination = events.create_api_destination(
        Name="vouchers",
        ConnectionArn=connection["ConnectionArn"],
        InvocationEndpoint=f"{vendor.url}/vouchers",
        HttpMethod="POST",
    )["ApiDestinationArn"]
    # The breaker names the connection: it covers every destination of this vendor.
    answer = httpx.put(
        f"{url}/_pipework/breakers/vendor",
        json={
            "Target": connection["ConnectionArn"],
            "FailureThreshold": 2,
            "HealthCheck": {"Url": f"{vendor.url}/status", "IntervalSeconds": 5},
        },
    )
    assert answer.status_code == 200, answer.text
    stream = make_table(server, "Orders")
    server.client("pipes").create_pipe(
        Name="orders",
        Source=stream,
        Target=destination,
        RoleArn=ROLE,
        SourceParameters={
            "DynamoDBStreamParameters": {
                "StartingPosition": "TRIM_HORIZON",
                "BatchSize": 1,
                "MaximumRetryAttempts": 2,
            }
        },
        TargetParameters={"InputTemplate": '{"orderId": "<$.dynamodb.Keys.subjectId.S>"}'},
    )
    ddb = server.client("dynamodb")
    order_ids = [f"order-{n:03d}" for n in range(60)]

    def put(ids: list[str]) -> None:
        for order in ids:
            ddb.put_item(TableName="Orders", Item={"subjectId": {"S": order}})

    put(order_ids[:10])
    for _ in range(40):
        if len(vendor.issued()) == 10:
            break
        advance(server, 0.5)
    assert vendor.issued() == order_ids[:10]
    vendor.down()
    put(order_ids[10:40])
    for _ in range(40):
        advance(server, 1)  # the pipe's retry backoff
        if breaker(url)["State"] == "OPEN":
            break
    assert breaker(url)["State"] == "OPEN"
    called = len(vendor.voucher_calls())
    for _ in range(6):  # 30 s: the pipe holds its record and does not read on
        advance(server, 5)
        assert len(vendor.voucher_calls()) == called
    put(order_ids[40:])
    advance(server, 5)
    assert len(vendor.voucher_calls()) == called
    held = breaker(url)
    assert held["State"] == "OPEN" and held["Parked"] == 1, held  # the one record in hand; the rest unread
    dead = httpx.get(f"{url}/_pipework/pipes/dead-letters?pipe=orders").json()["DeadLetters"]
    assert dead == []

    vendor.up()
    for _ in range(40):
        advance(server, 5)
        if len(vendor.issued()) == 60:
            break
    assert vendor.issued() == order_ids  # resumed where it stopped, in stream order
    assert httpx.get(f"{url}/_pipework/pipes/dead-letters?pipe=orders").json()["DeadLetters"] == []
    assert breaker(url)["State"] == "CLOSED"


def test_manual_control_without_health_check_probes_with_one_parked_delivery(
    make_server: Any, vendor: Any
) -> None:
    server = make_server(clock=ManualClock(start=1_800_000_000.0))
    url = server.endpoint_url
    changes = watch_breaker_events(server)
    mediator.setup(url, vendor.url)
    target = breaker(url)["Target"]
    answer = httpx.put(f"{url}/_pipework/breakers/vendor", json={"Target": target, "OpenSeconds": 10})
    assert answer.status_code == 200 and answer.json()["State"] == "CLOSED"

    paused = httpx.post(f"{url}/_pipework/breakers/vendor/pause").json()
    assert paused["State"] == "PAUSED"
    placed = mediator.place_orders(url, 0, 20)
    advance(server, 60)  # a maintenance window: nothing is sent, nothing probes
    assert vendor.voucher_calls() == [] and breaker(url)["Parked"] == 20
    assert httpx.post(f"{url}/_pipework/breakers/vendor/resume").json()["State"] == "CLOSED"
    for _ in range(10):
        advance(server, 1)
    assert vendor.issued() == placed

    vendor.down()
    opened = httpx.post(f"{url}/_pipework/breakers/vendor/open").json()
    assert opened["State"] == "OPEN" and opened["Reason"] == "Opened by hand"
    placed = mediator.place_orders(url, 20, 10)
    advance(server, 9)
    assert len(vendor.voucher_calls()) == 20
    advance(server, 1)  # the open period ends: the oldest parked delivery is the probe, and fails
    calls = vendor.voucher_calls()
    assert len(calls) == 21 and calls[-1].order == "order-0020" and not calls[-1].up
    reopened = breaker(url)
    assert reopened["State"] == "OPEN" and reopened["Parked"] == 10
    advance(server, 19)
    assert len(vendor.voucher_calls()) == 21  # the open period doubled to 20 s
    vendor.up()
    advance(server, 1)  # the second probe succeeds: closed, the rest resume in order
    for _ in range(5):
        advance(server, 1)
    assert vendor.issued()[20:] == placed
    listed = httpx.get(f"{url}/_pipework/breakers").json()["Breakers"]
    assert [(b["Name"], b["State"], b["Parked"]) for b in listed] == [("vendor", "CLOSED", 0)]
    since = listed[0]["Since"]
    assert since.endswith("Z") and since.startswith("2027-")

    events = drain(server, changes)
    assert [e["detail"]["State"] for e in events] == [
        "PAUSED",
        "CLOSED",
        "OPEN",
        "HALF_OPEN",
        "OPEN",
        "HALF_OPEN",
        "CLOSED",
    ]
    first = events[0]
    assert first["source"] == "pipework.breaker" and first["detail-type"] == "Circuit Breaker State Change"
    assert set(first["detail"]) == {"Name", "Target", "State", "PreviousState", "Reason", "Parked"}
    assert httpx.delete(f"{url}/_pipework/breakers/vendor").json() == {}
    missing = httpx.get(f"{url}/_pipework/breakers/vendor")
    assert missing.status_code == 404 and missing.json()["__type"] == "ResourceNotFoundException"


def test_bad_configuration_is_refused_with_validation_errors(make_server: Any, vendor: Any) -> None:
    server = make_server()
    url = server.endpoint_url
    for body, words in [
        ({}, "Target"),
        ({"Target": "arn:aws:s3:::bucket"}, "is not the ARN"),
        ({"Target": "arn:aws:sqs:us-east-1:000000000000:q", "FailureThreshold": 0}, "FailureThreshold"),
        (
            {"Target": "arn:aws:sqs:us-east-1:000000000000:q", "OpenSeconds": 60, "MaxOpenSeconds": 30},
            "MaxOpen",
        ),
        ({"Target": "arn:aws:sqs:us-east-1:000000000000:q", "HealthCheck": {"Url": "ftp://x"}}, "Url"),
        ({"Target": "arn:aws:sqs:us-east-1:000000000000:q", "Bogus": 1}, "Bogus"),
    ]:
        answer = httpx.put(f"{url}/_pipework/breakers/b", json=body)
        assert answer.status_code == 400 and answer.json()["__type"] == "ValidationException", answer.text
        assert words in answer.json()["message"]
    assert httpx.put(f"{url}/_pipework/breakers/%20bad", json={}).status_code == 400
    assert httpx.post(f"{url}/_pipework/breakers/nope/open").status_code == 404


@pytest.mark.slow
def test_breaker_state_and_parked_deliveries_survive_kill_9(
    server_process: Any, tmp_path: Path, vendor: Any
) -> None:
    first = server_process(tmp_path)
    url = first.endpoint_url
    mediator.setup(url, vendor.url)
    target = breaker(url)["Target"]
    # No health check, a long open period: only a restart could (wrongly) close it.
    httpx.put(
        f"{url}/_pipework/breakers/vendor",
        json={"Target": target, "FailureThreshold": 1, "OpenSeconds": 3600},
    )
    vendor.down()
    placed = mediator.place_orders(url, 0, 20)
    wait_for(lambda: breaker(url)["State"] == "OPEN" and breaker(url)["Parked"] == 20, timeout=30)
    first.kill()

    second = server_process(tmp_path)
    url = second.endpoint_url
    after = breaker(url)
    assert after["State"] == "OPEN" and after["Parked"] == 20, after
    called = len(vendor.voucher_calls())
    time.sleep(1)
    assert len(vendor.voucher_calls()) == called  # still open after the restart: nothing is sent
    vendor.up()
    assert httpx.post(f"{url}/_pipework/breakers/vendor/close").json()["State"] == "CLOSED"
    wait_for(lambda: len(vendor.issued()) == 20, timeout=30)
    assert vendor.issued() == placed
    assert httpx.get(f"{url}/_pipework/events/dead-letters").json()["DeadLetters"] == []


def run_cli(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pipework.cli.main", *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_cli_sets_lists_controls_and_deletes_breakers(server: Any) -> None:
    url = server.endpoint_url
    target = "arn:aws:sqs:us-east-1:000000000000:orders"
    shown = json.loads(
        run_cli(
            "breakers",
            "set",
            "orders",
            "--target",
            target,
            "--config",
            '{"FailureThreshold": 3}',
            "--endpoint-url",
            url,
        )
    )
    assert shown["State"] == "CLOSED" and shown["FailureThreshold"] == 3 and shown["Target"] == target
    assert (
        run_cli("breakers", "pause", "orders", "--endpoint-url", url).strip() == "orders: PAUSED (0 parked)"
    )
    listing = run_cli("breakers", "list", "--endpoint-url", url)
    assert "orders" in listing and "PAUSED" in listing
    assert run_cli("breakers", "resume", "orders", "--endpoint-url", url).startswith("orders: CLOSED")
    assert run_cli("breakers", "open", "orders", "--endpoint-url", url).startswith("orders: OPEN")
    assert run_cli("breakers", "close", "orders", "--endpoint-url", url).startswith("orders: CLOSED")
    assert json.loads(run_cli("breakers", "show", "orders", "--endpoint-url", url))["Name"] == "orders"
    assert run_cli("breakers", "delete", "orders", "--endpoint-url", url).strip() == "deleted: orders"
    refused = subprocess.run(
        [sys.executable, "-m", "pipework.cli.main", "breakers", "show", "orders", "--endpoint-url", url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2 and "does not exist" in refused.stderr


def test_dead_letters_of_rules_and_pipes_can_be_discarded(server: Any) -> None:
    url = server.endpoint_url
    events = server.client("events")
    events.put_rule(Name="r", EventPattern='{"source": ["shop"]}')
    missing = "arn:aws:sqs:us-east-1:000000000000:no-such-queue"
    events.put_targets(
        Rule="r",
        Targets=[{"Id": "q", "Arn": missing, "RetryPolicy": {"MaximumRetryAttempts": 0}}],
    )
    events.put_events(Entries=[{"Source": "shop", "DetailType": "t", "Detail": "{}"} for _ in range(3)])
    dead = wait_for(
        lambda: (
            len(httpx.get(f"{url}/_pipework/events/dead-letters").json()["DeadLetters"]) == 3
            and httpx.get(f"{url}/_pipework/events/dead-letters").json()["DeadLetters"]
        )
    )
    refused = httpx.request("DELETE", f"{url}/_pipework/events/dead-letters", json={})
    assert refused.status_code == 400 and refused.json()["__type"] == "ValidationException"
    one = httpx.request("DELETE", f"{url}/_pipework/events/dead-letters", json={"Ids": [dead[0]["Id"]]})
    assert one.json() == {"Discarded": 1}
    assert run_cli("dlq", "discard", "--rule", "r", "--endpoint-url", url).strip() == "discarded: 2"
    assert httpx.get(f"{url}/_pipework/events/dead-letters").json()["DeadLetters"] == []

    sqs = server.client("sqs")
    source_url, source_arn = make_queue(server, "pipe-source")
    server.client("pipes").create_pipe(
        Name="doomed",
        Source=source_arn,
        Target=missing,
        RoleArn=ROLE,
        SourceParameters={"SqsQueueParameters": {"BatchSize": 1}},
    )
    del sqs, source_url
    unknown = httpx.request("DELETE", f"{url}/_pipework/pipes/dead-letters", json={"Pipe": "nope"})
    assert unknown.status_code == 404
    assert httpx.request("DELETE", f"{url}/_pipework/pipes/dead-letters", json={"Pipe": "doomed"}).json() == {
        "Discarded": 0
    }
    assert run_cli("dlq", "discard", "--pipe", "doomed", "--endpoint-url", url).strip() == "discarded: 0"


def test_a_health_check_while_closed_opens_the_breaker_before_the_first_failure(
    make_server: Any, vendor: Any
) -> None:
    server = make_server(clock=ManualClock(start=1_800_000_000.0))
    url = server.endpoint_url
    mediator.setup(url, vendor.url)
    target = breaker(url)["Target"]
    check = {
        "Url": f"{vendor.url}/status",
        "IntervalSeconds": 5,
        "UnhealthyThreshold": 2,
        "WhileClosed": True,
    }
    httpx.put(f"{url}/_pipework/breakers/vendor", json={"Target": target, "HealthCheck": check})
    advance(server, 1)
    vendor.down()
    advance(server, 10)
    opened = breaker(url)
    assert opened["State"] == "OPEN" and opened["Reason"] == "2 health checks failed", opened
    placed = mediator.place_orders(url, 0, 10)
    advance(server, 5)
    assert vendor.voucher_calls() == []  # not one order was tried against the vendor while it was down
    vendor.up()
    for _ in range(4):
        advance(server, 5)
    assert vendor.issued() == placed and breaker(url)["State"] == "CLOSED"


def test_a_queue_pipe_holds_its_batch_invisible_and_reads_nothing_more_while_open(
    make_server: Any, vendor: Any
) -> None:
    server = make_server(clock=ManualClock(start=1_800_000_000.0))
    url = server.endpoint_url
    events, sqs = server.client("events"), server.client("sqs")
    connection = events.create_connection(
        Name="vendor",
        AuthorizationType="API_KEY",
        AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "k"}},
    )
    destination = events.create_api_destination(
        Name="vouchers",
        ConnectionArn=connection["ConnectionArn"],
        InvocationEndpoint=f"{vendor.url}/vouchers",
        HttpMethod="POST",
    )["ApiDestinationArn"]
    httpx.put(
        f"{url}/_pipework/breakers/vendor",
        json={
            "Target": destination,
            "FailureThreshold": 1,
            "HealthCheck": {"Url": f"{vendor.url}/status", "IntervalSeconds": 5},
        },
    )
    dlq_url, dlq_arn = make_queue(server, "orders-dlq")
    source_url, source_arn = make_queue(server, "orders")
    sqs.set_queue_attributes(
        QueueUrl=source_url,
        Attributes={
            "VisibilityTimeout": "30",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}),
        },
    )
    server.client("pipes").create_pipe(
        Name="orders",
        Source=source_arn,
        Target=destination,
        RoleArn=ROLE,
        SourceParameters={"SqsQueueParameters": {"BatchSize": 1}},
        TargetParameters={"InputTemplate": '{"orderId": "<$.body>"}'},
    )
    vendor.down()
    for n in range(8):
        sqs.send_message(QueueUrl=source_url, MessageBody=f"order-{n}")
    for _ in range(10):
        advance(server, 1)
        if breaker(url)["State"] == "OPEN":
            break
    assert breaker(url)["State"] == "OPEN"
    called = len(vendor.voucher_calls())
    for _ in range(10):  # 300 s: ten visibility timeouts
        advance(server, 30)
    assert len(vendor.voucher_calls()) == called
    held = breaker(url)["Parked"]
    assert 1 <= held <= 4  # what the pollers had read; the rest is unread
    attributes = sqs.get_queue_attributes(QueueUrl=source_url, AttributeNames=["All"])["Attributes"]
    assert (
        int(attributes["ApproximateNumberOfMessagesNotVisible"]) == held
    )  # kept invisible, never received again
    assert int(attributes["ApproximateNumberOfMessages"]) == 8 - held
    assert sqs.receive_message(QueueUrl=dlq_url).get("Messages", []) == []
    vendor.up()
    for _ in range(20):
        advance(server, 5)
        if len(vendor.issued()) == 8:
            break
    assert sorted(vendor.issued()) == [f"order-{n}" for n in range(8)]
    succeeded = Counter(c.order for c in vendor.voucher_calls() if c.status == 200)
    assert set(succeeded.values()) == {1}
    assert sqs.receive_message(QueueUrl=dlq_url).get("Messages", []) == []


def test_the_diy_mediator_of_aws_pieces_catches_up_by_replay_but_calls_the_vendor_while_down(
    make_server: Any, vendor: Any
) -> None:
    diy = load("diy")
    functions = diy.Functions("", vendor.url)
    server = make_server(clock=ManualClock(start=1_800_000_000.0), functions=functions.handlers())
    functions.endpoint_url, functions.now = server.endpoint_url, server.now
    url = server.endpoint_url
    diy.setup(url)
    placed = mediator.place_orders(url, 0, 20)
    advance(server, 1)
    assert sorted(vendor.issued()) == placed  # concurrent function calls: not in order

    vendor.down()
    placed += mediator.place_orders(url, 20, 20)
    advance(server, 1)
    assert len([c for c in vendor.voucher_calls() if not c.up]) == 20  # the monitor has not noticed yet
    advance(server, 60)  # the schedule's status check: down
    placed += mediator.place_orders(url, 40, 20)
    advance(server, 1)
    assert (
        len([c for c in vendor.voucher_calls() if not c.up]) == 20
    )  # now the senders check the status table
    assert len(vendor.issued()) == 20

    vendor.up()
    for _ in range(5):  # the next check announces "up"; the catch-up replays the outage's retries
        advance(server, 60)
        if len(vendor.issued()) == 60:
            break
    assert sorted(vendor.issued()) == sorted(placed)
    replays = server.client("events").list_replays(NamePrefix="vendor-outage-")["Replays"]
    assert [r["State"] for r in replays] == ["COMPLETED"]


def test_a_schedule_delivering_to_a_paused_function_shares_its_breaker(make_server: Any) -> None:
    calls: list[Any] = []
    server = make_server(
        clock=ManualClock(start=1_800_000_000.0), functions={"tick": lambda e, c: calls.append(e)}
    )
    url = server.endpoint_url
    function = "arn:aws:lambda:us-east-1:000000000000:function:tick"
    httpx.put(f"{url}/_pipework/breakers/tick", json={"Target": function})
    assert httpx.post(f"{url}/_pipework/breakers/tick/pause").json()["State"] == "PAUSED"
    server.client("scheduler").create_schedule(
        Name="every-minute",
        ScheduleExpression="rate(1 minute)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": function, "RoleArn": ROLE, "Input": '{"n": "<aws.scheduler.scheduled-time>"}'},
    )
    for _ in range(3):
        advance(server, 60)
    parked = breaker(url, "tick")["Parked"]
    assert calls == [] and parked == 4  # at creation, then every minute
    httpx.post(f"{url}/_pipework/breakers/tick/resume")
    advance(server, 1)
    times = [call["n"] for call in calls]
    assert (
        len(times) == parked and times == sorted(times) and len(set(times)) == parked
    )  # in the order they were due


def test_a_pipe_whose_enrichment_breaker_is_open_stops_reading_too(make_server: Any, vendor: Any) -> None:
    server = make_server(clock=ManualClock(start=1_800_000_000.0))
    url = server.endpoint_url
    events, sqs = server.client("events"), server.client("sqs")
    connection = events.create_connection(
        Name="vendor",
        AuthorizationType="API_KEY",
        AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "k"}},
    )
    enrichment = events.create_api_destination(
        Name="vouchers",
        ConnectionArn=connection["ConnectionArn"],
        InvocationEndpoint=f"{vendor.url}/vouchers",
        HttpMethod="POST",
    )["ApiDestinationArn"]
    check = {"Url": f"{vendor.url}/status", "IntervalSeconds": 5}
    httpx.put(
        f"{url}/_pipework/breakers/vendor",
        json={"Target": enrichment, "FailureThreshold": 1, "HealthCheck": check},
    )
    stream = make_table(server, "Orders")
    out_url, out_arn = make_queue(server, "vouchers-out")
    server.client("pipes").create_pipe(
        Name="enrich",
        Source=stream,
        Target=out_arn,
        RoleArn=ROLE,
        SourceParameters={"DynamoDBStreamParameters": {"StartingPosition": "TRIM_HORIZON", "BatchSize": 1}},
        Enrichment=enrichment,
        EnrichmentParameters={"InputTemplate": '{"orderId": "<$.dynamodb.Keys.subjectId.S>"}'},
    )
    vendor.down()
    ddb = server.client("dynamodb")
    order_ids = [f"order-{n:03d}" for n in range(12)]
    for order in order_ids:
        ddb.put_item(TableName="Orders", Item={"subjectId": {"S": order}})
    for _ in range(20):
        advance(server, 1)
        if breaker(url)["State"] == "OPEN":
            break
    assert breaker(url)["State"] == "OPEN"
    called = len(vendor.voucher_calls())
    advance(server, 30)
    assert len(vendor.voucher_calls()) == called and breaker(url)["Parked"] == 1
    vendor.up()
    for _ in range(20):
        advance(server, 5)
        if len(vendor.issued()) == 12:
            break
    assert vendor.issued() == order_ids
    bodies = []
    while len(bodies) < 12:
        got = sqs.receive_message(QueueUrl=out_url, MaxNumberOfMessages=10).get("Messages", [])
        assert got, bodies
        for message in got:
            bodies.append(json.loads(message["Body"])["orderId"])
            sqs.delete_message(QueueUrl=out_url, ReceiptHandle=message["ReceiptHandle"])
    assert sorted(bodies) == order_ids
    assert httpx.get(f"{url}/_pipework/pipes/dead-letters?pipe=enrich").json()["DeadLetters"] == []


def test_a_breaker_s_parked_count_and_state_are_metrics(make_server: Any, vendor: Any) -> None:
    """Each breaker's parked deliveries and whether it holds deliveries back are gauges (Pipework/Breakers,
    dimension BreakerName), through CloudWatch and Prometheus."""
    server = make_server(clock=ManualClock(start=1_800_000_000.0))
    url = server.endpoint_url
    mediator.setup(url, vendor.url)
    httpx.put(f"{url}/_pipework/breakers/vendor", json={"Target": breaker(url)["Target"]})
    httpx.post(f"{url}/_pipework/breakers/vendor/pause")
    mediator.place_orders(url, 0, 5)
    advance(server, 60)
    wait_for(lambda: breaker(url)["Parked"] == 5)
    advance(server, 60)  # a minute boundary with all five parked: the gauges sample them
    scraped = httpx.get(f"{url}/metrics").text
    assert 'pipework_breakers_parked_deliveries{breaker="vendor",region="us-east-1"} 5.0' in scraped
    assert 'pipework_breakers_open{breaker="vendor",region="us-east-1"} 1.0' in scraped
    stats = server.client("cloudwatch").get_metric_statistics(
        Namespace="Pipework/Breakers",
        MetricName="ParkedDeliveries",
        Dimensions=[{"Name": "BreakerName", "Value": "vendor"}],
        StartTime=1_800_000_000,
        EndTime=1_800_000_000 + 180,
        Period=60,
        Statistics=["Maximum"],
    )
    assert max(point["Maximum"] for point in stats["Datapoints"]) == 5.0
    httpx.post(f"{url}/_pipework/breakers/vendor/resume")
    for _ in range(10):
        advance(server, 1)
    assert breaker(url)["Parked"] == 0
    advance(server, 60)
    scraped = httpx.get(f"{url}/metrics").text
    assert 'pipework_breakers_parked_deliveries{breaker="vendor",region="us-east-1"} 0.0' in scraped
    assert 'pipework_breakers_open{breaker="vendor",region="us-east-1"} 0.0' in scraped
