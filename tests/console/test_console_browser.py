"""The console in a real browser (Chromium through Playwright) against a server running the power-dispatch example:
every page from the navigation bar, an event put from a bus page seen in its live tail, a dead letter redriven
and one discarded, a replay started and cancelled (and one completed), a pipe invoked, a pattern tested, a
schedule disabled. ``PIPEWORK_SCREENSHOTS=DIR`` saves the screenshots `docs/console.md` shows."""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipework.testing import RunningServer

SCREENSHOTS = os.environ.get("PIPEWORK_SCREENSHOTS")
NAVIGATION = [
    ("Overview", "/console/", "Overview"),
    ("Buses", "/console/buses", "Buses"),
    ("Rules", "/console/rules", "Rules"),
    ("Pipes", "/console/pipes", "Pipes"),
    ("Schedules", "/console/schedules", "Schedules"),
    ("Queues", "/console/queues", "Queues"),
    ("Tables", "/console/tables", "Tables"),
    ("Dead letters", "/console/dead-letters", "Dead letters"),
    ("Archives", "/console/archives", "Archives"),
    ("Breakers", "/console/breakers", "Breakers"),
    ("Alarms", "/console/alarms", "Alarms"),
]


def shoot(page: Any, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


def expect_text(locator: Any, pattern: str) -> None:
    from playwright.sync_api import expect

    expect(locator).to_have_text(re.compile(pattern))


def wait_until(condition: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_every_page_opens_from_the_navigation_bar(console_server: RunningServer, page: Any) -> None:
    page.goto(console_server.endpoint_url + "/console/")
    for label, path, heading in NAVIGATION:
        page.get_by_role("navigation", name="Console").get_by_role("link", name=label, exact=True).click()
        page.wait_for_url(console_server.endpoint_url + path)
        expect_text(page.locator("h1"), f"^{heading}$")
        assert page.locator("nav a[aria-current=page]").inner_text() == label
    page.goto(console_server.endpoint_url + "/console/pipes/power-dispatch")
    expect_text(page.locator("#pipe-state"), "RUNNING")
    page.goto(console_server.endpoint_url + "/console/tables/Powers")
    expect_text(page.locator("h1"), "Table Powers")


def test_an_event_put_from_the_bus_page_shows_in_the_live_tail(
    console_server: RunningServer, page: Any
) -> None:
    page.goto(console_server.endpoint_url + "/console/buses/power-events")
    page.wait_for_selector("#tail-state[data-state=open]")
    page.get_by_label("Source").fill("energy.dispatch")
    page.get_by_label("Detail type").fill("PowerDispatch")
    page.get_by_label("Detail", exact=True).fill('{"subjectId": "plant-9", "megawatts": "7"}')
    page.get_by_role("button", name="Put event").click()
    expect_text(page.locator("#status"), r"^Put event [0-9a-f-]{36}\.$")
    event_id = page.locator("#status").inner_text().split()[-1].rstrip(".")
    row = page.locator(f"#tail-table tr[data-event-id='{event_id}']")
    row.wait_for()
    cells = row.locator("td").all_inner_texts()
    assert cells[1:4] == [event_id, "energy.dispatch", "PowerDispatch"]
    assert json.loads(cells[4]) == {"subjectId": "plant-9", "megawatts": "7"}
    assert cells[5] == "updates"

    # An event no rule matches shows too, with no matched rules; one put by another client as well.
    events = console_server.client("events")
    other = events.put_events(
        Entries=[{"EventBusName": "power-events", "Source": "elsewhere", "DetailType": "X", "Detail": "{}"}]
    )["Entries"][0]["EventId"]
    unmatched = page.locator(f"#tail-table tr[data-event-id='{other}']")
    unmatched.wait_for()
    assert unmatched.locator("td").all_inner_texts()[2:] == ["elsewhere", "X", "{}", "none"]
    shoot(page, "bus")


def _dead_letters(server: RunningServer) -> list[dict[str, Any]]:
    answer = httpx.get(server.endpoint_url + "/_pipework/events/dead-letters").json()
    return list(answer["DeadLetters"])


def test_a_dead_letter_is_redriven_and_another_discarded(console_server: RunningServer, page: Any) -> None:
    events, sqs = console_server.client("events"), console_server.client("sqs")
    missing = "arn:aws:sqs:us-east-1:000000000000:console-redriven"
    events.put_targets(
        Rule="updates", EventBusName="power-events", Targets=[{"Id": "late-queue", "Arn": missing}]
    )
    for n in (1, 2):
        events.put_events(
            Entries=[
                {
                    "EventBusName": "power-events",
                    "Source": "energy.dispatch",
                    "DetailType": "PowerDispatch",
                    "Detail": json.dumps({"subjectId": f"plant-{n}", "megawatts": str(n)}),
                }
            ]
        )
    # A missing queue is an error retries cannot fix: both go straight to the dead letters.
    dead = wait_until(lambda: (found := _dead_letters(console_server)) and len(found) == 2 and found)
    url = sqs.create_queue(QueueName="console-redriven")["QueueUrl"]

    page.goto(console_server.endpoint_url + "/console/dead-letters")
    first, second = dead
    page.locator(f"input[value='{first['Id']}']").check()
    page.locator("details", has_text=f"Event {first['Event']['id']}").locator("summary").click()
    assert '"plant-1"' in page.locator("details[open] pre").first.inner_text()
    shoot(page, "dead-letters")
    page.get_by_role("button", name="Redrive selected").click()
    expect_text(page.locator("#status"), r"^Redriven 1\.$")
    received = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)["Messages"]
    assert json.loads(received[0]["Body"])["id"] == first["Event"]["id"]

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"input[value='{second['Id']}']").check()
    page.get_by_role("button", name="Discard selected").click()
    expect_text(page.locator("#status"), r"^Discarded 1\.$")
    assert _dead_letters(console_server) == []


