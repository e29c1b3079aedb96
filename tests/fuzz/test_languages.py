"""The string languages the services parse, fuzzed from their grammars (`support.grammars`) through the real API:
event patterns, input transformers and Pipes templates with their JSONPaths, DynamoDB expressions, schedule
expressions, SQS queue attributes and SNS filter policies. Every answer is a success or an AWS error, never a 5xx or a hang; values that
are accepted are also exercised (events matched and transformed, pipe records templated, schedules planned).

Examples are derandomized: `make test` runs a fixed sample, `make fuzz` many more (PIPEWORK_FUZZ_EXAMPLES).
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pipework.testing import RunningServer
from support import grammars as g
from support.badinput import EXAMPLES, Case, Findings, Known, OwnRoutes, Wire

pytestmark = pytest.mark.fuzz

ROLE = "arn:aws:iam::000000000000:role/fuzz"


def fuzz(default_examples: int) -> Callable[[Any], Any]:
    """Hypothesis settings of a language test: a fixed sample of `default_examples` unless PIPEWORK_FUZZ_EXAMPLES."""
    return settings(
        max_examples=EXAMPLES or default_examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )


#: 5xx and hangs the grammar fuzzing finds that are not fixed yet (see test_operations.KNOWN_5XX). The examples
#: drawn depend on PIPEWORK_FUZZ_EXAMPLES, so an entry is not required to fail in every run.
KNOWN_5XX: tuple[Known, ...] = ()


@dataclass
class Scratch:
    """Resources the language tests may change at will (the kept ones in conftest must not change)."""

    queue_url: str
    queue_arn: str
    dead_letter_arn: str
    source_url: str


@pytest.fixture(scope="module")
def scratch(fuzz_server: RunningServer) -> Scratch:
    sqs, events, dynamodb = (
        fuzz_server.client("sqs"),
        fuzz_server.client("events"),
        fuzz_server.client("dynamodb"),
    )
    queue_url = sqs.create_queue(QueueName="fuzz-queue")["QueueUrl"]
    dead_letter_url = sqs.create_queue(QueueName="fuzz-dlq")["QueueUrl"]
    source_url = sqs.create_queue(QueueName="fuzz-source")["QueueUrl"]

    def arn(url: str) -> str:
        return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    events.create_event_bus(Name="fuzz-bus")
    events.put_rule(Name="fuzz-all", EventBusName="fuzz-bus", EventPattern='{"source": ["fuzz"]}')
    dynamodb.create_table(
        TableName="fuzz-table",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for sk in range(3):
        item = {
            "pk": {"S": "a"},
            "sk": {"N": str(sk)},
            "list": {"L": [{"S": "x"}]},
            "data": {"M": {"a": {"N": "1"}}},
        }
        dynamodb.put_item(TableName="fuzz-table", Item=item)
    fuzz_server.client("pipes").create_pipe(
        Name="fuzz-pipe", Source=arn(source_url), Target=arn(queue_url), RoleArn=ROLE
    )
    fuzz_server.client("scheduler").create_schedule_group(Name="fuzz-group")
    return Scratch(queue_url, arn(queue_url), arn(dead_letter_url), source_url)


def finish(findings: Findings, service: str) -> None:
    print(dict(findings.statuses))
    for seconds, case in findings.slowest:
        print(f"{seconds:.2f} s: {case}")
    report = findings.report((service,), strict=False)
    assert not report, report


def test_event_patterns(http: httpx.Client, scratch: Scratch) -> None:
    """TestEventPattern and PutRule parse the pattern; PutEvents then matches events against the rules made."""
    wire, findings = Wire("events", http), Findings(KNOWN_5XX)

    @fuzz(120)
    @given(pattern=g.event_patterns(), event=g.events(), slot=st.integers(0, 2))
    def run(pattern: str, event: dict[str, Any], slot: int) -> None:
        before = len(findings.new)
        findings.check(
            wire, Case("TestEventPattern", "pattern", {"EventPattern": pattern, "Event": json.dumps(event)})
        )
        rule = {"Name": f"fuzz-rule-{slot}", "EventBusName": "fuzz-bus", "EventPattern": pattern}
        findings.check(wire, Case("PutRule", "pattern", rule))
        entry = {
            "EventBusName": "fuzz-bus",
            "Source": event["source"],
            "DetailType": event["detail-type"],
            "Detail": json.dumps(event["detail"]),
            "Resources": event["resources"],
        }
        findings.check(wire, Case("PutEvents", "event against fuzzed rules", {"Entries": [entry]}))
        assert len(findings.new) == before, findings.new[-1]

    run()
    finish(findings, "events")


def test_input_transformers_and_input_paths(http: httpx.Client, scratch: Scratch) -> None:
    """PutTargets parses InputPath / InputTransformer (JSONPaths and templates); matching events are transformed."""
    wire, findings = Wire("events", http), Findings(KNOWN_5XX)
    paths_maps = st.dictionaries(st.one_of(g.NAMES, st.sampled_from(["a", "b"])), g.json_paths(), max_size=3)
    transformers = st.one_of(
        st.fixed_dictionaries(
            {"InputTemplate": g.input_templates(g.events_placeholders())},
            optional={"InputPathsMap": paths_maps},
        ).map(lambda t: {"InputTransformer": t}),
        g.json_paths().map(lambda path: {"InputPath": path}),
    )

    @fuzz(120)
    @given(transformer=transformers, detail=g.JSON_VALUES, slot=st.integers(0, 1))
    @example(
        transformer={"InputPath": "$.detail"}, detail="\ud800", slot=0
    )  # a lone surrogate in a matched event
    def run(transformer: dict[str, Any], detail: Any, slot: int) -> None:
        before = len(findings.new)
        target = {"Id": f"fuzz-{slot}", "Arn": scratch.queue_arn, **transformer}
        params = {"Rule": "fuzz-all", "EventBusName": "fuzz-bus", "Targets": [target]}
        findings.check(wire, Case("PutTargets", "transformer", params))
        entry = {
            "EventBusName": "fuzz-bus",
            "Source": "fuzz",
            "DetailType": "t",
            "Detail": json.dumps({"a": detail}),
        }
        findings.check(wire, Case("PutEvents", "event through the transformer", {"Entries": [entry]}))
        assert len(findings.new) == before, findings.new[-1]

    run()
    finish(findings, "events")


def test_pipe_templates_filters_and_json_paths(http: httpx.Client, scratch: Scratch) -> None:
    """UpdatePipe parses the inline template and filter patterns; records sent to the source go through them."""
    wire, sqs, findings = Wire("pipes", http), Wire("sqs", http), Findings(KNOWN_5XX)
    filters = st.lists(g.event_patterns().map(lambda p: {"Pattern": p}), max_size=2).map(
        lambda f: {"Filters": f}
    )

    @fuzz(80)
    @given(
        template=g.input_templates(g.pipes_placeholders()),
        criteria=st.one_of(st.none(), filters),
        body=g.JSON_VALUES,
    )
    def run(template: str, criteria: dict[str, Any] | None, body: Any) -> None:
        before = len(findings.new)
        params: dict[str, Any] = {
            "Name": "fuzz-pipe",
            "RoleArn": ROLE,
            "TargetParameters": {"InputTemplate": template},
        }
        if criteria is not None:
            params["SourceParameters"] = {"FilterCriteria": criteria}
        findings.check(wire, Case("UpdatePipe", "template", params))
        message = {"QueueUrl": scratch.source_url, "MessageBody": json.dumps(body)}
        findings.check(sqs, Case("SendMessage", "record for the pipe", message))
        assert len(findings.new) == before, findings.new[-1]

    run()
    finish(findings, "pipes")


_EXPRESSION_OPERATIONS = (
    "GetItem",
    "Query",
    "Scan",
    "UpdateItem",
    "PutItem",
    "DeleteItem",
    "TransactWriteItems",
)


@st.composite
def dynamodb_requests(draw: st.DrawFn) -> Case:
    """One DynamoDB request carrying fuzzed expressions, with placeholders mostly (not always) defined."""
    operation = draw(st.sampled_from(_EXPRESSION_OPERATIONS))
    key = {"pk": {"S": "a"}, "sk": {"N": draw(st.sampled_from(["0", "1", "7"]))}}
    params: dict[str, Any] = {"TableName": "fuzz-table"}
    if operation == "GetItem":
        params |= {"Key": key, "ProjectionExpression": draw(g.projections())}
    elif operation == "Query":
        params |= {"KeyConditionExpression": draw(g.conditions())}
        params |= draw(
            st.fixed_dictionaries(
                {}, optional={"FilterExpression": g.conditions(), "ProjectionExpression": g.projections()}
            )
        )
    elif operation == "Scan":
        params |= draw(
            st.fixed_dictionaries(
                {}, optional={"FilterExpression": g.conditions(), "ProjectionExpression": g.projections()}
            )
        )
    elif operation == "UpdateItem":
        params |= {"Key": key, "UpdateExpression": draw(g.updates())}
        params |= draw(st.fixed_dictionaries({}, optional={"ConditionExpression": g.conditions()}))
    elif operation == "PutItem":
        params |= {
            "Item": {**key, "b": draw(g.ATTRIBUTE_VALUES)},
            "ConditionExpression": draw(g.conditions()),
        }
    elif operation == "DeleteItem":
        params |= {"Key": key, "ConditionExpression": draw(g.conditions())}
    names, values = g.placeholders_in(*(v for k, v in params.items() if k.endswith("Expression")))
    if names and draw(st.integers(0, 5)):
        params["ExpressionAttributeNames"] = {
            n: draw(st.sampled_from(["pk", "sk", "list", "data", "", "a.b"])) for n in names
        }
    if values and draw(st.integers(0, 5)):
        params["ExpressionAttributeValues"] = {v: draw(g.ATTRIBUTE_VALUES) for v in values}
    if operation == "TransactWriteItems":
        check = {"TableName": "fuzz-table", "Key": key, "ConditionExpression": draw(g.conditions())}
        params = {"TransactItems": [{"ConditionCheck": check}]}
    return Case(operation, "expressions", params)


def test_dynamodb_expressions(http: httpx.Client, scratch: Scratch) -> None:
    wire, findings = Wire("dynamodb", http), Findings(KNOWN_5XX)

    @fuzz(250)
    @given(case=dynamodb_requests())
    def run(case: Case) -> None:
        before = len(findings.new)
        findings.check(wire, case)
        assert len(findings.new) == before, findings.new[-1]

    run()
    finish(findings, "dynamodb")


def test_schedule_expressions_and_time_zones(http: httpx.Client, scratch: Scratch) -> None:
    """CreateSchedule parses the expression and time zone; accepted ENABLED schedules are planned by the runtime."""
    wire, findings = Wire("scheduler", http), Findings(KNOWN_5XX)
    names = itertools.count()

    @fuzz(120)
    @given(
        expression=g.schedule_expressions(),
        zone=st.one_of(st.none(), g.TIME_ZONES),
        state=st.sampled_from(["ENABLED", "DISABLED"]),
        window=st.sampled_from([{"Mode": "OFF"}, {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 1440}]),
    )
    def run(expression: str, zone: str | None, state: str, window: dict[str, Any]) -> None:
        before = len(findings.new)
        params: dict[str, Any] = {
            "Name": f"fuzz-{next(names)}",
            "GroupName": "fuzz-group",
            "ScheduleExpression": expression,
            "FlexibleTimeWindow": window,
            "State": state,
            "Target": {"Arn": scratch.queue_arn, "RoleArn": ROLE},
        }
        if zone is not None:
            params["ScheduleExpressionTimezone"] = zone
        findings.check(wire, Case("CreateSchedule", "expression", params))
        assert len(findings.new) == before, findings.new[-1]

    run()
    finish(findings, "scheduler")


def test_scheduled_rule_expressions(http: httpx.Client, scratch: Scratch) -> None:
    """PutRule parses a ScheduleExpression (rate and cron, as Scheduler's); accepted ENABLED rules are planned."""
    wire, findings = Wire("events", http), Findings(KNOWN_5XX)
    names = itertools.count()

    @fuzz(80)
    @given(expression=g.schedule_expressions(), state=st.sampled_from(["ENABLED", "DISABLED"]))
    def run(expression: str, state: str) -> None:
        before = len(findings.new)
        params = {"Name": f"fuzz-scheduled-{next(names)}", "ScheduleExpression": expression, "State": state}
        findings.check(wire, Case("PutRule", "expression", params))
        assert len(findings.new) == before, findings.new[-1]

    run()
    finish(findings, "events")


def test_queue_attributes(http: httpx.Client, scratch: Scratch) -> None:
    """SetQueueAttributes and CreateQueue parse attribute values (numbers, booleans, JSON policies)."""
    wire, findings = Wire("sqs", http), Findings(KNOWN_5XX)

    @fuzz(150)
    @given(
        attributes=g.queue_attributes((scratch.dead_letter_arn, scratch.queue_arn)),
        create=st.booleans(),
        name=st.sampled_from(["fuzz-attributes", "fuzz-attributes.fifo"]),
    )
    def run(attributes: dict[str, str], create: bool, name: str) -> None:
        before = len(findings.new)
        if create:
            findings.check(
                wire, Case("CreateQueue", "attributes", {"QueueName": name, "Attributes": attributes})
            )
        else:
            params = {"QueueUrl": scratch.queue_url, "Attributes": attributes}
            findings.check(wire, Case("SetQueueAttributes", "attributes", params))
        assert len(findings.new) == before, findings.new[-1]

    run()
    finish(findings, "sqs")


def test_sns_filter_policies(http: httpx.Client, fuzz_server: RunningServer, scratch: Scratch) -> None:
    """Subscribe and SetSubscriptionAttributes parse filter policies in either scope; messages published with
    fuzzed attributes and bodies are matched against the policies accepted."""
    wire, findings = Wire("sns", http), Findings(KNOWN_5XX)
    sns = fuzz_server.client("sns")
    topic = sns.create_topic(Name="fuzz-topic")["TopicArn"]
    subscription = sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=scratch.queue_arn, ReturnSubscriptionArn=True
    )["SubscriptionArn"]

    @fuzz(150)
    @given(
        policy=g.filter_policies(),
        scope=st.sampled_from(["MessageAttributes", "MessageBody"]),
        subscribe=st.booleans(),
        attributes=g.message_attributes(),
        body=st.one_of(g.JSON_VALUES.map(json.dumps), st.text(max_size=8)),
    )
    def run(policy: str, scope: str, subscribe: bool, attributes: dict[str, Any], body: str) -> None:
        before = len(findings.new)
        if subscribe:
            params = {
                "TopicArn": topic,
                "Protocol": "sqs",
                "Endpoint": scratch.dead_letter_arn,
                "Attributes": {"FilterPolicy": policy, "FilterPolicyScope": scope},
            }
            findings.check(wire, Case("Subscribe", "filter policy", params))
        else:
            for name, value in (("FilterPolicyScope", scope), ("FilterPolicy", policy)):
                params = {"SubscriptionArn": subscription, "AttributeName": name, "AttributeValue": value}
                findings.check(wire, Case("SetSubscriptionAttributes", "filter policy", params))
        message = {"TopicArn": topic, "Message": body or "-", "MessageAttributes": attributes}
        findings.check(wire, Case("Publish", "message against fuzzed policies", message))
        assert len(findings.new) == before, findings.new[-1]

    run()
    finish(findings, "sns")


