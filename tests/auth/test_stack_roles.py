"""IAM roles and policies that CloudFormation stacks create are real roles with auth on: rules, pipes and
schedules act as them, STS AssumeRole hands out their keys when their trust policy allows, deployed functions sign
their SDK calls as their execution role, and stack operations are allowed only as far as the caller's (or the
stack's service role's) policies allow."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipework.app import Settings
from pipework.clock import ManualClock
from pipework.testing import RunningServer, serve_in_thread
from services.cloudformation.test_stacks import wait_for_status

from .conftest import ADMIN, BOB, CREDENTIALS, client

#: may deploy stacks, and make queues, nothing else
DEPLOYER = ("AKIADEPLOYER0000001", "deployer-secret-00000000000000000")
#: may deploy stacks with a service role (iam:PassRole), nothing else
PASSER = ("AKIAPASSER000000001", "passer-secret-0000000000000000000")
#: may deploy stacks and create queues, but not delete them
CREATOR = ("AKIACREATOR00000001", "creator-secret-000000000000000000")
#: may put metric data (an action of CloudWatch, whose requests are signed for "monitoring")
WATCHER = ("AKIAWATCHER00000001", "watcher-secret-000000000000000000")
#: may make queues and pipes, and pass only the role "forwarder"
PIPER = ("AKIAPIPER0000000001", "piper-secret-00000000000000000000")

STACK_CREDENTIALS = {
    "Keys": [
        *CREDENTIALS["Keys"],
        {"AccessKeyId": DEPLOYER[0], "SecretAccessKey": DEPLOYER[1], "Account": "111111111111",
         "Principal": "deployer",
         "Policies": [{"Version": "2012-10-17",
                       "Statement": [{"Effect": "Allow", "Action": ["cloudformation:*", "sqs:*"],
                                      "Resource": "*"}]}]},
        {"AccessKeyId": PASSER[0], "SecretAccessKey": PASSER[1], "Account": "111111111111",
         "Principal": "passer",
         "Policies": [{"Version": "2012-10-17",
                       "Statement": [{"Effect": "Allow", "Action": ["cloudformation:*", "iam:PassRole"],
                                      "Resource": "*"}]}]},
        {"AccessKeyId": CREATOR[0], "SecretAccessKey": CREATOR[1], "Account": "111111111111",
         "Principal": "creator",
         "Policies": [{"Version": "2012-10-17",
                       "Statement": [{"Effect": "Allow", "Action": ["cloudformation:*", "sqs:CreateQueue"],
                                      "Resource": "*"}]}]},
        {"AccessKeyId": WATCHER[0], "SecretAccessKey": WATCHER[1], "Account": "111111111111",
         "Principal": "watcher",
         "Policies": [{"Version": "2012-10-17",
                       "Statement": [{"Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*"}]}]},
        {"AccessKeyId": PIPER[0], "SecretAccessKey": PIPER[1], "Account": "111111111111",
         "Principal": "piper",
         "Policies": [{"Version": "2012-10-17",
                       "Statement": [{"Effect": "Allow", "Action": ["cloudformation:*", "sqs:*", "pipes:*"],
                                      "Resource": "*"},
                                     {"Effect": "Allow", "Action": "iam:PassRole",
                                      "Resource": "arn:aws:iam::111111111111:role/forwarder"}]}]},
    ],
    "Roles": CREDENTIALS["Roles"],
}  # fmt: skip


@pytest.fixture(scope="module")
def stack_credentials(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("stack-auth") / "credentials.json"
    path.write_text(json.dumps(STACK_CREDENTIALS))
    return path


@pytest.fixture
def clocked(stack_credentials: Path) -> Iterator[RunningServer]:
    settings = Settings(memory=True, auth="sigv4", credentials=stack_credentials)
    with serve_in_thread(settings, clock=ManualClock()) as server:
        yield server


@pytest.fixture(scope="module")
def live(stack_credentials: Path) -> Iterator[RunningServer]:
    with serve_in_thread(Settings(memory=True, auth="sigv4", credentials=stack_credentials)) as server:
        yield server


def deploy(
    server: RunningServer, name: str, template: str, key: tuple[str, str] = ADMIN, **extra: Any
) -> Any:
    """Create stack `name` (or update it when it exists) and wait for the operation's end."""
    cfn = client(server, "cloudformation", key)
    body = {"StackName": name, "TemplateBody": template, "Capabilities": ["CAPABILITY_NAMED_IAM"], **extra}
    if any(s["StackName"] == name for s in cfn.describe_stacks()["Stacks"]):
        cfn.update_stack(**body)
    else:
        cfn.create_stack(**body)
    return wait_for_status(cfn, name)


