"""AWS's managed policies that Lambda users attach, present in every account under
``arn:aws:iam::aws:policy/...`` with their documents, paths and default versions as AWS's
managed policy reference shows them. They cannot be changed or deleted; their
``AttachmentCount`` counts the account's attachments.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any

from lamina.services.iam.model import ManagedPolicy, PolicyVersion

AWS_POLICY_PREFIX = "arn:aws:iam::aws:policy"

_LOGS_WRITE = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]


def _allow(actions: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resource, **extra}


def _pass_role(sid: str, service: str) -> dict[str, Any]:
    return _allow(
        "iam:PassRole",
        "arn:aws:iam::*:role/*",
        Sid=sid,
        Condition={"StringLike": {"iam:PassedToService": service}},
    )


def _service_linked(sid: str, role: str, service: str) -> dict[str, Any]:
    return _allow(
        "iam:CreateServiceLinkedRole",
        f"arn:aws:iam::*:role/aws-service-role/{service}/{role}",
        Sid=sid,
        Condition={"StringEquals": {"iam:AWSServiceName": service}},
    )


# (name, path, default version, created, updated, description, statements)
_POLICIES: list[tuple[str, str, str, str, str, str, list[dict[str, Any]]]] = [
    (
        "AWSLambdaBasicExecutionRole",
        "/service-role/",
        "v1",
        "2015-04-09T15:03:43",
        "2015-04-09T15:03:43",
        "Provides write permissions to CloudWatch Logs.",
        [_allow(_LOGS_WRITE)],
    ),
    (
        "AWSLambdaSQSQueueExecutionRole",
        "/service-role/",
        "v1",
        "2018-06-14T21:50:45",
        "2018-06-14T21:50:45",
        "Provides receive message, delete message, and read attribute access to SQS queues, "
        "and write permissions to CloudWatch logs.",
        [
            _allow(
                [
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes",
                    *_LOGS_WRITE,
                ]
            )
        ],
    ),
    (
        "AWSLambdaKinesisExecutionRole",
        "/service-role/",
        "v2",
        "2015-04-09T15:14:16",
        "2018-11-19T20:09:24",
        "Provides list and read access to Kinesis streams and write permissions to "
        "CloudWatch logs.",
        [
            _allow(
                [
                    "kinesis:DescribeStream",
                    "kinesis:DescribeStreamSummary",
                    "kinesis:GetRecords",
                    "kinesis:GetShardIterator",
                    "kinesis:ListShards",
                    "kinesis:ListStreams",
                    "kinesis:SubscribeToShard",
                    *_LOGS_WRITE,
                ]
            )
        ],
    ),
    (
        "AWSLambdaDynamoDBExecutionRole",
        "/service-role/",
        "v1",
        "2015-04-09T15:09:29",
        "2015-04-09T15:09:29",
        "Provides list and read access to DynamoDB streams and write permissions to "
        "CloudWatch logs.",
        [
            _allow(
                [
                    "dynamodb:DescribeStream",
                    "dynamodb:GetRecords",
                    "dynamodb:GetShardIterator",
                    "dynamodb:ListStreams",
                    *_LOGS_WRITE,
                ]
            )
        ],
    ),
    (
        "AWSLambdaRole",
        "/service-role/",
        "v1",
        "2015-02-06T18:41:28",
        "2015-02-06T18:41:28",
        "Default policy for AWS Lambda service role.",
        [_allow(["lambda:InvokeFunction"], ["*"])],
    ),
    (
        "AWSLambdaExecute",
        "/",
        "v1",
        "2015-02-06T18:40:46",
        "2015-02-06T18:40:46",
        "Provides Put, Get access to S3 and full access to CloudWatch Logs.",
        [
            _allow(["logs:*"], "arn:aws:logs:*:*:*"),
            _allow(["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::*"),
        ],
    ),
    (
        "AWSLambdaVPCAccessExecutionRole",
        "/service-role/",
        "v3",
        "2016-02-11T23:15:26",
        "2024-01-05T22:38:00",
        "Provides minimum permissions for a Lambda function to execute while accessing a "
        "resource within a VPC - create, describe, delete network interfaces and write "
        "permissions to CloudWatch Logs.",
        [
            _allow(
                [
                    *_LOGS_WRITE,
                    "ec2:CreateNetworkInterface",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeSubnets",
                    "ec2:DeleteNetworkInterface",
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:UnassignPrivateIpAddresses",
                ],
                Sid="AWSLambdaVPCAccessExecutionPermissions",
            )
        ],
    ),
    (
        "AWSXRayDaemonWriteAccess",
        "/",
        "v1",
        "2018-08-28T23:00:33",
        "2018-08-28T23:00:33",
        "Allow the AWS X-Ray Daemon to relay raw trace segments data to the service's API "
        "and retrieve sampling data (rules, targets, etc.) to be used by the X-Ray SDK.",
        [
            _allow(
                [
                    "xray:PutTraceSegments",
                    "xray:PutTelemetryRecords",
                    "xray:GetSamplingRules",
                    "xray:GetSamplingTargets",
                    "xray:GetSamplingStatisticSummaries",
                ],
                ["*"],
            )
        ],
    ),
    (
        "AdministratorAccess",
        "/",
        "v1",
        "2015-02-06T18:39:46",
        "2015-02-06T18:39:46",
        "Provides full access to AWS services and resources.",
        [_allow("*")],
    ),
    (
        "AmazonSQSFullAccess",
        "/",
        "v1",
        "2015-02-06T18:41:07",
        "2015-02-06T18:41:07",
        "Provides full access to Amazon SQS via the AWS Management Console.",
        [_allow(["sqs:*"])],
    ),
    (
        "AmazonSNSFullAccess",
        "/",
        "v1",
        "2015-02-06T18:40:42",
        "2015-02-06T18:40:42",
        "Provides full access to Amazon SNS via the AWS Management Console.",
        [_allow(["sns:*"])],
    ),
    (
        "AmazonEventBridgeFullAccess",
        "/",
        "v5",
        "2019-07-11T14:08:35",
        "2025-01-22T01:37:00",
        "Provides full access to Amazon EventBridge.",
        [
            _allow(["events:*", "schemas:*", "scheduler:*", "pipes:*"], Sid="EventBridgeActions"),
            _service_linked(
                "IAMCreateServiceLinkedRoleForApiDestinations",
                "AWSServiceRoleForAmazonEventBridgeApiDestinations",
                "apidestinations.events.amazonaws.com",
            ),
            _service_linked(
                "IAMCreateServiceLinkedRoleForAmazonEventBridgeSchemas",
                "AWSServiceRoleForSchemas",
                "schemas.amazonaws.com",
            ),
            _allow(
                [
                    "secretsmanager:CreateSecret",
                    "secretsmanager:UpdateSecret",
                    "secretsmanager:DeleteSecret",
                    "secretsmanager:GetSecretValue",
                    "secretsmanager:PutSecretValue",
                ],
                "arn:aws:secretsmanager:*:*:secret:events!*",
                Sid="SecretsManagerAccessForApiDestinations",
            ),
            _pass_role("IAMPassRoleAccessForEventBridge", "events.amazonaws.com"),
            _pass_role("IAMPassRoleAccessForPipes", "pipes.amazonaws.com"),
            _pass_role("IAMPassRoleForScheduler", "scheduler.amazonaws.com"),
        ],
    ),
    (
        "CloudWatchLogsFullAccess",
        "/",
        "v2",
        "2015-02-06T18:40:02",
        "2023-12-01T00:00:00",
        "Provides full access to CloudWatch Logs",
        [_allow(["logs:*", "cloudwatch:GenerateQuery"], Sid="CloudWatchLogsFullAccess")],
    ),
    (
        "AWSLambda_FullAccess",
        "/",
        "v2",
        "2020-11-17T21:14:00",
        "2025-03-17T21:37:00",
        "Grants full access to AWS Lambda service, AWS Lambda console features, and other "
        "related AWS services.",
        [
            _allow(
                [
                    "cloudformation:DescribeStacks",
                    "cloudformation:ListStackResources",
                    "cloudwatch:ListMetrics",
                    "cloudwatch:GetMetricData",
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeVpcs",
                    "kms:ListAliases",
                    "iam:GetPolicy",
                    "iam:GetPolicyVersion",
                    "iam:GetRole",
                    "iam:GetRolePolicy",
                    "iam:ListAttachedRolePolicies",
                    "iam:ListRolePolicies",
                    "iam:ListRoles",
                    "lambda:*",
                    "logs:DescribeLogGroups",
                    "states:DescribeStateMachine",
                    "states:ListStateMachines",
                    "tag:GetResources",
                    "xray:GetTraceSummaries",
                    "xray:BatchGetTraces",
                ]
            ),
            _allow(
                "iam:PassRole",
                Condition={"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
            ),
            _allow(
                [
                    "logs:DescribeLogStreams",
                    "logs:GetLogEvents",
                    "logs:FilterLogEvents",
                    "logs:StartLiveTail",
                    "logs:StopLiveTail",
                ],
                "arn:aws:logs:*:*:log-group:/aws/lambda/*",
            ),
        ],
    ),
]


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


def _policy_id(name: str) -> str:
    digest = hashlib.sha256(name.encode()).hexdigest().upper()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    return "ANPA" + "".join(alphabet[int(digest[i : i + 2], 16) % 32] for i in range(0, 34, 2))


def _build() -> dict[str, ManagedPolicy]:
    out: dict[str, ManagedPolicy] = {}
    for name, path, version, created, updated, description, statements in _POLICIES:
        arn = f"{AWS_POLICY_PREFIX}{path}{name}"
        document = json.dumps({"Version": "2012-10-17", "Statement": statements}, indent=2)
        out[arn] = ManagedPolicy(
            arn=arn,
            name=name,
            path=path,
            policy_id=_policy_id(name),
            created=_epoch(created),
            updated=_epoch(updated),
            default_version=version,
            versions=(PolicyVersion(version, document, _epoch(updated)),),
            next_version=int(version[1:]) + 1,
            description=description,
            aws_managed=True,
        )
    return out


AWS_MANAGED: dict[str, ManagedPolicy] = _build()
