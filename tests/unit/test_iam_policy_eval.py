"""The one policy evaluator (domain.iam_policy): AWS's documented examples, properties, the
grammar validator's messages and the simulator's answer (golden: recorded IAM response).

Each case's id names the IAM User Guide page it comes from (docs.aws.amazon.com/IAM/latest/
UserGuide/<page>.html)."""

# ruff: noqa: E501  (tables of cases: one case a line)
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lamina.domain.iam_policy import (
    AccessRequest,
    PolicyGrammarError,
    SourcePolicy,
    evaluate,
    simulate,
    validate_policy_document,
)
from lamina.domain.identity import Principal

ACCT = "123456789012"
OTHER = "210987654321"
USER = Principal(f"arn:aws:iam::{ACCT}:user/Bob", ACCT, "user", "AIDAEXAMPLE", user_name="Bob")
ROLE_ARN = f"arn:aws:iam::{ACCT}:role/app/worker"
SESSION = Principal(
    f"arn:aws:sts::{ACCT}:assumed-role/worker/s1", ACCT, "assumed-role", "AROAEX:s1", ROLE_ARN
)
FOREIGN = Principal(f"arn:aws:iam::{OTHER}:user/Eve", OTHER, "user", "AIDAOTHER")
ROOT = Principal.root(ACCT)
BUCKET = "arn:aws:s3:::amzn-s3-demo-bucket"
QUEUE = f"arn:aws:sqs:us-east-1:{ACCT}:queue1"
FN = f"arn:aws:lambda:us-east-1:{ACCT}:function:fn"


def policy(*statements: dict[str, Any], version: str = "2012-10-17") -> dict[str, Any]:
    return {"Version": version, "Statement": list(statements)}


def allow(action: Any = "s3:GetObject", resource: Any = "*", **more: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **more}


def deny(action: Any = "s3:GetObject", resource: Any = "*", **more: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **more}


def ask(
    principal: Principal | None = USER,
    action: str = "s3:GetObject",
    resource: str = f"{BUCKET}/key",
    account: str | None = ACCT,
    service: str | None = None,
    ctx: dict[str, Any] | None = None,
    **context: Any,
) -> AccessRequest:
    given = {**(ctx or {}), **context}
    keys = {key.replace("__", ":").replace("_SLASH_", "/"): v for key, v in given.items()}
    return AccessRequest(principal, action, resource, account, keys, service)