def reasons(server: RunningServer, name: str, key: tuple[str, str] = ADMIN) -> dict[str, str]:
    """Each resource's failure reason (logical id → ResourceStatusReason) from the stack's events."""
    events = client(server, "cloudformation", key).describe_stack_events(StackName=name)["StackEvents"]
    return {
        e["LogicalResourceId"]: e["ResourceStatusReason"]
        for e in events
        if e["ResourceStatus"].endswith("FAILED")
    }


def receive(server: RunningServer, queue: str) -> list[str]:
    sqs = client(server, "sqs", ADMIN)
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    return [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])]


# ── the energy platform's story: a pipe and a rule whose role lacks a permission, then gets it ─────────────────

DELIVERY = """
Resources:
  Readings: {Type: AWS::SQS::Queue, Properties: {QueueName: readings}}
  Dispatch: {Type: AWS::SQS::Queue, Properties: {QueueName: dispatch}}
  Alerts: {Type: AWS::SQS::Queue, Properties: {QueueName: alerts}}
  DeliveryRole:
    Type: AWS::IAM::Role
    Properties:
      RoleName: delivery
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: [pipes.amazonaws.com, events.amazonaws.com]}
            Action: sts:AssumeRole
      Policies:
        - PolicyName: read-readings
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - {Effect: Allow, Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage"], Resource: !GetAtt Readings.Arn}
  Pipe:
    Type: AWS::Pipes::Pipe
    Properties:
      Name: readings-to-dispatch
      RoleArn: !GetAtt DeliveryRole.Arn
      Source: !GetAtt Readings.Arn
      Target: !GetAtt Dispatch.Arn
  Rule:
    Type: AWS::Events::Rule
    Properties:
      Name: overload
      EventPattern: {source: [grid]}
      Targets:
        - {Id: alerts, Arn: !GetAtt Alerts.Arn, RoleArn: !GetAtt DeliveryRole.Arn}
"""

SEND_GRANT = """
  MaySend:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: send-out
      Roles: [!Ref DeliveryRole]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Action: sqs:SendMessage, Resource: [!GetAtt Dispatch.Arn, !GetAtt Alerts.Arn]}
"""


def test_a_template_roles_missing_permission_stops_its_pipe_and_an_update_granting_it_makes_delivery_work(
    clocked: RunningServer,
) -> None:
    server = clocked
    assert deploy(server, "grid", DELIVERY)["StackStatus"] == "CREATE_COMPLETE"
    sqs, events, pipes = (client(server, s, ADMIN) for s in ("sqs", "events", "pipes"))
    readings = sqs.get_queue_url(QueueName="readings")["QueueUrl"]
    sqs.send_message(QueueUrl=readings, MessageBody="first")
    events.put_events(Entries=[{"Source": "grid", "DetailType": "overload", "Detail": "{}"}])
    server.advance(0)
    server.advance(600)
    stopped = pipes.describe_pipe(Name="readings-to-dispatch")
    assert stopped["CurrentState"] == "STOPPED"
    assert "NO_PERMISSIONS" in stopped["StateReason"]
    assert "assumed-role/delivery/" in stopped["StateReason"]
    assert "not authorized to perform: sqs:SendMessage" in stopped["StateReason"]
    assert receive(server, "dispatch") == [] and receive(server, "alerts") == []

    updated = deploy(server, "grid", DELIVERY + SEND_GRANT)
    assert updated["StackStatus"] == "UPDATE_COMPLETE", updated
    pipes.start_pipe(Name="readings-to-dispatch")
    server.advance(0)
    sqs.send_message(QueueUrl=readings, MessageBody="second")
    events.put_events(Entries=[{"Source": "grid", "DetailType": "overload", "Detail": "{}"}])
    server.advance(60)
    assert "second" in {json.loads(body)["body"] for body in receive(server, "dispatch")}
    assert [json.loads(body)["detail-type"] for body in receive(server, "alerts")] == ["overload"]

    # Deleting the stack removes the role: nothing may act as it any more.
    client(server, "cloudformation", ADMIN).delete_stack(StackName="grid")
    wait_for_status_gone(server, "grid")
    sts = client(server, "sts", ADMIN)
    with pytest.raises(sts.exceptions.ClientError, match="AccessDenied"):
        sts.assume_role(RoleArn="arn:aws:iam::111111111111:role/delivery", RoleSessionName="after")


