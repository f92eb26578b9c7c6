"""IAM users and access keys end to end with boto3: shapes, GetUser of the caller, renames,
tags, the two-key limit, key status, DeleteUser's conflicts, and a user's key signing
requests."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from iam_golden import allow, error_of
from support import ACCOUNT, REGION, LaminaServer, unique

BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


@pytest.fixture(scope="module")
def iam(server: LaminaServer) -> Any:
    return server.client("iam")


def client_of(server: LaminaServer, key: dict[str, Any]) -> Any:
    return boto3.client(
        "iam",
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )


def test_user_shapes(iam: Any) -> None:
    name = unique("user")
    created = iam.create_user(UserName=name, Path="/team/", Tags=[{"Key": "k", "Value": "v"}])
    user = created["User"]
    assert set(user) == {"Path", "UserName", "UserId", "Arn", "CreateDate", "Tags"}
    assert re.fullmatch(r"AIDA[A-Z0-9]{17}", user["UserId"])
    assert user["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/team/{name}"
    got = iam.get_user(UserName=name)["User"]
    assert got["Tags"] == [{"Key": "k", "Value": "v"}] and got["UserId"] == user["UserId"]
    [listed] = iam.list_users(PathPrefix="/team/")["Users"]
    assert "Tags" not in listed and listed["UserName"] == name
    iam.tag_user(UserName=name, Tags=[{"Key": "x", "Value": "y"}])
    iam.untag_user(UserName=name, TagKeys=["k"])
    assert iam.list_user_tags(UserName=name)["Tags"] == [{"Key": "x", "Value": "y"}]


def test_get_user_without_a_name_is_the_caller(server: LaminaServer, iam: Any) -> None:
    root = iam.get_user()["User"]
    assert root["Arn"] == f"arn:aws:iam::{ACCOUNT}:root" and root["UserId"] == ACCOUNT
    name = unique("me")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    mine = client_of(server, key)
    assert mine.get_user()["User"]["UserName"] == name
    # Key operations without UserName act on the caller's own keys.
    assert [k["AccessKeyId"] for k in mine.list_access_keys()["AccessKeyMetadata"]] == [
        key["AccessKeyId"]
    ]


def test_access_keys_lifecycle_and_limit(iam: Any) -> None:
    name = unique("keys")
    iam.create_user(UserName=name)
    first = iam.create_access_key(UserName=name)["AccessKey"]
    assert re.fullmatch(r"AKIA[A-Z0-9]{16}", first["AccessKeyId"])
    assert len(first["SecretAccessKey"]) == 40 and first["Status"] == "Active"
    second = iam.create_access_key(UserName=name)["AccessKey"]
    third = error_of(lambda: iam.create_access_key(UserName=name))
    assert third["Error"] == {
        "Code": "LimitExceeded",
        "Message": "Cannot exceed quota for AccessKeysPerUser: 2",
        "Type": "Sender",
    }
    assert third["ResponseMetadata"]["HTTPStatusCode"] == 409
    iam.update_access_key(UserName=name, AccessKeyId=first["AccessKeyId"], Status="Inactive")
    statuses = {
        k["AccessKeyId"]: k["Status"]
        for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    }
    assert statuses == {first["AccessKeyId"]: "Inactive", second["AccessKeyId"]: "Active"}
    used = iam.get_access_key_last_used(AccessKeyId=second["AccessKeyId"])
    assert used["UserName"] == name
    assert used["AccessKeyLastUsed"] == {"ServiceName": "N/A", "Region": "N/A"}
    iam.delete_access_key(UserName=name, AccessKeyId=first["AccessKeyId"])
    gone = error_of(
        lambda: iam.update_access_key(
            UserName=name, AccessKeyId=first["AccessKeyId"], Status="Active"
        )
    )
    assert gone["Error"]["Code"] == "NoSuchEntity"
    assert gone["Error"]["Message"] == (
        f"The Access Key with id {first['AccessKeyId']} cannot be found."
    )
    assert gone["ResponseMetadata"]["HTTPStatusCode"] == 404
    bad_status = error_of(
        lambda: iam.update_access_key(
            UserName=name, AccessKeyId=second["AccessKeyId"], Status="Paused"
        )
    )
    assert bad_status["Error"]["Message"] == (
        "1 validation error detected: Value 'Paused' at 'status' failed to satisfy constraint:"
        " Member must satisfy enum value set: [Active, Inactive, Expired]"
    )


def test_delete_user_conflicts_until_keys_and_policies_are_gone(iam: Any) -> None:
    name = unique("del")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    iam.attach_user_policy(UserName=name, PolicyArn=BASIC)
    iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=allow("sqs:*"))
    expected = [
        "Cannot delete entity, must delete access keys first.",
        "Cannot delete entity, must detach all policies first.",
        "Cannot delete entity, must delete policies first.",
    ]
    steps: list[Callable[[], Any]] = [
        lambda: iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"]),
        lambda: iam.detach_user_policy(UserName=name, PolicyArn=BASIC),
        lambda: iam.delete_user_policy(UserName=name, PolicyName="inline"),
    ]
    for message, step in zip(expected, steps, strict=True):
        conflict = error_of(lambda: iam.delete_user(UserName=name))
        assert conflict["Error"]["Code"] == "DeleteConflict"
        assert conflict["Error"]["Message"] == message
        assert conflict["ResponseMetadata"]["HTTPStatusCode"] == 409
        step()
    iam.delete_user(UserName=name)
    missing = error_of(lambda: iam.get_user(UserName=name))
    assert missing["Error"]["Message"] == f"The user with name {name} cannot be found."
    assert missing["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_update_user_renames_and_moves_with_its_keys(iam: Any) -> None:
    old, new = unique("old"), unique("new")
    iam.create_user(UserName=old)
    key = iam.create_access_key(UserName=old)["AccessKey"]
    taken = unique("taken")
    iam.create_user(UserName=taken)
    clash = error_of(lambda: iam.update_user(UserName=old, NewUserName=taken))
    assert clash["Error"]["Code"] == "EntityAlreadyExists"
    assert clash["Error"]["Message"] == f"User with name {taken} already exists."
    iam.update_user(UserName=old, NewUserName=new, NewPath="/moved/")
    user = iam.get_user(UserName=new)["User"]
    assert user["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/moved/{new}"
    [moved] = iam.list_access_keys(UserName=new)["AccessKeyMetadata"]
    assert (moved["AccessKeyId"], moved["UserName"]) == (key["AccessKeyId"], new)
    assert error_of(lambda: iam.get_user(UserName=old))["Error"]["Code"] == "NoSuchEntity"
    duplicate = error_of(lambda: iam.create_user(UserName=new.upper()))
    assert duplicate["ResponseMetadata"]["HTTPStatusCode"] == 409


def test_user_inline_and_attached_policies(iam: Any) -> None:
    name = unique("pol")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="b", PolicyDocument=allow("sqs:*"))
    iam.put_user_policy(UserName=name, PolicyName="a", PolicyDocument=allow("sns:*"))
    assert iam.list_user_policies(UserName=name)["PolicyNames"] == ["a", "b"]
    got = iam.get_user_policy(UserName=name, PolicyName="b")
    assert (got["UserName"], got["PolicyName"]) == (name, "b")
    assert got["PolicyDocument"]["Statement"][0]["Action"] == "sqs:*"
    missing = error_of(lambda: iam.get_user_policy(UserName=name, PolicyName="zzz"))
    assert missing["Error"]["Message"] == "The user policy with name zzz cannot be found."
    iam.attach_user_policy(UserName=name, PolicyArn=BASIC)
    iam.attach_user_policy(UserName=name, PolicyArn=BASIC)  # attaching twice is one attachment
    attached = iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]
    assert attached == [{"PolicyName": "AWSLambdaBasicExecutionRole", "PolicyArn": BASIC}]
    not_attached = "arn:aws:iam::aws:policy/AWSLambdaExecute"
    detach = error_of(lambda: iam.detach_user_policy(UserName=name, PolicyArn=not_attached))
    assert detach["Error"] == {
        "Code": "NoSuchEntity",
        "Message": f"Policy {not_attached} was not found.",
        "Type": "Sender",
    }


def test_user_names_are_validated(iam: Any) -> None:
    long_name = "u" * 65
    error = error_of(lambda: iam.create_user(UserName=long_name))
    assert error["Error"]["Code"] == "ValidationError"
    assert error["Error"]["Message"] == (
        f"1 validation error detected: Value '{long_name}' at 'userName' failed to satisfy"
        " constraint: Member must have length less than or equal to 64"
    )
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
