"""The sdk target (Scheduler's universal target) against a real instance: the ARN names a served API's operation,
the message's body is its parameters, validated as a request over HTTP would be."""

from __future__ import annotations

import pytest

from pipework.app import Pipework
from pipework.connectors.targets import Message, TargetError
from pipework.connectors.targets.sdk import SdkTarget

from .conftest import call

pytestmark = pytest.mark.anyio
SDK = "arn:aws:scheduler:::aws-sdk:"


async def test_the_body_is_the_calls_parameters_and_the_output_its_response(pipework: Pipework) -> None:
    target = SdkTarget(pipework.api)
    sent = await target.send(SDK + "sqs:createQueue", [Message('{"QueueName": "made"}')])
    assert sent.responses[0]["QueueUrl"].endswith("/000000000000/made")
    await target.send(
        SDK + "eventbridge:createEventBus", [Message({"Name": "bus"})]
    )  # the SDK's service name
    assert "bus" in pipework.events.events.regional("000000000000", "us-east-1").buses
    listed = await call(pipework, "sqs", "ListQueues")
    assert [url.rsplit("/", 1)[-1] for url in listed["QueueUrls"]] == ["made"]


async def test_sns_publish_is_a_universal_target(pipework: Pipework) -> None:
    topic = (await call(pipework, "sns", "CreateTopic", Name="alerts"))["TopicArn"]
    sent = await SdkTarget(pipework.api).send(
        SDK + "sns:publish", [Message({"TopicArn": topic, "Message": "hi"})]
    )
    assert sent.responses[0]["MessageId"]


@pytest.mark.parametrize(
    ("arn", "body", "code"),
    [
        (
            SDK + "sqs:createQueue",
            "{}",
            "MissingRequiredParameterException",
        ),  # SQS's wording of a missing member
        (SDK + "events:putRule", '{"Name": 7}', "SerializationException"),
        (SDK + "sqs:noSuchThing", "{}", "ValidationException"),
        (SDK + "kinesis:putRecord", "{}", "ValidationException"),  # not served
        (SDK + "sns:publish", "{}", "ValidationError"),  # SNS's (query protocol) wording of a missing member
        (SDK + "sqs:createQueue", "[1]", "ValidationException"),
        (SDK + "sqs:createQueue", "not json", "ValidationException"),
    ],
)
async def test_a_call_that_cannot_succeed_is_not_retried(
    pipework: Pipework, arn: str, body: str, code: str
) -> None:
    with pytest.raises(TargetError) as raised:
        await SdkTarget(pipework.api).send(arn, [Message(body)])
    assert (raised.value.code, raised.value.retryable) == (code, False)
