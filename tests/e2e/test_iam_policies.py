"""IAM managed policies end to end with boto3: creation and attachment golden-compared with
AWS's recordings, versions and their limit, AttachmentCount, listings, AWS's managed
policies, inline policy errors and the policy simulator."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

import pytest
from iam_golden import allow, as_recorded, error_of, recorded, trust_policy
from support import ACCOUNT, LaminaServer, unique

BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
AWS_MANAGED = {
    "service-role/AWSLambdaBasicExecutionRole",
    "service-role/AWSLambdaSQSQueueExecutionRole",
    "service-role/AWSLambdaKinesisExecutionRole",
    "service-role/AWSLambdaDynamoDBExecutionRole",
    "service-role/AWSLambdaRole",
    "AWSLambdaExecute",
    "service-role/AWSLambdaVPCAccessExecutionRole",
    "AWSXRayDaemonWriteAccess",
    "AdministratorAccess",
    "AmazonSQSFullAccess",
    "AmazonSNSFullAccess",
    "AmazonEventBridgeFullAccess",
    "CloudWatchLogsFullAccess",
    "AWSLambda_FullAccess",
}


@pytest.fixture(scope="module")
def iam(server: LaminaServer) -> Any:
    return server.client("iam")


@pytest.mark.parametrize("kind", ["role", "user"])
def test_create_and_attach_policy_answer_as_aws(iam: Any, kind: str) -> None:
    name, policy_name = unique(kind), unique("policy-name-long")
    if kind == "role":
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_policy())

        def attach(arn: str) -> Any:
            return iam.attach_role_policy(RoleName=name, PolicyArn=arn)
    else:
        iam.create_user(UserName=name)

        def attach(arn: str) -> Any:
            return iam.attach_user_policy(UserName=name, PolicyArn=arn)

    created = iam.create_policy(PolicyName=policy_name, PolicyDocument=allow("s3:ListBucket"))
    names = {policy_name: "<policy-name:1>", created["Policy"]["PolicyId"]: "<policy-id:1>"}
    test = f"test_{kind}_attach_policy"
    assert as_recorded(created, names) == recorded(test, "create_policy_response")
    for arn, key in [
        ("longpolicynamebutnoarn", "non_existent_malformed_policy_arn"),
        (policy_name, "existing_policy_name_provided"),
        (created["Policy"]["Arn"] + "123", "valid_arn_not_existent"),
    ]:
        assert as_recorded(error_of(partial(attach, arn)), names) == recorded(test, key)
    assert as_recorded(attach(created["Policy"]["Arn"]), names) == recorded(
        test, "valid_policy_arn"
    )
    assert iam.get_policy(PolicyArn=created["Policy"]["Arn"])["Policy"]["AttachmentCount"] == 1


def test_deleting_a_policy_that_does_not_exist_answers_as_aws(iam: Any) -> None:
    arn = f"arn:aws:iam::{ACCOUNT}:policy/non-existent-policy"
    error = error_of(lambda: iam.delete_policy(PolicyArn=arn))
    assert as_recorded(error, {}) == recorded(
        "test_delete_non_existent_policy_returns_no_such_entity", "delete-non-existent-policy-exc"
    )


def test_versions_default_and_limit(iam: Any) -> None:
    arn = iam.create_policy(PolicyName=unique("v"), PolicyDocument=allow("sqs:SendMessage"))[
        "Policy"
    ]["Arn"]
    v2 = iam.create_policy_version(PolicyArn=arn, PolicyDocument=allow("sqs:*"))["PolicyVersion"]
    assert (v2["VersionId"], v2["IsDefaultVersion"]) == ("v2", False) and "Document" not in v2
    for _ in range(3):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=allow("sns:*"), SetAsDefault=True)
    limit = error_of(lambda: iam.create_policy_version(PolicyArn=arn, PolicyDocument=allow("s3:*")))
    assert limit["Error"] == {
        "Code": "LimitExceeded",
        "Message": "A managed policy can have up to 5 versions. Before you create a new version,"
        " you must delete an existing version.",
        "Type": "Sender",
    }
    assert limit["ResponseMetadata"]["HTTPStatusCode"] == 409
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [(v["VersionId"], v["IsDefaultVersion"]) for v in versions] == [
        ("v5", True),
        ("v4", False),
        ("v3", False),
        ("v2", False),
        ("v1", False),
    ]
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v5"
    default = error_of(lambda: iam.delete_policy_version(PolicyArn=arn, VersionId="v5"))
    assert default["Error"]["Code"] == "DeleteConflict"
    assert default["Error"]["Message"] == "Cannot delete the default version of a policy."
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v2")
    document = iam.get_policy_version(PolicyArn=arn, VersionId="v2")["PolicyVersion"]
    assert document["Document"] == json.loads(allow("sqs:*")) and document["IsDefaultVersion"]
    missing = error_of(lambda: iam.get_policy_version(PolicyArn=arn, VersionId="v9"))
    assert missing["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert missing["Error"]["Code"] == "NoSuchEntity"
    more = error_of(lambda: iam.delete_policy(PolicyArn=arn))
    assert more["Error"]["Code"] == "DeleteConflict"
    for version in ("v1", "v3", "v4", "v5"):
        iam.delete_policy_version(PolicyArn=arn, VersionId=version)
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=allow("s3:*"))
    assert [v["VersionId"] for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]] == [
        "v6",
        "v2",
    ]


def test_attachment_count_listings_and_delete_conflict(iam: Any) -> None:
    prefix = f"/{unique('lp')}/"
    policy = iam.create_policy(
        PolicyName=unique("att"), Path=prefix, PolicyDocument=allow("logs:*"), Description="d"
    )["Policy"]
    assert policy["Description"] == "d"
    role, user = unique("r"), unique("u")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust_policy())
    iam.create_user(UserName=user)
    iam.attach_role_policy(RoleName=role, PolicyArn=policy["Arn"])
    iam.attach_user_policy(UserName=user, PolicyArn=policy["Arn"])
    assert iam.get_policy(PolicyArn=policy["Arn"])["Policy"]["AttachmentCount"] == 2
    entities = iam.list_entities_for_policy(PolicyArn=policy["Arn"])
    assert [r["RoleName"] for r in entities["PolicyRoles"]] == [role]
    assert [u["UserName"] for u in entities["PolicyUsers"]] == [user]
    only_roles = iam.list_entities_for_policy(PolicyArn=policy["Arn"], EntityFilter="Role")
    assert only_roles["PolicyUsers"] == [] and len(only_roles["PolicyRoles"]) == 1
    local = iam.list_policies(Scope="Local", PathPrefix=prefix)["Policies"]
    assert [p["Arn"] for p in local] == [policy["Arn"]] and "Description" not in local[0]
    conflict = error_of(lambda: iam.delete_policy(PolicyArn=policy["Arn"]))
    assert conflict["Error"] == {
        "Code": "DeleteConflict",
        "Message": "Cannot delete a policy attached to entities.",
        "Type": "Sender",
    }
    iam.detach_role_policy(RoleName=role, PolicyArn=policy["Arn"])
    iam.detach_user_policy(UserName=user, PolicyArn=policy["Arn"])
    assert iam.get_policy(PolicyArn=policy["Arn"])["Policy"]["AttachmentCount"] == 0
    iam.delete_policy(PolicyArn=policy["Arn"])
    assert iam.list_policies(Scope="Local", PathPrefix=prefix)["Policies"] == []
    duplicate_name = unique("dup")
    iam.create_policy(PolicyName=duplicate_name, PolicyDocument=allow("s3:*"))
    again = error_of(
        lambda: iam.create_policy(PolicyName=duplicate_name, PolicyDocument=allow("s3:*"))
    )
    assert again["Error"]["Message"] == (
        f"A policy called {duplicate_name} already exists. Duplicate names are not allowed."
    )
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 409


def test_aws_managed_policies_are_in_every_account(iam: Any) -> None:
    listed = {
        p["Arn"].removeprefix("arn:aws:iam::aws:policy/")
        for page in iam.get_paginator("list_policies").paginate(Scope="AWS")
        for p in page["Policies"]
    }
    assert listed == AWS_MANAGED
    basic = iam.get_policy(PolicyArn=BASIC)["Policy"]
    assert (basic["Path"], basic["DefaultVersionId"]) == ("/service-role/", "v1")
    document = iam.get_policy_version(PolicyArn=BASIC, VersionId="v1")["PolicyVersion"]["Document"]
    assert document == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": "*",
            }
        ],
    }
    role = unique("managed")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust_policy())
    iam.attach_role_policy(RoleName=role, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    attached = iam.list_policies(Scope="AWS", OnlyAttached=True)["Policies"]
    assert "arn:aws:iam::aws:policy/AdministratorAccess" in {p["Arn"] for p in attached}
    refused = error_of(lambda: iam.delete_policy(PolicyArn=BASIC))
    assert refused["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_malformed_and_oversized_documents_are_refused(iam: Any) -> None:
    name = unique("doc")
    principal = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}],
        }
    )
    error = error_of(lambda: iam.create_policy(PolicyName=name, PolicyDocument=principal))
    assert error["Error"] == {
        "Code": "MalformedPolicyDocument",
        "Message": "Policy document should not specify a principal.",
        "Type": "Sender",
    }
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_policy())
    syntax = error_of(
        lambda: iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument="[]")
    )
    assert syntax["Error"]["Code"] == "MalformedPolicyDocument"
    big = allow([f"s3:Action{i:05d}" for i in range(800)])
    oversized = error_of(
        lambda: iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=big)
    )
    assert oversized["Error"]["Code"] == "LimitExceeded"
    assert oversized["Error"]["Message"] == (
        f"Maximum policy size of 10240 bytes exceeded for role {name}"
    )
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == []
    missing = error_of(lambda: iam.get_role_policy(RoleName=name, PolicyName="p"))
    assert missing["Error"]["Message"] == "The role policy with name p cannot be found."


def _positions_out(value: Any) -> Any:
    """``value`` without statement positions (the evaluator's business, docs/iam-policies.md)."""
    if isinstance(value, dict):
        return {
            k: _positions_out(v)
            for k, v in value.items()
            if k not in ("StartPosition", "EndPosition")
        }
    if isinstance(value, list):
        return [_positions_out(v) for v in value]
    return value


def test_simulate_principal_policy_answers_as_aws(iam: Any) -> None:
    role = unique("sim")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust_policy())
    iam.put_role_policy(
        RoleName=role, PolicyName="put", PolicyDocument=allow("s3:PutObject", "arn:aws:s3:::*")
    )
    arn = iam.get_role(RoleName=role)["Role"]["Arn"]
    answer = iam.simulate_principal_policy(
        PolicySourceArn=arn,
        ActionNames=["s3:PutObject", "s3:GetObjectVersion"],
        ResourceArns=["arn:aws:s3:::bucket"],
    )
    expected = recorded("test_simulate_principle_policy[role]", "response")
    got = as_recorded(answer, {'"put"': '"<source-policy-id:1>"'})
    assert got["IsTruncated"] is False
    assert _positions_out(got["EvaluationResults"]) == _positions_out(expected["EvaluationResults"])
    custom = iam.simulate_custom_policy(
        PolicyInputList=[allow("sqs:*")], ActionNames=["sqs:SendMessage", "sns:Publish"]
    )["EvaluationResults"]
    assert [(r["EvalActionName"], r["EvalDecision"]) for r in custom] == [
        ("sqs:SendMessage", "allowed"),
        ("sns:Publish", "implicitDeny"),
    ]
    assert custom[0]["MatchedStatements"][0]["SourcePolicyId"] == "PolicyInputList.1"
    paged = iam.simulate_custom_policy(
        PolicyInputList=[allow("sqs:*")], ActionNames=["sqs:A", "sqs:B", "sqs:C"], MaxItems=2
    )
    assert paged["IsTruncated"] is True and len(paged["EvaluationResults"]) == 2
    rest = iam.simulate_custom_policy(
        PolicyInputList=[allow("sqs:*")],
        ActionNames=["sqs:A", "sqs:B", "sqs:C"],
        MaxItems=2,
        Marker=paged["Marker"],
    )
    assert [r["EvalActionName"] for r in rest["EvaluationResults"]] == ["sqs:C"]
    nobody = error_of(
        lambda: iam.simulate_principal_policy(
            PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/{unique('ghost')}",
            ActionNames=["s3:GetObject"],
        )
    )
    assert nobody["Error"]["Code"] == "NoSuchEntity"