def test_a_replay_is_started_and_cancelled_and_another_completes(
    console_server: RunningServer, page: Any
) -> None:
    events = console_server.client("events")
    bus_arn = events.describe_event_bus(Name="power-events")["Arn"]
    events.create_archive(ArchiveName="dispatches", EventSourceArn=bus_arn)
    for n in range(3):
        events.put_events(
            Entries=[
                {
                    "EventBusName": "power-events",
                    "Source": "energy.dispatch",
                    "DetailType": "PowerDispatch",
                    "Detail": json.dumps({"subjectId": f"plant-{n}", "megawatts": "1"}),
                }
            ]
        )
    # Hold the first replay before it reads the archive, so the browser sees it active and cancels it.
    replayer = console_server.pipework.events.replayer
    original = replayer._replay
    gate = console_server.run(_new_event())

    async def held(here: Any, name: str) -> None:
        await gate.wait()
        await original(here, name)

    replayer._replay = held  # type: ignore[method-assign]
    page.goto(console_server.endpoint_url + "/console/archives")
    page.get_by_label("Replay name").fill("held")
    page.get_by_role("checkbox", name="power-events/updates").check()
    page.get_by_role("button", name="Start replay").click()
    row = page.locator("#replays tr[data-replay=held]")
    expect_text(row.locator(".replay-state"), "^STARTING$")
    row.get_by_role("button", name="Cancel").click()
    expect_text(row.locator(".replay-state"), "^CANCELLING$")
    replayer._replay = original  # type: ignore[method-assign]
    console_server.loop.call_soon_threadsafe(gate.set)
    expect_text(row.locator(".replay-state"), "^CANCELLED$")
    assert events.describe_replay(ReplayName="held")["State"] == "CANCELLED"

    page.get_by_label("Replay name").fill("whole")
    page.get_by_role("button", name="Start replay").click()
    done = page.locator("#replays tr[data-replay=whole]")
    expect_text(done.locator(".replay-state"), "^COMPLETED$")
    assert done.locator("progress").get_attribute("value") == "100"
    assert events.describe_replay(ReplayName="whole")["State"] == "COMPLETED"
    shoot(page, "archives")


