"""The AWS managed policies Pipework models (those templates and SAM attach most, for the services Pipework
serves), by ARN. Their statements are AWS's, cut to the actions Pipework serves; an AWS managed policy not listed
here is recorded on its role but grants nothing (the stack event says so)."""

from __future__ import annotations

from typing import Any

_PREFIX = "arn:aws:iam::aws:policy/"


def _allow(*statements: tuple[list[str] | str, list[str] | str]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": action, "Resource": resource} for action, resource in statements
        ],
    }


_LOGS = (["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], "*")

AWS_MANAGED: dict[str, dict[str, Any]] = {
    _PREFIX + "AdministratorAccess": _allow(("*", "*")),
    _PREFIX + "PowerUserAccess": {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*"},
            {
                "Effect": "Allow",
                "Action": ["iam:CreateServiceLinkedRole", "iam:DeleteServiceLinkedRole", "iam:ListRoles"],
                "Resource": "*",
            },
        ],
    },
    _PREFIX + "service-role/AWSLambdaBasicExecutionRole": _allow(_LOGS),
    _PREFIX + "service-role/AWSLambdaSQSQueueExecutionRole": _allow(
        (["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], "*"), _LOGS
    ),
    _PREFIX + "service-role/AWSLambdaDynamoDBExecutionRole": _allow(
        (
            [
                "dynamodb:DescribeStream",
                "dynamodb:GetRecords",
                "dynamodb:GetShardIterator",
                "dynamodb:ListStreams",
            ],
            "*",
        ),
        _LOGS,
    ),
    _PREFIX + "service-role/AWSLambdaRole": _allow((["lambda:InvokeFunction"], "*")),
    _PREFIX + "AWSLambdaExecute": _allow((["logs:*"], "arn:aws:logs:*:*:*")),
    _PREFIX + "AWSLambda_FullAccess": _allow(
        (["lambda:*", "logs:*", "events:*", "sqs:*", "dynamodb:*", "sns:*", "cloudwatch:*"], "*")
    ),
    _PREFIX + "AmazonSQSFullAccess": _allow((["sqs:*"], "*")),
    _PREFIX + "AmazonSQSReadOnlyAccess": _allow(
        (
            [
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
                "sqs:ListDeadLetterSourceQueues",
                "sqs:ListQueues",
                "sqs:ListMessageMoveTasks",
                "sqs:ListQueueTags",
            ],
            "*",
        )
    ),
    _PREFIX + "AmazonSNSFullAccess": _allow((["sns:*"], "*")),
    _PREFIX + "AmazonSNSReadOnlyAccess": _allow((["sns:GetTopicAttributes", "sns:List*"], "*")),
    _PREFIX + "AmazonDynamoDBFullAccess": _allow((["dynamodb:*"], "*")),
    _PREFIX + "AmazonDynamoDBReadOnlyAccess": _allow(
        (
            [
                "dynamodb:BatchGetItem",
                "dynamodb:Describe*",
                "dynamodb:List*",
                "dynamodb:GetItem",
                "dynamodb:Query",
                "dynamodb:Scan",
                "dynamodb:GetRecords",
                "dynamodb:GetShardIterator",
            ],
            "*",
        )
    ),
    _PREFIX + "AmazonEventBridgeFullAccess": _allow(
        (["events:*", "schemas:*", "scheduler:*", "pipes:*"], "*")
    ),
    _PREFIX + "AmazonEventBridgeReadOnlyAccess": _allow(
        (["events:Describe*", "events:List*", "events:TestEventPattern"], "*")
    ),
    _PREFIX + "AmazonEventBridgeSchedulerFullAccess": _allow((["scheduler:*"], "*")),
    _PREFIX + "AmazonEventBridgePipesFullAccess": _allow((["pipes:*"], "*")),
    _PREFIX + "CloudWatchFullAccess": _allow((["cloudwatch:*", "logs:*", "sns:*"], "*")),
    _PREFIX + "CloudWatchLogsFullAccess": _allow((["logs:*"], "*")),
    _PREFIX + "CloudWatchLogsReadOnlyAccess": _allow(
        (["logs:Describe*", "logs:Get*", "logs:List*", "logs:FilterLogEvents", "logs:StartQuery"], "*")
    ),
}
