"""Queue operations through boto3 over HTTP: create (idempotent, attributes, names), URLs, listing, attributes,
tags, permissions, purge, delete, and AWS's errors for each."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from .conftest import START, Sqs


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def test_create_queue_returns_a_url_by_account_and_name_and_get_queue_url_finds_it(sqs: Sqs) -> None:
    url = sqs.create("orders")
    assert url == f"{sqs.server.endpoint_url}/000000000000/orders"
    assert sqs.client.get_queue_url(QueueName="orders")["QueueUrl"] == url


def test_queue_urls_resolve_by_path_whatever_the_host(sqs: Sqs) -> None:
    sqs.create("orders")
    sqs.client.send_message(QueueUrl="http://elsewhere.example:9999/000000000000/orders", MessageBody="x")
    assert sqs.bodies(sqs.client.get_queue_url(QueueName="orders")["QueueUrl"]) == ["x"]


def test_a_bare_queue_name_is_accepted_as_queue_url_by_every_operation(sqs: Sqs) -> None:
    c = sqs.client
    url = sqs.create("orders")
    dlq = sqs.create("orders-dlq")
    c.set_queue_attributes(
        QueueUrl="orders",
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": sqs.arn(dlq), "maxReceiveCount": 5})},
    )
    assert c.list_dead_letter_source_queues(QueueUrl="orders-dlq")["queueUrls"] == [url]
    assert c.get_queue_attributes(QueueUrl="orders", AttributeNames=["QueueArn"])["Attributes"] == {
        "QueueArn": "arn:aws:sqs:us-east-1:000000000000:orders"
    }
    c.send_message(QueueUrl="orders", MessageBody="one")
    c.send_message_batch(QueueUrl="orders", Entries=[{"Id": "a", "MessageBody": "two"}])
    first, second = c.receive_message(QueueUrl="orders", MaxNumberOfMessages=2)["Messages"]
    c.change_message_visibility(QueueUrl="orders", ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=60)
    c.change_message_visibility_batch(
        QueueUrl="orders",
        Entries=[{"Id": "a", "ReceiptHandle": second["ReceiptHandle"], "VisibilityTimeout": 60}],
    )
    c.delete_message(QueueUrl="orders", ReceiptHandle=first["ReceiptHandle"])
    c.delete_message_batch(QueueUrl="orders", Entries=[{"Id": "a", "ReceiptHandle": second["ReceiptHandle"]}])
    assert sqs.attributes(url, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible") == {
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
    }
    c.tag_queue(QueueUrl="orders", Tags={"team": "a", "x": "y"})
    c.untag_queue(QueueUrl="orders", TagKeys=["x"])
    assert c.list_queue_tags(QueueUrl="orders")["Tags"] == {"team": "a"}
    c.add_permission(QueueUrl="orders", Label="l", AWSAccountIds=["111122223333"], Actions=["SendMessage"])
    c.remove_permission(QueueUrl="orders", Label="l")
    c.send_message(QueueUrl=url, MessageBody="three")
    c.purge_queue(QueueUrl="orders")
    assert sqs.bodies(url) == []
    c.delete_queue(QueueUrl="orders")
    with pytest.raises(c.exceptions.QueueDoesNotExist):
        c.get_queue_url(QueueName="orders")
    with pytest.raises(c.exceptions.QueueDoesNotExist):
        c.send_message(QueueUrl="orders", MessageBody="x")


def test_create_queue_is_idempotent_with_the_same_attributes(sqs: Sqs) -> None:
    first = sqs.create("q", VisibilityTimeout=60)
    assert sqs.create("q", VisibilityTimeout=60) == first
    assert sqs.create("q") == first  # attributes not given are not compared


def test_create_queue_with_different_attributes_raises_queue_name_exists(sqs: Sqs) -> None:
    sqs.create("q", VisibilityTimeout=60)
    with pytest.raises(sqs.client.exceptions.QueueNameExists) as excinfo:
        sqs.create("q", VisibilityTimeout=61)
    assert error_of(excinfo) == (
        "QueueAlreadyExists",
        "A queue already exists with the same name and a different value for attribute VisibilityTimeout",
    )


def test_get_queue_attributes_all_reports_aws_defaults(sqs: Sqs) -> None:
    url = sqs.create("q")
    attributes = sqs.attributes(url)
    assert attributes == {
        "VisibilityTimeout": "30",
        "MaximumMessageSize": "1048576",
        "MessageRetentionPeriod": "345600",
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
        "CreatedTimestamp": str(int(START)),
        "LastModifiedTimestamp": str(int(START)),
        "QueueArn": "arn:aws:sqs:us-east-1:000000000000:q",
        "ApproximateNumberOfMessagesDelayed": "0",
        "DelaySeconds": "0",
        "ReceiveMessageWaitTimeSeconds": "0",
        "SqsManagedSseEnabled": "true",
    }


def test_fifo_queue_reports_its_fifo_attributes(sqs: Sqs) -> None:
    url = sqs.create("jobs.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    attributes = sqs.attributes(url)
    assert attributes["FifoQueue"] == "true"
    assert attributes["ContentBasedDeduplication"] == "true"
    assert attributes["DeduplicationScope"] == "queue"
    assert attributes["FifoThroughputLimit"] == "perQueue"


def test_approximate_counts_follow_visible_in_flight_and_delayed_messages(sqs: Sqs) -> None:
    url = sqs.create("q")
    for body in ("a", "b", "c"):
        sqs.client.send_message(QueueUrl=url, MessageBody=body)
    sqs.client.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
    sqs.receive(url)
    counts = sqs.attributes(
        url,
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    )
    assert counts == {
        "ApproximateNumberOfMessages": "2",
        "ApproximateNumberOfMessagesNotVisible": "1",
        "ApproximateNumberOfMessagesDelayed": "1",
    }


def test_maximum_message_size_goes_from_1_kib_to_1_mib(sqs: Sqs) -> None:
    url = sqs.create("q", MaximumMessageSize=1024)
    sqs.client.set_queue_attributes(QueueUrl=url, Attributes={"MaximumMessageSize": "1048576"})
    assert sqs.attributes(url, "MaximumMessageSize") == {"MaximumMessageSize": "1048576"}


def test_set_queue_attributes_changes_them_and_the_modified_time(sqs: Sqs) -> None:
    url = sqs.create("q")
    sqs.advance(5)
    sqs.client.set_queue_attributes(
        QueueUrl=url,
        Attributes={"VisibilityTimeout": "5", "DelaySeconds": "10", "MessageRetentionPeriod": "60"},
    )
    attributes = sqs.attributes(url)
    assert (
        attributes["VisibilityTimeout"],
        attributes["DelaySeconds"],
        attributes["MessageRetentionPeriod"],
    ) == (
        "5",
        "10",
        "60",
    )
    assert attributes["LastModifiedTimestamp"] == str(int(START + 5))


@pytest.mark.parametrize(
    ("attributes", "code", "message"),
    [
        ({"VisibilityTimeout": "43201"}, "InvalidAttributeValue", "Invalid value for the parameter VisibilityTimeout."),
        ({"DelaySeconds": "-1"}, "InvalidAttributeValue", "Invalid value for the parameter DelaySeconds."),
        ({"MaximumMessageSize": "1048577"}, "InvalidAttributeValue", "Invalid value for the parameter MaximumMessageSize."),
        ({"MessageRetentionPeriod": "59"}, "InvalidAttributeValue", "Invalid value for the parameter MessageRetentionPeriod."),
        ({"ReceiveMessageWaitTimeSeconds": "21"}, "InvalidAttributeValue", "Invalid value for the parameter ReceiveMessageWaitTimeSeconds."),
        ({"VisibilityTimeout": "soon"}, "InvalidAttributeValue", "Invalid value for the parameter VisibilityTimeout."),
        ({"ContentBasedDeduplication": "true"}, "InvalidAttributeName", "Unknown Attribute ContentBasedDeduplication."),
        ({"Bogus": "1"}, "InvalidAttributeName", "Unknown Attribute Bogus."),
    ],
)  # fmt: skip
def test_invalid_queue_attributes_are_rejected_with_aws_codes(
    sqs: Sqs, attributes: dict[str, str], code: str, message: str
) -> None:
    with pytest.raises(ClientError) as excinfo:
        sqs.client.create_queue(QueueName="q", Attributes=attributes)
    assert error_of(excinfo) == (code, message)


@pytest.mark.parametrize(
    ("name", "attributes"),
    [
        ("has space", {}),
        ("x" * 81, {}),
        ("", {}),
        ("plain", {"FifoQueue": "true"}),
        ("dotted.fifo", {}),
    ],
)
def test_invalid_queue_names_are_rejected(sqs: Sqs, name: str, attributes: dict[str, str]) -> None:
    with pytest.raises(ClientError) as excinfo:
        sqs.client.create_queue(QueueName=name, Attributes=attributes)
    assert error_of(excinfo)[0] == "InvalidParameterValue"


def test_fifo_queue_type_cannot_be_changed(sqs: Sqs) -> None:
    url = sqs.create("q")
    with pytest.raises(ClientError) as excinfo:
        sqs.client.set_queue_attributes(QueueUrl=url, Attributes={"FifoQueue": "true"})
    assert error_of(excinfo)[0] == "InvalidAttributeValue"


def test_list_queues_filters_by_prefix_and_pages(sqs: Sqs) -> None:
    urls = {name: sqs.create(name) for name in ("alpha", "beta", "alpha-2", "alpha-3")}
    assert sorted(sqs.client.list_queues()["QueueUrls"]) == sorted(urls.values())
    assert sqs.client.list_queues(QueueNamePrefix="alpha")["QueueUrls"] == [
        urls["alpha"],
        urls["alpha-2"],
        urls["alpha-3"],
    ]
    first = sqs.client.list_queues(QueueNamePrefix="alpha", MaxResults=2)
    assert first["QueueUrls"] == [urls["alpha"], urls["alpha-2"]]
    second = sqs.client.list_queues(QueueNamePrefix="alpha", MaxResults=2, NextToken=first["NextToken"])
    assert second["QueueUrls"] == [urls["alpha-3"]] and "NextToken" not in second
    assert "QueueUrls" not in sqs.client.list_queues(QueueNamePrefix="zzz")


def test_delete_queue_removes_it_and_its_messages(sqs: Sqs) -> None:
    url = sqs.create("q")
    sqs.client.send_message(QueueUrl=url, MessageBody="x")
    sqs.client.delete_queue(QueueUrl=url)
    with pytest.raises(sqs.client.exceptions.QueueDoesNotExist):
        sqs.client.get_queue_url(QueueName="q")
    url = sqs.create("q")
    assert sqs.receive(url) == []


@pytest.mark.parametrize(
    "call",
    [
        lambda c, url: c.send_message(QueueUrl=url, MessageBody="x"),
        lambda c, url: c.receive_message(QueueUrl=url),
        lambda c, url: c.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]),
        lambda c, url: c.delete_queue(QueueUrl=url),
        lambda c, url: c.purge_queue(QueueUrl=url),
        lambda c, url: c.list_queue_tags(QueueUrl=url),
    ],
)
def test_missing_queue_raises_queue_does_not_exist_with_the_query_code(sqs: Sqs, call: object) -> None:
    url = sqs.server.endpoint_url + "/000000000000/missing"
    with pytest.raises(sqs.client.exceptions.QueueDoesNotExist) as excinfo:
        call(sqs.client, url)  # type: ignore[operator]
    assert error_of(excinfo) == (
        "AWS.SimpleQueueService.NonExistentQueue",
        "The specified queue does not exist.",
    )
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_purge_queue_deletes_every_message_and_only_once_a_minute(sqs: Sqs) -> None:
    url = sqs.create("q")
    for body in ("a", "b"):
        sqs.client.send_message(QueueUrl=url, MessageBody=body)
    sqs.receive(url)
    sqs.client.purge_queue(QueueUrl=url)
    assert sqs.attributes(url, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible") == {
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
    }
    with pytest.raises(sqs.client.exceptions.PurgeQueueInProgress) as excinfo:
        sqs.client.purge_queue(QueueUrl=url)
    assert error_of(excinfo) == (
        "AWS.SimpleQueueService.PurgeQueueInProgress",
        "Only one PurgeQueue operation on q is allowed every 60 seconds.",
    )
    sqs.advance(60)
    sqs.client.purge_queue(QueueUrl=url)


def test_tags_are_added_listed_and_removed(sqs: Sqs) -> None:
    sqs.client.create_queue(QueueName="q", tags={"team": "ops"})
    url = sqs.client.get_queue_url(QueueName="q")["QueueUrl"]
    sqs.client.tag_queue(QueueUrl=url, Tags={"env": "dev", "team": "core"})
    assert sqs.client.list_queue_tags(QueueUrl=url)["Tags"] == {"env": "dev", "team": "core"}
    sqs.client.untag_queue(QueueUrl=url, TagKeys=["team"])
    assert sqs.client.list_queue_tags(QueueUrl=url)["Tags"] == {"env": "dev"}
    sqs.client.untag_queue(QueueUrl=url, TagKeys=["env"])
    assert "Tags" not in sqs.client.list_queue_tags(QueueUrl=url)


def test_add_and_remove_permission_edit_the_queue_policy(sqs: Sqs) -> None:
    url = sqs.create("q")
    sqs.client.add_permission(
        QueueUrl=url, Label="l1", AWSAccountIds=["111122223333"], Actions=["SendMessage"]
    )
    policy = json.loads(sqs.attributes(url, "Policy")["Policy"])
    assert policy["Statement"][0]["Sid"] == "l1"
    assert policy["Statement"][0]["Action"] == ["SQS:SendMessage"]
    sqs.client.remove_permission(QueueUrl=url, Label="l1")
    assert "Policy" not in sqs.attributes(url)


def test_queue_definitions_survive_a_restart_of_the_service(sqs: Sqs) -> None:
    url = sqs.create("q", VisibilityTimeout=7)
    service = sqs.server.pipework.sqs
    service.queues.clear()  # type: ignore[attr-defined]
    sqs.server.run(service.load_queues())  # type: ignore[attr-defined]
    assert sqs.attributes(url, "VisibilityTimeout") == {"VisibilityTimeout": "7"}
