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
