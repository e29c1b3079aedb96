"""CloudFormation through boto3: a stack of a queue, a bus, a rule with a target and an archive is created in
dependency order and works; an update changes only what changed; a failing resource rolls the stack back; an
unsupported type fails with its name; deleting the stack removes everything; change sets as `aws cloudformation
deploy` uses them."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from pipework.testing import RunningServer

TEMPLATE = """
AWSTemplateFormatVersion: 2010-09-09
Parameters:
  Visibility: {Type: Number, Default: 30}
Resources:
  Orders:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${AWS::StackName}-orders"
      VisibilityTimeout: !Ref Visibility
  Bus:
    Type: AWS::Events::EventBus
    Properties: {Name: !Sub "${AWS::StackName}-bus"}
  ToQueue:
    Type: AWS::Events::Rule
    Properties:
      EventBusName: !Ref Bus
      EventPattern: {source: [shop]}
      Targets:
        - Id: orders
          Arn: !GetAtt Orders.Arn
          InputTransformer:
            InputPathsMap: {id: $.detail.id}
            InputTemplate: '{"order": <id>}'
  Keep:
    Type: AWS::Events::Archive
    Properties:
      SourceArn: !GetAtt Bus.Arn
      RetentionDays: 7
Outputs:
  QueueUrl:
    Value: !Ref Orders
    Export: {Name: !Sub "${AWS::StackName}-queue"}
  BusArn:
    Value: !GetAtt Bus.Arn
"""


def wait_for_status(cfn: Any, name: str, timeout: float = 60.0) -> dict[str, Any]:
    """The stack once its operation ended (a status that is not *_IN_PROGRESS)."""
    deadline = time.monotonic() + timeout
    while True:
        stacks = cfn.describe_stacks(StackName=name)["Stacks"]
        if not stacks[0]["StackStatus"].endswith("_IN_PROGRESS"):
            return dict(stacks[0])
        assert time.monotonic() < deadline, stacks[0]["StackStatus"]
        time.sleep(0.05)


def events_of(cfn: Any, name: str) -> list[tuple[str, str]]:
    """(logical id, status) of the stack's events, oldest first."""
    found = cfn.describe_stack_events(StackName=name)["StackEvents"]
    return [(e["LogicalResourceId"], e["ResourceStatus"]) for e in reversed(found)]


