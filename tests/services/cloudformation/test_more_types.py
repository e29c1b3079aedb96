"""CloudFormation with the other served APIs: a SAM function with inline code subscribed to a queue (an event
source mapping) and an async invoke config; an SNS topic with a filtered SQS subscription; a CloudWatch alarm
on a pipe's ExecutionFailed metric."""

from __future__ import annotations

import json
import time
from typing import Any

from pipework.testing import RunningServer
from services.cloudformation.test_stacks import wait_for_status

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Jobs:
    Type: AWS::SQS::Queue
    Properties: {QueueName: jobs}
  Results:
    Type: AWS::SQS::Queue
    Properties: {QueueName: results}
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: worker
      Runtime: python3.12
      Handler: index.handler
      Environment: {Variables: {RESULTS: !Ref Results}}
      InlineCode: |
        import json, os, boto3
        def handler(event, context):
            sqs = boto3.client("sqs")
            for record in event["Records"]:
                sqs.send_message(QueueUrl=os.environ["RESULTS"], MessageBody="done:" + record["body"])
      Events:
        FromJobs:
          Type: SQS
          Properties: {Queue: !GetAtt Jobs.Arn, BatchSize: 5}
  Alerts:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: alerts
  Loud:
    Type: AWS::SQS::Queue
    Properties: {QueueName: loud}
  LoudOnly:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Alerts
      Protocol: sqs
      Endpoint: !GetAtt Loud.Arn
      RawMessageDelivery: true
      FilterPolicy: {level: [high]}
  Failures:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmName: pipe-failures
      Namespace: AWS/EventBridge/Pipes
      MetricName: ExecutionFailed
      Dimensions: [{Name: PipeName, Value: power-dispatch}]
      Statistic: Sum
      Period: 60
      EvaluationPeriods: 15
      Threshold: 0
      ComparisonOperator: GreaterThanThreshold
      TreatMissingData: notBreaching
      AlarmActions: [!Ref Alerts]
"""


def receive(sqs: Any, name: str) -> list[str]:
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    return [m["Body"] for m in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20).get("Messages", [])]


def test_functions_topics_and_alarms_from_a_template(server: RunningServer) -> None:
    cfn = server.client("cloudformation")
    cfn.create_stack(
        StackName="more", TemplateBody=TEMPLATE, Capabilities=["CAPABILITY_AUTO_EXPAND", "CAPABILITY_IAM"]
    )
    stack = wait_for_status(cfn, "more", timeout=120)
    assert stack["StackStatus"] == "CREATE_COMPLETE", [
        e.get("ResourceStatusReason")
        for e in cfn.describe_stack_events(StackName="more")["StackEvents"]
        if e["ResourceStatus"].endswith("FAILED")
    ]
    sqs, sns = server.client("sqs"), server.client("sns")
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName="jobs")["QueueUrl"], MessageBody="j1")
    assert receive(sqs, "results") == ["done:j1"]
    topic = sns.list_topics()["Topics"][0]["TopicArn"]
    sns.publish(
        TopicArn=topic,
        Message="quiet",
        MessageAttributes={"level": {"DataType": "String", "StringValue": "low"}},
    )
    sns.publish(
        TopicArn=topic,
        Message="LOUD",
        MessageAttributes={"level": {"DataType": "String", "StringValue": "high"}},
    )
    assert receive(sqs, "loud") == ["LOUD"]
    alarm = server.client("cloudwatch").describe_alarms(AlarmNames=["pipe-failures"])["MetricAlarms"][0]
    assert alarm["EvaluationPeriods"] == 15 and alarm["AlarmActions"] == [topic]
    cfn.delete_stack(StackName="more")
    deadline = time.monotonic() + 60
    while any(s["StackStatus"] != "DELETE_COMPLETE" for s in cfn.list_stacks()["StackSummaries"]):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert server.client("lambda").list_functions()["Functions"] == []
    assert sns.list_topics()["Topics"] == []
    assert server.client("cloudwatch").describe_alarms()["MetricAlarms"] == []
    assert json.dumps(sqs.list_queues().get("QueueUrls", [])) == "[]"
