"""Every operation of every service Lamina serves maps to its IAM actions and resources."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.loaders import Loader

from lamina.domain.iam_actions import (
    SERVICES,
    RequiredAccess,
    Scope,
    UnmappedOperation,
    operations,
    required_access,
)

ACCOUNT = "123456789012"
SCOPE = Scope("eu-west-1", ACCOUNT, f"arn:aws:iam::{ACCOUNT}:user/alice")
FN = f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function"


def _model_operations(service: str) -> set[str]:
    model: dict[str, Any] = Loader().load_service_model(service, "service-2")
    return set(model["operations"])


@pytest.mark.parametrize("service", SERVICES)
def test_every_model_operation_is_mapped(service: str) -> None:
    mapped = set(operations(service))
    assert _model_operations(service) - mapped == set()
    assert mapped - _model_operations(service) == set()


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_answers_without_parameters(service: str) -> None:
    for operation in operations(service):
        for need in required_access(service, operation, {}, SCOPE):
            assert need.action.split(":", 1)[0] in (service, "apigateway", "iam")
            assert need.resource == "*" or need.resource.startswith("arn:aws:")


def one(service: str, operation: str, **params: Any) -> RequiredAccess:
    needs = required_access(service, operation, params, SCOPE)
    assert len(needs) == 1, needs
    return needs[0]


CASES: list[tuple[str, str, dict[str, Any], str, str]] = [
    ("lambda", "Invoke", {"FunctionName": "f"}, "lambda:InvokeFunction", f"{FN}:f"),
    (
        "lambda",
        "Invoke",
        {"FunctionName": "f", "Qualifier": "live"},
        "lambda:InvokeFunction",
        f"{FN}:f:live",
    ),
    ("lambda", "Invoke", {"FunctionName": f"{FN}:g:3"}, "lambda:InvokeFunction", f"{FN}:g:3"),
    (
        "lambda",
        "InvokeWithResponseStream",
        {"FunctionName": "f"},
        "lambda:InvokeFunction",
        f"{FN}:f",
    ),
    ("lambda", "GetFunction", {"FunctionName": "f"}, "lambda:GetFunction", f"{FN}:f"),
    ("lambda", "ListFunctions", {}, "lambda:ListFunctions", "*"),
    ("lambda", "GetAccountSettings", {}, "lambda:GetAccountSettings", "*"),
    (
        "lambda",
        "GetLayerVersion",
        {"LayerName": "lib", "VersionNumber": 2},
        "lambda:GetLayerVersion",
        f"arn:aws:lambda:eu-west-1:{ACCOUNT}:layer:lib:2",
    ),
    (
        "lambda",
        "GetLayerVersionByArn",
        {"Arn": f"arn:aws:lambda:eu-west-1:{ACCOUNT}:layer:lib:2"},
        "lambda:GetLayerVersion",
        f"arn:aws:lambda:eu-west-1:{ACCOUNT}:layer:lib:2",
    ),
    (
        "lambda",
        "DeleteEventSourceMapping",
        {"UUID": "u-1"},
        "lambda:DeleteEventSourceMapping",
        f"arn:aws:lambda:eu-west-1:{ACCOUNT}:event-source-mapping:u-1",
    ),
    (
        "sqs",
        "SendMessageBatch",
        {"QueueUrl": f"http://localhost:9000/{ACCOUNT}/jobs"},
        "sqs:SendMessage",
        f"arn:aws:sqs:eu-west-1:{ACCOUNT}:jobs",
    ),
    (
        "sqs",
        "ReceiveMessage",
        {"QueueUrl": f"https://sqs.us-east-2.amazonaws.com/{ACCOUNT}/jobs.fifo"},
        "sqs:ReceiveMessage",
        f"arn:aws:sqs:us-east-2:{ACCOUNT}:jobs.fifo",
    ),
    ("sqs", "ListQueues", {}, "sqs:ListQueues", "*"),
    (
        "sqs",
        "CreateQueue",
        {"QueueName": "q"},
        "sqs:CreateQueue",
        f"arn:aws:sqs:eu-west-1:{ACCOUNT}:q",
    ),
    (
        "sns",
        "PublishBatch",
        {"TopicArn": f"arn:aws:sns:eu-west-1:{ACCOUNT}:t"},
        "sns:Publish",
        f"arn:aws:sns:eu-west-1:{ACCOUNT}:t",
    ),
    (
        "sns",
        "Unsubscribe",
        {"SubscriptionArn": f"arn:aws:sns:eu-west-1:{ACCOUNT}:t:0f1e"},
        "sns:Unsubscribe",
        f"arn:aws:sns:eu-west-1:{ACCOUNT}:t",
    ),
    (
        "events",
        "PutRule",
        {"Name": "r"},
        "events:PutRule",
        f"arn:aws:events:eu-west-1:{ACCOUNT}:rule/r",
    ),
    (
        "events",
        "PutTargets",
        {"Rule": "r", "EventBusName": "orders"},
        "events:PutTargets",
        f"arn:aws:events:eu-west-1:{ACCOUNT}:rule/orders/r",
    ),
    (
        "scheduler",
        "CreateSchedule",
        {"Name": "s"},
        "scheduler:CreateSchedule",
        f"arn:aws:scheduler:eu-west-1:{ACCOUNT}:schedule/default/s",
    ),
    (
        "logs",
        "PutLogEvents",
        {"logGroupName": "/aws/lambda/f", "logStreamName": "s"},
        "logs:PutLogEvents",
        f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:/aws/lambda/f:log-stream:s",
    ),
    (
        "logs",
        "DescribeLogGroups",
        {},
        "logs:DescribeLogGroups",
        f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group::log-stream:",
    ),
    (
        "apigateway",
        "GetStage",
        {"restApiId": "a1", "stageName": "prod"},
        "apigateway:GET",
        "arn:aws:apigateway:eu-west-1::/restapis/a1/stages/prod",
    ),
    (
        "apigateway",
        "CreateRestApi",
        {"name": "x"},
        "apigateway:POST",
        "arn:aws:apigateway:eu-west-1::/restapis",
    ),
    (
        "apigatewayv2",
        "DeleteRoute",
        {"ApiId": "a1", "RouteId": "r1"},
        "apigateway:DELETE",
        "arn:aws:apigateway:eu-west-1::/apis/a1/routes/r1",
    ),
    ("iam", "CreateRole", {"RoleName": "r"}, "iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/r"),
    ("iam", "ListAccessKeys", {}, "iam:ListAccessKeys", f"arn:aws:iam::{ACCOUNT}:user/alice"),
    ("iam", "ListRoles", {}, "iam:ListRoles", "*"),
    (
        "sts",
        "AssumeRole",
        {"RoleArn": f"arn:aws:iam::{ACCOUNT}:role/r"},
        "sts:AssumeRole",
        f"arn:aws:iam::{ACCOUNT}:role/r",
    ),
    (
        "kms",
        "Encrypt",
        {"KeyId": "alias/app"},
        "kms:Encrypt",
        f"arn:aws:kms:eu-west-1:{ACCOUNT}:alias/app",
    ),
]


@pytest.mark.parametrize(("service", "operation", "params", "action", "resource"), CASES)
def test_spot_checks(
    service: str, operation: str, params: dict[str, Any], action: str, resource: str
) -> None:
    need = one(service, operation, **params)
    assert (need.action, need.resource) == (action, resource)


def test_create_function_also_passes_its_role() -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/exec"
    needs = required_access("lambda", "CreateFunction", {"FunctionName": "f", "Role": role}, SCOPE)
    assert [(n.action, n.resource) for n in needs] == [
        ("lambda:CreateFunction", f"{FN}:f"),
        ("iam:PassRole", role),
    ]


def test_condition_keys() -> None:
    mapping = one("lambda", "CreateEventSourceMapping", FunctionName="f", EventSourceArn="x")
    assert mapping.context == {"lambda:FunctionArn": f"{FN}:f"}
    permission = one("lambda", "AddPermission", FunctionName="f", Principal="sns.amazonaws.com")
    assert permission.context == {"lambda:Principal": "sns.amazonaws.com"}
    attach = one("iam", "AttachRolePolicy", RoleName="r", PolicyArn="arn:aws:iam::aws:policy/P")
    assert attach.context == {"iam:PolicyARN": "arn:aws:iam::aws:policy/P"}


def test_put_events_needs_each_bus_named() -> None:
    entries = [
        {"Source": "app", "DetailType": "made"},
        {"EventBusName": "orders", "Source": "shop"},
        {"EventBusName": f"arn:aws:events:eu-west-1:{ACCOUNT}:event-bus/orders", "Source": "x"},
    ]
    needs = required_access("events", "PutEvents", {"Entries": entries}, SCOPE)
    head = f"arn:aws:events:eu-west-1:{ACCOUNT}:event-bus"
    assert [(n.resource, dict(n.context)) for n in needs] == [
        (f"{head}/default", {"events:source": ["app"], "events:detail-type": ["made"]}),
        (f"{head}/orders", {"events:source": ["shop", "x"]}),
    ]


def test_operations_that_check_nothing() -> None:
    assert required_access("sts", "GetCallerIdentity", {}, SCOPE) == []
    assert required_access("sts", "GetSessionToken", {}, SCOPE) == []


def test_unknown_operations_are_refused() -> None:
    with pytest.raises(UnmappedOperation):
        required_access("lambda", "MadeUp", {}, SCOPE)
    with pytest.raises(UnmappedOperation):
        required_access("dynamodb", "GetItem", {}, SCOPE)
