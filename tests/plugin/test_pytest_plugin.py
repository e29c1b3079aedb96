"""The pytest plugin as users meet it: a test file of theirs, run by pytest with only the plugin's fixtures."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

USER_TEST = """
import json, time
import boto3

def test_rule_delivers_to_my_function(pipework_server, pipework_functions):
    seen = []
    pipework_functions["notify"] = lambda event, context: seen.append(event)
    events = boto3.client("events")
    events.put_rule(Name="big", EventPattern=json.dumps({"detail": {"total": [{"numeric": [">", 100]}]}}))
    events.put_targets(
        Rule="big", Targets=[{"Id": "n", "Arn": "arn:aws:lambda:us-east-1:000000000000:function:notify"}]
    )
    events.put_events(Entries=[
        {"Source": "shop", "DetailType": "Order", "Detail": json.dumps({"total": 150})},
        {"Source": "shop", "DetailType": "Order", "Detail": json.dumps({"total": 5})},
    ])
    deadline = time.monotonic() + 10
    while not seen and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [e["detail"]["total"] for e in seen] == [150]

def test_each_test_gets_a_fresh_server(pipework_server):
    assert boto3.client("events").list_rules()["Rules"] == []
"""


def test_users_test_their_rules_with_boto3_and_the_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TEST)
    result = pytester.runpytest_subprocess("-p", "pipework", "-q")
    result.assert_outcomes(passed=2)


MANUAL_CLOCK_TEST = """
import boto3, pytest

@pytest.mark.pipework(manual_clock=True, start=1_800_000_000)
def test_my_reminder_queue_hides_a_message_for_an_hour(pipework_server):
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="reminders")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="call back", DelaySeconds=900)
    assert sqs.receive_message(QueueUrl=url).get("Messages") is None
    assert pipework_server.advance(900) == 1_800_000_900
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url)["Messages"]] == ["call back"]
    assert pipework_server.now() == 1_800_000_900

def test_without_the_marker_the_clock_is_the_real_one(pipework_server):
    with pytest.raises(RuntimeError):
        pipework_server.advance(1)
"""


def test_users_move_a_manual_clock_with_the_marker_and_advance(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=MANUAL_CLOCK_TEST)
    result = pytester.runpytest_subprocess("-p", "pipework", "-q", "--strict-markers")
    result.assert_outcomes(passed=2)
