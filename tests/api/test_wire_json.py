"""JSON 1.0/1.1 through boto3 against a real server with fake services: routing by X-Amz-Target, decoding,
output encoding, AWS error shapes (SQS's query-compatible form included) and the failures that never reach a service.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError

from pipework.services.base import ServiceError
from support.fake_service import FakeService


@pytest.fixture
def sqs():
    return FakeService("sqs")


@pytest.fixture
def events():
    return FakeService("events")


@pytest.fixture
def running(make_server, sqs, events):
    return make_server(fakes=[sqs, events])


def test_json_1_0_routes_by_target_to_the_service_with_decoded_params(running, sqs):
    sqs.answers["GetQueueUrl"] = {"QueueUrl": "http://q/1"}
    result = running.client("sqs").get_queue_url(QueueName="orders", QueueOwnerAWSAccountId="123456789012")
    assert result["QueueUrl"] == "http://q/1"
    call = sqs.last
    assert call.operation == "GetQueueUrl"
    assert call.params == {"QueueName": "orders", "QueueOwnerAWSAccountId": "123456789012"}
    assert (call.ctx.service, call.ctx.operation, call.ctx.account) == ("sqs", "GetQueueUrl", "000000000000")
    assert call.ctx.access_key == "test"
    assert result["ResponseMetadata"]["RequestId"] == call.ctx.request_id
    assert result["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/x-amz-json-1.0"


def test_json_1_1_routes_events_and_decodes_timestamps_to_utc_datetimes(running, events):
    events.answers["PutEvents"] = {"FailedEntryCount": 0, "Entries": [{"EventId": "e-1"}]}
    when = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    result = running.client("events").put_events(
        Entries=[{"Source": "app", "DetailType": "t", "Detail": "{}", "Time": when}]
    )
    assert result["Entries"] == [{"EventId": "e-1"}]
    assert events.last.params["Entries"][0]["Time"] == when
    assert result["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/x-amz-json-1.1"


def test_output_timestamps_and_blobs_are_encoded_as_epoch_seconds_and_base64(running, events, sqs):
    created = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    events.answers["DescribeEventBus"] = {"Name": "default", "CreationTime": created}
    assert running.client("events").describe_event_bus()["CreationTime"] == created

    sqs.answers["ReceiveMessage"] = {
        "Messages": [
            {
                "MessageId": "m",
                "Body": "b",
                "MessageAttributes": {"bin": {"DataType": "Binary", "BinaryValue": b"\x00\xff"}},
            }
        ]
    }
    message = running.client("sqs").receive_message(QueueUrl="http://q/1")["Messages"][0]
    assert message["MessageAttributes"]["bin"]["BinaryValue"] == b"\x00\xff"


def test_input_blobs_reach_the_service_as_bytes(running, sqs):
    sqs.answers["SendMessage"] = {"MessageId": "m-1"}
    running.client("sqs").send_message(
        QueueUrl="http://q/1",
        MessageBody="hi",
        MessageAttributes={"bin": {"DataType": "Binary", "BinaryValue": b"\x01\x02"}},
    )
    assert sqs.last.params["MessageAttributes"]["bin"]["BinaryValue"] == b"\x01\x02"


def test_region_comes_from_the_sigv4_credential_scope(running, sqs):
    sqs.answers["ListQueues"] = {"QueueUrls": []}
    boto3.client(
        "sqs",
        endpoint_url=running.endpoint_url,
        region_name="eu-west-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="x",
    ).list_queues()
    assert sqs.last.ctx.region == "eu-west-1"
    assert sqs.last.ctx.access_key == "AKIDEXAMPLE"


def test_service_errors_become_aws_errors_that_boto3_raises_by_code(running, events):
    events.answers["DescribeRule"] = ServiceError("ResourceNotFoundException", "Rule r does not exist.")
    client = running.client("events")
    with pytest.raises(client.exceptions.ResourceNotFoundException) as raised:
        client.describe_rule(Name="r")
    error = raised.value.response
    assert error["Error"] == {"Code": "ResourceNotFoundException", "Message": "Rule r does not exist."}
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_sqs_errors_carry_the_query_error_code_and_the_json_exception_class(running, sqs):
    sqs.answers["GetQueueUrl"] = ServiceError("QueueDoesNotExist", "The specified queue does not exist.")
    client = running.client("sqs")
    with pytest.raises(client.exceptions.QueueDoesNotExist) as raised:
        client.get_queue_url(QueueName="missing")
    response = raised.value.response
    assert response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert response["Error"]["QueryErrorCode"] == "QueueDoesNotExist"
    assert response["Error"]["Type"] == "Sender"
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-query-error"] == (
        "AWS.SimpleQueueService.NonExistentQueue;Sender"
    )


def test_sqs_missing_parameter_uses_sqs_wording(running):
    client = running.client("sqs", parameter_validation=False)
    with pytest.raises(ClientError) as raised:
        client.get_queue_url()
    error = raised.value.response["Error"]
    assert error["Code"] == "MissingParameter"
    assert error["QueryErrorCode"] == "MissingRequiredParameterException"
    assert error["Message"] == "The request must contain the parameter QueueName."


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(
            lambda c: c.put_events(Entries=[{"Source": "s"}] * 11),
            "1 validation error detected: Value '[{Source=s}, {Source=s}, {Source=s}, {Source=s}, {Source=s}, "
            "{Source=s}, {Source=s}, {Source=s}, {Source=s}, {Source=s}, {Source=s}]' at 'entries' failed to "
            "satisfy constraint: Member must have length less than or equal to 10",
            id="list too long",
        ),
        pytest.param(
            lambda c: c.put_rule(Name="r" * 65),
            "1 validation error detected: Value '" + "r" * 65 + "' at 'name' failed to satisfy constraint: "
            "Member must have length less than or equal to 64",
            id="string too long",
        ),
        pytest.param(
            lambda c: c.put_rule(Name="r", State="ON"),
            "1 validation error detected: Value 'ON' at 'state' failed to satisfy constraint: Member must satisfy "
            "enum value set: [ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]",
            id="enum",
        ),
        pytest.param(
            lambda c: c.put_targets(Rule="r", Targets=[{"Id": "t" * 65, "Arn": "arn"}]),
            "1 validation error detected: Value '"
            + "t" * 65
            + "' at 'targets.1.member.id' failed to satisfy "
            "constraint: Member must have length less than or equal to 64",
            id="nested list member path",
        ),
        pytest.param(
            lambda c: c.put_targets(Rule="r"),
            "1 validation error detected: Value null at 'targets' failed to satisfy constraint: "
            "Member must not be null",
            id="missing required",
        ),
        pytest.param(
            lambda c: c.list_rules(NamePrefix="bad prefix!", Limit=0),
            "2 validation errors detected: Value 'bad prefix!' at 'namePrefix' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+; Value '0' at 'limit' failed to "
            "satisfy constraint: Member must have value greater than or equal to 1",
            id="pattern and range",
        ),
    ],
)
def test_invalid_input_is_a_validation_exception_worded_as_aws(running, events, call, message):
    client = running.client("events", parameter_validation=False)
    with pytest.raises(ClientError) as raised:
        call(client)
    assert raised.value.response["Error"] == {"Code": "ValidationException", "Message": message}
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert events.calls == []  # invalid input never reaches the service


def test_a_value_of_the_wrong_json_type_is_a_serialization_exception(running):
    client = running.client("events", parameter_validation=False)
    with pytest.raises(ClientError) as raised:
        client.list_rules(Limit="ten")
    assert raised.value.response["Error"]["Code"] == "SerializationException"
    assert "STRING_VALUE can not be converted to Integer" in raised.value.response["Error"]["Message"]


def test_an_unexpected_exception_is_an_internal_failure_without_its_traceback(running, events, caplog):
    events.answers["ListRules"] = RuntimeError("secret detail")
    with caplog.at_level(logging.ERROR, logger="pipework.api.app"), pytest.raises(ClientError) as raised:
        running.client("events").list_rules()
    response = raised.value.response
    assert response["Error"] == {
        "Code": "InternalFailure",
        "Message": "We encountered an internal error. Please try again.",
    }
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert "secret detail" not in str(response)
    assert any("secret detail" in (r.exc_text or "") for r in caplog.records)


def _post(running, target: str | None, body: bytes, content_type: str = "application/x-amz-json-1.0"):
    headers = {"Content-Type": content_type}
    if target:
        headers["X-Amz-Target"] = target
    return httpx.post(running.endpoint_url + "/", content=body, headers=headers)


def test_an_unknown_operation_is_unknown_operation_exception(running):
    response = _post(running, "AWSEvents.LaunchRockets", b"{}")
    assert response.status_code == 400
    assert response.json()["__type"] == "UnknownOperationException"
    assert "x-amzn-requestid" in response.headers


def test_malformed_json_is_a_serialization_exception(running):
    for body in (b"{not json", b"[1, 2]"):
        response = _post(running, "AWSEvents.ListRules", body)
        assert response.status_code == 400
        assert response.json()["__type"] == "SerializationException"


def test_sqs_errors_name_the_sqs_namespace_in_type(running):
    response = _post(running, "AmazonSQS.Nope", b"{}")
    assert response.json()["__type"] == "com.amazonaws.sqs#UnknownOperationException"


def test_an_unknown_target_prefix_names_the_served_apis(running):
    response = _post(running, "AWSLambda.Invoke", b"{}")
    assert response.status_code == 400
    body = response.json()
    assert body["__type"] == "UnknownServiceException"
    assert "events, sqs" in body["message"]


def test_the_query_protocol_is_refused_in_its_own_xml_shape(running, sqs):
    response = _post(
        running, None, b"Action=ListQueues&Version=2012-11-05", "application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert "<Code>InvalidAction</Code>" in response.text
    assert sqs.calls == []


def test_an_empty_body_is_no_params(running, events):
    events.answers["ListRules"] = {"Rules": []}
    response = _post(running, "AWSEvents.ListRules", b"", "application/x-amz-json-1.1")
    assert response.status_code == 200
    assert response.json() == {"Rules": []}
    assert events.last.params == {}


@pytest.mark.parametrize(
    ("service", "signing_name", "call"),
    [
        ("ssm", "ssm", lambda c: c.describe_parameters()),
        ("firehose", "firehose", lambda c: c.list_delivery_streams()),
        ("kinesis", "kinesis", lambda c: c.list_streams()),
        ("stepfunctions", "states", lambda c: c.list_state_machines()),
    ],
)
def test_a_request_to_an_api_pipework_does_not_serve_says_it_is_not_served(
    server, service, signing_name, call
):
    with pytest.raises(ClientError) as raised:
        call(server.client(service))
    error = raised.value.response["Error"]
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Code"] == "UnknownServiceException"
    served = ", ".join(sorted(s.name for s in server.pipework.served))
    assert served.startswith("cloudformation, cloudwatch, dynamodb, dynamodbstreams, events, lambda, logs")
    assert error["Message"] == f"Pipework does not serve '{signing_name}'; it serves: {served}."