#: Pipework's own routes that are known to answer a 5xx to bad input (none since issue 13 #11 was fixed).
KNOWN_OWN_5XX: tuple[Known, ...] = ()


def test_own_routes_answer_bad_input_with_json_errors(http: httpx.Client) -> None:
    own, findings = OwnRoutes(http), Findings(KNOWN_OWN_5XX)
    for service in ("events", "pipes"):
        for query in ("limit=abc", "limit=-1", "limit=99999999999999999999", "limit=", "rule=%ff&target=%00"):
            findings.check(own, Case(f"GET /_pipework/{service}/dead-letters?{query}", "query"))
        for body in (b"not json", b"[]", b'{"Ids": "x"}', b'{"Ids": [1]}', b"[" * 10_000):
            findings.check(own, Case(f"POST /_pipework/{service}/dead-letters/redrive", "body", body=body))
        for region in ("", "%00", "eu-central-1%2F..", "x" * 300):
            findings.check(own, Case(f"GET /_pipework/{service}/dead-letters?region={region}", "region"))
        for body in (b"not json", b"[]", b'{"Ids": "x"}', b'{"All": "yes"}', b"{}", b'{"Pipe": 1}'):
            findings.check(own, Case(f"DELETE /_pipework/{service}/dead-letters", "body", body=body))
    for region in ("%ff", "x" * 300, "eu-central-1%2F.."):
        findings.check(own, Case(f"GET /_pipework/events/tail/default?region={region}", "region"))
    queue = "arn:aws:sqs:us-east-1:000000000000:q"
    for body in (
        b"",
        b"not json",
        b"[]",
        b"[" * 10_000,
        b'{"Target": 1}',
        b'{"Target": "arn:aws:sqs:us-east-1:000000000000:q", "FailureThreshold": 1e400}',
        b'{"Target": "arn:aws:sqs:us-east-1:000000000000:q", "FailureThreshold": true}',
        b'{"Target": "arn:aws:sqs:us-east-1:000000000000:q", "FailureRate": []}',
        b'{"Target": "arn:aws:sqs:us-east-1:000000000000:q", "HealthCheck": {"Url": "http://x", "ExpectStatus": [1]}}',
        b'{"Target": "arn:aws:sqs:us-east-1:000000000000:q", "ResumeRatePerSecond": -1}',
        ('{"Target": "' + queue + "x" * 5_000 + '"}').encode(),
    ):
        findings.check(own, Case("PUT /_pipework/breakers/fuzz", "body", body=body))
    for name in ("nope", "%00", "x" * 5_000, "a%2Fb"):
        findings.check(own, Case(f"GET /_pipework/breakers/{name}", "name"))
        findings.check(own, Case(f"DELETE /_pipework/breakers/{name}", "name"))
        for action in ("open", "close", "pause", "resume", "explode"):
            findings.check(own, Case(f"POST /_pipework/breakers/{name}/{action}", "name"))
    findings.check(own, Case("GET /_pipework/breakers", "list"))
    for name in ("nope", "%00", "x" * 5_000):
        findings.check(own, Case(f"GET /_pipework/pipes/{name}/metrics", "name"))
        findings.check(own, Case(f"POST /_pipework/pipes/{name}/invoke", "name", body=b"not json"))
    # The fuzz server runs on the system clock: every move is refused with a JSON error, never a 5xx.
    for body in (
        b"",
        b"not json",
        b"[]",
        b'{"Advance": -1}',
        b'{"Set": "x"}',
        b'{"Advance": 1, "Set": 1}',
        b'{"Advance": 1e400}',
        b'{"Other": 1}',
        b"[" * 10_000,
    ):
        findings.check(own, Case("POST /_pipework/clock", "body", body=body))
    # The console's buttons (JSON routes under /console/api/).
    bodies = (
        b"",
        b"not json",
        b"[]",
        b'{"Rule": "x"}',
        b'{"Pipe": {"p": [1]}}',
        b'{"Pipe": []}',
        b"[" * 10_000,
    )
    for action in ("dead-letters/redrive", "dead-letters/discard", "events/put", "events/test-pattern"):
        for body in bodies:
            findings.check(own, Case(f"POST /console/api/{action}", "body", body=body))
    for body in (b'{"EventPattern": "{", "Event": "{}"}', b'{"EventPattern": "{}", "Event": "[1"}'):
        findings.check(own, Case("POST /console/api/events/test-pattern", "body", body=body))
    for body in (b"{}", b'{"ReplayName": "r", "ArchiveName": "nope", "Start": "x", "End": "y"}', b"[]"):
        findings.check(own, Case("POST /console/api/replays/start", "body", body=body))
        findings.check(own, Case("POST /console/api/replays/cancel", "body", body=body))
        findings.check(own, Case("POST /console/api/schedules/state", "body", body=body))
        findings.check(own, Case("POST /console/api/queues/redrive", "body", body=body))
    for name in ("nope", "%00", "x" * 5_000, "a%2Fb"):
        findings.check(own, Case(f"POST /console/api/pipes/{name}/invoke", "name", body=b"not json"))
        findings.check(own, Case(f"POST /console/api/pipes/{name}/start", "name"))
        findings.check(own, Case(f"POST /console/api/pipes/{name}/sideways", "name"))
        findings.check(own, Case(f"GET /console/api/tail/{name}", "name"))
        findings.check(own, Case(f"GET /console/api/queues/peek?arn={name}", "arn"))
        for action in ("open", "close", "pause", "resume", "explode"):
            findings.check(own, Case(f"POST /console/api/breakers/{name}/{action}", "name"))
    assert not findings.report(("pipework",)), findings.report(("pipework",))


