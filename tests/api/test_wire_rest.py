"""restJson1 through boto3 against a real server with fake services: routing by method and path template, URI
labels (percent-decoded), query strings, headers, payloads, status codes, and ``/tags/{arn}`` — a path both Pipes and
Scheduler serve — settled by the SigV4 credential scope's service name.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from botocore.exceptions import ClientError

from support.fake_service import FakeService

SCHEDULE_GROUP_ARN = "arn:aws:scheduler:us-east-1:000000000000:schedule-group/night-jobs"
PIPE_ARN = "arn:aws:pipes:us-east-1:000000000000:pipe/orders"


@pytest.fixture
def scheduler():
    return FakeService("scheduler")


@pytest.fixture
def pipes():
    return FakeService("pipes")


@pytest.fixture
def lambda_():
    return FakeService("lambda")


@pytest.fixture
def running(make_server, scheduler, pipes, lambda_):
    return make_server(fakes=[scheduler, pipes, lambda_])


def test_path_labels_and_query_members_become_params(running, scheduler):
    scheduler.answers["GetSchedule"] = {
        "Name": "nightly",
        "GroupName": "night-jobs",
        "CreationDate": datetime(2024, 2, 3, tzinfo=UTC),
    }
    result = running.client("scheduler").get_schedule(Name="nightly", GroupName="night-jobs")
    assert scheduler.last.operation == "GetSchedule"
    assert scheduler.last.params == {"Name": "nightly", "GroupName": "night-jobs"}
    assert result["CreationDate"] == datetime(2024, 2, 3, tzinfo=UTC)


def test_query_members_are_converted_to_the_member_type(running, scheduler):
    scheduler.answers["ListSchedules"] = {"Schedules": []}
    running.client("scheduler").list_schedules(GroupName="g", MaxResults=5, State="ENABLED")
    # GroupName travels as the query member "ScheduleGroup"; MaxResults arrives as text.
    assert scheduler.last.params == {"GroupName": "g", "MaxResults": 5, "State": "ENABLED"}


def test_json_body_and_uri_label_are_merged_and_nested_timestamps_decoded(running, scheduler):
    scheduler.answers["CreateSchedule"] = {
        "ScheduleArn": "arn:aws:scheduler:us-east-1:000000000000:schedule/d/n"
    }
    start = datetime(2030, 1, 1, tzinfo=UTC)
    result = running.client("scheduler").create_schedule(
        Name="n",
        ScheduleExpression="rate(5 minutes)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": "arn:aws:sqs:us-east-1:000000000000:q", "RoleArn": "arn:aws:iam::000000000000:role/r"},
        StartDate=start,
    )
    params = scheduler.last.params
    assert params["Name"] == "n"
    assert params["StartDate"] == start
    assert params["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert "ClientToken" in params  # boto3 fills the idempotency token
    assert result["ScheduleArn"].endswith("schedule/d/n")


def test_percent_encoded_arn_labels_are_decoded(running, scheduler):
    scheduler.answers["UntagResource"] = {}
    running.client("scheduler").untag_resource(
        ResourceArn=SCHEDULE_GROUP_ARN, TagKeys=["team", "cost center"]
    )
    assert scheduler.last.params == {"ResourceArn": SCHEDULE_GROUP_ARN, "TagKeys": ["team", "cost center"]}


def test_tags_path_goes_to_the_service_named_in_the_sigv4_scope(running, scheduler, pipes):
    scheduler.answers["ListTagsForResource"] = {"Tags": [{"Key": "from", "Value": "scheduler"}]}
    pipes.answers["ListTagsForResource"] = {"tags": {"from": "pipes"}}

    assert running.client("pipes").list_tags_for_resource(resourceArn=PIPE_ARN)["tags"] == {"from": "pipes"}
    assert pipes.last.params == {"resourceArn": PIPE_ARN}
    tags = running.client("scheduler").list_tags_for_resource(ResourceArn=SCHEDULE_GROUP_ARN)["Tags"]
    assert tags == [{"Key": "from", "Value": "scheduler"}]
    assert scheduler.last.params == {"ResourceArn": SCHEDULE_GROUP_ARN}
    assert [c.operation for c in pipes.calls + scheduler.calls] == ["ListTagsForResource"] * 2


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(
            lambda c: c.get_schedule(Name="n" * 65),
            "1 validation error detected: Value '" + "n" * 65 + "' at 'name' failed to satisfy constraint: "
            "Member must have length less than or equal to 64",
            id="uri label too long",
        ),
        pytest.param(
            lambda c: c.get_schedule(Name="no spaces"),
            "1 validation error detected: Value 'no spaces' at 'name' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [0-9a-zA-Z-_.]+",
            id="pattern",
        ),
        pytest.param(
            lambda c: c.list_schedules(MaxResults=101),
            "1 validation error detected: Value '101' at 'maxResults' failed to satisfy constraint: "
            "Member must have value less than or equal to 100",
            id="query range",
        ),
        pytest.param(
            lambda c: c.create_schedule(
                Name="n",
                ScheduleExpression="rate(1 minute)",
                Target={
                    "Arn": "arn:aws:sqs:us-east-1:000000000000:q",
                    "RoleArn": "arn:aws:iam::000000000000:role/r",
                },
                State="ON",
            ),
            "2 validation errors detected: Value 'ON' at 'state' failed to satisfy constraint: Member must satisfy "
            "enum value set: [ENABLED, DISABLED]; Value null at 'flexibleTimeWindow' failed to satisfy "
            "constraint: Member must not be null",
            id="enum and missing required",
        ),
    ],
)
def test_invalid_rest_input_is_a_validation_exception(running, scheduler, call, message):
    client = running.client("scheduler", parameter_validation=False)
    with pytest.raises(client.exceptions.ValidationException) as raised:
        call(client)
    assert raised.value.response["Error"] == {"Code": "ValidationException", "Message": message}
    assert (
        raised.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == "ValidationException"
    )
    assert scheduler.calls == []


def test_blob_payload_headers_and_status_code_members(running, lambda_):
    lambda_.answers["Invoke"] = {
        "StatusCode": 202,
        "FunctionError": "Unhandled",
        "ExecutedVersion": "$LATEST",
        "Payload": b'{"ok": true}',
    }
    result = running.client("lambda").invoke(
        FunctionName="fn", InvocationType="Event", Payload=b'{"in": 1}', Qualifier="live"
    )
    assert lambda_.last.params == {
        "FunctionName": "fn",
        "InvocationType": "Event",
        "Payload": b'{"in": 1}',
        "Qualifier": "live",
    }
    assert result["StatusCode"] == 202
    assert result["FunctionError"] == "Unhandled"
    assert result["ExecutedVersion"] == "$LATEST"
    assert result["Payload"].read() == b'{"ok": true}'


def test_an_unserved_service_is_named_in_the_error(make_server):
    running = make_server(fakes=())
    with pytest.raises(ClientError) as raised:
        running.client("pipes").describe_pipe(Name="p")
    assert raised.value.response["Error"]["Code"] == "UnknownServiceException"
    assert "'pipes'" in raised.value.response["Error"]["Message"]


def test_an_unknown_path_is_unknown_operation(running):
    response = httpx.get(running.endpoint_url + "/no/such/thing")
    assert response.status_code == 404
    assert response.headers["x-amzn-errortype"] == "UnknownOperationException"


def test_health_lists_the_served_apis(running):
    response = httpx.get(running.endpoint_url + "/_pipework/health")
    assert response.json() == {"status": "ok", "services": ["lambda", "pipes", "scheduler"]}


def test_region_comes_from_the_credential_scope_for_rest_apis_too(running, scheduler, pipes):
    scheduler.answers["ListSchedules"] = {"Schedules": []}
    pipes.answers["ListPipes"] = {"Pipes": []}
    running.client("scheduler", region="eu-central-1").list_schedules()
    running.client("pipes", region="ap-southeast-2").list_pipes()
    assert scheduler.last.ctx.region == "eu-central-1"
    assert pipes.last.ctx.region == "ap-southeast-2"


def test_region_comes_from_a_presigned_url_s_credential_and_defaults_without_one(running, scheduler):
    scheduler.answers["ListSchedules"] = {"Schedules": []}
    credential = "AKID%2F20240501%2Fsa-east-1%2Fscheduler%2Faws4_request"
    httpx.get(f"{running.endpoint_url}/schedules?X-Amz-Credential={credential}&X-Amz-Signature=x")
    assert scheduler.last.ctx.region == "sa-east-1"
    httpx.get(f"{running.endpoint_url}/schedules")
    assert scheduler.last.ctx.region == running.region
