"""EventBridge Pipes with an API destination, through boto3 over real HTTP against a real local HTTP server: as
the enrichment (its JSON response replaces the batch; an empty answer skips the target) and as the target
(HttpParameters from JSONPaths, the connection's auth, retries of 5xx answers, dead letters for a 4xx).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from pipework.clock import ManualClock
from support.http import Endpoint, wait_for
from support.pipes import dead_letters, make_table
from support.queues import make_queue, queue_empty, receive_all

ACCOUNT = "000000000000"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/pipe"


@pytest.fixture
def clocked(make_server: Any) -> Any:
    """A server on a ManualClock: retry backoff moves only with ``clocked.advance(seconds)``, which returns once
    the pipe has done everything due by then."""
    return make_server(clock=ManualClock())


class JsonEndpoint:
    """A local HTTP server whose answer to each request is `answer(request)`: (status, JSON-able body). Records
    every request (method, path, headers, body text) in `requests`."""

    def __init__(self, answer: Callable[[dict[str, Any]], tuple[int, Any]]) -> None:
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                request = {
                    "method": self.command,
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": self.rfile.read(length).decode(),
                }
                with outer.lock:
                    outer.requests.append(request)
                status, body = answer(request)
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    served = Endpoint()
    yield served
    served.close()


def api_destination(server: Any, name: str, url: str) -> str:
    events = server.client("events")
    connection = events.create_connection(
        Name=f"{name}-connection",
        AuthorizationType="API_KEY",
        AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "secret"}},
    )
    destination = events.create_api_destination(
        Name=name,
        ConnectionArn=connection["ConnectionArn"],
        InvocationEndpoint=url,
        HttpMethod="POST",
    )
    return str(destination["ApiDestinationArn"])


# ── enrichment ───────────────────────────────────────────────────────────────────────────────────────────────


def test_api_destination_enrichment_response_replaces_the_batch(server):
    """The enrichment gets the (templated) record with its HttpParameters; its JSON answer, here two items for an
    order and an empty list for a cancelled one, is what the target receives: two messages, then none."""

    def answer(request: dict[str, Any]) -> tuple[int, Any]:
        order = json.loads(request["body"])
        if order["status"] == "CANCELLED":
            return 200, []
        return 200, [{"order": order["order"], "line": n} for n in (1, 2)]

    enricher = JsonEndpoint(answer)
    try:
        destination = api_destination(server, "order-lines", enricher.url + "/orders/*")
        in_url, in_arn = make_queue(server, "orders")
        out_url, out_arn = make_queue(server, "lines")
        server.client("pipes").create_pipe(
            Name="order-lines",
            Source=in_arn,
            Target=out_arn,
            RoleArn=ROLE,
            SourceParameters={"SqsQueueParameters": {"BatchSize": 1}},
            Enrichment=destination,
            EnrichmentParameters={
                "InputTemplate": (
                    '{"order": <$.body.orderId>, "status": <$.body.status>, "customer": <$.body.customer>}'
                ),
                # Whole-value JSONPaths into what the enrichment receives (after its InputTemplate).
                "HttpParameters": {
                    "PathParameterValues": ["$.order"],
                    "HeaderParameters": {"x-customer": "$.customer"},
                    "QueryStringParameters": {"source": "pipe"},
                },
            },
        )
        sqs = server.client("sqs")
        sqs.send_message(
            QueueUrl=in_url, MessageBody=json.dumps({"orderId": "o1", "customer": "c1", "status": "PLACED"})
        )
        bodies = sorted(json.loads(m["Body"])["line"] for m in receive_all(server, out_url, 2))
        assert bodies == [1, 2]
        request = enricher.requests[0]
        assert json.loads(request["body"]) == {"order": "o1", "status": "PLACED", "customer": "c1"}
        assert request["path"] == "/orders/o1?source=pipe"
        assert request["headers"]["x-customer"] == "c1"
        assert request["headers"]["x-api-key"] == "secret"
        wait_for(lambda: queue_empty(server, in_url))

        # An empty answer skips the target; the source message is done all the same (deleted).
        sqs.send_message(
            QueueUrl=in_url,
            MessageBody=json.dumps({"orderId": "o2", "customer": "c2", "status": "CANCELLED"}),
        )
        wait_for(lambda: len(enricher.requests) == 2)
        wait_for(lambda: queue_empty(server, in_url))
        assert receive_all(server, out_url, 1, timeout=1.5) == []
    finally:
        enricher.close()


def test_api_destination_enrichment_object_answer_feeds_the_target_template(server):
    """A table's stream enriched one record at a time (AWS requires BatchSize 1 for an API destination
    enrichment): the answer, a JSON object, is the event the target's InputTemplate reads."""
    from botocore.exceptions import ClientError

    stream = make_table(server, "Powers")
    regions = {"s1": "north", "s2": "south"}

    def answer(request: dict[str, Any]) -> tuple[int, Any]:
        record = json.loads(request["body"])
        subject = record["dynamodb"]["NewImage"]["subjectId"]["S"]
        return 200, {"subject": subject, "region": regions[subject]}

    enricher = JsonEndpoint(answer)
    try:
        destination = api_destination(server, "regions", enricher.url)
        out_url, out_arn = make_queue(server, "by-region")
        pipes = server.client("pipes")
        options: dict[str, Any] = {
            "Source": stream,
            "Target": out_arn,
            "RoleArn": ROLE,
            "Enrichment": destination,
            "TargetParameters": {"InputTemplate": "<$.subject> dispatched in <$.region>"},
        }
        with pytest.raises(ClientError) as refused:
            pipes.create_pipe(
                Name="regions",
                SourceParameters={
                    "DynamoDBStreamParameters": {"StartingPosition": "TRIM_HORIZON", "BatchSize": 10}
                },
                **options,
            )
        assert "BatchSize of 1" in refused.value.response["Error"]["Message"]
        pipes.create_pipe(
            Name="regions",
            SourceParameters={
                "DynamoDBStreamParameters": {"StartingPosition": "TRIM_HORIZON", "BatchSize": 1}
            },
            **options,
        )
        ddb = server.client("dynamodb")
        for subject in ("s1", "s2"):
            ddb.put_item(TableName="Powers", Item={"subjectId": {"S": subject}, "mw": {"N": "5"}})
        bodies = sorted(m["Body"] for m in receive_all(server, out_url, 2))
        assert bodies == ["s1 dispatched in north", "s2 dispatched in south"]
        assert [json.loads(r["body"])["eventName"] for r in enricher.requests] == ["INSERT", "INSERT"]
    finally:
        enricher.close()


