"""Every console page against one server running both examples: power-dispatch (a table stream, a pipe, a bus, a
rule to a queue and a function) and vendor-mediator (a bus, a rule to an API destination behind a circuit breaker
with a health check, and its fake vendor), with traffic through both. Each page answers 200, shows the examples'
resources, and raises no script error; the breaker is opened and closed from its page."""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipework.connectors.targets.function import load_functions
from pipework.testing import RunningServer, serve_in_thread

from .conftest import EXAMPLE, power_dispatch_setup
from .test_console_browser import expect_text, shoot, wait_until

MEDIATOR = Path(__file__).resolve().parents[2] / "examples" / "vendor-mediator"


def _mediator() -> Any:
    sys.path.insert(0, str(MEDIATOR))
    try:
        spec = importlib.util.spec_from_file_location("vendor_mediator_console", MEDIATOR / "mediator.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(MEDIATOR))


mediator = _mediator()


@pytest.fixture
def both() -> Iterator[RunningServer]:
    vendor = mediator.Vendor()
    try:
        with serve_in_thread(functions=load_functions(str(EXAMPLE / "functions.py"))) as server:
            url = server.endpoint_url
            power_dispatch_setup().setup(url)
            mediator.setup(url, vendor.url)
            placed = mediator.place_orders(url, 0, 5)
            ddb = server.client("dynamodb")
            for n in range(2):
                ddb.put_item(
                    TableName="Powers", Item={"subjectId": {"S": f"plant-{n}"}, "megawatts": {"N": "4"}}
                )
            wait_until(lambda: sorted(vendor.issued()) == placed)
            sqs = server.client("sqs")
            queue = sqs.get_queue_url(QueueName="power-updates")["QueueUrl"]
            wait_until(
                lambda: (
                    sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])[
                        "Attributes"
                    ]["ApproximateNumberOfMessages"]
                    == "2"
                )
            )
            # An alarm on the breaker's metric, as an operator of the mediator would set one.
            server.client("cloudwatch").put_metric_alarm(
                AlarmName="vendor-breaker-open",
                Namespace="Pipework/Breakers",
                MetricName="Open",
                Dimensions=[{"Name": "Breaker", "Value": "vendor"}],
                Statistic="Maximum",
                Period=60,
                EvaluationPeriods=1,
                Threshold=0,
                ComparisonOperator="GreaterThanThreshold",
            )
            server.client("cloudwatch").set_alarm_state(
                AlarmName="vendor-breaker-open", StateValue="ALARM", StateReason="the vendor was down"
            )
            yield server
    finally:
        vendor.close()


#: (page, the texts it must show: the examples' resources)
PAGES = [
    ("/console/", ["Buses", "Rules", "Pipes", "Queues", "Tables", "Alarms"]),
    ("/console/buses", ["power-events", "orders", "default"]),
    ("/console/buses/orders", ["orders-to-vendor", "api-destination/vouchers", "Put event"]),
    ("/console/buses/power-events", ["updates", "power-updates", "notify_dispatcher"]),
    ("/console/rules", ["updates", "orders-to-vendor", "2 rules"]),
    ("/console/rule?bus=orders&name=orders-to-vendor", ["3 attempts, 3600 s max age", "Order Placed"]),
    ("/console/rule?bus=power-events&name=updates", ["PowerDispatch", "power-updates"]),
    ("/console/pipes", ["power-dispatch", "RUNNING"]),
    ("/console/pipes/power-dispatch", ["RUNNING", "SOURCE", "FILTER", "TARGET", "InputTemplate"]),
    ("/console/schedules", ["No schedules."]),
    ("/console/queues", ["power-updates"]),
    ("/console/queues/power-updates", ["NumberOfMessagesSent", "ApproximateNumberOfMessagesVisible"]),
    ("/console/tables", ["Powers", "power-dispatch: 0 records behind"]),
    ("/console/tables/Powers", ["plant-0", "plant-1"]),
    ("/console/dead-letters", ["Rules", "Pipes"]),
    ("/console/archives", ["No archives.", "No replays."]),
    ("/console/breakers", ["vendor", "CLOSED", "api-destination/vouchers"]),
    (
        "/console/alarms",
        ["vendor-breaker-open", "Open GreaterThanThreshold 0", "the vendor was down", "to ALARM"],
    ),
]


def test_every_page_shows_both_examples(both: RunningServer, page: Any) -> None:
    for path, texts in PAGES:
        response = page.goto(both.endpoint_url + path)
        assert response is not None and response.status == 200, path
        main = page.locator("main").inner_text()
        assert page.locator("main .error").count() == 0, (path, main)
        for text in texts:
            assert text in main, (path, text, main)
    # The rule of the vendor mediator counts its five deliveries.
    page.goto(both.endpoint_url + "/console/rule?bus=orders&name=orders-to-vendor")
    assert page.locator("#rule-metrics tr[data-metric=Invocations] .figure").inner_text() == "5"
    overview = httpx.get(both.endpoint_url + "/console/").text
    assert re.search(r'<span class="count">3</span> Buses', overview)


