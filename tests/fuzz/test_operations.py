"""Every operation of every served API, sent requests generated from botocore's models that are wrong in every way
the model can describe (see `support.badinput`), answers with an AWS error or a success: never a 5xx, never a
hang, always AWS's error shape; the server stays healthy and the kept resources unchanged (see conftest)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pipework.testing import RunningServer
from support.badinput import (
    EXAMPLES,
    SERVED,
    Case,
    Findings,
    Known,
    Wire,
    model_cases,
    oversized_cases,
)
from support.lambdas import package

pytestmark = pytest.mark.fuzz

THOROUGH = EXAMPLES is not None

#: 5xx and hangs found by this test and not fixed yet. Each entry is one defect; the test fails when an entry no
#: longer fails (remove it then), so the table only shrinks.
KNOWN_5XX: tuple[Known, ...] = ()


@pytest.fixture(scope="module")
def hints(fuzz_server: RunningServer) -> dict[str, Any]:
    """Resources the bad requests name, so that their defects reach the services' own checks."""
    sqs, events, dynamodb = (
        fuzz_server.client("sqs"),
        fuzz_server.client("events"),
        fuzz_server.client("dynamodb"),
    )
    queue_url = sqs.create_queue(QueueName="ops-queue")["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody="ops")
    events.create_event_bus(Name="ops-bus")
    events.put_rule(Name="ops-rule", EventBusName="ops-bus", EventPattern='{"source": ["ops"]}')
    dynamodb.create_table(
        TableName="ops-table",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    key = {"pk": {"S": "a"}, "sk": {"N": "1"}}
    dynamodb.put_item(TableName="ops-table", Item={**key, "n": {"N": "1"}})
    fuzz_server.client("lambda").create_function(
        FunctionName="ops-function",
        Runtime="python3.12",
        Role="arn:aws:iam::000000000000:role/ops",
        Handler="app.handler",
        Code={"ZipFile": package()},
    )
    fuzz_server.client("cloudwatch").put_metric_alarm(
        AlarmName="ops-alarm",
        Namespace="Ops",
        MetricName="Errors",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanThreshold",
    )
    return {
        "FunctionName": "ops-function",
        "AlarmName": "ops-alarm",
        "QueueUrl": queue_url,
        "EventBusName": "ops-bus",
        "Rule": "ops-rule",
        "TableName": "ops-table",
        "Key": key,
        "Item": key,
    }


@pytest.mark.parametrize("service_name", SERVED)
def test_every_operation_answers_bad_input_with_an_aws_error(
    http: httpx.Client, hints: dict[str, Any], service_name: str
) -> None:
    wire = Wire(service_name, http)
    findings = Findings(KNOWN_5XX)
    for operation in wire.model.operation_names:
        for case in model_cases(wire, operation, thorough=THOROUGH, hints=hints):
            findings.check(wire, case)
    for case in oversized_cases(wire):
        findings.check(wire, case)
    assert not findings.report((service_name,)), findings.report((service_name,))


def test_cloudwatch_over_json_answers_bad_input_with_an_aws_error(
    http: httpx.Client, hints: dict[str, Any]
) -> None:
    """CloudWatch's model lists JSON 1.0 beside rpc-v2-cbor (botocore picks JSON): the same cases over JSON."""
    wire = Wire("cloudwatch", http, protocol="json")
    findings = Findings(KNOWN_5XX)
    for operation in wire.model.operation_names:
        for case in model_cases(wire, operation, thorough=THOROUGH, hints=hints):
            findings.check(wire, case)
    assert not findings.report(("cloudwatch",)), findings.report(("cloudwatch",))


def test_query_protocol_requests_get_an_xml_error(http: httpx.Client) -> None:
    """SQS is served over JSON only; query-protocol requests (old SDKs) get the query protocol's XML error."""
    wire = Wire("sqs", http)
    findings = Findings()
    form = {"Content-Type": "application/x-www-form-urlencoded", "X-Amz-Target": None}
    for body in (
        b"Action=ListQueues&Version=2012-11-05",
        b"Action=SendMessage&QueueUrl=%ff",
        b"Action=" * 10_000,
    ):
        findings.check(wire, Case("ListQueues", "query protocol", body=body, headers=form), protocol="query")
    assert not findings.report(("sqs",)), findings.report(("sqs",))
    assert findings.sent == 3