def test_metric_math_expressions(http: httpx.Client, scratch: Scratch) -> None:
    """GetMetricData parses and evaluates metric math; PutMetricAlarm checks a metric-math alarm's queries."""
    wire, findings = Wire("cloudwatch", http), Findings(KNOWN_5XX)
    metric = {"Namespace": "Fuzz", "MetricName": "Load"}
    findings.check(
        wire, Case("PutMetricData", "data", {"Namespace": "Fuzz", "MetricData": [{**metric, "Value": 3.0}]})
    )

    @fuzz(150)
    @given(expression=g.metric_math())
    def run(expression: str) -> None:
        before = len(findings.new)
        queries = [
            {"Id": "m1", "MetricStat": {"Metric": metric, "Period": 60, "Stat": "Sum"}, "ReturnData": False},
            {"Id": "m2", "MetricStat": {"Metric": metric, "Period": 60, "Stat": "p99"}, "ReturnData": False},
            {"Id": "e1", "Expression": expression},
        ]
        now = int(time.time())  # the fuzz server runs on the system clock
        window = {"StartTime": now - 3600, "EndTime": now + 3600}
        findings.check(wire, Case("GetMetricData", "expression", {"MetricDataQueries": queries, **window}))
        alarm = {
            "AlarmName": "fuzz-math",
            "Metrics": queries,
            "EvaluationPeriods": 1,
            "Threshold": 1.0,
            "ComparisonOperator": "GreaterThanThreshold",
        }
        findings.check(wire, Case("PutMetricAlarm", "expression", alarm))
        assert len(findings.new) == before, findings.new[-1]

    run()
    finish(findings, "cloudwatch")


