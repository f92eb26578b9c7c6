"""The resource-policy evaluator (domain.policies_eval), table-driven over the statements
AddPermission writes (domain.policies.statement) and hand-written IAM statements."""

from __future__ import annotations

from typing import Any

import pytest

from lamina.domain.policies import AddPermissionRequest, statement
from lamina.domain.policies_eval import (
    PolicyRequest,
    action_matches,
    arn_matches,
    invocation_context,
    is_allowed,
    principal_account,
)

ACCT = "123456789012"
OTHER = "210987654321"
FN = f"arn:aws:lambda:us-east-1:{ACCT}:function:fn"
ALIAS = f"{FN}:live"
INVOKE = "lambda:InvokeFunction"
INVOKE_URL = "lambda:InvokeFunctionUrl"
RULE = f"arn:aws:events:us-east-1:{ACCT}:rule/nightly"
API = f"arn:aws:execute-api:us-east-1:{ACCT}:abc123/prod/GET/items"


def grant(resource: str = FN, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"statement_id": "s", "action": INVOKE, "principal": "*"}
    request = AddPermissionRequest(function="fn", qualifier=None, **{**base, **fields})
    return statement(request, resource)


def ask(principal: str, action: str = INVOKE, resource: str = FN, **context: Any) -> PolicyRequest:
    return PolicyRequest(principal, action, resource, invocation_context(**context))