async def _new_event() -> asyncio.Event:
    return asyncio.Event()


def test_a_pipe_is_invoked_with_a_record_and_shows_each_stage(
    console_server: RunningServer, page: Any
) -> None:
    page.goto(console_server.endpoint_url + "/console/pipes/power-dispatch")
    record = {
        "eventName": "INSERT",
        "dynamodb": {"NewImage": {"subjectId": {"S": "plant-5"}, "megawatts": {"N": "12"}}},
    }
    page.get_by_role("textbox", name=re.compile("^Record")).fill(json.dumps(record))
    page.get_by_role("button", name="Invoke").click()
    expect_text(page.locator("#invoke-status"), "SUCCEEDED")
    stages = page.locator("#invoke-result tr[data-stage]")
    assert [s.get_attribute("data-stage") for s in stages.all()] == ["FILTER", "TARGET"]
    target = page.locator("#invoke-result tr[data-stage=TARGET] td")
    assert json.loads(target.nth(2).inner_text()) == [{"subjectId": "plant-5", "megawatts": "12"}]
    assert "EventId" in target.nth(3).inner_text()
    shoot(page, "pipe")

    # A record the filter drops stops at the filter.
    page.get_by_role("textbox", name=re.compile("^Record")).fill(
        json.dumps({**record, "eventName": "REMOVE"})
    )
    page.get_by_role("button", name="Invoke").click()
    expect_text(page.locator("#invoke-status"), "FILTERED")

    page.get_by_role("button", name="Stop").click()
    expect_text(page.locator("#pipe-state"), "^STOPPING$")
    wait_until(
        lambda: (
            console_server.client("pipes").describe_pipe(Name="power-dispatch")["CurrentState"] == "STOPPED"
        )
    )
    page.reload()
    expect_text(page.locator("#pipe-state"), "^STOPPED$")


def test_a_rule_pattern_test_names_the_field_that_does_not_match(
    console_server: RunningServer, page: Any
) -> None:
    page.goto(console_server.endpoint_url + "/console/rule?bus=power-events&name=updates")
    event = {
        "id": "1",
        "account": "000000000000",
        "source": "energy.dispatch",
        "time": "2026-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail-type": "SomethingElse",
        "detail": {},
    }
    page.get_by_label("Event (JSON)").fill(json.dumps(event))
    page.get_by_role("button", name="Test").click()
    expect_text(page.locator("#test-result li"), "^detail-type$")
    assert page.locator("#pattern-text mark").inner_text() == '"detail-type":'
    shoot(page, "rule")
    page.get_by_label("Event (JSON)").fill(json.dumps({**event, "detail-type": "PowerDispatch"}))
    page.get_by_role("button", name="Test").click()
    expect_text(page.locator("#test-result"), "matches")


def test_a_schedule_is_disabled_and_a_queue_peeked(console_server: RunningServer, page: Any) -> None:
    queue_arn = "arn:aws:sqs:us-east-1:000000000000:power-updates"
    console_server.client("scheduler").create_schedule(
        Name="hourly-report",
        ScheduleExpression="cron(0 9 * * ? *)",
        ScheduleExpressionTimezone="Europe/Paris",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": queue_arn, "RoleArn": "arn:aws:iam::000000000000:role/r", "Input": "{}"},
    )
    page.goto(console_server.endpoint_url + "/console/schedules")
    row = page.locator("tr", has_text="hourly-report")
    assert "09:00:00+01:00 Europe/Paris" in row.inner_text()
    row.get_by_role("button", name="Disable").click()
    expect_text(row.locator(".schedule-state"), "^DISABLED$")
    state = console_server.client("scheduler").get_schedule(Name="hourly-report")["State"]
    assert state == "DISABLED"

    sqs = console_server.client("sqs")
    url = sqs.get_queue_url(QueueName="power-updates")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="peek at me")
    page.goto(console_server.endpoint_url + "/console/queues")
    page.locator("tr", has_text="power-updates").get_by_role("button", name="Peek").click()
    expect_text(page.locator("#peek-result td pre"), "^peek at me$")
    shoot(page, "queues")
    # Peeking received nothing: the message is still there to receive, for the first time.
    message = sqs.receive_message(QueueUrl=url, AttributeNames=["ApproximateReceiveCount"])["Messages"][0]
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"