def test_a_stack_is_created_works_updates_only_what_changed_and_deletes(server: RunningServer) -> None:
    cfn, sqs, events = server.client("cloudformation"), server.client("sqs"), server.client("events")
    stack_id = cfn.create_stack(StackName="shop", TemplateBody=TEMPLATE)["StackId"]
    assert stack_id.startswith("arn:aws:cloudformation:us-east-1:000000000000:stack/shop/")
    stack = wait_for_status(cfn, "shop")
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    outputs = {o["OutputKey"]: o for o in stack["Outputs"]}
    url = outputs["QueueUrl"]["OutputValue"]
    assert url.endswith("/000000000000/shop-orders")
    assert outputs["BusArn"]["OutputValue"] == "arn:aws:events:us-east-1:000000000000:event-bus/shop-bus"
    assert cfn.list_exports()["Exports"][0]["Name"] == "shop-queue"
    created = [e for e in events_of(cfn, "shop") if e[1] == "CREATE_COMPLETE"]
    order = [logical for logical, _ in created]
    assert order.index("Orders") < order.index("ToQueue") and order.index("Bus") < order.index("ToQueue")
    assert order[-1] == "shop"

    # The system works: an event on the bus reaches the queue through the transformer.
    events.put_events(
        Entries=[
            {"EventBusName": "shop-bus", "Source": "shop", "DetailType": "d", "Detail": json.dumps({"id": 7})}
        ]
    )
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)["Messages"]
    assert json.loads(got[0]["Body"]) == {"order": 7}
    assert (
        events.describe_archive(ArchiveName=events.list_archives()["Archives"][0]["ArchiveName"])[
            "RetentionDays"
        ]
        == 7
    )
    resources = {
        r["LogicalResourceId"]: r
        for r in cfn.list_stack_resources(StackName="shop")["StackResourceSummaries"]
    }
    assert (
        resources["ToQueue"]["PhysicalResourceId"]
        == "shop-bus|" + resources["ToQueue"]["PhysicalResourceId"].split("|")[1]
    )

    # An update that changes one property changes only that resource, in place.
    before = len(cfn.describe_stack_events(StackName="shop")["StackEvents"])
    cfn.update_stack(
        StackName="shop",
        TemplateBody=TEMPLATE,
        Parameters=[{"ParameterKey": "Visibility", "ParameterValue": "45"}],
    )
    stack = wait_for_status(cfn, "shop")
    assert stack["StackStatus"] == "UPDATE_COMPLETE", stack.get("StackStatusReason")
    new_events = cfn.describe_stack_events(StackName="shop")["StackEvents"][:-before]
    assert {e["LogicalResourceId"] for e in new_events} == {"shop", "Orders"}
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "45"
    with pytest.raises(ClientError, match=r"No updates are to be performed\."):
        cfn.update_stack(
            StackName="shop",
            UsePreviousTemplate=True,
            Parameters=[{"ParameterKey": "Visibility", "UsePreviousValue": True}],
        )

    # Deleting the stack removes everything it made.
    cfn.delete_stack(StackName="shop")
    deadline = time.monotonic() + 60
    while any(s["StackStatus"] != "DELETE_COMPLETE" for s in cfn.list_stacks()["StackSummaries"]):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert sqs.list_queues().get("QueueUrls", []) == []
    assert [b["Name"] for b in events.list_event_buses()["EventBuses"]] == ["default"]
    assert events.list_archives()["Archives"] == []
    with pytest.raises(ClientError, match="Stack with id shop does not exist"):
        cfn.describe_stacks(StackName="shop")
    # As on AWS, the deleted stack stays listed as DELETE_COMPLETE (90 days), and its stack id still names it.
    (summary,) = cfn.list_stacks()["StackSummaries"]
    assert (summary["StackId"], summary["StackStatus"]) == (stack_id, "DELETE_COMPLETE")
    assert "DeletionTime" in summary
    assert cfn.list_stacks(StackStatusFilter=["CREATE_COMPLETE"])["StackSummaries"] == []
    (deleted,) = cfn.describe_stacks(StackName=stack_id)["Stacks"]
    assert (deleted["StackName"], deleted["StackStatus"]) == ("shop", "DELETE_COMPLETE")
    assert cfn.describe_stacks()["Stacks"] == []
    last = cfn.describe_stack_events(StackName=stack_id)["StackEvents"][0]
    assert (last["LogicalResourceId"], last["ResourceStatus"]) == ("shop", "DELETE_COMPLETE")
    # A new stack of the same name is another stack; the deleted one keeps its own id.
    again = cfn.create_stack(StackName="shop", TemplateBody="Resources: {A: {Type: AWS::SQS::Queue}}")[
        "StackId"
    ]
    assert again != stack_id
    wait_for_status(cfn, "shop")
    assert cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
    statuses = {s["StackId"]: s["StackStatus"] for s in cfn.list_stacks()["StackSummaries"]}
    assert statuses == {stack_id: "DELETE_COMPLETE", again: "CREATE_COMPLETE"}
    cfn.delete_stack(StackName="shop")


def test_a_failing_resource_rolls_the_stack_back(server: RunningServer) -> None:
    cfn, sqs = server.client("cloudformation"), server.client("sqs")
    template = """
Resources:
  First: {Type: AWS::SQS::Queue, Properties: {QueueName: first}}
  Broken:
    Type: AWS::SQS::Queue
    DependsOn: First
    Properties: {QueueName: broken, DelaySeconds: 9999}
"""
    cfn.create_stack(StackName="bad", TemplateBody=template)
    stack = wait_for_status(cfn, "bad")
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    rolled = [
        e
        for e in cfn.describe_stack_events(StackName="bad")["StackEvents"]
        if e["ResourceStatus"] == "ROLLBACK_IN_PROGRESS"
    ]
    assert rolled[0]["ResourceStatusReason"] == (
        "The following resource(s) failed to create: [Broken]. Rollback requested by user."
    )
    statuses = events_of(cfn, "bad")
    failed = [
        e
        for e in cfn.describe_stack_events(StackName="bad")["StackEvents"]
        if e["ResourceStatus"] == "CREATE_FAILED"
    ]
    assert "DelaySeconds" in failed[0]["ResourceStatusReason"]
    assert ("First", "DELETE_COMPLETE") in statuses and statuses[-1] == ("bad", "ROLLBACK_COMPLETE")
    assert sqs.list_queues().get("QueueUrls", []) == []


def test_an_unsupported_type_fails_with_its_name_and_rolls_back(server: RunningServer) -> None:
    cfn, sqs = server.client("cloudformation"), server.client("sqs")
    template = """
Resources:
  Queue: {Type: AWS::SQS::Queue, Properties: {QueueName: kept-out}}
  Instance: {Type: AWS::EC2::Instance, DependsOn: Queue, Properties: {ImageId: ami-1}}
"""
    cfn.create_stack(StackName="ec2", TemplateBody=template)
    stack = wait_for_status(cfn, "ec2")
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    failed = [
        e
        for e in cfn.describe_stack_events(StackName="ec2")["StackEvents"]
        if e["ResourceStatus"] == "CREATE_FAILED"
    ]
    assert "does not support resource type AWS::EC2::Instance" in failed[0]["ResourceStatusReason"]
    assert sqs.list_queues().get("QueueUrls", []) == []
    # With the skip tag (`pipework deploy --skip-unsupported`), the rest is created.
    cfn.create_stack(
        StackName="ec2-skip",
        TemplateBody=template,
        Tags=[{"Key": "pipework:skip-unsupported", "Value": "true"}],
    )
    assert wait_for_status(cfn, "ec2-skip")["StackStatus"] == "CREATE_COMPLETE"
    assert len(sqs.list_queues()["QueueUrls"]) == 1


