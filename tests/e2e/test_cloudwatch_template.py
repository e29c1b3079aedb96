"""The energy platform's alarm as its template writes it: a stack with a queue-fed pipe, an
``AWS::CloudWatch::Alarm`` on the pipe's ``ExecutionFailed`` (Sum, 60 s, 15 periods, > 0, notBreaching) with SNS
actions, and an ``AWS::Logs::LogGroup``, deployed through CloudFormation; then 15 failing minutes on the manual
clock raise the alarm made from the template."""

from __future__ import annotations

import time
from typing import Any

from pipework.clock import ManualClock

START = 1_800_000_000.0

TEMPLATE = """
Resources:
  Dlq: {Type: AWS::SQS::Queue, Properties: {QueueName: power-dlq}}
  Readings:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: power
      VisibilityTimeout: 20
      RedrivePolicy: {deadLetterTargetArn: !GetAtt Dlq.Arn, maxReceiveCount: 1}
  Alerts:
    Type: AWS::Logs::LogGroup
    Properties: {LogGroupName: /pipes/power, RetentionInDays: 7}
  Power:
    Type: AWS::Pipes::Pipe
    Properties:
      Name: power
      RoleArn: arn:aws:iam::000000000000:role/pipe
      Source: !GetAtt Readings.Arn
      Target: arn:aws:lambda:us-east-1:000000000000:function:dispatch
  PipeFailing:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmName: power-pipe-failing
      Namespace: AWS/EventBridge/Pipes
      MetricName: ExecutionFailed
      Dimensions: [{Name: PipeName, Value: !Ref Power}]
      Statistic: Sum
      Period: 60
      EvaluationPeriods: 15
      Threshold: 0
      ComparisonOperator: GreaterThanThreshold
      TreatMissingData: notBreaching
      AlarmActions: [arn:aws:sns:us-east-1:000000000000:power-alerts]
      OKActions: [arn:aws:sns:us-east-1:000000000000:power-alerts]
Outputs:
  AlarmArn: {Value: !GetAtt PipeFailing.Arn}
"""


def test_the_alarm_from_the_template_raises_after_fifteen_failing_minutes(make_server: Any) -> None:
    server = make_server(clock=ManualClock(start=START))

    def dispatch(event: Any, context: Any) -> None:
        raise RuntimeError("the dispatcher is down")

    server.pipework.functions.register("dispatch", dispatch)
    cfn = server.client("cloudformation")
    cfn.create_stack(StackName="power", TemplateBody=TEMPLATE)
    deadline = time.monotonic() + 60
    while (stack := cfn.describe_stacks(StackName="power")["Stacks"][0])["StackStatus"].endswith(
        "IN_PROGRESS"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    failures = [
        (e["LogicalResourceId"], e.get("ResourceStatusReason"))
        for e in cfn.describe_stack_events(StackName="power")["StackEvents"]
        if e["ResourceStatus"].endswith("FAILED")
    ]
    assert stack["StackStatus"] == "CREATE_COMPLETE", failures
    cloudwatch = server.client("cloudwatch")
    [alarm] = cloudwatch.describe_alarms()["MetricAlarms"]
    assert alarm["AlarmArn"] == stack["Outputs"][0]["OutputValue"]
    assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["Threshold"]) == (60, 15, 0.0)
    assert server.client("logs").describe_log_groups()["logGroups"][0]["retentionInDays"] == 7
    sqs = server.client("sqs")
    url = sqs.get_queue_url(QueueName="power")["QueueUrl"]
    for minute in range(15):
        sqs.send_message(QueueUrl=url, MessageBody='{"mw": 5}')
        server.advance(60)
        state = cloudwatch.describe_alarms()["MetricAlarms"][0]["StateValue"]
        assert state == ("ALARM" if minute == 14 else "OK"), (minute, state)
    cfn.delete_stack(StackName="power")
    deadline = time.monotonic() + 60
    while cloudwatch.describe_alarms()["MetricAlarms"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
