"""A CloudFormation template with a Python function (inline code), a queue feeding it through an event source
mapping and an asynchronous invocation config, deployed through boto3: the function really runs, and deleting the
stack removes it."""

from __future__ import annotations

import pytest

from pipework.testing import RunningServer
from services.cloudformation.test_stacks import wait_for_status
from support.http import wait_for

TEMPLATE = """
AWSTemplateFormatVersion: 2010-09-09
Resources:
  Inbox:
    Type: AWS::SQS::Queue
    Properties: {QueueName: !Sub "${AWS::StackName}-inbox"}
  Outbox:
    Type: AWS::SQS::Queue
    Properties: {QueueName: !Sub "${AWS::StackName}-outbox"}
  Relay:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: !Sub "${AWS::StackName}-relay"
      Runtime: python3.12
      Handler: index.handler
      Timeout: 30
      Role: arn:aws:iam::000000000000:role/relay
      Environment:
        Variables: {OUTBOX: !GetAtt Outbox.QueueName}
      Code:
        ZipFile: |
          import json, os, boto3

          def handler(event, context):
              sqs = boto3.client("sqs")
              url = sqs.get_queue_url(QueueName=os.environ["OUTBOX"])["QueueUrl"]
              for record in event["Records"]:
                  sqs.send_message(QueueUrl=url, MessageBody=record["body"].upper())
  Feed:
    Type: AWS::Lambda::EventSourceMapping
    Properties:
      EventSourceArn: !GetAtt Inbox.Arn
      FunctionName: !Ref Relay
      BatchSize: 5
  AsyncConfig:
    Type: AWS::Lambda::EventInvokeConfig
    Properties:
      FunctionName: !Ref Relay
      Qualifier: $LATEST
      MaximumRetryAttempts: 0
"""


def test_a_stack_with_a_function_and_a_mapping_runs_and_deletes(server: RunningServer) -> None:
    cfn = server.client("cloudformation")
    cfn.create_stack(StackName="relay", TemplateBody=TEMPLATE)
    stack = wait_for_status(cfn, "relay")
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack
    sqs = server.client("sqs")
    inbox = sqs.get_queue_url(QueueName="relay-inbox")["QueueUrl"]
    outbox = sqs.get_queue_url(QueueName="relay-outbox")["QueueUrl"]
    sqs.send_message(QueueUrl=inbox, MessageBody="hello")
    got: list[str] = []

    def relayed() -> bool:
        got.extend(m["Body"] for m in sqs.receive_message(QueueUrl=outbox).get("Messages", []))
        return bool(got)

    wait_for(relayed, timeout=60)
    assert got == ["HELLO"]
    functions = server.client("lambda")
    config = functions.get_function_event_invoke_config(FunctionName="relay-relay")
    assert config["MaximumRetryAttempts"] == 0
    cfn.delete_stack(StackName="relay")
    wait_for(lambda: not functions.list_functions()["Functions"], timeout=60)
    assert functions.list_event_source_mappings()["EventSourceMappings"] == []
    with pytest.raises(functions.exceptions.ResourceNotFoundException):
        functions.get_function(FunctionName="relay-relay")