def test_template_and_request_errors(server: RunningServer) -> None:
    cfn = server.client("cloudformation")
    cases = [
        ({"TemplateBody": "Resources: ["}, "ValidationError", "YAML not well-formed"),
        (
            {"TemplateBody": "Resources: {A: {Type: AWS::SQS::Queue, Properties: {P: !Ref Nope}}}"},
            "ValidationError",
            r"Unresolved resource dependencies \[Nope\]",
        ),
        (
            {"TemplateBody": "Parameters: {P: {Type: String}}\nResources: {A: {Type: AWS::SQS::Queue}}"},
            "ValidationError",
            r"Parameters: \[P\] must have values",
        ),
        (
            {"TemplateBody": "Resources: {R: {Type: AWS::IAM::Role, Properties: {}}}"},
            "InsufficientCapabilitiesException",
            r"Requires capabilities : \[CAPABILITY_IAM\]",
        ),
        ({}, "ValidationError", "Either Template URL or Template Body must be specified."),
    ]
    for extra, code, message in cases:
        with pytest.raises(ClientError, match=message) as caught:
            cfn.create_stack(StackName="x", **extra)
        assert caught.value.response["Error"]["Code"] == code
    with pytest.raises(ClientError, match="stackName"):
        cfn.create_stack(StackName="1bad", TemplateBody="Resources: {A: {Type: AWS::SQS::Queue}}")
    assert cfn.list_stacks()["StackSummaries"] == []
    cfn.create_stack(StackName="once", TemplateBody="Resources: {A: {Type: AWS::SQS::Queue}}")
    with pytest.raises(ClientError, match=r"Stack \[once\] already exists"):
        cfn.create_stack(StackName="once", TemplateBody="Resources: {A: {Type: AWS::SQS::Queue}}")
    summary = cfn.validate_template(TemplateBody=TEMPLATE)
    assert summary["Parameters"] == [{"ParameterKey": "Visibility", "DefaultValue": "30", "NoEcho": False}]


def test_change_sets_as_aws_cloudformation_deploy_uses_them(server: RunningServer) -> None:
    cfn, sqs = server.client("cloudformation"), server.client("sqs")
    body = "Resources: {Q: {Type: AWS::SQS::Queue, Properties: {QueueName: cs}}}"
    made = cfn.create_change_set(
        StackName="cs", ChangeSetName="one", ChangeSetType="CREATE", TemplateBody=body
    )
    assert cfn.describe_stacks(StackName="cs")["Stacks"][0]["StackStatus"] == "REVIEW_IN_PROGRESS"
    described = cfn.describe_change_set(ChangeSetName=made["Id"])
    assert described["Status"] == "CREATE_COMPLETE" and described["ExecutionStatus"] == "AVAILABLE"
    assert described["Changes"][0]["ResourceChange"]["Action"] == "Add"
    cfn.execute_change_set(ChangeSetName="one", StackName="cs")
    assert wait_for_status(cfn, "cs")["StackStatus"] == "CREATE_COMPLETE"
    assert sqs.get_queue_url(QueueName="cs")["QueueUrl"]
    empty = cfn.create_change_set(StackName="cs", ChangeSetName="two", TemplateBody=body)
    described = cfn.describe_change_set(ChangeSetName=empty["Id"])
    assert described["Status"] == "FAILED" and "didn't contain changes" in described["StatusReason"]
    changed = body.replace("QueueName: cs}", "QueueName: cs, DelaySeconds: 5}")
    cfn.create_change_set(StackName="cs", ChangeSetName="three", TemplateBody=changed)
    described = cfn.describe_change_set(ChangeSetName="three", StackName="cs")
    assert described["Changes"][0]["ResourceChange"]["Action"] == "Modify"
    cfn.execute_change_set(ChangeSetName="three", StackName="cs")
    assert wait_for_status(cfn, "cs")["StackStatus"] == "UPDATE_COMPLETE"
    # Once a change set has run, the stack's change sets are gone (and their names free), as on AWS.
    deadline = time.monotonic() + 30
    while cfn.list_change_sets(StackName="cs")["Summaries"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    url = sqs.get_queue_url(QueueName="cs")["QueueUrl"]
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["DelaySeconds"])["Attributes"] == {
        "DelaySeconds": "5"
    }