@pytest.mark.skipif(not SCREENSHOTS, reason="PIPEWORK_SCREENSHOTS is not set")
def test_screenshots_of_the_main_pages(console_server: RunningServer, page: Any) -> None:
    """The lists, with something in them: a failing target's dead letters, a schedule, rows in the table."""
    events = console_server.client("events")
    events.put_targets(
        Rule="updates",
        EventBusName="power-events",
        Targets=[{"Id": "gone", "Arn": "arn:aws:sqs:us-east-1:000000000000:gone"}],
    )
    ddb = console_server.client("dynamodb")
    for n in range(3):
        ddb.put_item(TableName="Powers", Item={"subjectId": {"S": f"plant-{n}"}, "megawatts": {"N": "5"}})
    wait_until(lambda: len(_dead_letters(console_server)) == 3)
    console_server.client("scheduler").create_schedule(
        Name="morning-report",
        ScheduleExpression="cron(0 9 * * ? *)",
        ScheduleExpressionTimezone="Europe/Paris",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": "arn:aws:sqs:us-east-1:000000000000:power-updates",
            "RoleArn": "arn:aws:iam::000000000000:role/r",
            "Input": "{}",
        },
    )
    cloudwatch = console_server.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="power-dispatch-failing",
        Namespace="AWS/EventBridge/Pipes",
        MetricName="ExecutionFailed",
        Dimensions=[{"Name": "PipeName", "Value": "power-dispatch"}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=15,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName="power-dispatch-failing", StateValue="ALARM", StateReason="a test")
    httpx.put(
        console_server.endpoint_url + "/_pipework/breakers/power-updates",
        json={"Target": "arn:aws:sqs:us-east-1:000000000000:power-updates"},
    ).raise_for_status()
    for name in ("overview", "buses", "rules", "pipes", "schedules", "tables", "breakers", "alarms"):
        page.goto(console_server.endpoint_url + ("/console/" if name == "overview" else f"/console/{name}"))
        shoot(page, name)


def _last_hour_sum(server: RunningServer, namespace: str, name: str, dimensions: dict[str, str]) -> float:
    now = time.time()
    answer = server.client("cloudwatch").get_metric_data(
        MetricDataQueries=[
            {
                "Id": "m",
                "MetricStat": {
                    "Metric": {
                        "Namespace": namespace,
                        "MetricName": name,
                        "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
                    },
                    "Period": 60,
                    "Stat": "Sum",
                },
            }
        ],
        StartTime=now - 3600,
        EndTime=now + 60,
    )
    return float(sum(answer["MetricDataResults"][0]["Values"]))