def wait_for_status_gone(server: RunningServer, name: str) -> None:
    cfn = client(server, "cloudformation", ADMIN)
    try:
        wait_for_status(cfn, name)
    except cfn.exceptions.ClientError:
        return  # gone already


PIPES_ONLY = """
Resources:
  In: {Type: AWS::SQS::Queue, Properties: {QueueName: trust-in}}
  Out: {Type: AWS::SQS::Queue, Properties: {QueueName: trust-out}}
  PipesOnly:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Principal: {Service: pipes.amazonaws.com}, Action: sts:AssumeRole}
      ManagedPolicyArns: [arn:aws:iam::aws:policy/AmazonSQSFullAccess]
  Pipe:
    Type: AWS::Pipes::Pipe
    Properties: {Name: trusted, RoleArn: !GetAtt PipesOnly.Arn, Source: !GetAtt In.Arn, Target: !GetAtt Out.Arn}
  Rule:
    Type: AWS::Events::Rule
    Properties:
      EventPattern: {source: [trust]}
      Targets: [{Id: out, Arn: !GetAtt Out.Arn, RoleArn: !GetAtt PipesOnly.Arn}]
  Schedule:
    Type: AWS::Scheduler::Schedule
    Properties:
      ScheduleExpression: rate(1 minute)
      FlexibleTimeWindow: {Mode: "OFF"}
      Target: {Arn: !GetAtt Out.Arn, RoleArn: !GetAtt PipesOnly.Arn, Input: tick,
               RetryPolicy: {MaximumRetryAttempts: 0}}
"""  # fmt: skip


def test_a_role_acts_only_for_the_services_its_trust_policy_names(clocked: RunningServer) -> None:
    server = clocked
    assert deploy(server, "trust", PIPES_ONLY)["StackStatus"] == "CREATE_COMPLETE", reasons(server, "trust")
    sqs = client(server, "sqs", ADMIN)
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName="trust-in")["QueueUrl"], MessageBody="piped")
    client(server, "events", ADMIN).put_events(
        Entries=[{"Source": "trust", "DetailType": "d", "Detail": "{}"}]
    )
    server.advance(0)
    server.advance(61)
    # The pipe's service is trusted; the rule's (events) and the schedule's (scheduler) are not.
    assert [json.loads(body)["body"] for body in receive(server, "trust-out")] == ["piped"]


# ── STS AssumeRole by the trust policy, a managed policy, a restart ────────────────────────────────────────────

