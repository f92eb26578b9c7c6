"""IAM roles end to end with boto3 and the AWS CLI: shapes golden-compared with AWS's
recordings (tests/fixtures/aws-recorded/iam), updates, tags, paging, AWS's errors, and
roles surviving a SIGKILL of the server."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime, timezone
from typing import Any

import pytest
from iam_golden import allow, as_recorded, error_of, recorded, trust_policy
from support import ACCOUNT, LaminaServer, aws_cli, unique

BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


@pytest.fixture(scope="module")
def iam(server: LaminaServer) -> Any:
    return server.client("iam")


def test_create_get_and_list_answer_as_aws(iam: Any) -> None:
    name, prefix = unique("role"), unique("path")
    created = iam.create_role(
        RoleName=name,
        Path=f"/{prefix}/",
        AssumeRolePolicyDocument=trust_policy("ec2.amazonaws.com"),
    )
    names = {
        name: "<role-name:1>",
        created["Role"]["RoleId"]: "<role-id:1>",
        f"/{prefix}/": "/<path-prefix>/",
    }
    test = "test_create_describe_role"
    assert created["Role"]["RoleId"].startswith("AROA") and len(created["Role"]["RoleId"]) == 21
    assert as_recorded(created, names) == recorded(test, "create_role_result")
    assert as_recorded(iam.get_role(RoleName=name), names) == recorded(test, "get_role_result")
    listed = iam.list_roles(PathPrefix=f"/{prefix}/")
    assert as_recorded(listed, names) == recorded(test, "list_roles_result")


def test_role_with_tags_answers_as_aws(iam: Any) -> None:
    name = unique("role")
    created = iam.create_role(
        RoleName=name,
        Path="/role-with-tags/",
        AssumeRolePolicyDocument=trust_policy("ec2.amazonaws.com"),
        Tags=[{"Key": "test", "Value": "value"}],
    )
    names = {name: "<role-name:1>", created["Role"]["RoleId"]: "<role-id:1>"}
    test = "test_role_with_tags"
    assert as_recorded(created, names) == recorded(test, "create-role-response")
    assert as_recorded(iam.get_role(RoleName=name), names) == recorded(test, "get-role-response")
    listed = iam.list_roles(PathPrefix="/role-with-tags/")
    listed["Roles"] = [r for r in listed["Roles"] if r["RoleName"] == name]
    assert as_recorded(listed, names) == recorded(test, "list-role-response")


def test_role_with_path_lifecycle_answers_as_aws(iam: Any) -> None:
    name, path = unique("role"), f"/{unique('a')}/{unique('b')}/"
    created = iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=trust_policy())
    names = {name: "<role-name:1>", created["Role"]["RoleId"]: "<role-id:1>", path: "<path>"}
    test = "test_role_with_path_lifecycle"
    assert as_recorded(created, names) == recorded(test, "create-role-response")
    assert as_recorded(iam.get_role(RoleName=name), names) == recorded(test, "get-role-response")
    assert as_recorded(iam.delete_role(RoleName=name), names) == recorded(
        test, "delete-role-response"
    )


def test_update_assume_role_policy_answers_as_aws(iam: Any) -> None:
    name = unique("role")
    created = iam.create_role(
        RoleName=name, AssumeRolePolicyDocument=trust_policy("ec2.amazonaws.com", listed=True)
    )
    names = {name: "<role-name:1>", created["Role"]["RoleId"]: "<role-id:1>"}
    test = "test_update_assume_role_policy"
    assert as_recorded(created, names) == recorded(test, "created_role")
    updated = iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust_policy())
    assert as_recorded(updated, names) == recorded(test, "updated_policy")
    trust = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}


def test_policy_documents_travel_url_encoded_as_aws_sends_them(iam: Any) -> None:
    """A document holding percent-encoded text comes back exactly as written (AWS encodes
    the whole document once; botocore decodes it once)."""
    name, path = unique("role"), f"/{unique('p')}/"
    encoded_arn = "arn%3Aaws%3Aapigateway%3Aus-east-1%3A%3A%2Frestapis%2Faaeeieije"
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceArn": encoded_arn}},
            }
        ],
    }
    created = iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=json.dumps(trust))
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["apigatway:PUT"],
                "Resource": [f"arn:aws:apigateway:us-east-1::/tags/{encoded_arn}"],
            }
        ],
    }
    iam.put_role_policy(RoleName=name, PolicyName="pol", PolicyDocument=json.dumps(policy))
    names = {
        name: "<role-name:1>",
        created["Role"]["RoleId"]: "<role-id:1>",
        path: "<path:1>",
        "pol": "<policy-name:1>",
        "us-east-1": "<region>",
    }
    test = "test_put_role_policy_encoding"
    assert as_recorded(created, names) == recorded(test, "create-role-response")
    got = iam.get_role_policy(RoleName=name, PolicyName="pol")
    assert as_recorded(got, names) == recorded(test, "get-policy-response")
    assert as_recorded(iam.get_role(RoleName=name), names) == recorded(test, "get-role-response")
    listed = iam.list_roles(PathPrefix=path)
    assert as_recorded(listed, names) == recorded(test, "list-roles-response")


def test_malformed_trust_policy_is_refused_as_aws_refuses_it(iam: Any) -> None:
    name = unique("role")
    error = error_of(
        lambda: iam.create_role(RoleName=name, AssumeRolePolicyDocument='{"Version": "2012-10-17"')
    )
    assert error == recorded(
        "test_create_role_with_malformed_assume_role_policy_document", "invalid-json"
    )
    assert error_of(lambda: iam.get_role(RoleName=name))["Error"]["Code"] == "NoSuchEntity"


def test_description_session_duration_and_tags_update(iam: Any) -> None:
    name = unique("role")
    iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=trust_policy(),
        Description="first",
        MaxSessionDuration=7200,
    )
    role = iam.get_role(RoleName=name)["Role"]
    assert (role["Description"], role["MaxSessionDuration"]) == ("first", 7200)
    iam.update_role(RoleName=name, MaxSessionDuration=43200)
    described = iam.update_role_description(RoleName=name, Description="second")["Role"]
    assert (described["Description"], described["MaxSessionDuration"]) == ("second", 43200)
    iam.tag_role(RoleName=name, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    iam.tag_role(RoleName=name, Tags=[{"Key": "A", "Value": "3"}])
    iam.untag_role(RoleName=name, TagKeys=["b"])
    assert iam.list_role_tags(RoleName=name)["Tags"] == [{"Key": "A", "Value": "3"}]
    assert iam.get_role(RoleName=name.upper())["Role"]["RoleName"] == name


def test_list_roles_pages_with_marker(iam: Any) -> None:
    prefix = f"/{unique('page')}/"
    created = sorted(unique(f"r{i}") for i in range(3))
    for name in created:
        iam.create_role(RoleName=name, Path=prefix, AssumeRolePolicyDocument=trust_policy())
    first = iam.list_roles(PathPrefix=prefix, MaxItems=2)
    assert first["IsTruncated"] is True and len(first["Roles"]) == 2
    rest = iam.list_roles(PathPrefix=prefix, MaxItems=2, Marker=first["Marker"])
    assert rest["IsTruncated"] is False and "Marker" not in rest
    assert [r["RoleName"] for r in first["Roles"] + rest["Roles"]] == created
    paged = iam.get_paginator("list_roles").paginate(
        PathPrefix=prefix, PaginationConfig={"PageSize": 1}
    )
    assert [r["RoleName"] for page in paged for r in page["Roles"]] == created


def test_errors_have_aws_status_code_and_message(iam: Any) -> None:
    name = unique("role")
    missing = error_of(lambda: iam.get_role(RoleName=name))
    assert missing["Error"] == {
        "Code": "NoSuchEntity",
        "Message": f"The role with name {name} cannot be found.",
        "Type": "Sender",
    }
    assert missing["ResponseMetadata"]["HTTPStatusCode"] == 404
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_policy())
    exists = error_of(
        lambda: iam.create_role(RoleName=name.upper(), AssumeRolePolicyDocument=trust_policy())
    )
    assert exists["Error"]["Message"] == f"Role with name {name.upper()} already exists."
    assert (exists["Error"]["Code"], exists["ResponseMetadata"]["HTTPStatusCode"]) == (
        "EntityAlreadyExists",
        409,
    )
    bad_name = error_of(
        lambda: iam.create_role(RoleName="a b", AssumeRolePolicyDocument=trust_policy())
    )
    assert bad_name["Error"]["Code"] == "ValidationError"
    assert bad_name["Error"]["Message"] == (
        "1 validation error detected: Value 'a b' at 'roleName' failed to satisfy constraint:"
        " Member must satisfy regular expression pattern: [\\w+=,.@-]+"
    )
    assert bad_name["ResponseMetadata"]["HTTPStatusCode"] == 400
    bad_path = error_of(
        lambda: iam.create_role(
            RoleName=unique("r"), Path="nopath", AssumeRolePolicyDocument=trust_policy()
        )
    )
    assert bad_path["Error"]["Message"] == (
        "1 validation error detected: Value 'nopath' at 'path' failed to satisfy constraint:"
        " Member must satisfy regular expression pattern:"
        " (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)"
    )
    too_long = error_of(lambda: iam.update_role(RoleName=name, MaxSessionDuration=50000))
    assert too_long["Error"]["Message"] == (
        "1 validation error detected: Value '50000' at 'maxSessionDuration' failed to satisfy"
        " constraint: Member must have value less than or equal to 43200"
    )
    assert iam.get_role(RoleName=name)["Role"]["MaxSessionDuration"] == 3600  # unchanged
    identity_policy = error_of(
        lambda: iam.create_role(RoleName=unique("r"), AssumeRolePolicyDocument=allow("s3:*"))
    )
    assert identity_policy["Error"]["Code"] == "MalformedPolicyDocument"


def test_delete_conflicts_while_policies_remain(iam: Any) -> None:
    name = unique("role")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_policy())
    iam.attach_role_policy(RoleName=name, PolicyArn=BASIC)
    iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=allow("sqs:*"))
    attached = error_of(lambda: iam.delete_role(RoleName=name))
    assert attached["Error"] == {
        "Code": "DeleteConflict",
        "Message": "Cannot delete entity, must detach all policies first.",
        "Type": "Sender",
    }
    assert attached["ResponseMetadata"]["HTTPStatusCode"] == 409
    iam.detach_role_policy(RoleName=name, PolicyArn=BASIC)
    inline = error_of(lambda: iam.delete_role(RoleName=name))
    assert inline["Error"]["Message"] == "Cannot delete entity, must delete policies first."
    iam.delete_role_policy(RoleName=name, PolicyName="inline")
    iam.delete_role(RoleName=name)
    assert error_of(lambda: iam.get_role(RoleName=name))["Error"]["Code"] == "NoSuchEntity"


def test_aws_cli_creates_lists_attaches_and_reads_role_policies(
    server: LaminaServer, iam: Any
) -> None:
    name, prefix = unique("cli"), f"/{unique('cli')}/"
    created = json.loads(
        aws_cli(
            server,
            "iam",
            "create-role",
            "--role-name",
            name,
            "--path",
            prefix,
            "--assume-role-policy-document",
            trust_policy(),
        ).stdout
    )
    assert created["Role"]["Arn"] == f"arn:aws:iam::{ACCOUNT}:role{prefix}{name}"
    listed = json.loads(aws_cli(server, "iam", "list-roles", "--path-prefix", prefix).stdout)
    assert [r["RoleName"] for r in listed["Roles"]] == [name]
    aws_cli(server, "iam", "attach-role-policy", "--role-name", name, "--policy-arn", BASIC)
    attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
    assert attached == [{"PolicyName": "AWSLambdaBasicExecutionRole", "PolicyArn": BASIC}]
    iam.put_role_policy(RoleName=name, PolicyName="q", PolicyDocument=allow("sqs:SendMessage"))
    got = json.loads(
        aws_cli(server, "iam", "get-role-policy", "--role-name", name, "--policy-name", "q").stdout
    )
    assert got["PolicyDocument"] == json.loads(allow("sqs:SendMessage"))
    failed = aws_cli(server, "iam", "get-role", "--role-name", unique("none"), check=False)
    assert failed.returncode != 0 and "NoSuchEntity" in failed.stderr


def test_iam_survives_a_sigkill(own_server: Any) -> None:
    first = own_server()
    iam = first.client("iam")
    role = iam.create_role(RoleName="kept", AssumeRolePolicyDocument=trust_policy())["Role"]
    iam.attach_role_policy(RoleName="kept", PolicyArn=BASIC)
    iam.put_role_policy(RoleName="kept", PolicyName="inline", PolicyDocument=allow("sqs:*"))
    iam.create_user(UserName="keeper")
    key = iam.create_access_key(UserName="keeper")["AccessKey"]
    policy = iam.create_policy(PolicyName="kept-policy", PolicyDocument=allow("sns:*"))["Policy"]
    iam.create_policy_version(
        PolicyArn=policy["Arn"], PolicyDocument=allow("sns:Publish"), SetAsDefault=True
    )
    first.stop(9)
    again = own_server(data=first.data_dir).client("iam")
    assert again.get_role(RoleName="kept")["Role"]["RoleId"] == role["RoleId"]
    assert (
        again.list_attached_role_policies(RoleName="kept")["AttachedPolicies"][0]["PolicyArn"]
        == BASIC
    )
    assert again.list_role_policies(RoleName="kept")["PolicyNames"] == ["inline"]
    [listed] = again.list_access_keys(UserName="keeper")["AccessKeyMetadata"]
    assert listed["AccessKeyId"] == key["AccessKeyId"]
    stored = again.get_policy(PolicyArn=policy["Arn"])["Policy"]
    assert stored["DefaultVersionId"] == "v2"
    assert again.get_policy(PolicyArn=BASIC)["Policy"]["AttachmentCount"] == 1


def test_a_missing_member_is_named_as_iam_names_it(server: LaminaServer) -> None:
    now = datetime.now(timezone.utc)
    request = urllib.request.Request(
        server.endpoint + "/",
        data=b"Action=GetRole&Version=2010-05-08",
        method="POST",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Amz-Date": now.strftime("%Y%m%dT%H%M%SZ"),
            "Authorization": "AWS4-HMAC-SHA256 Credential=test/"
            + now.strftime("%Y%m%d")
            + "/us-east-1/iam/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=30)
    body = raised.value.read().decode()
    assert raised.value.code == 400
    assert "<Code>ValidationError</Code>" in body
    assert (
        "<Message>1 validation error detected: Value null at 'roleName' failed to satisfy"
        " constraint: Member must not be null</Message>"
    ) in body