CASES: list[tuple[str, list[dict[str, Any]], PolicyRequest, bool]] = [
    # EventBridge rule -> function: service principal and ArnLike AWS:SourceArn.
    (
        "rule allowed",
        [grant(principal="events.amazonaws.com", source_arn=RULE)],
        ask("events.amazonaws.com", source_arn=RULE),
        True,
    ),
    (
        "other rule",
        [grant(principal="events.amazonaws.com", source_arn=RULE)],
        ask("events.amazonaws.com", source_arn=RULE + "x"),
        False,
    ),
    (
        "no source arn given",
        [grant(principal="events.amazonaws.com", source_arn=RULE)],
        ask("events.amazonaws.com"),
        False,
    ),
    (
        "other service",
        [grant(principal="events.amazonaws.com", source_arn=RULE)],
        ask("sns.amazonaws.com", source_arn=RULE),
        False,
    ),
    (
        "other action",
        [grant(principal="events.amazonaws.com", source_arn=RULE)],
        ask("events.amazonaws.com", INVOKE_URL, source_arn=RULE),
        False,
    ),
    (
        "service name case-insensitive",
        [grant(principal="events.amazonaws.com")],
        ask("Events.AmazonAWS.com"),
        True,
    ),
    # API Gateway with wildcards in the SourceArn.
    (
        "api wildcard stage",
        [
            grant(
                principal="apigateway.amazonaws.com",
                source_arn=f"arn:aws:execute-api:us-east-1:{ACCT}:abc123/*/GET/items",
            )
        ],
        ask("apigateway.amazonaws.com", source_arn=API),
        True,
    ),
    (
        "api any route",
        [
            grant(
                principal="apigateway.amazonaws.com",
                source_arn=f"arn:aws:execute-api:us-east-1:{ACCT}:abc123/*",
            )
        ],
        ask("apigateway.amazonaws.com", source_arn=API),
        True,
    ),
    (
        "api question mark",
        [
            grant(
                principal="apigateway.amazonaws.com",
                source_arn=f"arn:aws:execute-api:us-east-1:{ACCT}:abc12?/*",
            )
        ],
        ask("apigateway.amazonaws.com", source_arn=API),
        True,
    ),
    (
        "api other id",
        [
            grant(
                principal="apigateway.amazonaws.com",
                source_arn=f"arn:aws:execute-api:us-east-1:{ACCT}:zzz/*",
            )
        ],
        ask("apigateway.amazonaws.com", source_arn=API),
        False,
    ),
    (
        "api wildcard stays in its segment",
        [grant(principal="apigateway.amazonaws.com", source_arn="arn:aws:execute-api:*:abc123/*")],
        ask("apigateway.amazonaws.com", source_arn=API),
        False,
    ),
    # Function URL with AuthType NONE: "*" + lambda:FunctionUrlAuthType.
    (
        "url none",
        [grant(action=INVOKE_URL, function_url_auth_type="NONE")],
        ask("*", INVOKE_URL, function_url_auth_type="NONE"),
        True,
    ),
    (
        "url of other auth type",
        [grant(action=INVOKE_URL, function_url_auth_type="NONE")],
        ask("*", INVOKE_URL, function_url_auth_type="AWS_IAM"),
        False,
    ),
    (
        "url condition without url",
        [grant(action=INVOKE_URL, function_url_auth_type="NONE")],
        ask("*", INVOKE_URL),
        False,
    ),
    (
        "url grant is not invoke",
        [grant(action=INVOKE_URL, function_url_auth_type="NONE")],
        ask("*", INVOKE, function_url_auth_type="NONE"),
        False,
    ),
    # lambda:InvokedViaFunctionUrl (Bool): only through a URL.
    ("via url", [grant(invoked_via_function_url=True)], ask("*", via_function_url=True), True),
    ("not via url", [grant(invoked_via_function_url=True)], ask("*"), False),
    # Account principals: the root ARN is the whole account.
    ("account id", [grant(principal=ACCT)], ask(ACCT), True),
    ("user of account", [grant(principal=ACCT)], ask(f"arn:aws:iam::{ACCT}:user/ann"), True),
    (
        "session of account",
        [grant(principal=ACCT)],
        ask(f"arn:aws:sts::{ACCT}:assumed-role/r/s"),
        True,
    ),
    ("other account", [grant(principal=ACCT)], ask(OTHER), False),
    ("anonymous is no account", [grant(principal=ACCT)], ask("*"), False),
    ("service is no account", [grant(principal=ACCT)], ask("s3.amazonaws.com"), False),
    # Role and user ARNs.
    (
        "role itself",
        [grant(principal=f"arn:aws:iam::{ACCT}:role/app")],
        ask(f"arn:aws:iam::{ACCT}:role/app"),
        True,
    ),
    (
        "session of role",
        [grant(principal=f"arn:aws:iam::{ACCT}:role/app")],
        ask(f"arn:aws:sts::{ACCT}:assumed-role/app/session-1"),
        True,
    ),
    (
        "session of other role",
        [grant(principal=f"arn:aws:iam::{ACCT}:role/app")],
        ask(f"arn:aws:sts::{ACCT}:assumed-role/application/s"),
        False,
    ),
    (
        "other user",
        [grant(principal=f"arn:aws:iam::{ACCT}:user/ann")],
        ask(f"arn:aws:iam::{ACCT}:user/bob"),
        False,
    ),
    # "*" is anyone.
    ("wildcard principal", [grant()], ask("s3.amazonaws.com"), True),
    ("wildcard principal anonymous", [grant()], ask("*"), True),
    # Conditions AddPermission writes.
    (
        "source account",
        [grant(principal="s3.amazonaws.com", source_account=ACCT)],
        ask("s3.amazonaws.com", source_account=ACCT),
        True,
    ),
    (
        "other source account",
        [grant(principal="s3.amazonaws.com", source_account=ACCT)],
        ask("s3.amazonaws.com", source_account=OTHER),
        False,
    ),
    (
        "event source token",
        [grant(event_source_token="tok")],
        ask("*", event_source_token="tok"),
        True,
    ),
    (
        "wrong event source token",
        [grant(event_source_token="tok")],
        ask("*", event_source_token="bad"),
        False,
    ),
    ("organization unknown", [grant(principal_org_id="o-1234567890")], ask("*"), False),
    # Resources: a qualifier's statement is not the function's.
    ("alias grant, unqualified ask", [grant(resource=ALIAS)], ask("*"), False),
    ("alias grant, alias ask", [grant(resource=ALIAS)], ask("*", resource=ALIAS), True),
    ("function grant, alias ask", [grant()], ask("*", resource=ALIAS), False),
    # No statements, nothing allowed.
    ("empty policy", [], ask("*"), False),
]


