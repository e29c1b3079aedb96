"""One dispatch for every served API except EventBridge (`services/base.py:dispatch`): each service runs its
operations from its table and answers an operation it does not serve in its own API's words."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from pipework.app import Pipework, Settings
from pipework.clock import ManualClock
from pipework.services.base import RequestContext, ServiceError

pytestmark = pytest.mark.anyio

START = 1_800_000_000.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def pipework() -> AsyncIterator[Pipework]:
    instance = await Pipework.open(Settings(memory=True), clock=ManualClock(start=START))
    yield instance
    await instance.close()


def ctx(service: str, operation: str) -> RequestContext:
    return RequestContext(service, operation, "us-east-1", "000000000000", "test")


UNKNOWN = [
    ("sqs", "UnsupportedOperation", "Operation Nope is not supported."),
    ("dynamodb", "UnknownOperationException", "Pipework does not implement DynamoDB's Nope yet"),
    ("dynamodbstreams", "UnknownOperationException", "Unknown operation Nope"),
    ("pipes", "UnknownOperationException", "Operation Nope is not supported."),
    ("scheduler", "UnknownOperationException", "Operation Nope is not supported."),
]


@pytest.mark.parametrize(("service", "code", "message"), UNKNOWN, ids=[row[0] for row in UNKNOWN])
async def test_an_unknown_operation_is_answered_in_the_services_words(
    pipework: Pipework, service: str, code: str, message: str
) -> None:
    served = {s.name: s for s in pipework.served}[service]
    with pytest.raises(ServiceError) as raised:
        await served.handle("Nope", {}, ctx(service, "Nope"))
    assert (raised.value.code, raised.value.message, raised.value.status) == (code, message, 400)


KNOWN = [
    ("sqs", "ListQueues", {}),
    ("dynamodb", "ListTables", {"TableNames": []}),
    ("dynamodbstreams", "ListStreams", {"Streams": []}),
    ("pipes", "ListPipes", {"Pipes": []}),
    ("scheduler", "ListSchedules", {"Schedules": []}),
]


@pytest.mark.parametrize(("service", "operation", "expected"), KNOWN, ids=[row[0] for row in KNOWN])
async def test_a_known_operation_runs_from_the_table(
    pipework: Pipework, service: str, operation: str, expected: dict[str, Any]
) -> None:
    served = {s.name: s for s in pipework.served}[service]
    assert await served.handle(operation, {}, ctx(service, operation)) == expected
