"""The console without a browser: every page renders for the power-dispatch example, and what its buttons rely on
in the services (discarding a pipe's dead letters, peeking without receiving, a stream reader's lag, the latest
results of a schedule) works through its JSON routes."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx

from pipework.clock import ManualClock
from pipework.engine.retry import Backoff
from pipework.testing import RunningServer
from support.pipes import FN, ROLE, always_down, dead_letters, make_table, put_powers, stream_params

PAGES = [
    "/console/",
    "/console/buses",
    "/console/buses/power-events",
    "/console/rules",
    "/console/rule?bus=power-events&name=updates",
    "/console/pipes",
    "/console/pipes/power-dispatch",
    "/console/schedules",
    "/console/queues",
    "/console/queues/power-updates",
    "/console/tables",
    "/console/tables/Powers",
    "/console/dead-letters",
    "/console/archives",
    "/console/breakers",
    "/console/alarms",
]


def wait_until(condition: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)
    return value


def test_every_page_renders_with_the_navigation_bar(console_server: RunningServer) -> None:
    for path in PAGES:
        response = httpx.get(console_server.endpoint_url + path)
        assert response.status_code == 200, (path, response.text[:300])
        links = re.findall(r'<li><a href="(/console/[^"]*)"[^>]*>([^<]+)</a></li>', response.text)
        assert [label for _, label in links] == [
            "Overview",
            "Buses",
            "Rules",
            "Pipes",
            "Schedules",
            "Queues",
            "Tables",
            "Dead letters",
            "Archives",
            "Breakers",
            "Alarms",
        ]
    assert httpx.get(console_server.endpoint_url + "/console").headers["location"] == "/console/"
    bus = httpx.get(console_server.endpoint_url + "/console/buses/power-events").text
    for label in ("Source", "Detail type", "Detail"):
        assert re.search(rf'<label for="[^"]+">{label}</label>', bus), label
    assert '<button type="submit">Put event</button>' in bus


def test_rules_are_paged_and_searched(console_server: RunningServer) -> None:
    events = console_server.client("events")
    for n in range(120):
        events.put_rule(Name=f"bulk-{n:03}", EventPattern='{"source": ["bulk"]}')
    page = httpx.get(console_server.endpoint_url + "/console/rules?page=3").text
    assert "121 rules; page 3 of 3." in page
    # Sorted by bus, then name: the default bus's rules come first.
    assert "bulk-100" in page and "bulk-119" in page and "updates" in page and "bulk-099" not in page
    found = httpx.get(console_server.endpoint_url + "/console/rules?q=UPDATES").text
    assert "1 rule matching “UPDATES”; page 1 of 1." in found and "power-events" in found


def test_a_pipes_dead_letters_are_discarded(server: RunningServer) -> None:
    server.pipework.pipes.backoff = Backoff(base=0.005, cap=0.02)
    server.pipework.functions.register("down", always_down)
    stream = make_table(server)
    put_powers(server, "Powers", "s1")
    server.client("pipes").create_pipe(
        Name="failing",
        Source=stream,
        Target=FN + "down",
        RoleArn=ROLE,
        SourceParameters=stream_params(MaximumRetryAttempts=0),
    )
    (dead,) = wait_until(lambda: dead_letters(server, "failing"))
    page = httpx.get(server.endpoint_url + "/console/dead-letters").text
    assert dead["Id"] in page and "s1" in page
    answer = httpx.post(
        server.endpoint_url + "/console/api/dead-letters/discard", json={"Pipe": {"failing": [dead["Id"]]}}
    )
    assert answer.json() == {"Discarded": 1}
    assert dead_letters(server, "failing") == []
    unknown = httpx.post(
        server.endpoint_url + "/console/api/dead-letters/discard", json={"Pipe": {"nope": ["x"]}}
    )
    assert unknown.status_code == 404 and unknown.json()["__type"] == "NotFoundException"


def test_a_readers_stream_lag_shows_on_the_tables_page(console_server: RunningServer) -> None:
    pipes = console_server.client("pipes")
    pipes.stop_pipe(Name="power-dispatch")
    wait_until(lambda: pipes.describe_pipe(Name="power-dispatch")["CurrentState"] == "STOPPED")
    ddb = console_server.client("dynamodb")
    for n in range(3):
        ddb.put_item(TableName="Powers", Item={"subjectId": {"S": f"p{n}"}, "megawatts": {"N": "1"}})
    assert (
        "power-dispatch: 3 records behind" in httpx.get(console_server.endpoint_url + "/console/tables").text
    )
    pipes.start_pipe(Name="power-dispatch")
    wait_until(
        lambda: (
            "power-dispatch: 0 records behind"
            in httpx.get(console_server.endpoint_url + "/console/tables").text
        )
    )


def test_a_schedules_latest_results_and_next_fire_times_show(make_server: Any) -> None:
    start = 1_798_761_600.0  # 2027-01-01T00:00:00Z
    server = make_server(clock=ManualClock(start=start))
    url = server.client("sqs").create_queue(QueueName="ticks")["QueueUrl"]
    scheduler = server.client("scheduler")
    target = {"RoleArn": "arn:aws:iam::000000000000:role/r", "Input": "{}"}
    scheduler.create_schedule(
        Name="every-hour",
        ScheduleExpression="rate(1 hour)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": "arn:aws:sqs:us-east-1:000000000000:ticks", **target},
    )
    scheduler.create_schedule(
        Name="nowhere",
        ScheduleExpression="rate(1 hour)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": "arn:aws:sqs:us-east-1:000000000000:missing", **target},
    )
    server.advance(3600)
    assert server.client("sqs").receive_message(QueueUrl=url)["Messages"]
    page = httpx.get(server.endpoint_url + "/console/schedules").text
    assert "2027-01-01T01:00:00+00:00 UTC: SUCCEEDED" in page
    assert "2027-01-01T02:00:00+00:00 UTC" in page  # the next fire time
    assert "2027-01-01T01:00:00+00:00 UTC: FAILED (QueueDoesNotExist" in page


def test_peeking_a_queue_receives_nothing(console_server: RunningServer) -> None:
    sqs = console_server.client("sqs")
    url = sqs.create_queue(QueueName="peeked")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="one")
    arn = "arn:aws:sqs:us-east-1:000000000000:peeked"
    for _ in range(2):
        answer = httpx.get(
            console_server.endpoint_url + "/console/api/queues/peek", params={"arn": arn}
        ).json()
        assert [(m["Body"], m["ReceiveCount"], m["InFlight"]) for m in answer["Messages"]] == [
            ("one", 0, False)
        ]
        assert answer["AgeOfOldestMessage"] >= 0
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "one"
    missing = httpx.get(console_server.endpoint_url + "/console/api/queues/peek", params={"arn": arn + "x"})
    assert missing.status_code == 400


def test_a_pipes_execution_log_shows_on_its_page(console_server: RunningServer) -> None:
    group = "arn:aws:logs:us-east-1:000000000000:log-group:/pipes/power"
    console_server.client("logs").create_log_group(logGroupName="/pipes/power")
    console_server.client("pipes").update_pipe(
        Name="power-dispatch",
        RoleArn="arn:aws:iam::000000000000:role/power-dispatch",
        LogConfiguration={"Level": "INFO", "CloudwatchLogsLogDestination": {"LogGroupArn": group}},
    )
    page = httpx.get(console_server.endpoint_url + "/console/pipes/power-dispatch").text
    assert f"The last lines of <code>{group}</code>" in page
    console_server.client("dynamodb").put_item(
        TableName="Powers", Item={"subjectId": {"S": "logged"}, "megawatts": {"N": "1"}}
    )
    wait_until(
        lambda: (
            "ExecutionSucceeded"
            in httpx.get(console_server.endpoint_url + "/console/pipes/power-dispatch").text
        )
    )


def test_an_alarms_state_and_history_show(console_server: RunningServer) -> None:
    cloudwatch = console_server.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="failing",
        Namespace="AWS/EventBridge/Pipes",
        MetricName="ExecutionFailed",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName="failing", StateValue="ALARM", StateReason="raised by hand")
    page = httpx.get(console_server.endpoint_url + "/console/alarms").text
    assert '<td class="alarm-ALARM">ALARM</td><td>raised by hand</td>' in page
    assert "ExecutionFailed GreaterThanThreshold 0.0" in page
    assert "to ALARM" in page  # the history's state change
    assert "1 in ALARM" in httpx.get(console_server.endpoint_url + "/console/").text


def test_a_breakers_state_and_parked_count_show(console_server: RunningServer) -> None:
    queue = "arn:aws:sqs:us-east-1:000000000000:power-updates"
    put = httpx.put(console_server.endpoint_url + "/_pipework/breakers/updates-queue", json={"Target": queue})
    assert put.status_code == 200, put.text
    page = httpx.get(console_server.endpoint_url + "/console/breakers").text
    assert '<td class="breaker-state">CLOSED</td>' in page and "power-updates" in page
    # The page's Open button posts here.
    opened = httpx.post(console_server.endpoint_url + "/_pipework/breakers/updates-queue/open").json()
    assert opened["State"] == "OPEN"
    console_server.client("events").put_events(
        Entries=[
            {
                "EventBusName": "power-events",
                "Source": "energy.dispatch",
                "DetailType": "PowerDispatch",
                "Detail": '{"subjectId": "b", "megawatts": "1"}',
            }
        ]
    )
    wait_until(
        lambda: (
            '<td class="breaker-parked">1</td>'
            in httpx.get(console_server.endpoint_url + "/console/breakers").text
        )
    )
    assert (
        '<td class="breaker-state">OPEN</td>'
        in httpx.get(console_server.endpoint_url + "/console/breakers").text
    )


def test_a_missing_queue_or_bus_page_is_a_404_page(console_server: RunningServer) -> None:
    for path, message in [
        ("/console/queues/nope", "Queue nope does not exist."),
        ("/console/buses/nope?q=x&page=2", "Event bus nope does not exist."),
    ]:
        answer = httpx.get(console_server.endpoint_url + path)
        assert answer.status_code == 404 and message in answer.text, path