# ── target ───────────────────────────────────────────────────────────────────────────────────────────────────


def test_api_destination_target_gets_each_record_with_its_http_parameters(clocked, endpoint):
    """A table's stream to an API destination: one request per record, the body from the InputTemplate, the
    path, query and headers from JSONPaths into the record, the connection's API key; a 503 is retried."""
    server = clocked
    stream = make_table(server, "Dispatches")
    destination = api_destination(server, "dispatch", endpoint.url + "/dispatch/*")
    endpoint.script = [(503, {}, 0.0)]  # the first call fails; the pipe retries it
    server.client("pipes").create_pipe(
        Name="dispatch",
        Source=stream,
        Target=destination,
        RoleArn=ROLE,
        SourceParameters={
            "DynamoDBStreamParameters": {"StartingPosition": "TRIM_HORIZON", "BatchSize": 1},
            "FilterCriteria": {"Filters": [{"Pattern": '{"eventName": ["INSERT", "MODIFY"]}'}]},
        },
        TargetParameters={
            "InputTemplate": '{"subject": <$.dynamodb.NewImage.subjectId.S>, "mw": <$.dynamodb.NewImage.mw.N>}',
            "HttpParameters": {
                "PathParameterValues": ["$.dynamodb.NewImage.subjectId.S"],
                "HeaderParameters": {"x-event": "$.eventName", "x-static": "powers"},
                "QueryStringParameters": {"mw": "$.dynamodb.NewImage.mw.N"},
            },
        },
    )
    ddb = server.client("dynamodb")
    ddb.put_item(TableName="Dispatches", Item={"subjectId": {"S": "s1"}, "mw": {"N": "5"}})
    ddb.put_item(TableName="Dispatches", Item={"subjectId": {"S": "s2"}, "mw": {"N": "7"}})
    ddb.delete_item(TableName="Dispatches", Key={"subjectId": {"S": "s1"}})  # filtered out
    server.advance(0)
    assert len(endpoint.requests) == 1  # the 503, whose retry waits for its backoff
    server.advance(30)
    requests = endpoint.requests
    assert len(requests) == 3  # s1 twice (503, then delivered), s2 once
    assert [r["path"] for r in requests] == ["/dispatch/s1?mw=5", "/dispatch/s1?mw=5", "/dispatch/s2?mw=7"]
    assert [json.loads(r["body"]) for r in requests[1:]] == [
        {"subject": "s1", "mw": "5"},
        {"subject": "s2", "mw": "7"},
    ]
    headers = {k.lower(): v for k, v in requests[2]["headers"].items()}
    assert headers["x-event"] == "INSERT" and headers["x-static"] == "powers"
    assert headers["x-api-key"] == "secret"
    assert headers["content-type"].startswith("application/json")


def test_api_destination_target_client_error_sends_the_full_record_to_the_dead_letters(clocked, endpoint):
    """A 400 does not succeed on retry: after MaximumRetryAttempts the full record is dead-lettered with the
    error, and the stream moves on to the next record."""
    server = clocked
    stream = make_table(server, "Rejects")
    destination = api_destination(server, "strict", endpoint.url)
    endpoint.script = [(400, {}, 0.0), (400, {}, 0.0)]
    server.client("pipes").create_pipe(
        Name="strict",
        Source=stream,
        Target=destination,
        RoleArn=ROLE,
        SourceParameters={
            "DynamoDBStreamParameters": {
                "StartingPosition": "TRIM_HORIZON",
                "BatchSize": 1,
                "MaximumRetryAttempts": 1,
            }
        },
    )
    ddb = server.client("dynamodb")
    ddb.put_item(TableName="Rejects", Item={"subjectId": {"S": "bad"}, "mw": {"N": "1"}})
    ddb.put_item(TableName="Rejects", Item={"subjectId": {"S": "good"}, "mw": {"N": "2"}})
    server.advance(30)
    assert len(endpoint.requests) == 3
    letters = dead_letters(server, "strict")
    assert len(letters) == 1
    assert letters[0]["Record"]["dynamodb"]["NewImage"] == {"subjectId": {"S": "bad"}, "mw": {"N": "1"}}
    assert letters[0]["Error"]["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
    assert "Status 400" in json.dumps(letters[0]["Error"])
    delivered = json.loads(endpoint.requests[2]["body"])
    assert delivered["dynamodb"]["NewImage"]["subjectId"]["S"] == "good"