def test_the_rule_pipe_and_queue_pages_chart_their_metrics(console_server: RunningServer, page: Any) -> None:
    """Items put in the table flow through the pipe to the bus, and the rule delivers them to the queue (and the
    function): each page charts what it counted, with the numbers beside the chart."""
    ddb = console_server.client("dynamodb")
    for n in range(3):
        ddb.put_item(TableName="Powers", Item={"subjectId": {"S": f"plant-{n}"}, "megawatts": {"N": str(n)}})
    rule = {"EventBusName": "power-events", "RuleName": "updates"}
    # Two targets, three events: six invocations once every delivery is done.
    wait_until(lambda: _last_hour_sum(console_server, "AWS/Events", "Invocations", rule) == 6)

    page.goto(console_server.endpoint_url + "/console/rule?bus=power-events&name=updates")
    figures = page.locator("#rule-metrics tr[data-metric]")
    totals = {row.get_attribute("data-metric"): row.locator(".figure").inner_text() for row in figures.all()}
    assert totals["Invocations"] == "6" and totals["MatchedEvents"] == "3"
    assert totals["FailedInvocations"] == "0"
    chart = page.get_by_role("img", name="Invocations (Sum)", exact=True)
    assert int(chart.get_attribute("data-points") or 0) >= 1
    assert chart.locator("rect.bar").count() >= 1
    assert "6 in all" in (chart.locator("desc").text_content() or "")
    figure = page.locator("figure[data-metric=Invocations]")
    figure.get_by_text("Numbers").click()
    numbers = figure.locator("table.numbers tbody td:nth-child(2)").all_inner_texts()
    assert sum(int(n) for n in numbers) == 6
    shoot(page, "rule-metrics")

    # The bus adds up its rules' deliveries, the overview every rule's, and the requests putting events.
    page.goto(console_server.endpoint_url + "/console/buses/power-events")
    bus_chart = page.get_by_role("img", name="Invocations (Sum) of the bus's 1 rule", exact=True)
    assert "6 in all" in (bus_chart.locator("desc").text_content() or "")
    page.goto(console_server.endpoint_url + "/console/")
    all_rules = page.get_by_role("img", name="Invocations (Sum) of the account's 1 rule", exact=True)
    assert "6 in all" in (all_rules.locator("desc").text_content() or "")
    requests = page.get_by_role("img", name=re.compile("^PutEventsRequestSize \\(SampleCount\\)"))
    assert int(requests.get_attribute("data-points") or 0) >= 1
    shoot(page, "overview")

    wait_until(
        lambda: (
            _last_hour_sum(
                console_server, "AWS/EventBridge/Pipes", "EventCount", {"PipeName": "power-dispatch"}
            )
            == 3
        )
    )
    page.goto(console_server.endpoint_url + "/console/pipes/power-dispatch")
    assert page.locator("#pipe-metrics tr[data-metric=EventCount] .figure").inner_text() == "3"
    pipe_chart = page.get_by_role("img", name="EventCount (Sum)", exact=True)
    assert int(pipe_chart.get_attribute("data-points") or 0) >= 1

    page.goto(console_server.endpoint_url + "/console/queues")
    page.get_by_role("link", name="power-updates").click()
    expect_text(page.locator("h1"), "^Queue power-updates$")
    assert page.locator("#queue-metrics tr[data-metric=NumberOfMessagesSent] .figure").inner_text() == "3"
    sent = page.get_by_role("img", name="NumberOfMessagesSent (Sum)", exact=True)
    assert int(sent.get_attribute("data-points") or 0) >= 1
    expect_text(page.locator("dl.facts"), "Visible\\s*3")
    shoot(page, "queue")