def test_composite_alarm_rules(http: httpx.Client, scratch: Scratch) -> None:
    """PutCompositeAlarm parses the AlarmRule and evaluates it against the alarms it names."""
    wire, findings = Wire("cloudwatch", http), Findings(KNOWN_5XX)
    names = itertools.count()

    @fuzz(120)
    @given(rule=g.alarm_rules())
    def run(rule: str) -> None:
        before = len(findings.new)
        params = {"AlarmName": f"fuzz-composite-{next(names) % 3}", "AlarmRule": rule}
        findings.check(wire, Case("PutCompositeAlarm", "rule", params))
        assert len(findings.new) == before, findings.new[-1]

    run()
    finish(findings, "cloudwatch")


def test_log_filter_patterns(http: httpx.Client, scratch: Scratch) -> None:
    """FilterLogEvents parses the filter pattern and matches it against text and JSON log events."""
    wire, findings = Wire("logs", http), Findings(KNOWN_5XX)
    findings.check(wire, Case("CreateLogGroup", "group", {"logGroupName": "fuzz-logs"}))
    findings.check(
        wire, Case("CreateLogStream", "stream", {"logGroupName": "fuzz-logs", "logStreamName": "s"})
    )
    events = [
        {"timestamp": 1_800_000_000_000 + i, "message": m}
        for i, m in enumerate(['{"level": "error", "ms": 150, "a": {"b": [1]}}', "ERROR boom", "[1, 2]", ""])
    ]
    findings.check(
        wire,
        Case(
            "PutLogEvents", "events", {"logGroupName": "fuzz-logs", "logStreamName": "s", "logEvents": events}
        ),
    )

    @fuzz(150)
    @given(pattern=g.log_filter_patterns())
    def run(pattern: str) -> None:
        before = len(findings.new)
        findings.check(
            wire, Case("FilterLogEvents", "pattern", {"logGroupName": "fuzz-logs", "filterPattern": pattern})
        )
        assert len(findings.new) == before, findings.new[-1]

    run()
    finish(findings, "logs")


def test_console_pages_answer_odd_names_without_a_server_error(http: httpx.Client) -> None:
    """The console's pages, given names that do not exist or cannot: a page (404 or 400), never a 5xx."""
    odd = ("nope", "%00", "%ff", "x" * 5_000, "a%2F..%2Fb", "..", "%3Cscript%3E", "%F0%9F%92%A5")
    paths = [f"/console/{page}/{name}" for page in ("buses", "pipes", "tables") for name in odd]
    paths += [f"/console/rule?bus={name}&name={name}" for name in odd]
    paths += [f"/console/rules?q={name}&page={name}" for name in odd]
    paths += [f"/console/tables/{name}?start={name}" for name in odd]
    paths += ["/console/rules?page=99999999999999999999", "/console/rule", "/console/nowhere"]
    for path in paths:
        response = http.get(path, timeout=30)
        assert response.status_code < 500, (path, response.status_code, response.text[:300])
        if response.status_code in (200, 400, 404) and path != "/console/nowhere":
            assert response.headers["content-type"].startswith("text/html"), path
        assert "<script>" not in response.text.replace(
            '<script src="/console/static/console.js" defer></script>', ""
        )