# (id citing the page, identity policies, resource policy, request, expected decision kind)
Case = tuple[str, list[dict[str, Any]], dict[str, Any] | None, AccessRequest, str]
CASES: list[Case] = [
    # --- reference_policies_evaluation-logic -------------------------------------------------
    ("evaluation-logic: nothing allows, implicit deny", [], None, ask(), "implicit-deny"),
    ("evaluation-logic: identity allow", [policy(allow())], None, ask(), "allow"),
    (
        "evaluation-logic: explicit deny overrides allow",
        [policy(allow("s3:*")), policy(deny())],
        None,
        ask(),
        "explicit-deny",
    ),
    (
        "evaluation-logic: deny in resource policy overrides identity allow",
        [policy(allow())],
        policy(deny(Principal={"AWS": USER.arn})),
        ask(),
        "explicit-deny",
    ),
    (
        "evaluation-logic: same account, resource policy naming the user suffices",
        [],
        policy(allow(Principal={"AWS": USER.arn})),
        ask(),
        "allow",
    ),
    (
        "evaluation-logic: same account, resource policy naming the account suffices",
        [],
        policy(allow(Principal={"AWS": ACCT})),
        ask(),
        "allow",
    ),
    ("evaluation-logic: root user of the account", [], None, ask(ROOT), "allow"),
    (
        "evaluation-logic: root user, explicit deny still wins",
        [],
        policy(deny(Principal="*")),
        ask(ROOT),
        "explicit-deny",
    ),
    (
        "evaluation-logic: service principal only via the resource policy",
        [policy(allow("lambda:InvokeFunction"))],
        None,
        ask(None, "lambda:InvokeFunction", FN, service="events.amazonaws.com"),
        "implicit-deny",
    ),
    (
        "evaluation-logic: service principal allowed by the resource policy",
        [],
        policy(allow("lambda:InvokeFunction", FN, Principal={"Service": "events.amazonaws.com"})),
        ask(None, "lambda:InvokeFunction", FN, service="events.amazonaws.com"),
        "allow",
    ),
    # --- reference_policies_evaluation-logic-cross-account -----------------------------------
    (
        "evaluation-logic-cross-account: resource policy alone is not enough",
        [],
        policy(allow(Principal={"AWS": OTHER})),
        ask(FOREIGN),
        "implicit-deny",
    ),
    (
        "evaluation-logic-cross-account: identity policy alone is not enough",
        [policy(allow())],
        None,
        ask(FOREIGN),
        "implicit-deny",
    ),
    (
        "evaluation-logic-cross-account: both allow",
        [policy(allow())],
        policy(allow(Principal={"AWS": f"arn:aws:iam::{OTHER}:root"})),
        ask(FOREIGN),
        "allow",
    ),
    (
        "evaluation-logic-cross-account: resource policy names another account",
        [policy(allow())],
        policy(allow(Principal={"AWS": "111122223333"})),
        ask(FOREIGN),
        "implicit-deny",
    ),
    # --- reference_policies_elements_action / notaction --------------------------------------
    ("elements_action: names ignore case", [policy(allow("S3:getobject"))], None, ask(), "allow"),
    ("elements_action: wildcard", [policy(allow("s3:Get*"))], None, ask(), "allow"),
    ("elements_action: ? wildcard", [policy(allow("s3:GetObjec?"))], None, ask(), "allow"),
    ("elements_action: other service", [policy(allow("sqs:*"))], None, ask(), "implicit-deny"),
    (
        "elements_notaction: Allow NotAction iam:* allows other services",
        [policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})],
        None,
        ask(),
        "allow",
    ),
    (
        "elements_notaction: Allow NotAction iam:* does not allow iam",
        [policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})],
        None,
        ask(action="iam:CreateUser", resource="*"),
        "implicit-deny",
    ),
    # --- reference_policies_elements_resource / notresource ----------------------------------
    (
        "elements_resource: * in the resource part crosses / and :",
        [policy(allow(resource=f"{BUCKET}/*"))],
        None,
        ask(resource=f"{BUCKET}/a/b:c"),
        "allow",
    ),
    (
        "elements_resource: ARNs are case-sensitive",
        [policy(allow(resource=f"{BUCKET}/KEY"))],
        None,
        ask(resource=f"{BUCKET}/key"),
        "implicit-deny",
    ),
    (
        "elements_resource: wildcard stays in its segment",
        [policy(allow("sqs:*", "arn:aws:sqs:*:queue1"))],
        None,
        ask(action="sqs:SendMessage", resource=QUEUE),
        "implicit-deny",
    ),
    (
        "elements_resource: region and account wildcards",
        [policy(allow("sqs:*", "arn:aws:sqs:*:*:queue?"))],
        None,
        ask(action="sqs:SendMessage", resource=QUEUE),
        "allow",
    ),
    (
        "elements_notresource: Deny NotResource protects all but the bucket",
        [policy(allow("s3:*"), deny("s3:*", **{"Resource": None}, NotResource=f"{BUCKET}/*"))],
        None,
        ask(resource="arn:aws:s3:::other/key"),
        "explicit-deny",
    ),
    (
        "elements_notresource: the excluded resource is not denied",
        [policy(allow("s3:*"), deny("s3:*", **{"Resource": None}, NotResource=f"{BUCKET}/*"))],
        None,
        ask(),
        "allow",
    ),
    # --- reference_policies_elements_principal ----------------------------------------------
    (
        "elements_principal: a role ARN grants the role's sessions",
        [],
        policy(allow(Principal={"AWS": ROLE_ARN})),
        ask(SESSION),
        "allow",
    ),
    (
        "elements_principal: a session ARN names that session",
        [],
        policy(allow(Principal={"AWS": SESSION.arn})),
        ask(SESSION),
        "allow",
    ),
    (
        "elements_principal: another user is not named",
        [],
        policy(allow(Principal={"AWS": f"arn:aws:iam::{ACCT}:user/Alice"})),
        ask(),
        "implicit-deny",
    ),
    (
        "elements_principal: everyone, anonymous callers included",
        [],
        policy(allow(Principal={"AWS": "*"})),
        ask(None),
        "allow",
    ),
    (
        "elements_principal: Federated names no Lamina caller",
        [],
        policy(allow(Principal={"Federated": "cognito-identity.amazonaws.com"})),
        ask(),
        "implicit-deny",
    ),
    (
        "elements_notprincipal: Deny everyone but the named user",
        [policy(allow())],
        policy(deny(NotPrincipal={"AWS": f"arn:aws:iam::{ACCT}:user/Alice"})),
        ask(),
        "explicit-deny",
    ),
    (
        "elements_notprincipal: the user and its account listed, the user is exempt",
        [policy(allow())],
        policy(deny(NotPrincipal={"AWS": [USER.arn, f"arn:aws:iam::{ACCT}:root"]})),
        ask(),
        "allow",
    ),
    (
        "elements_notprincipal: only the user listed, its account is still denied",
        [policy(allow())],
        policy(deny(NotPrincipal={"AWS": [USER.arn]})),
        ask(),
        "explicit-deny",
    ),
    (
        "elements_notprincipal: session, role and account listed, the session is exempt",
        [policy(allow())],
        policy(deny(NotPrincipal={"AWS": [SESSION.arn, ROLE_ARN, ACCT]})),
        ask(SESSION),
        "allow",
    ),
    (
        "elements_notprincipal: session and account without the role, still denied",
        [policy(allow())],
        policy(deny(NotPrincipal={"AWS": [SESSION.arn, ACCT]})),
        ask(SESSION),
        "explicit-deny",
    ),
    # --- reference_policies_elements_condition_operators -------------------------------------
    (
        "condition_operators: StringEquals aws:PrincipalTag/job-category",
        [policy(allow(Condition={"StringEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}}))],
        None,
        ask(ctx={"aws__PrincipalTag_SLASH_job-category": "iamuser-admin"}),
        "allow",
    ),
    (
        "condition_operators: key absent, condition false",
        [policy(allow(Condition={"StringEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}}))],
        None,
        ask(),
        "implicit-deny",
    ),
    (
        "condition_operators: StringNotLike key absent is true",
        [policy(allow(Condition={"StringNotLike": {"s3:prefix": "home/*"}}))],
        None,
        ask(),
        "allow",
    ),
    (
        "condition_operators: StringEqualsIgnoreCase",
        [policy(allow(Condition={"StringEqualsIgnoreCase": {"aws:PrincipalTag/team": "Blue"}}))],
        None,
        ask(ctx={"aws__PrincipalTag_SLASH_team": "BLUE"}),
        "allow",
    ),
    (
        "condition_operators: NumericLessThanEquals s3:max-keys 10",
        [policy(allow("s3:ListBucket", Condition={"NumericLessThanEquals": {"s3:max-keys": "10"}}))],
        None,
        ask(action="s3:ListBucket", ctx={"s3__max-keys": "10"}),
        "allow",
    ),
    (
        "condition_operators: NumericLessThanEquals s3:max-keys 11",
        [policy(allow("s3:ListBucket", Condition={"NumericLessThanEquals": {"s3:max-keys": "10"}}))],
        None,
        ask(action="s3:ListBucket", ctx={"s3__max-keys": "11"}),
        "implicit-deny",
    ),
    (
        "condition_operators: DateGreaterThan aws:TokenIssueTime",
        [policy(allow(Condition={"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}}))],
        None,
        ask(aws__TokenIssueTime="2021-06-01T12:00:00Z"),
        "allow",
    ),
    (
        "condition_operators: DateLessThan aws:CurrentTime epoch value",
        [policy(allow(Condition={"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}))],
        None,
        ask(aws__CurrentTime="1500000000"),
        "allow",
    ),
    (
        "condition_operators: Bool aws:SecureTransport false denies",
        [policy(allow(), deny("*", Condition={"Bool": {"aws:SecureTransport": "false"}}))],
        None,
        ask(aws__SecureTransport="false"),
        "explicit-deny",
    ),
    (
        "condition_operators: Bool aws:SecureTransport true passes",
        [policy(allow(), deny("*", Condition={"Bool": {"aws:SecureTransport": "false"}}))],
        None,
        ask(aws__SecureTransport="true"),
        "allow",
    ),
    (
        "condition_operators: BinaryEquals",
        [policy(allow(Condition={"BinaryEquals": {"key": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}))],
        None,
        ask(key="QmluYXJ5VmFsdWVJbkJhc2U2NA=="),
        "allow",
    ),
    (
        "condition_operators: IpAddress v4 CIDR",
        [policy(allow(Condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}))],
        None,
        ask(aws__SourceIp="203.0.113.77"),
        "allow",
    ),
    (
        "condition_operators: IpAddress outside the range",
        [policy(allow(Condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}))],
        None,
        ask(aws__SourceIp="198.51.100.1"),
        "implicit-deny",
    ),
    (
        "condition_operators: IpAddress v6",
        [policy(allow(Condition={"IpAddress": {"aws:SourceIp": "2001:DB8:1234:5678::/64"}}))],
        None,
        ask(aws__SourceIp="2001:db8:1234:5678::9"),
        "allow",
    ),
    (
        "condition_operators: NotIpAddress with a v4 and a v6 range (NOR)",
        [policy(allow(), deny("*", Condition={"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24", "2001:DB8::/32"]}}))],
        None,
        ask(aws__SourceIp="192.0.2.5"),
        "allow",
    ),
    (
        "condition_operators: ArnLike aws:SourceArn (SNS topic to SQS queue)",
        [],
        policy(allow("sqs:SendMessage", QUEUE, Principal={"Service": "sns.amazonaws.com"},
                     Condition={"ArnEquals": {"aws:SourceArn": f"arn:aws:sns:*:{ACCT}:topic*"}})),
        ask(None, "sqs:SendMessage", QUEUE, service="sns.amazonaws.com",
            aws__SourceArn=f"arn:aws:sns:us-east-1:{ACCT}:topic-1"),
        "allow",
    ),
    (
        "condition_operators: Null aws:TokenIssueTime true (long-term keys)",
        [policy(allow(), deny(Condition={"Null": {"aws:TokenIssueTime": "true"}}))],
        None,
        ask(),
        "explicit-deny",
    ),
    (
        "condition_operators: IfExists key absent passes",
        [policy(allow(Condition={"StringEqualsIfExists": {"ec2:InstanceType": ["t1.*", "t2.*"]}}))],
        None,
        ask(),
        "allow",
    ),
    (
        "condition_operators: IfExists key present is checked",
        [policy(allow(Condition={"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*"]}}))],
        None,
        ask(ctx={"ec2__InstanceType": "m5.large"}),
        "implicit-deny",
    ),
    (
        "condition_operators: numeric operator on a string key never matches",
        [policy(allow(Condition={"NumericLessThan": {"aws:SourceAccount": "5"}}))],
        None,
        ask(aws__SourceAccount="1"),
        "implicit-deny",
    ),
    # --- reference_policies_multi-value-conditions -------------------------------------------
    (
        "multi-value-conditions: several keys AND",
        [policy(allow(Condition={"StringEquals": {"aws:PrincipalTag/team": "a", "aws:PrincipalTag/dept": "b"}}))],
        None,
        ask(ctx={"aws__PrincipalTag_SLASH_team": "a"}),
        "implicit-deny",
    ),
    (
        "multi-value-conditions: several values OR",
        [policy(allow(Condition={"StringEquals": {"aws:PrincipalTag/team": ["a", "b"]}}))],
        None,
        ask(ctx={"aws__PrincipalTag_SLASH_team": "b"}),
        "allow",
    ),
    (
        "multi-value-conditions: negated operator's values NOR",
        [policy(allow(Condition={"StringNotEquals": {"aws:PrincipalTag/team": ["a", "b"]}}))],
        None,
        ask(ctx={"aws__PrincipalTag_SLASH_team": "b"}),
        "implicit-deny",
    ),
    (
        "multi-value-conditions: ForAllValues holds when every value is listed",
        [policy(allow(Condition={"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "team"]}}))],
        None,
        ask(aws__TagKeys=["env", "team"]),
        "allow",
    ),
    (
        "multi-value-conditions: ForAllValues fails on an unlisted value",
        [policy(allow(Condition={"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "team"]}}))],
        None,
        ask(aws__TagKeys=["env", "cost"]),
        "implicit-deny",
    ),
    (
        "multi-value-conditions: ForAllValues holds when the key is absent",
        [policy(allow(Condition={"ForAllValues:StringEquals": {"aws:TagKeys": ["env"]}}))],
        None,
        ask(),
        "allow",
    ),
    (
        "multi-value-conditions: ForAnyValue is false when the key is absent",
        [policy(allow(Condition={"ForAnyValue:StringEquals": {"aws:TagKeys": ["env"]}}))],
        None,
        ask(),
        "implicit-deny",
    ),
    (
        "multi-value-conditions: ForAnyValue with one matching value",
        [policy(allow(Condition={"ForAnyValue:StringLike": {"aws:TagKeys": ["cost*"]}}))],
        None,
        ask(aws__TagKeys=["env", "costcenter"]),
        "allow",
    ),
    # --- reference_policies_variables --------------------------------------------------------
    (
        "variables: ${aws:username} in the resource",
        [policy(allow("s3:*", f"{BUCKET}/home/${{aws:username}}/*"))],
        None,
        ask(resource=f"{BUCKET}/home/Bob/notes.txt"),
        "allow",
    ),
    (
        "variables: another user's folder",
        [policy(allow("s3:*", f"{BUCKET}/home/${{aws:username}}/*"))],
        None,
        ask(resource=f"{BUCKET}/home/Alice/notes.txt"),
        "implicit-deny",
    ),
    (
        "variables: not substituted in a 2008-10-17 policy",
        [policy(allow("s3:*", f"{BUCKET}/home/${{aws:username}}/*"), version="2008-10-17")],
        None,
        ask(resource=f"{BUCKET}/home/Bob/notes.txt"),
        "implicit-deny",
    ),
    (
        "variables: a variable without value makes the statement not apply",
        [policy(allow("s3:*", f"{BUCKET}/home/${{aws:username}}/*"))],
        None,
        ask(SESSION, resource=f"{BUCKET}/home/worker/notes.txt"),
        "implicit-deny",
    ),
    (
        "variables: default value",
        [policy(allow("s3:*", f"{BUCKET}/${{aws:PrincipalTag/team, 'company-wide'}}/*"))],
        None,
        ask(resource=f"{BUCKET}/company-wide/a"),
        "allow",
    ),
    (
        "variables: ${*} is a literal asterisk",
        [policy(allow("s3:*", f"{BUCKET}/${{*}}"))],
        None,
        ask(resource=f"{BUCKET}/anything"),
        "implicit-deny",
    ),
    (
        "variables: ${*} matches the asterisk itself",
        [policy(allow("s3:*", f"{BUCKET}/${{*}}${{?}}${{$}}"))],
        None,
        ask(resource=f"{BUCKET}/*?$"),
        "allow",
    ),
    (
        "variables: in a condition (aws:userid)",
        [policy(allow(Condition={"StringLike": {"s3:prefix": "home/${aws:userid}/*"}}))],
        None,
        ask(ctx={"s3__prefix": "home/AIDAEXAMPLE/x"}),
        "allow",
    ),
    (
        "variables: the value of a variable is literal",
        [policy(allow(Condition={"StringLike": {"s3:prefix": "${aws:PrincipalTag/p}"}}))],
        None,
        ask(ctx={"s3__prefix": "abc", "aws__PrincipalTag_SLASH_p": "a*"}),
        "implicit-deny",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("label", "identity", "resource", "request_", "kind"), CASES,
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_documented_examples(
    label: str,
    identity: list[dict[str, Any]],
    resource: dict[str, Any] | None,
    request_: AccessRequest,
    kind: str,
) -> None:
    cleaned = [_drop_none(p) for p in identity]
    decision = evaluate(request_, cleaned, _drop_none(resource) if resource else None)
    assert decision.kind == kind
    assert decision.allowed is (kind == "allow")


def _drop_none(document: dict[str, Any]) -> dict[str, Any]:
    statements = [{k: v for k, v in s.items() if v is not None} for s in document["Statement"]]
    return {**document, "Statement": statements}


def test_decision_names_the_statement_and_its_source() -> None:
    identity = [policy({**allow(), "Sid": "Read"}), policy(allow("s3:Put*"), deny("s3:Get*"))]
    denied = evaluate(ask(), identity)
    assert (denied.kind, denied.statement, denied.source) == ("explicit-deny", "#1", "identity")
    granted = evaluate(ask(), identity[:1])
    assert (granted.statement, granted.source) == ("Read", "identity")
    by_resource = evaluate(ask(), [], policy({**allow(Principal="*"), "Sid": "Pub"}))
    assert (by_resource.statement, by_resource.source) == ("Pub", "resource")
    assert evaluate(ask(), []).statement is None


def test_statement_as_an_object_and_derived_principal_keys() -> None:
    document = {"Version": "2012-10-17", "Statement": allow(Condition={
        "StringEquals": {"aws:PrincipalArn": ROLE_ARN, "aws:PrincipalAccount": ACCT}})}  # fmt: skip
    assert evaluate(ask(SESSION), [document]).allowed
    assert not evaluate(ask(USER), [document]).allowed


# --- properties ---------------------------------------------------------------------------------

ACTIONS = ["s3:GetObject", "s3:PutObject", "sqs:SendMessage", "lambda:InvokeFunction"]
RESOURCES = [f"{BUCKET}/a", f"{BUCKET}/b/c", QUEUE, FN, "*"]
action_patterns = st.sampled_from(ACTIONS + ["s3:*", "*", "s3:Get*", "SQS:send?essage", "lambda:*"])
resource_patterns = st.sampled_from(RESOURCES + [f"{BUCKET}/*", "arn:aws:sqs:*:*:*", "*"])
conditions = st.sampled_from(
    [
        None,
        {"StringEquals": {"aws:PrincipalTag/team": "a"}},
        {"StringNotEquals": {"aws:PrincipalTag/team": ["a", "b"]}},
        {"Bool": {"aws:SecureTransport": "true"}},
        {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
    ]
)


@st.composite
def statements(draw: st.DrawFn, effect: str | None = None) -> dict[str, Any]:
    stmt: dict[str, Any] = {
        "Effect": effect or draw(st.sampled_from(["Allow", "Deny"])),
        draw(st.sampled_from(["Action", "NotAction"])): draw(st.lists(action_patterns, min_size=1, max_size=3)),
        draw(st.sampled_from(["Resource", "NotResource"])): draw(st.lists(resource_patterns, min_size=1, max_size=2)),
    }  # fmt: skip
    condition = draw(conditions)
    if condition is not None:
        stmt["Condition"] = condition
    return stmt


policies = st.lists(
    st.lists(statements(), min_size=1, max_size=4).map(lambda s: policy(*s)), max_size=3
)
callers = st.sampled_from([USER, SESSION, FOREIGN])
requests = st.builds(
    lambda principal, action, resource, team, tls: AccessRequest(
        principal, action, resource, ACCT,
        {"aws:PrincipalTag/team": team, "aws:SecureTransport": tls, "aws:SourceIp": "10.1.2.3"},
    ),
    callers, st.sampled_from(ACTIONS), st.sampled_from(RESOURCES),
    st.sampled_from(["a", "b", "c"]), st.sampled_from(["true", "false"]),
)  # fmt: skip
resource_policies = st.one_of(
    st.none(),
    st.lists(statements(), min_size=1, max_size=3).map(
        lambda s: policy(*({**x, "Principal": {"AWS": ACCT}} for x in s))
    ),
)


@settings(max_examples=150, deadline=None)
@given(policies, resource_policies, requests)
def test_explicit_deny_always_wins(
    identity: list[dict[str, Any]], resource: dict[str, Any] | None, request_: AccessRequest
) -> None:
    denying = policy(deny("*", "*"))
    assert evaluate(request_, [*identity, denying], resource).kind == "explicit-deny"
    wide = policy(*resource["Statement"], deny("*", "*", Principal="*")) if resource else None
    if wide is not None:
        assert evaluate(request_, identity, wide).kind == "explicit-deny"


@settings(max_examples=150, deadline=None)
@given(policies, resource_policies, requests, statements(effect="Allow"))
def test_adding_an_allow_never_denies(
    identity: list[dict[str, Any]],
    resource: dict[str, Any] | None,
    request_: AccessRequest,
    extra: dict[str, Any],
) -> None:
    before = evaluate(request_, identity, resource)
    after = evaluate(request_, [*identity, policy(extra)], resource)
    if before.allowed:
        assert after.allowed
    if before.kind == "explicit-deny":
        assert after.kind == "explicit-deny"


@settings(max_examples=100, deadline=None)
@given(requests)
def test_not_action_never_matches_its_action(request_: AccessRequest) -> None:
    document = policy({"Effect": "Allow", "NotAction": request_.action, "Resource": "*"})
    assert not evaluate(request_, [document]).allowed


@settings(max_examples=100, deadline=None)
@given(policies, requests)
def test_not_resource_and_deny_not_action_spare_what_they_name(
    identity: list[dict[str, Any]], request_: AccessRequest
) -> None:
    spared = {"Effect": "Deny", "NotAction": request_.action, "Resource": "*"}
    spared_resource = {"Effect": "Deny", "Action": "*", "NotResource": request_.resource}
    before = evaluate(request_, identity)
    assert evaluate(request_, [*identity, policy(spared, spared_resource)]) == before
    not_resource = {"Effect": "Allow", "Action": "*", "NotResource": request_.resource}
    assert not evaluate(request_, [policy(not_resource)]).allowed


@settings(max_examples=100, deadline=None)
@given(policies, requests)
def test_action_names_ignore_case(identity: list[dict[str, Any]], request_: AccessRequest) -> None:
    swapped = AccessRequest(
        request_.principal, request_.action.swapcase(), request_.resource,
        request_.resource_account, request_.context,
    )  # fmt: skip
    assert evaluate(request_, identity) == evaluate(swapped, identity)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab.*?[]()+^$\\:/|{}", min_size=1, max_size=12))
def test_a_pattern_without_wildcards_matches_itself_only(name: str) -> None:
    literal = name.replace("*", "").replace("?", "") or "x"
    document = policy(allow(f"svc:{literal}", "*"))
    assert evaluate(ask(action=f"svc:{literal}", resource="*"), [document]).allowed
    assert not evaluate(ask(action=f"svc:{literal}x", resource="*"), [document]).allowed


# --- grammar ------------------------------------------------------------------------------------

GRAMMAR: list[tuple[str, str, Any, str]] = [
    ("not JSON", "identity", "This is not a json document", "Syntax errors in policy."),
    ("not JSON, trust policy", "trust", "{", "This policy contains invalid Json"),
    ("no version", "identity", {"Statement": allow()}, "Policy document must be version 2012-10-17 or greater."),
    ("old version", "identity", policy(allow(), version="2008-10-17"), "Policy document must be version 2012-10-17 or greater."),
    ("unknown version", "identity", policy(allow(), version="2013-10-17"), "Syntax errors in policy."),
    ("no statement", "identity", {"Version": "2012-10-17"}, "Syntax errors in policy."),
    ("empty statements", "identity", policy(), "Syntax errors in policy."),
    ("extra field", "identity", policy(allow(Extra="x")), "Syntax errors in policy."),
    ("bad effect", "identity", policy(allow(Effect="invalid")), "Syntax errors in policy."),
    ("effect case", "identity", policy(allow(Effect="allow")), "The policy failed legacy parsing"),
    ("bad date", "identity", policy(allow(Condition={"DateGreaterThan": {"a": "sdfdsf"}})), "The policy failed legacy parsing"),
    ("unknown operator", "identity", policy(allow(Condition={"x": {"a": "1"}})), "Syntax errors in policy."),
    ("Action and NotAction", "identity", policy(allow(NotAction="s3:x")), "Syntax errors in policy."),
    ("duplicate sid", "identity", policy(allow(Sid="a"), allow(Sid="a")), "Statement IDs (SID) in a single policy must be unique."),
    ("no action", "identity", policy({"Effect": "Allow", "Resource": "*"}), "Policy statement must contain actions."),
    ("no resource", "identity", policy({"Effect": "Allow", "Action": "s3:*"}), "Policy statement must contain resources."),
    ("no vendor", "identity", policy(allow("invalid")), "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."),
    ("two colons", "identity", policy(allow("s3:List:Bucket")), "Actions/Condition can contain only one colon."),
    ("bad vendor", "identity", policy(allow("a a:ListBucket")), "Vendor a a is not valid"),
    ("resource not an ARN", "identity", policy(allow(resource="invalid resource")), 'Resource invalid resource must be in ARN format or "*".'),
    ("bad partition", "identity", policy(allow(resource="aws:s3:::example_bucket")), 'Partition "s3" is not valid for resource "arn:s3:::example_bucket:*".'),
    ("short ARN", "identity", policy(allow(resource="arn:aws:s3::example_bucket")), "The policy failed legacy parsing"),
    ("principal in identity policy", "identity", policy(allow(Principal="*")), "Policy document should not specify a principal."),
    ("no principal in resource policy", "resource", policy(allow()), "Missing required field Principal"),
    ("bad principal", "trust", policy({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": "nobody"}}), 'Invalid principal in policy: "AWS":"nobody"'),
    ("bad service principal", "trust", policy({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.comm"}}), 'Invalid principal in policy: "SERVICE":"lambda.amazonaws.comm"'),
    ("resource in trust policy", "trust", policy(allow("sts:AssumeRole", Principal={"Service": "lambda.amazonaws.com"})), "Has prohibited field Resource"),
    ("trust policy action", "trust", policy({"Effect": "Allow", "Action": "s3:*", "Principal": "*"}), "AssumeRole policy may only specify STS AssumeRole actions."),
]  # fmt: skip


@pytest.mark.parametrize(("label", "kind", "document", "message"), GRAMMAR,
                         ids=[g[0] for g in GRAMMAR])  # fmt: skip
def test_grammar_messages(label: str, kind: Any, document: Any, message: str) -> None:
    text = document if isinstance(document, str) else json.dumps(document)
    with pytest.raises(PolicyGrammarError) as raised:
        validate_policy_document(text, kind)
    assert (raised.value.code, raised.value.message) == ("MalformedPolicyDocument", message)


def test_grammar_accepts_and_sizes() -> None:
    trust = policy({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole"}, version="2008-10-17")  # fmt: skip
    assert validate_policy_document(json.dumps(trust), "trust") == trust
    big = policy(allow(resource=[f"{BUCKET}/{i:04d}" for i in range(200)]))
    text = json.dumps(big, indent=4)
    with pytest.raises(PolicyGrammarError) as raised:
        validate_policy_document(text, "identity")
    assert (raised.value.code, raised.value.message) == (
        "LimitExceeded",
        "Cannot exceed quota for PolicySize: 6144",
    )
    assert validate_policy_document(text, "identity", max_size=10240) == big
    assert validate_policy_document(json.dumps(policy(allow())), "identity")["Statement"]


# --- simulator ----------------------------------------------------------------------------------

RECORDED = Path(__file__).parents[1] / "fixtures/aws-recorded/iam/test_iam_policy.snapshot.json"


def test_simulate_matches_the_recorded_answer() -> None:
    snapshot = json.loads(RECORDED.read_text())
    key = "tests/aws/services/iam/test_iam.py::TestIAMIntegrations::test_simulate_principle_policy[role]"
    expected = snapshot[key]["recorded-content"]["response"]["EvaluationResults"]
    text = json.dumps({"Version": "2012-10-17", "Statement": {
        "Sid": "", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}})  # fmt: skip
    results = simulate(
        [SourcePolicy("<source-policy-id:1>", text)],
        ["s3:PutObject", "s3:GetObjectVersion"],
        ["arn:<partition>:s3:::bucket"],
        {},
        caller_arn=f"arn:aws:iam::{ACCT}:role/r",
    )
    assert results == expected


def test_simulate_deny_missing_keys_and_cross_account() -> None:
    text = json.dumps(policy(allow("s3:*"), deny("s3:Delete*", Condition={
        "Bool": {"aws:MultiFactorAuthPresent": "false"}})), indent=2)  # fmt: skip
    denied, allowed = simulate(
        [("inline", text)], ["s3:DeleteObject", "s3:GetObject"], [], {
            "aws:MultiFactorAuthPresent": ["false"]}, USER.arn)  # fmt: skip
    assert denied["EvalDecision"] == "explicitDeny"
    assert denied["EvalResourceName"] == "*"
    assert [m["StartPosition"] for m in denied["MatchedStatements"]] == [{"Line": 9, "Column": 6}]
    assert allowed["EvalDecision"] == "allowed" and allowed["MissingContextValues"] == []
    (missing,) = simulate([("inline", text)], ["s3:DeleteObject"], ["*"], {}, USER.arn)
    assert missing["MissingContextValues"] == ["aws:MultiFactorAuthPresent"]
    resource_policy = json.dumps(policy(allow("s3:GetObject", Principal={"AWS": OTHER})))
    (cross,) = simulate([("inline", text)], ["s3:GetObject"], [f"{BUCKET}/k"], {}, FOREIGN.arn,
                        resource_policy, f"arn:aws:iam::{ACCT}:root")  # fmt: skip
    assert cross["EvalDecision"] == "allowed"
    assert cross["EvalDecisionDetails"] == {"IAM Policy": "allowed", "Resource Policy": "allowed"}
    assert {m["SourcePolicyType"] for m in cross["MatchedStatements"]} == {
        "IAM Policy", "Resource Policy"}  # fmt: skip