@pytest.mark.parametrize(("label", "statements", "request_", "allowed"), CASES,
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_invocation_grants(
    label: str, statements: list[dict[str, Any]], request_: PolicyRequest, allowed: bool
) -> None:
    assert is_allowed(statements, request_) is allowed


def stmt(**fields: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": "*", "Action": INVOKE, "Resource": FN, **fields}


IAM_CASES: list[tuple[str, list[dict[str, Any]], PolicyRequest, bool]] = [
    ("lambda:*", [stmt(Action="lambda:*")], ask("*", INVOKE_URL), True),
    ("case-insensitive action", [stmt(Action="LAMBDA:invoke*")], ask("*"), True),
    ("action list", [stmt(Action=["lambda:GetFunction", INVOKE])], ask("*"), True),
    ("star action", [stmt(Action="*")], ask("*"), True),
    ("NotAction", [stmt(Action=None, NotAction="lambda:InvokeFunctionUrl")], ask("*"), True),
    (
        "resource wildcard",
        [stmt(Resource=f"arn:aws:lambda:*:{ACCT}:function:*")],
        ask("*", resource=ALIAS),
        True,
    ),
    ("AWS star", [stmt(Principal={"AWS": "*"})], ask(OTHER), True),
    (
        "service list",
        [stmt(Principal={"Service": ["sns.amazonaws.com", "s3.amazonaws.com"]})],
        ask("s3.amazonaws.com"),
        True,
    ),
    (
        "deny wins",
        [stmt(), stmt(Effect="Deny", Principal={"Service": "s3.amazonaws.com"})],
        ask("s3.amazonaws.com"),
        False,
    ),
    (
        "deny elsewhere",
        [stmt(), stmt(Effect="Deny", Principal={"Service": "s3.amazonaws.com"})],
        ask("sns.amazonaws.com"),
        True,
    ),
    (
        "negated absent",
        [stmt(Condition={"StringNotEquals": {"aws:SourceAccount": OTHER}})],
        ask("*"),
        True,
    ),
    (
        "negated present",
        [stmt(Condition={"StringNotEquals": {"aws:SourceAccount": OTHER}})],
        ask("*", source_account=OTHER),
        False,
    ),
    (
        "IfExists absent",
        [stmt(Condition={"ArnLikeIfExists": {"aws:SourceArn": RULE}})],
        ask("*"),
        True,
    ),
    (
        "IfExists present",
        [stmt(Condition={"ArnLikeIfExists": {"aws:SourceArn": RULE}})],
        ask("*", source_arn=API),
        False,
    ),
    ("Null true", [stmt(Condition={"Null": {"aws:SourceArn": "true"}})], ask("*"), True),
    ("Null false", [stmt(Condition={"Null": {"aws:SourceArn": "false"}})], ask("*"), False),
    (
        "key names any case",
        [stmt(Condition={"StringEquals": {"AWS:SOURCEACCOUNT": ACCT}})],
        ask("*", source_account=ACCT),
        True,
    ),
    (
        "several values are alternatives",
        [stmt(Condition={"StringEquals": {"aws:SourceAccount": [OTHER, ACCT]}})],
        ask("*", source_account=ACCT),
        True,
    ),
    (
        "StringLike",
        [stmt(Condition={"StringLike": {"lambda:EventSourceToken": "amzn1.*"}})],
        ask("*", event_source_token="amzn1.ask"),
        True,
    ),
    (
        "values are case-sensitive",
        [stmt(Condition={"StringEquals": {"aws:SourceAccount": "A"}})],
        ask("*", source_account="a"),
        False,
    ),
    (
        "IgnoreCase",
        [stmt(Condition={"StringEqualsIgnoreCase": {"aws:SourceAccount": "A"}})],
        ask("*", source_account="a"),
        True,
    ),
    (
        "Bool as JSON true",
        [stmt(Condition={"Bool": {"lambda:InvokedViaFunctionUrl": True}})],
        ask("*", via_function_url=True),
        True,
    ),
    (
        "unknown operator",
        [stmt(Condition={"NumericLessThan": {"aws:SourceAccount": "5"}})],
        ask("*", source_account="1"),
        False,
    ),
    ("no principal", [{"Effect": "Allow", "Action": INVOKE, "Resource": FN}], ask("*"), False),
]


@pytest.mark.parametrize(("label", "statements", "request_", "allowed"), IAM_CASES,
                         ids=[c[0] for c in IAM_CASES])  # fmt: skip
def test_iam_statement_rules(
    label: str, statements: list[dict[str, Any]], request_: PolicyRequest, allowed: bool
) -> None:
    cleaned = [{k: v for k, v in s.items() if v is not None} for s in statements]
    assert is_allowed(cleaned, request_) is allowed


def test_matchers() -> None:
    assert action_matches("lambda:Invoke?unction", INVOKE)
    assert not action_matches("lambda:Invoke", INVOKE)
    assert arn_matches("arn:aws:s3:::bucket", "arn:aws:s3:::bucket")
    assert not arn_matches("arn:aws:s3:::bucket", "arn:aws:s3:::bucket2")
    assert arn_matches("*", RULE)
    assert arn_matches("arn:aws:sns:*:*:topic", f"arn:aws:sns:us-east-1:{ACCT}:topic")
    assert not arn_matches("arn:aws:sns:*:topic", f"arn:aws:sns:us-east-1:{ACCT}:topic")
    # Regex characters in policies are literal.
    assert not arn_matches("arn:aws:s3:::a.c", "arn:aws:s3:::abc")
    assert principal_account(f"arn:aws:iam::{ACCT}:role/x") == ACCT
    assert principal_account("events.amazonaws.com") is None