def test_a_breaker_is_opened_closed_paused_and_resumed_from_its_page(both: RunningServer, page: Any) -> None:
    breaker = both.endpoint_url + "/_pipework/breakers/vendor"
    page.goto(both.endpoint_url + "/console/breakers")
    row = page.locator("tr[data-breaker=vendor]")
    expect_text(row.locator(".breaker-state"), "^CLOSED$")
    row.get_by_role("button", name="Open").click()
    expect_text(row.locator(".breaker-state"), "^OPEN$")  # its health check may close it again at once
    row.get_by_role("button", name="Close").click()
    expect_text(row.locator(".breaker-state"), "^CLOSED$")
    # Paused, it stays open whatever the health check says: orders placed meanwhile are parked, not sent.
    row.get_by_role("button", name="Pause").click()
    expect_text(row.locator(".breaker-state"), "^PAUSED$")
    assert httpx.get(breaker).json()["State"] == "PAUSED"
    mediator.place_orders(both.endpoint_url, 100, 3)
    wait_until(lambda: httpx.get(breaker).json()["Parked"] == 3)
    page.reload()
    expect_text(row.locator(".breaker-parked"), "^3$")
    shoot(page, "breakers")
    row.get_by_role("button", name="Resume").click()
    expect_text(row.locator(".breaker-state"), "^(CLOSED|HALF_OPEN|OPEN)$")
    wait_until(lambda: httpx.get(breaker).json()["Parked"] == 0)
    assert httpx.get(both.endpoint_url + "/_pipework/events/dead-letters").json()["DeadLetters"] == []


#: Run in each page: the form fields without an accessible name, the buttons without one, the charts without a
#: title and description, the tables without header cells.
UNLABELLED = """() => {
  const named = (el) => (el.labels && el.labels.length) || el.getAttribute("aria-label") ||
    el.getAttribute("aria-labelledby");
  const fields = [...document.querySelectorAll("input:not([type=hidden]), select, textarea")]
    .filter((el) => !named(el)).map((el) => el.outerHTML.slice(0, 120));
  const buttons = [...document.querySelectorAll("button")]
    .filter((el) => !el.textContent.trim() && !el.getAttribute("aria-label")).map((el) => el.outerHTML.slice(0, 120));
  const resolves = (svg, attribute) => (svg.getAttribute(attribute) || "").split(" ")
    .every((id) => document.getElementById(id)?.textContent);
  const charts = [...document.querySelectorAll("svg")].filter((svg) => svg.getAttribute("role") !== "img" ||
    !resolves(svg, "aria-labelledby") || !resolves(svg, "aria-describedby"))
    .map((svg) => svg.outerHTML.slice(0, 120));
  const tables = [...document.querySelectorAll("table")].filter((t) => !t.querySelector("th"))
    .map((t) => t.outerHTML.slice(0, 120));
  return [...fields, ...buttons, ...charts, ...tables];
}"""


def test_every_page_names_its_fields_buttons_and_charts(both: RunningServer, page: Any) -> None:
    for path, _ in PAGES:
        page.goto(both.endpoint_url + path)
        assert page.evaluate(UNLABELLED) == [], path
    # The check finds what it looks for: a field without a label.
    page.evaluate("document.querySelector('main').append(document.createElement('input'))")
    assert page.evaluate(UNLABELLED) == ["<input>"]


def test_the_console_is_used_with_the_keyboard_alone(both: RunningServer, page: Any) -> None:
    page.goto(both.endpoint_url + "/console/buses/orders")
    # The first Tab reaches "Skip to content", which moves the focus to the page's content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # The navigation bar is links in order: Tab, Enter opens a page.
    page.get_by_role("link", name="Rules", exact=True).focus()
    page.keyboard.press("Enter")
    page.wait_for_url(both.endpoint_url + "/console/rules")
    page.get_by_label("Search rules").focus()
    page.keyboard.type("vendor")
    page.keyboard.press("Enter")
    expect_text(page.locator("#rules-count"), "^1 rule matching “vendor”")
    # A form filled and sent from the keyboard: each field's Tab order follows its label.
    page.goto(both.endpoint_url + "/console/buses/orders")
    page.wait_for_selector("#tail-state[data-state=open]")
    page.get_by_label("Source").focus()
    page.keyboard.press("Control+A")
    page.keyboard.type("shop")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "detail-type"
    page.keyboard.press("Control+A")
    page.keyboard.type("Order Placed")
    page.keyboard.press("Tab")
    page.keyboard.press("Control+A")
    page.keyboard.type('{"orderId": "keyboard-1"}')
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Put event"
    page.keyboard.press("Enter")
    expect_text(page.locator("#status"), r"^Put event [0-9a-f-]{36}\.$")
    event_id = page.locator("#status").inner_text().split()[-1].rstrip(".")
    row = page.locator(f"#tail-table tr[data-event-id='{event_id}']")
    row.wait_for()
    assert row.locator("td").nth(5).inner_text() == "orders-to-vendor"
