"""The query protocol through boto3 against a real server with fake services (SNS, STS, CloudFormation): routing by
``Action`` and the SigV4 scope (or ``Version`` for unsigned calls), form-encoded lists, maps and nested structures
decoded by the model, XML results botocore parses, and XML ``ErrorResponse``s with the model's error codes.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from botocore.exceptions import ClientError

from pipework.services.base import ServiceError
from support.fake_service import FakeService

TOPIC = "arn:aws:sns:us-east-1:000000000000:orders"
FORM = {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}


@pytest.fixture
def sns():
    return FakeService("sns")


@pytest.fixture
def sts():
    return FakeService("sts")


@pytest.fixture
def cloudformation():
    return FakeService("cloudformation")


@pytest.fixture
def running(make_server, sns, sts, cloudformation):
    return make_server(fakes=[sns, sts, cloudformation, FakeService("sqs")])


def test_scalars_maps_and_lists_of_structures_are_decoded_by_the_model(running, sns):
    sns.answers["CreateTopic"] = {"TopicArn": TOPIC}
    result = running.client("sns").create_topic(
        Name="orders.fifo",
        Attributes={"FifoTopic": "true", "DisplayName": "Orders & <more>"},
        Tags=[{"Key": "team", "Value": "a"}, {"Key": "cost", "Value": "b"}],
    )
    assert result["TopicArn"] == TOPIC
    assert sns.last.operation == "CreateTopic"
    assert sns.last.params == {
        "Name": "orders.fifo",
        "Attributes": {"FifoTopic": "true", "DisplayName": "Orders & <more>"},
        "Tags": [{"Key": "team", "Value": "a"}, {"Key": "cost", "Value": "b"}],
    }


def test_nested_maps_of_structures_and_blobs(running, sns):
    sns.answers["Publish"] = {"MessageId": "m-1", "SequenceNumber": "10000000000000000001"}
    result = running.client("sns").publish(
        TopicArn=TOPIC,
        Message="hello ünïcode",
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "order"},
            "raw": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    assert result["MessageId"] == "m-1"
    assert result["SequenceNumber"] == "10000000000000000001"
    assert sns.last.params == {
        "TopicArn": TOPIC,
        "Message": "hello ünïcode",
        "MessageAttributes": {
            "kind": {"DataType": "String", "StringValue": "order"},
            "raw": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    }


def test_output_lists_maps_and_nested_structures_are_parsed_by_botocore(running, sns):
    sns.answers["PublishBatch"] = {
        "Successful": [{"Id": "1", "MessageId": "m-1"}],
        "Failed": [{"Id": "2", "Code": "InvalidParameter", "Message": "bad <input>", "SenderFault": True}],
    }
    sns.answers["GetTopicAttributes"] = {"Attributes": {"TopicArn": TOPIC, "Policy": '{"a": "<b>"}'}}
    client = running.client("sns")
    batch = client.publish_batch(
        TopicArn=TOPIC,
        PublishBatchRequestEntries=[{"Id": "1", "Message": "a"}, {"Id": "2", "Message": "b"}],
    )
    assert batch["Successful"] == [{"Id": "1", "MessageId": "m-1"}]
    assert batch["Failed"] == [
        {"Id": "2", "Code": "InvalidParameter", "Message": "bad <input>", "SenderFault": True}
    ]
    assert sns.last.params["PublishBatchRequestEntries"] == [
        {"Id": "1", "Message": "a"},
        {"Id": "2", "Message": "b"},
    ]
    attributes = client.get_topic_attributes(TopicArn=TOPIC)["Attributes"]
    assert attributes == {"TopicArn": TOPIC, "Policy": '{"a": "<b>"}'}


def test_an_empty_list_and_an_empty_output(running, sns):
    running.client("sns").untag_resource(ResourceArn=TOPIC, TagKeys=[])
    assert sns.last.params == {"ResourceArn": TOPIC, "TagKeys": []}
    sns.answers["ListTopics"] = {"Topics": []}
    assert running.client("sns").list_topics()["Topics"] == []


def test_timestamps_and_integers_both_ways(running, sts):
    expiry = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    sts.answers["AssumeRole"] = {
        "Credentials": {
            "AccessKeyId": "ASIA0000000000000000",
            "SecretAccessKey": "s",
            "SessionToken": "t",
            "Expiration": expiry,
        },
        "AssumedRoleUser": {"AssumedRoleId": "AROA:s", "Arn": "arn:aws:sts::000000000000:assumed-role/r/s"},
        "PackedPolicySize": 7,
    }
    result = running.client("sts").assume_role(
        RoleArn="arn:aws:iam::000000000000:role/r", RoleSessionName="session", DurationSeconds=900
    )
    assert result["Credentials"]["Expiration"] == expiry
    assert result["PackedPolicySize"] == 7
    assert sts.last.params["DurationSeconds"] == 900
    assert sts.last.ctx.service == "sts"


def test_requests_are_routed_by_the_sigv4_scope_service(running, sns, sts, cloudformation):
    sts.answers["GetCallerIdentity"] = {"Account": "000000000000", "Arn": "arn:aws:iam::000000000000:root"}
    cloudformation.answers["ListStacks"] = {"StackSummaries": []}
    assert running.client("sts").get_caller_identity()["Account"] == "000000000000"
    assert running.client("cloudformation").list_stacks()["StackSummaries"] == []
    assert [c.operation for c in sts.calls] == ["GetCallerIdentity"]
    assert [c.operation for c in cloudformation.calls] == ["ListStacks"]
    assert sns.calls == []


def test_an_unsigned_request_is_routed_by_its_version(running, sts):
    response = httpx.post(
        running.endpoint_url, content=b"Action=GetCallerIdentity&Version=2011-06-15", headers=FORM
    )
    assert response.status_code == 200
    assert "<GetCallerIdentityResponse" in response.text
    assert [c.operation for c in sts.calls] == ["GetCallerIdentity"]


def test_the_response_is_xml_with_the_namespace_and_the_request_id(running, sns):
    sns.answers["CreateTopic"] = {"TopicArn": TOPIC}
    response = httpx.post(
        running.endpoint_url, content=b"Action=CreateTopic&Version=2010-03-31&Name=orders", headers=FORM
    )
    request_id = response.headers["x-amzn-requestid"]
    assert response.headers["content-type"] == "text/xml"
    assert response.text == (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<CreateTopicResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
        f"<CreateTopicResult><TopicArn>{TOPIC}</TopicArn></CreateTopicResult>"
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
        "</CreateTopicResponse>"
    )


def test_a_service_error_is_an_xml_error_response_with_the_model_s_code(running, sns):
    sns.answers["GetTopicAttributes"] = ServiceError("NotFoundException", "Topic does not exist", 404)
    client = running.client("sns")
    with pytest.raises(client.exceptions.NotFoundException) as raised:
        client.get_topic_attributes(TopicArn=TOPIC)
    response = raised.value.response
    assert response["Error"] == {"Type": "Sender", "Code": "NotFound", "Message": "Topic does not exist"}
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert response["ResponseMetadata"]["RequestId"]


def test_a_server_fault_says_receiver(running, sns):
    sns.answers["ListTopics"] = ServiceError("InternalError", "broken", 500, sender_fault=False)
    with pytest.raises(ClientError) as raised:
        running.client("sns", retries={"max_attempts": 0}).list_topics()
    assert raised.value.response["Error"]["Type"] == "Receiver"
    assert raised.value.response["Error"]["Code"] == "InternalError"


def test_a_missing_required_parameter_is_a_validation_error(running, sns):
    client = running.client("sns", parameter_validation=False)
    with pytest.raises(ClientError) as raised:
        client.publish(TopicArn=TOPIC)
    assert raised.value.response["Error"]["Code"] == "ValidationError"
    assert raised.value.response["Error"]["Message"] == (
        "1 validation error detected: Value null at 'message' failed to satisfy constraint: "
        "Member must not be null"
    )
    assert sns.calls == []


@pytest.mark.parametrize(
    ("form", "code", "message"),
    [
        pytest.param(
            b"Action=Nope&Version=2010-03-31",
            "InvalidAction",
            "The action Nope is not valid for this web service.",
            id="unknown action",
        ),
        pytest.param(
            b"Action=AssumeRole&Version=2011-06-15&RoleArn=arn:aws:iam::000000000000:role/r&RoleSessionName=s"
            b"&DurationSeconds=soon",
            "MalformedQueryString",
            "The value 'soon' of DurationSeconds is not an integer.",
            id="not an integer",
        ),
        pytest.param(
            b"Action=CreateTopic&Version=2010-03-31&Name=t&Attributes.entry.1.value=v",
            "MalformedQueryString",
            "The map entry Attributes.entry.1 has no key.",
            id="map entry without key",
        ),
        pytest.param(
            b"Action=CreateTopic&Version=2010-03-31&Name=%ff",
            "MalformedQueryString",
            "The request's parameters are not UTF-8.",
            id="not utf-8",
        ),
    ],
)
def test_malformed_forms_get_xml_errors_and_never_reach_the_service(running, sns, sts, form, code, message):
    response = httpx.post(running.endpoint_url, content=form, headers=FORM)
    assert response.status_code == 400
    assert f"<Code>{code}</Code>" in response.text
    assert f"<Message>{message}</Message>" in response.text
    assert "<RequestId>" in response.text
    assert sns.calls == sts.calls == []


def test_a_get_with_the_action_in_the_query_string(running, sns):
    sns.answers["ListTopics"] = {"Topics": [{"TopicArn": TOPIC}], "NextToken": "n"}
    response = httpx.get(running.endpoint_url + "/?Action=ListTopics&Version=2010-03-31&NextToken=abc")
    assert response.status_code == 200
    assert f"<Topics><member><TopicArn>{TOPIC}</TopicArn></member></Topics><NextToken>n</NextToken>" in (
        response.text
    )
    assert sns.last.params == {"NextToken": "abc"}


def test_a_query_request_for_a_json_api_is_still_refused_in_xml(running):
    response = httpx.post(running.endpoint_url, content=b"Action=ListQueues&Version=2012-11-05", headers=FORM)
    assert response.status_code == 400
    assert "<Code>InvalidAction</Code>" in response.text
    assert "JSON protocol only" in response.text