PARTNER_ROLE = """
Resources:
  Inbox: {Type: AWS::SQS::Queue, Properties: {QueueName: partner-inbox}}
  Other: {Type: AWS::SQS::Queue, Properties: {QueueName: partner-other}}
  PartnerRole:
    Type: AWS::IAM::Role
    Properties:
      RoleName: partner
      Path: /partners/
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Principal: {AWS: "arn:aws:iam::222222222222:root"}, Action: sts:AssumeRole}
      ManagedPolicyArns: [!Ref Sending, "arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess",
                          "arn:aws:iam::aws:policy/AWSSomethingPipeworkDoesNotModel"]
  Loner:
    Type: AWS::IAM::Role
    Properties:
      RoleName: loner
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Principal: {AWS: "333333333333"}, Action: sts:AssumeRole}
  Sending:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Action: sqs:SendMessage, Resource: !GetAtt Inbox.Arn}
Outputs:
  RoleArn: {Value: !GetAtt PartnerRole.Arn}
"""


def assumed(server: RunningServer, role_arn: str, service: str, key: tuple[str, str] = BOB) -> Any:
    found = client(server, "sts", key).assume_role(RoleArn=role_arn, RoleSessionName="partner-session")[
        "Credentials"
    ]
    return client(server, service, (found["AccessKeyId"], found["SecretAccessKey"]), found["SessionToken"])


def test_a_stack_role_is_assumed_by_the_accounts_its_trust_policy_names_and_survives_a_restart(
    tmp_path: Path, stack_credentials: Path
) -> None:
    settings = Settings(data_dir=tmp_path, auth="sigv4", credentials=stack_credentials)
    with serve_in_thread(settings) as server:
        stack = deploy(server, "partner", PARTNER_ROLE)
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        (output,) = stack["Outputs"]
        role_arn = output["OutputValue"]
        assert role_arn == "arn:aws:iam::111111111111:role/partners/partner"
        notes = [
            e.get("ResourceStatusReason", "")
            for e in client(server, "cloudformation", ADMIN).describe_stack_events(StackName="partner")["StackEvents"]
            if e["LogicalResourceId"] == "PartnerRole" and e["ResourceStatus"] == "CREATE_COMPLETE"
        ]  # fmt: skip
        assert "AWSSomethingPipeworkDoesNotModel" in notes[0] and "grant nothing" in notes[0]

    with serve_in_thread(settings) as server:  # the roles are in the store
        admin = client(server, "sqs", ADMIN)
        inbox = admin.get_queue_url(QueueName="partner-inbox")["QueueUrl"]
        other = admin.get_queue_url(QueueName="partner-other")["QueueUrl"]
        sqs = assumed(server, role_arn, "sqs")  # a key of account 222222222222, which the trust policy names
        sqs.send_message(QueueUrl=inbox, MessageBody="from a partner")
        sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["All"])  # AmazonSQSReadOnlyAccess
        with pytest.raises(sqs.exceptions.ClientError, match="AccessDenied"):
            sqs.send_message(QueueUrl=other, MessageBody="no")
        with pytest.raises(sqs.exceptions.ClientError, match="AccessDenied"):
            sqs.purge_queue(QueueUrl=inbox)
        # The trust policy decides who may assume a role, even for an admin of the role's own account.
        for key, arn in ((ADMIN, role_arn), (BOB, "arn:aws:iam::111111111111:role/loner")):
            sts = client(server, "sts", key)
            with pytest.raises(sts.exceptions.ClientError, match="AccessDenied"):
                sts.assume_role(RoleArn=arn, RoleSessionName="partner-session")


# ── functions sign their SDK calls as their execution role ───────────────────────────────────────────────────

FUNCTION = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Allowed: {Type: AWS::SQS::Queue, Properties: {QueueName: allowed-x}}
  Forbidden: {Type: AWS::SQS::Queue, Properties: {QueueName: forbidden-y}}
  Sender:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: sender
      Runtime: python3.12
      Handler: index.handler
      Timeout: 30
      Environment:
        Variables: {ALLOWED: !Ref Allowed, FORBIDDEN: !Ref Forbidden}
      Policies:
        - SQSSendMessagePolicy: {QueueName: !GetAtt Allowed.QueueName}
      InlineCode: |
        import os, boto3

        def handler(event, context):
            sqs = boto3.client("sqs")
            out = {}
            for name in ("ALLOWED", "FORBIDDEN"):
                try:
                    sqs.send_message(QueueUrl=os.environ[name], MessageBody="hi")
                    out[name] = "sent"
                except sqs.exceptions.ClientError as error:
                    out[name] = error.response["Error"]["Code"]
            out["caller"] = boto3.client("sts").get_caller_identity()["Arn"]
            return out