async def _many_rules(server: RunningServer, count: int) -> None:
    api = server.pipework.api
    for n in range(count):
        name = f"bulk-{n:04}"
        await api.call(
            "events",
            "PutRule",
            {
                "Name": name,
                "EventBusName": "power-events",
                "EventPattern": json.dumps({"source": [f"bulk.{n}"]}),
            },
        )
        await api.call(
            "events",
            "PutTargets",
            {
                "Rule": name,
                "EventBusName": "power-events",
                "Targets": [{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:000000000000:power-updates"}],
            },
        )


def test_a_thousand_rules_are_paged_searched_and_replayed_to(
    console_server: RunningServer, page: Any
) -> None:
    console_server.run(_many_rules(console_server, 1000), timeout=120)
    url = console_server.endpoint_url
    page.goto(url + "/console/rules")
    expect_text(page.locator("#rules-count"), "^1001 rules; page 1 of 21\\.$")
    assert page.locator("table.rules tbody tr").count() == 50
    page.get_by_label("Search rules").fill("bulk-07")
    page.get_by_role("button", name="Search").click()
    expect_text(page.locator("#rules-count"), "^100 rules matching “bulk-07”; page 1 of 2\\.$")
    page.get_by_role("link", name="Next page").click()
    expect_text(page.locator("#rules-count"), "page 2 of 2\\.$")
    page.get_by_role("link", name="bulk-0799").click()
    expect_text(page.locator("h1"), "^Rule bulk-0799$")

    # The bus's page pages its rules too (not a thousand rows).
    page.goto(url + "/console/buses/power-events?q=bulk.99")
    expect_text(page.locator("#rules-count"), "^11 rules matching “bulk.99”; page 1 of 1\\.$")
    page.goto(url + "/console/buses/power-events")
    assert page.locator("table.rules tbody tr").count() == 50

    # A replay names some of a thousand rules by name (no thousand checkboxes).
    events = console_server.client("events")
    bus_arn = events.describe_event_bus(Name="power-events")["Arn"]
    events.create_archive(ArchiveName="bulk", EventSourceArn=bus_arn)
    page.goto(url + "/console/archives")
    assert page.locator("input[type=checkbox][data-bus=power-events]").count() == 0
    page.get_by_label("Replay name").fill("some")
    page.get_by_label(re.compile("^Rules of power-events")).fill("bulk-0001, bulk-0002")
    page.get_by_role("button", name="Start replay").click()
    expect_text(page.locator("#replays tr[data-replay=some] .replay-state"), "^COMPLETED$")
    destination = events.describe_replay(ReplayName="some")["Destination"]
    assert [arn.rsplit("/", 1)[-1] for arn in destination["FilterArns"]] == ["bulk-0001", "bulk-0002"]


def test_a_dead_letter_queue_is_redriven_to_its_source_and_a_table_browsed(
    console_server: RunningServer, page: Any
) -> None:
    sqs = console_server.client("sqs")
    dlq_url = sqs.create_queue(QueueName="orders-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    source_url = sqs.create_queue(
        QueueName="orders",
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})},
    )["QueueUrl"]
    sqs.send_message(QueueUrl=source_url, MessageBody="order 1")
    # Received once and not deleted: on the next receive it moves to the dead-letter queue.
    sqs.receive_message(QueueUrl=source_url, VisibilityTimeout=0)
    assert sqs.receive_message(QueueUrl=source_url).get("Messages", []) == []

    page.goto(console_server.endpoint_url + "/console/queues")
    row = page.locator("tr", has=page.get_by_role("link", name="orders-dlq", exact=True))
    assert row.locator("td").nth(1).inner_text() == "1"
    row.get_by_role("button", name="Redrive to source").click()
    expect_text(page.locator("#status"), "^Move task started: ")
    moved = wait_until(lambda: sqs.receive_message(QueueUrl=source_url).get("Messages"))
    assert moved[0]["Body"] == "order 1"
    page.reload()
    assert row.locator("td").nth(1).inner_text() == "0"

    # A table's items, fifty a page.
    ddb = console_server.client("dynamodb")
    for n in range(55):
        ddb.put_item(TableName="Powers", Item={"subjectId": {"S": f"unit-{n:02}"}, "megawatts": {"N": "1"}})
    page.goto(console_server.endpoint_url + "/console/tables")
    page.get_by_role("link", name="Powers").click()
    expect_text(page.locator("main > p").nth(1), "^55 items")
    first = page.locator("ol.items > li").all_inner_texts()
    assert len(first) == 50
    page.get_by_role("link", name="Next page").click()
    rest = page.locator("ol.items > li").all_inner_texts()
    assert len(rest) == 5
    seen = {json.loads(t)["subjectId"]["S"] for t in first + rest}
    assert seen == {f"unit-{n:02}" for n in range(55)}
