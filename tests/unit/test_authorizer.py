"""The edge's authorizer (``--iam audit|enforce``) and Lambda's execution-role checks, with
the real policy evaluator over fake IAM and resource-policy sources."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import pytest

from lamina.api.authorization import (
    Authorizer,
    ForbiddenAccessDenied,
    QueryAccessDenied,
    SnsAuthorizationError,
)
from lamina.api.execution_role_checks import ExecutionRoles, role_session
from lamina.domain.context import RequestContext
from lamina.domain.destinations import DeliveryFailed
from lamina.domain.errors import AccessDeniedException, AwsError, InvalidParameterValueException
from lamina.domain.event_source_mapping import EventSourceMapping
from lamina.domain.identity import Principal
from lamina.services.destination_gate import DestinationGate, gated
from lamina.services.event_sources.poll_gate import PollGate

ACCOUNT = "123456789012"
REGION = "us-east-1"
FN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function"
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:jobs"
ALICE = Principal(
    f"arn:aws:iam::{ACCOUNT}:user/alice", ACCOUNT, "user", "AIDAALICE", user_name="alice"
)
BOB = Principal(f"arn:aws:iam::{ACCOUNT}:user/bob", ACCOUNT, "user", "AIDABOB", user_name="bob")


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: str, resource: str, sid: str | None = None) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Action": action, "Resource": resource}
    return {**statement, "Sid": sid} if sid else statement


def deny(action: str, resource: str, sid: str) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Deny", "Action": action, "Resource": resource}


class Identities:
    def __init__(self, by_arn: dict[str, list[Mapping[str, Any]]]) -> None:
        self.by_arn = by_arn
        self.asked: list[str] = []

    def policies_of(self, principal: Principal) -> list[Mapping[str, Any]]:
        key = principal.role_arn or principal.arn
        self.asked.append(key)
        return self.by_arn.get(key, [])


class Resources:
    def __init__(self, by_arn: dict[str, Mapping[str, Any]] | None = None) -> None:
        self.by_arn = by_arn or {}

    def policy_of(self, resource: str) -> Mapping[str, Any] | None:
        return self.by_arn.get(resource)


IDENTITIES = Identities(
    {
        ALICE.arn: [policy(allow("lambda:GetFunction", f"{FN}:a"))],
        BOB.arn: [
            policy(
                allow("lambda:*", "*"),
                allow("sqs:*", "*"),
                deny("lambda:DeleteFunction", f"{FN}:a", "NoDeletes"),
            )
        ],
    }
)


def ctx(principal: Principal | None) -> RequestContext:
    return RequestContext("req-1", ACCOUNT, REGION, principal=principal)


def enforcing(resources: Resources | None = None) -> Authorizer:
    return Authorizer("enforce", IDENTITIES, resources)


def denied(
    authorizer: Authorizer, principal: Principal, service: str, op: str, **params: Any
) -> AwsError:
    with pytest.raises(AwsError) as caught:
        authorizer.authorize(ctx(principal), service, op, params)
    return caught.value


def test_modes() -> None:
    with pytest.raises(ValueError, match="audit or enforce"):
        Authorizer("off", IDENTITIES)


def test_allowed_by_the_identity_policy() -> None:
    enforcing().authorize(ctx(ALICE), "lambda", "GetFunction", {"FunctionName": "a"})


def test_implicit_deny_in_aws_words() -> None:
    error = denied(enforcing(), ALICE, "lambda", "GetFunction", FunctionName="b")
    assert isinstance(error, AccessDeniedException)
    assert (error.status, error.code) == (403, "AccessDeniedException")
    assert error.message == (
        f"User: {ALICE.arn} is not authorized to perform: lambda:GetFunction on resource: "
        f"{FN}:b because no identity-based policy allows the lambda:GetFunction action"
    )
    invoke = denied(enforcing(), ALICE, "lambda", "Invoke", FunctionName="a", Qualifier="live")
    assert f"lambda:InvokeFunction on resource: {FN}:a:live because" in invoke.message


def test_explicit_deny_wins() -> None:
    authorizer = enforcing()
    authorizer.authorize(ctx(BOB), "lambda", "DeleteFunction", {"FunctionName": "b"})
    error = denied(authorizer, BOB, "lambda", "DeleteFunction", FunctionName="a")
    assert error.message == (
        f"User: {BOB.arn} is not authorized to perform: lambda:DeleteFunction on resource: "
        f"{FN}:a with an explicit deny in an identity-based policy"
    )


def test_each_protocol_gets_its_services_error() -> None:
    url = f"http://localhost/{ACCOUNT}/jobs"
    sqs = denied(enforcing(), ALICE, "sqs", "SendMessage", QueueUrl=url)
    assert isinstance(sqs, ForbiddenAccessDenied)
    assert (sqs.status, sqs.query_code) == (403, "AccessDenied")
    assert f"sqs:SendMessage on resource: {QUEUE} because" in sqs.message
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:t"
    sns = denied(enforcing(), ALICE, "sns", "Publish", TopicArn=topic)
    assert isinstance(sns, SnsAuthorizationError)
    assert (sns.status, sns.code) == (403, "AuthorizationError")
    iam = denied(enforcing(), ALICE, "iam", "ListRoles")
    assert isinstance(iam, QueryAccessDenied)
    assert (iam.status, iam.code) == (403, "AccessDenied")
    role = f"arn:aws:iam::{ACCOUNT}:role/r"
    sts = denied(enforcing(), ALICE, "sts", "AssumeRole", RoleArn=role)
    assert (sts.status, sts.code) == (403, "AccessDenied")
    assert (
        sts.message
        == f"User: {ALICE.arn} is not authorized to perform: sts:AssumeRole on resource: {role}"
    )
    logs = denied(enforcing(), ALICE, "logs", "DescribeLogGroups")
    assert (logs.status, logs.code, logs.message_key) == (400, "AccessDeniedException", "message")


def test_a_resource_policy_naming_the_principal_allows_within_the_account() -> None:
    queue_policy = policy(
        {"Effect": "Allow", "Principal": {"AWS": ALICE.arn}, "Action": "sqs:*", "Resource": QUEUE}
    )
    authorizer = enforcing(Resources({QUEUE: queue_policy}))
    authorizer.authorize(
        ctx(ALICE), "sqs", "SendMessage", {"QueueUrl": f"http://localhost/{ACCOUNT}/jobs"}
    )


def test_root_and_lamina_itself_are_not_asked_about() -> None:
    identities = Identities({})
    authorizer = Authorizer("enforce", identities)
    authorizer.authorize(ctx(Principal.root(ACCOUNT)), "lambda", "DeleteFunction", {})
    authorizer.authorize(ctx(None), "lambda", "DeleteFunction", {})
    assert identities.asked == []


def test_operations_without_permissions_need_no_policy() -> None:
    enforcing().authorize(ctx(ALICE), "sts", "GetCallerIdentity", {})


def test_audit_logs_and_answers(caplog: pytest.LogCaptureFixture) -> None:
    authorizer = Authorizer("audit", IDENTITIES)
    with caplog.at_level(logging.WARNING, logger="lamina.iam"):
        authorizer.authorize(ctx(BOB), "lambda", "DeleteFunction", {"FunctionName": "a"})
        authorizer.authorize(ctx(ALICE), "lambda", "ListFunctions", {})
        authorizer.authorize(ctx(ALICE), "lambda", "GetFunction", {"FunctionName": "a"})
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert "explicit deny by statement NoDeletes of the identity policy" in lines[0]
    assert "lambda:ListFunctions on resource: *" in lines[1]
    assert "no statement allows it" in lines[1]


# --- execution roles -------------------------------------------------------------------------

TRUSTED = f"arn:aws:iam::{ACCOUNT}:role/trusted"
UNTRUSTED = f"arn:aws:iam::{ACCOUNT}:role/untrusted"
POLLER = f"arn:aws:iam::{ACCOUNT}:role/poller"


class Roles:
    roles = {
        TRUSTED: "lambda.amazonaws.com",
        UNTRUSTED: "ec2.amazonaws.com",
        POLLER: "lambda.amazonaws.com",
    }

    def role(self, arn: str) -> Any | None:
        return self.roles.get(arn)

    def trusts(self, role: Any, service_principal: str) -> bool:
        return bool(role == service_principal)


ROLE_POLICIES = Identities(
    {
        POLLER: [
            policy(allow("sqs:ReceiveMessage", QUEUE), allow("sqs:GetQueueAttributes", QUEUE))
        ],
        TRUSTED: [
            policy(
                allow("sqs:ReceiveMessage", "*"),
                allow("sqs:DeleteMessage", "*"),
                allow("sqs:GetQueueAttributes", "*"),
            )
        ],
    }
)
FUNCTION_ROLES = {"reader": POLLER, "worker": TRUSTED}


def role_checked() -> Authorizer:
    roles = ExecutionRoles(
        Roles(), ROLE_POLICIES, Resources(), lambda region, name: FUNCTION_ROLES.get(name)
    )
    return Authorizer("enforce", IDENTITIES, None, roles)


@pytest.mark.parametrize("role", [UNTRUSTED, f"arn:aws:iam::{ACCOUNT}:role/missing"])
@pytest.mark.parametrize("operation", ["CreateFunction", "UpdateFunctionConfiguration"])
def test_a_role_lambda_cannot_assume(role: str, operation: str) -> None:
    root = Principal.root(ACCOUNT)
    with pytest.raises(InvalidParameterValueException) as caught:
        role_checked().authorize(
            ctx(root), "lambda", operation, {"FunctionName": "f", "Role": role}
        )
    assert caught.value.message == "The role defined for the function cannot be assumed by Lambda."
    assert caught.value.status == 400


def test_a_trusted_role_passes() -> None:
    root = Principal.root(ACCOUNT)
    role_checked().authorize(
        ctx(root), "lambda", "CreateFunction", {"FunctionName": "f", "Role": TRUSTED}
    )


def test_a_malformed_role_is_left_to_the_handlers_validation() -> None:
    root = Principal.root(ACCOUNT)
    role_checked().authorize(ctx(root), "lambda", "CreateFunction", {"Role": "not-an-arn"})


def test_sqs_mapping_needs_the_pollers_permissions() -> None:
    root = ctx(Principal.root(ACCOUNT))
    authorizer = role_checked()
    with pytest.raises(InvalidParameterValueException) as caught:
        authorizer.authorize(
            root,
            "lambda",
            "CreateEventSourceMapping",
            {"FunctionName": "reader", "EventSourceArn": QUEUE},
        )
    assert caught.value.message == (
        "The provided execution role does not have permissions to call DeleteMessage on SQS"
    )
    authorizer.authorize(
        root,
        "lambda",
        "CreateEventSourceMapping",
        {"FunctionName": "worker", "EventSourceArn": QUEUE},
    )


def test_audit_mode_logs_role_refusals(caplog: pytest.LogCaptureFixture) -> None:
    roles = ExecutionRoles(Roles(), ROLE_POLICIES, Resources(), lambda region, name: None)
    authorizer = Authorizer("audit", IDENTITIES, None, roles)
    with caplog.at_level(logging.WARNING, logger="lamina.iam"):
        authorizer.authorize(
            ctx(Principal.root(ACCOUNT)), "lambda", "CreateFunction", {"Role": UNTRUSTED}
        )
    assert [r.getMessage() for r in caplog.records] == [
        "IAM audit: would refuse CreateFunction: The role defined for the function cannot be "
        "assumed by Lambda."
    ]


def test_role_session() -> None:
    session = role_session(TRUSTED)
    assert session.arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/trusted/lamina"
    assert (session.kind, session.role_arn, session.account_id) == (
        "assumed-role",
        TRUSTED,
        ACCOUNT,
    )


# --- the poll gate of SQS mappings ---------------------------------------------------------


def _mapping(reason: str = "USER_INITIATED") -> EventSourceMapping:
    return EventSourceMapping(
        "u-1", REGION, ACCOUNT, QUEUE, "reader", None, f"{FN}:reader", True, "Enabled", 0.0,
        state_transition_reason=reason,
    )  # fmt: skip


def test_the_poll_gate_is_open_until_installed() -> None:
    mapping = _mapping()
    assert PollGate().gated(mapping) == (mapping, True)


def test_a_blocked_mapping_says_why_until_allowed_again() -> None:
    roles = ExecutionRoles(
        Roles(), ROLE_POLICIES, Resources(), lambda region, name: FUNCTION_ROLES.get(name)
    )
    gate = PollGate()
    gate.check = lambda m: roles.poller_blocked(m.region, m.function_name, m.event_source_arn)
    shown, allowed = gate.gated(_mapping())
    reason = "The provided execution role does not have permissions to call DeleteMessage on SQS"
    assert (shown.state_transition_reason, allowed) == (reason, False)
    assert gate.gated(shown) == (shown, False)
    FUNCTION_ROLES["reader"] = TRUSTED
    try:
        again, allowed = gate.gated(shown)
    finally:
        FUNCTION_ROLES["reader"] = POLLER
    assert (again.state_transition_reason, allowed) == ("USER_INITIATED", True)


# --- destinations ---------------------------------------------------------------------------


class Recorded:
    def __init__(self) -> None:
        self.delivered: list[str] = []

    async def deliver(self, target: str, body: bytes, delivery: dict[str, Any]) -> None:
        self.delivered.append(target)


def test_destinations_go_through_the_functions_role() -> None:
    inner = Recorded()
    gate = DestinationGate()
    destinations = gated({"sqs": inner}, gate, REGION)
    delivery = {"kind": "destination", "function": "reader", "requestId": "r"}
    asyncio.run(destinations["sqs"].deliver(QUEUE, b"{}", delivery))  # open until installed
    roles = ExecutionRoles(
        Roles(), ROLE_POLICIES, Resources(), lambda region, name: FUNCTION_ROLES.get(name)
    )
    gate.check = roles.function_role_denial
    with pytest.raises(DeliveryFailed) as caught:
        asyncio.run(destinations["sqs"].deliver(QUEUE, b"{}", delivery))
    assert str(caught.value) == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/poller/reader is not authorized to perform: "
        f"sqs:SendMessage on resource: {QUEUE} because no identity-based policy allows the "
        "sqs:SendMessage action"
    )
    assert inner.delivered == [QUEUE]