"""


def test_a_function_signs_its_sdk_calls_as_its_execution_role(live: RunningServer) -> None:
    stack = deploy(live, "sender", FUNCTION, Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
    assert stack["StackStatus"] == "CREATE_COMPLETE", reasons(live, "sender")
    answer = client(live, "lambda", ADMIN).invoke(FunctionName="sender", Payload=b"{}")
    result = json.loads(answer["Payload"].read())
    assert "FunctionError" not in answer, result
    assert result["ALLOWED"] == "sent"
    assert result["FORBIDDEN"] in ("AccessDenied", "AccessDeniedException")
    assert result["caller"].startswith("arn:aws:sts::111111111111:assumed-role/sender-SenderRole")
    assert result["caller"].endswith("/sender")
    assert receive(live, "allowed-x") == ["hi"]
    assert receive(live, "forbidden-y") == []


# ── stack operations are allowed as far as the caller's policies allow ───────────────────────────────────────

QUEUE = "Resources:\n  Jobs: {Type: AWS::SQS::Queue, Properties: {QueueName: deployer-jobs}}\n"
QUEUE_AND_BUS = QUEUE + "  Bus: {Type: AWS::Events::EventBus, Properties: {Name: deployer-bus}}\n"
SERVICE_ROLE = """
Resources:
  DeployRole:
    Type: AWS::IAM::Role
    Properties:
      RoleName: deploy-buses
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Principal: {Service: cloudformation.amazonaws.com}, Action: sts:AssumeRole}
      Policies:
        - PolicyName: buses
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - {Effect: Allow, Action: ["events:CreateEventBus", "events:DeleteEventBus",
                                         "events:DescribeEventBus", "events:TagResource"], Resource: "*"}
  NotForCloudFormation:
    Type: AWS::IAM::Role
    Properties:
      RoleName: functions-only
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}
      ManagedPolicyArns: [arn:aws:iam::aws:policy/AdministratorAccess]
