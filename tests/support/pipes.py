"""Pipe helpers for end-to-end tests: a table with a stream, Pipework's pipe extension routes, and a recording
function target."""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Callable
from typing import Any

import orjson

ACCOUNT = "000000000000"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/pipe"
FN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:"


def make_table(server: Any, name: str = "Powers") -> str:
    """Create table `name` (hash key ``subjectId``) with a NEW_IMAGE stream; its stream ARN."""
    table = server.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "subjectId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "subjectId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    return str(table["TableDescription"]["LatestStreamArn"])


def put_powers(server: Any, table: str, *ids: str) -> None:
    ddb = server.client("dynamodb")
    for subject in ids:
        ddb.put_item(TableName=table, Item={"subjectId": {"S": subject}, "mw": {"N": "5"}})


def stream_params(**extra: Any) -> dict[str, Any]:
    return {"DynamoDBStreamParameters": {"StartingPosition": "TRIM_HORIZON", **extra}}


def extension(server: Any, path: str, body: Any = None) -> Any:
    """GET (or POST `body` to) one of Pipework's own routes; the JSON answer."""
    request = urllib.request.Request(
        server.endpoint_url + path,
        data=orjson.dumps(body) if body is not None else None,
        method="POST" if body is not None else "GET",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return orjson.loads(response.read())


def dead_letters(server: Any, pipe: str) -> list[dict[str, Any]]:
    return list(extension(server, f"/_pipework/pipes/dead-letters?pipe={pipe}")["DeadLetters"])


def counters(server: Any, pipe: str) -> dict[str, int]:
    """The pipe's counters (the metrics whose statistic is a Sum)."""
    metrics = extension(server, f"/_pipework/pipes/{pipe}/metrics")["Metrics"]
    return {name: value["Sum"] for name, value in metrics.items() if set(value) == {"Sum"}}


class Recorder:
    """A local function that records the batches it gets; `fail(batch)` (if given) may raise or answer."""

    def __init__(self, fail: Callable[[Any], Any] | None = None) -> None:
        self.batches: list[list[Any]] = []
        self.fail = fail
        self.lock = threading.Lock()

    def __call__(self, event: Any, context: Any) -> Any:
        with self.lock:
            self.batches.append(event)
        if self.fail is not None:
            return self.fail(event)
        return None

    @property
    def items(self) -> list[Any]:
        return [item for batch in self.batches for item in batch]


def always_down(batch: Any) -> Any:
    raise RuntimeError("dispatch service down")


def subject(record: Any) -> str:
    return str(record["dynamodb"]["NewImage"]["subjectId"]["S"])
