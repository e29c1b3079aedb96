"""One API destination used by a rule and by a pipe keeps its InvocationRateLimitPerSecond across both: the rate
limiter belongs to the destination, not to the service calling it. Through boto3, against a real local HTTP
server, on a ManualClock: time moves one second at a time, and each second lets exactly one call through.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from pipework.clock import ManualClock
from support.http import Endpoint, wait_for
from support.queues import make_queue

ROLE = "arn:aws:iam::000000000000:role/pipe"
CALLS_EACH = 3  # through the rule, and as many through the pipe


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    served = Endpoint()
    yield served
    served.close()


def test_a_rule_and_a_pipe_sharing_a_destination_make_at_most_one_call_per_second(make_server, endpoint):
    clock = ManualClock(start=1_800_000_000.0)
    server = make_server(clock=clock)
    events, sqs = server.client("events"), server.client("sqs")
    connection = events.create_connection(
        Name="hook",
        AuthorizationType="API_KEY",
        AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "secret"}},
    )
    destination = events.create_api_destination(
        Name="hook",
        ConnectionArn=connection["ConnectionArn"],
        InvocationEndpoint=endpoint.url + "/hook",
        HttpMethod="POST",
        InvocationRateLimitPerSecond=1,
    )["ApiDestinationArn"]
    events.put_rule(Name="orders", EventPattern=json.dumps({"source": ["orders"]}))
    events.put_targets(Rule="orders", Targets=[{"Id": "hook", "Arn": destination}])
    queue_url, queue_arn = make_queue(server, "orders")
    server.client("pipes").create_pipe(
        Name="orders",
        Source=queue_arn,
        Target=destination,
        RoleArn=ROLE,
        SourceParameters={"SqsQueueParameters": {"BatchSize": 1}},
    )

    events.put_events(
        Entries=[
            {"Source": "orders", "DetailType": "Order", "Detail": json.dumps({"n": n})}
            for n in range(CALLS_EACH)
        ]
    )
    for n in range(CALLS_EACH):
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"n": n}))

    async def tick() -> None:
        clock.advance(1.0)

    for second in range(2 * CALLS_EACH):
        # The slot of this second is taken at once; give a second caller ample time to (wrongly) get through too.
        wait_for(lambda second=second: len(endpoint.requests) > second)
        time.sleep(0.3)
        assert len(endpoint.requests) == second + 1, f"{len(endpoint.requests)} calls in {second + 1} seconds"
        server.run(tick())

    bodies = [json.loads(request["body"]) for request in endpoint.requests]
    assert sum(1 for body in bodies if body.get("source") == "orders") == CALLS_EACH  # the rule's events
    assert (
        sum(1 for body in bodies if body.get("eventSource") == "aws:sqs") == CALLS_EACH
    )  # the pipe's records