"""  # fmt: skip


def test_a_stack_makes_only_what_its_caller_may_make_and_rolls_back_otherwise(live: RunningServer) -> None:
    assert deploy(live, "jobs", QUEUE, DEPLOYER)["StackStatus"] == "CREATE_COMPLETE"
    failed = deploy(live, "jobs-and-bus", QUEUE_AND_BUS.replace("deployer-jobs", "deployer-jobs-2"), DEPLOYER)
    assert failed["StackStatus"] == "ROLLBACK_COMPLETE"
    reason = reasons(live, "jobs-and-bus", DEPLOYER)["Bus"]
    assert "AccessDenied" in reason
    assert "user/deployer is not authorized to perform: events:CreateEventBus" in reason
    sqs = client(live, "sqs", ADMIN)
    with pytest.raises(sqs.exceptions.ClientError):
        sqs.get_queue_url(QueueName="deployer-jobs-2")  # rolled back
    sqs.get_queue_url(QueueName="deployer-jobs")  # the first stack's queue stays


def test_a_rollback_the_caller_may_not_finish_fails_and_a_delete_by_someone_who_may_cleans_up(
    live: RunningServer,
) -> None:
    template = QUEUE_AND_BUS.replace("deployer-jobs", "creator-jobs").replace("deployer-bus", "creator-bus")
    failed = deploy(live, "half-made", template, CREATOR)
    assert failed["StackStatus"] == "ROLLBACK_FAILED"
    assert "sqs:DeleteQueue" in failed["StackStatusReason"]
    sqs = client(live, "sqs", ADMIN)
    sqs.get_queue_url(QueueName="creator-jobs")  # left behind, as on AWS
    client(live, "cloudformation", ADMIN).delete_stack(StackName="half-made")
    wait_for_status_gone(live, "half-made")
    with pytest.raises(sqs.exceptions.ClientError):
        sqs.get_queue_url(QueueName="creator-jobs")


def test_a_stack_with_a_service_role_acts_as_that_role(live: RunningServer) -> None:
    assert deploy(live, "deploy-role", SERVICE_ROLE)["StackStatus"] == "CREATE_COMPLETE"
    role = "arn:aws:iam::111111111111:role/deploy-buses"
    bus = "Resources:\n  Bus: {Type: AWS::Events::EventBus, Properties: {Name: passed-bus}}\n"
    # The passer may do nothing but pass the role: the role makes the bus.
    stack = deploy(live, "passed", bus, PASSER, RoleARN=role)
    assert stack["StackStatus"] == "CREATE_COMPLETE", reasons(live, "passed", PASSER)
    assert stack["RoleARN"] == role
    client(live, "events", ADMIN).describe_event_bus(Name="passed-bus")
    # The same through a change set (what `aws cloudformation deploy --role-arn` does).
    cfn = client(live, "cloudformation", PASSER)
    cfn.create_change_set(
        StackName="passed-by-change-set",
        ChangeSetName="first",
        ChangeSetType="CREATE",
        TemplateBody=bus.replace("passed-bus", "change-set-bus"),
        RoleARN=role,
    )
    cfn.get_waiter("change_set_create_complete").wait(
        StackName="passed-by-change-set", ChangeSetName="first", WaiterConfig={"Delay": 1}
    )
    cfn.execute_change_set(StackName="passed-by-change-set", ChangeSetName="first")
    stack = wait_for_status(cfn, "passed-by-change-set")
    assert stack["StackStatus"] == "CREATE_COMPLETE", reasons(live, "passed-by-change-set", PASSER)
    assert stack["RoleARN"] == role
    # Without the role, the passer's own policies decide.
    refused = deploy(live, "unpassed", bus.replace("passed-bus", "unpassed-bus"), PASSER)
    assert refused["StackStatus"] == "ROLLBACK_COMPLETE"
    # A key that may not pass roles cannot name one.
    cfn = client(live, "cloudformation", DEPLOYER)
    with pytest.raises(cfn.exceptions.ClientError, match="iam:PassRole"):
        cfn.create_stack(StackName="not-passed", TemplateBody=bus, RoleARN=role)
    # The role must exist and trust CloudFormation.
    cfn = client(live, "cloudformation", PASSER)
    for name in ("functions-only", "no-such-role"):
        with pytest.raises(cfn.exceptions.ClientError, match="cannot be assumed"):
            cfn.create_stack(StackName="not-trusted", TemplateBody=bus,
                             RoleARN=f"arn:aws:iam::111111111111:role/{name}")  # fmt: skip


PIPE = """
Resources:
  From: {Type: AWS::SQS::Queue, Properties: {QueueName: !Sub "${AWS::StackName}-from"}}
  To: {Type: AWS::SQS::Queue, Properties: {QueueName: !Sub "${AWS::StackName}-to"}}
  Pipe:
    Type: AWS::Pipes::Pipe
    Properties: {RoleArn: ROLE, Source: !GetAtt From.Arn, Target: !GetAtt To.Arn}
