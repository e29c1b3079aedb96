"""Every operation of every served API, sent requests generated from botocore's models that are wrong in every way
the model can describe (see `support.badinput`), answers with an AWS error or a success: never a 5xx, never a
hang, always AWS's error shape; the server stays healthy and the kept resources unchanged (see conftest)."""

from __future__ import annotations

import httpx
import pytest

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

pytestmark = pytest.mark.fuzz

THOROUGH = EXAMPLES is not None

#: 5xx and hangs found by this test and not fixed yet. Each entry is one defect; the test fails when an entry no
#: longer fails (remove it then), so the table only shrinks.
KNOWN_5XX: tuple[Known, ...] = (
    Known(
        "dynamodb",
        "CreateTable",
        r"KeyError: '(AttributeDefinitions|KeySchema)'",
        "CreateTable without AttributeDefinitions or KeySchema (optional in the model since on-demand "
        "warm throughput): KeyError in services/dynamodb/model.py new_table -> 500; AWS answers ValidationException",
    ),
    Known(
        "dynamodb",
        "TransactWriteItems",
        r"ValueError: not enough values to unpack",
        "issue 13 #8: a TransactItem with none of Put/Update/Delete/ConditionCheck ({}) -> ValueError in "
        "services/dynamodb/items.py -> 500",
    ),
)


@pytest.mark.parametrize("service_name", SERVED)
def test_every_operation_answers_bad_input_with_an_aws_error(http: httpx.Client, service_name: str) -> None:
    wire = Wire(service_name, http)
    findings = Findings(KNOWN_5XX)
    for operation in wire.model.operation_names:
        for case in model_cases(wire, operation, thorough=THOROUGH):
            findings.check(wire, case)
    for case in oversized_cases(wire):
        findings.check(wire, case)
    assert not findings.report((service_name,)), findings.report((service_name,))


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