"""


def test_handing_a_role_to_a_pipe_needs_iam_pass_role_on_it(live: RunningServer) -> None:
    forwarder, reader = "arn:aws:iam::111111111111:role/forwarder", "arn:aws:iam::111111111111:role/reader"
    assert (
        deploy(live, "may-pass", PIPE.replace("ROLE", forwarder), PIPER)["StackStatus"] == "CREATE_COMPLETE"
    )
    refused = deploy(live, "may-not-pass", PIPE.replace("ROLE", reader), PIPER)
    assert refused["StackStatus"] == "ROLLBACK_COMPLETE"
    assert (
        f"user/piper is not authorized to perform: iam:PassRole on resource: {reader}"
        in reasons(live, "may-not-pass", PIPER)["Pipe"]
    )
    # The same through the Pipes API.
    sqs = client(live, "sqs", ADMIN)
    queue = sqs.get_queue_attributes(
        QueueUrl=sqs.get_queue_url(QueueName="may-pass-from")["QueueUrl"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    pipes = client(live, "pipes", PIPER)
    with pytest.raises(pipes.exceptions.ClientError, match="iam:PassRole") as error:
        pipes.create_pipe(Name="direct", RoleArn=reader, Source=queue, Target=queue)
    assert error.value.response["Error"]["Code"] == "AccessDeniedException"
    pipes.create_pipe(Name="direct", RoleArn=forwarder, Source=queue, Target=queue)
    pipes.delete_pipe(Name="direct")


MAPPING = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Jobs: {Type: AWS::SQS::Queue, Properties: {QueueName: !Sub "${AWS::StackName}-jobs"}}
  Done: {Type: AWS::SQS::Queue, Properties: {QueueName: !Sub "${AWS::StackName}-done"}}
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Timeout: 30
      Environment: {Variables: {DONE: !Ref Done}}
      Policies: [SQSSendMessagePolicy: {QueueName: !GetAtt Done.QueueName}]
      Events:
        FromJobs: {Type: SQS, Properties: {Queue: !GetAtt Jobs.Arn, BatchSize: 1}}
      InlineCode: |
        import os, boto3

        def handler(event, context):
            sqs = boto3.client("sqs")
            for record in event["Records"]:
                sqs.send_message(QueueUrl=os.environ["DONE"], MessageBody=record["body"] + " done")
"""

MAPPING_WITHOUT_READ = """
Resources:
  Jobs: {Type: AWS::SQS::Queue, Properties: {QueueName: unread-jobs}}
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}]
      ManagedPolicyArns: [arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]
  Worker:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Role: !GetAtt Role.Arn
      Code: {ZipFile: "def handler(event, context):\\n    return None\\n"}
  Mapping:
    Type: AWS::Lambda::EventSourceMapping
    Properties: {EventSourceArn: !GetAtt Jobs.Arn, FunctionName: !Ref Worker}
"""


def test_an_event_source_mapping_reads_its_queue_as_its_functions_role(live: RunningServer) -> None:
    refused = deploy(live, "unread", MAPPING_WITHOUT_READ)
    assert refused["StackStatus"] == "ROLLBACK_COMPLETE"
    assert (
        "The provided execution role does not have permissions to call ReceiveMessage on SQS"
        in reasons(live, "unread")["Mapping"]
    )
    # SAM's SQS event gives the role AWSLambdaSQSQueueExecutionRole: the mapping runs, the function sends.
    stack = deploy(live, "mapped", MAPPING, Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
    assert stack["StackStatus"] == "CREATE_COMPLETE", reasons(live, "mapped")
    sqs = client(live, "sqs", ADMIN)
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName="mapped-jobs")["QueueUrl"], MessageBody="job")
    done = sqs.get_queue_url(QueueName="mapped-done")["QueueUrl"]
    got = sqs.receive_message(QueueUrl=done, WaitTimeSeconds=20).get("Messages", [])
    assert [m["Body"] for m in got] == ["job done"]


def test_a_function_needs_a_role_lambda_can_assume(live: RunningServer) -> None:
    import io
    import zipfile

    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return 1\n")
    pipes_only = """
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: pipes-not-functions
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement: [{Effect: Allow, Principal: {Service: pipes.amazonaws.com}, Action: sts:AssumeRole}]
"""
    assert deploy(live, "pipes-not-functions", pipes_only)["StackStatus"] == "CREATE_COMPLETE"
    functions = client(live, "lambda", ADMIN)
    for role in ("no-such-role", "pipes-not-functions"):
        role = f"arn:aws:iam::111111111111:role/{role}"
        with pytest.raises(
            functions.exceptions.InvalidParameterValueException, match="cannot be assumed by Lambda"
        ):
            functions.create_function(FunctionName="unassumable", Runtime="python3.12", Role=role,
                                      Handler="index.handler", Code={"ZipFile": package.getvalue()})  # fmt: skip
    # A role of the credentials file serves functions of its own account.
    functions.create_function(FunctionName="assumable", Runtime="python3.12", Handler="index.handler",
                              Role="arn:aws:iam::111111111111:role/forwarder", Code={"ZipFile": package.getvalue()})  # fmt: skip
    with pytest.raises(
        functions.exceptions.InvalidParameterValueException, match="cannot be assumed by Lambda"
    ):
        functions.update_function_configuration(
            FunctionName="assumable", Role="arn:aws:iam::111111111111:role/x"
        )
    functions.delete_function(FunctionName="assumable")


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "templates" / "power-dispatch.yaml"
PUT_EVENTS_GRANT = """              - Effect: Allow
                Action: events:PutEvents
                Resource: !GetAtt PowerEvents.Arn
"""


def pipework_deploy(server: RunningServer, template: Path, key: tuple[str, str] = ADMIN) -> str:
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": key[0],
        "AWS_SECRET_ACCESS_KEY": key[1],
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    env.pop("AWS_SESSION_TOKEN", None)
    done = subprocess.run(
        [sys.executable, "-m", "pipework.cli.main", "deploy", str(template), "--stack-name", "power-dispatch",
         "--endpoint-url", server.endpoint_url],
        capture_output=True, text=True, timeout=180, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_power_dispatch_pipe_stops_without_put_events_and_runs_once_the_template_grants_it(
    clocked: RunningServer, tmp_path: Path
) -> None:
    """The energy platform's story, with their template: its pipe's role misses events:PutEvents, so the pipe stops
    with a permissions error; deploying the template that grants it (and starting the pipe) makes dispatch work."""
    server = clocked
    original = EXAMPLE.read_text()
    assert PUT_EVENTS_GRANT in original
    lacking = tmp_path / "power-dispatch.yaml"
    lacking.write_text(original.replace(PUT_EVENTS_GRANT, ""))
    pipework_deploy(server, lacking)
    ddb, pipes, sqs = (client(server, s, ADMIN) for s in ("dynamodb", "pipes", "sqs"))
    ddb.put_item(TableName="Powers", Item={"subjectId": {"S": "plant-1"}, "megawatts": {"N": "80"}})
    server.advance(0)
    server.advance(600)
    stopped = pipes.describe_pipe(Name="power-dispatch")
    assert stopped["CurrentState"] == "STOPPED", stopped
    assert "NO_PERMISSIONS" in stopped["StateReason"]
    assert "is not authorized to perform: events:PutEvents" in stopped["StateReason"]
    updates = sqs.get_queue_url(QueueName="power-updates")["QueueUrl"]
    assert sqs.receive_message(QueueUrl=updates).get("Messages", []) == []

    pipework_deploy(server, EXAMPLE)  # the template as it is: the role may put events on the bus
    pipes.start_pipe(Name="power-dispatch")
    server.advance(0)
    ddb.put_item(TableName="Powers", Item={"subjectId": {"S": "plant-2"}, "megawatts": {"N": "120"}})
    server.advance(1)
    server.advance(1)
    bodies = [
        json.loads(m["Body"])
        for m in sqs.receive_message(QueueUrl=updates, MaxNumberOfMessages=10)["Messages"]
    ]
    assert {"subjectId": "plant-2", "megawatts": "120"} in [body["detail"] for body in bodies]


def test_cloudwatch_actions_are_named_cloudwatch_as_in_iam(live: RunningServer) -> None:
    cloudwatch = client(live, "cloudwatch", WATCHER)
    cloudwatch.put_metric_data(Namespace="Plant", MetricData=[{"MetricName": "Load", "Value": 1.0}])
    with pytest.raises(cloudwatch.exceptions.ClientError, match="cloudwatch:ListMetrics"):
        cloudwatch.list_metrics()
