"""STS end to end (issue 15): GetCallerIdentity for every kind of principal (the account
root, an IAM user, an assumed role, a function's execution role from inside the function),
AssumeRole and calls made with its session, GetSessionToken, the recorded errors
(tests/fixtures/aws-recorded/sts), expiry and durability of sessions."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from support import ACCOUNT, AWS_CLI, REGION, LaminaServer, create_python_function, unique

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "aws-recorded" / "sts"
TRUST_ACCOUNT = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}],
}
TRUST_LAMBDA = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
WHO_AM_I = """
import boto3
def handler(event, context):
    return boto3.client("sts").get_caller_identity()["Arn"]
"""


@cache
def recorded(test: str) -> dict[str, Any]:
    data = json.loads((RECORDED / "test_sts.snapshot.json").read_text())
    validated = json.loads((RECORDED / "test_sts.validation.json").read_text())
    [key] = [k for k in data if k.endswith("::" + test)]
    assert key in validated
    content: dict[str, Any] = data[key]["recorded-content"]
    return content


def client(
    server: LaminaServer,
    service: str,
    key: str,
    secret: str,
    token: str | None = None,
    **config: Any,
) -> Any:
    return boto3.client(
        service,
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=Config(retries={"max_attempts": 1}, **config),
    )


def session_client(server: LaminaServer, service: str, credentials: dict[str, Any]) -> Any:
    return client(
        server,
        service,
        credentials["AccessKeyId"],
        credentials["SecretAccessKey"],
        credentials["SessionToken"],
    )


def root_key(server: LaminaServer) -> tuple[str, str]:
    stored = json.loads((server.data_dir / "root-key.json").read_text())
    return stored["AccessKeyId"], stored["SecretAccessKey"]


def error_of(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return {
        "Error": {
            k: response["Error"][k] for k in ("Code", "Message", "Type") if k in response["Error"]
        },
        "Status": response["ResponseMetadata"]["HTTPStatusCode"],
    }


def recorded_error(test: str, key: str) -> dict[str, Any]:
    entry = recorded(test)[key]
    return {"Error": entry["Error"], "Status": entry["ResponseMetadata"]["HTTPStatusCode"]}


def new_role(iam: Any, trust: dict[str, Any], **extra: Any) -> dict[str, Any]:
    role: dict[str, Any] = iam.create_role(
        RoleName=unique("role"), AssumeRolePolicyDocument=json.dumps(trust), **extra
    )["Role"]
    return role


def test_get_caller_identity_of_root_user_and_roles(server: LaminaServer) -> None:
    any_key = client(server, "sts", "test", "test")
    root = {"UserId": ACCOUNT, "Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:root"}
    # --auth off (loopback): a key the server does not know is the account's root.
    assert strip(any_key.get_caller_identity()) == root
    assert strip(client(server, "sts", *root_key(server)).get_caller_identity()) == root
    iam = client(server, "iam", "test", "test")
    user = iam.create_user(UserName=unique("user"))["User"]
    access = iam.create_access_key(UserName=user["UserName"])["AccessKey"]
    as_user = client(server, "sts", access["AccessKeyId"], access["SecretAccessKey"])
    assert strip(as_user.get_caller_identity()) == {
        "UserId": user["UserId"],
        "Account": ACCOUNT,
        "Arn": user["Arn"],
    }
    role = new_role(iam, TRUST_ACCOUNT)
    assumed = any_key.assume_role(RoleArn=role["Arn"], RoleSessionName="golden-session")
    session = session_client(server, "sts", assumed["Credentials"])
    arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/{role['RoleName']}/golden-session"
    assert strip(session.get_caller_identity()) == {
        "UserId": f"{role['RoleId']}:golden-session",
        "Account": ACCOUNT,
        "Arn": arn,
    }


def strip(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def test_assume_role_answers_as_recorded_and_its_session_calls_other_services(
    server: LaminaServer,
) -> None:
    iam = client(server, "iam", "test", "test")
    role = new_role(iam, TRUST_ACCOUNT)
    sts = client(server, "sts", "test", "test")
    asked_at = time.time()
    assumed = strip(
        sts.assume_role(RoleArn=role["Arn"], RoleSessionName="s-1", DurationSeconds=900)
    )
    expected = recorded("test_assume_role")["assume-role"]
    assert set(assumed) == set(expected) - {"ResponseMetadata"}
    assert set(assumed["Credentials"]) == set(expected["Credentials"])
    credentials = assumed["Credentials"]
    assert re.fullmatch(r"ASIA[A-Z2-7]{16}", credentials["AccessKeyId"])
    lasts = credentials["Expiration"].timestamp() - asked_at
    assert 890 < lasts <= 901
    assert assumed["AssumedRoleUser"] == {
        "AssumedRoleId": f"{role['RoleId']}:s-1",
        "Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role['RoleName']}/s-1",
    }
    # The session signs calls to the other services (verified: a wrong secret fails).
    assert "Functions" in session_client(server, "lambda", credentials).list_functions()
    listed = session_client(server, "sqs", credentials).list_queues()
    assert listed["ResponseMetadata"]["HTTPStatusCode"] == 200
    forged = dict(credentials, SecretAccessKey="x" * 40)
    assert (
        error_of(lambda: session_client(server, "lambda", forged).list_functions())["Error"]["Code"]
        == "InvalidSignatureException"
    )
    no_token = client(server, "lambda", credentials["AccessKeyId"], credentials["SecretAccessKey"])
    assert error_of(no_token.list_functions) == {
        "Error": {
            "Code": "UnrecognizedClientException",
            "Message": "The security token included in the request is invalid.",
        },
        "Status": 403,
    }


@pytest.mark.parametrize(
    ("key", "role_arn", "session"),
    [
        ("malformed-arn", "nothing-valid-in-here", "s1"),
        ("no-partition", "arn::b:::something/test-role", "s1"),
        ("no-service", "arn:a::::something/test-role", "s1"),
        ("not-enough-colons", "arn:a:::something/test-role", "s1"),
        ("no-resource", "arn:a:a::aaaaaaaaaa:", "s1"),
        ("invalid-session-name", f"arn:aws:iam::{ACCOUNT}:role/r", "Session1:2"),
    ],
)
def test_invalid_parameters_as_recorded(
    server: LaminaServer, key: str, role_arn: str, session: str
) -> None:
    sts = client(server, "sts", "test", "test")
    got = error_of(lambda: sts.assume_role(RoleArn=role_arn, RoleSessionName=session))
    assert got == recorded_error("test_sts_invalid_parameters", key)


def test_tag_validation_as_recorded(server: LaminaServer) -> None:
    iam = client(server, "iam", "test", "test")
    role = new_role(iam, TRUST_ACCOUNT)
    sts = client(server, "sts", "test", "test")
    got = error_of(
        lambda: sts.assume_role(
            RoleArn=role["Arn"],
            RoleSessionName="s1",
            Tags=[{"Key": "SessionTag1", "Value": "v"}],
            TransitiveTagKeys=["InvalidKey"],
        )
    )
    assert got == recorded_error("test_assume_role_tag_validation", "invalid-transitive-tag-keys")
    got = error_of(
        lambda: sts.assume_role(
            RoleArn=role["Arn"],
            RoleSessionName="s1",
            Tags=[{"Key": "Tag", "Value": "a"}, {"Key": "tag", "Value": "b"}],
        )
    )
    assert got == recorded_error(
        "test_assume_role_tag_validation", "duplicate-tag-keys-different-casing"
    )


def test_trust_policy_and_durations_are_checked(server: LaminaServer) -> None:
    iam = client(server, "iam", "test", "test")
    sts = client(server, "sts", "test", "test")
    lambda_only = new_role(iam, TRUST_LAMBDA)
    assert error_of(lambda: sts.assume_role(RoleArn=lambda_only["Arn"], RoleSessionName="s1")) == {
        "Error": {
            "Code": "AccessDenied",
            "Message": f"User: arn:aws:iam::{ACCOUNT}:root is not authorized to perform: "
            f"sts:AssumeRole on resource: {lambda_only['Arn']}",
            "Type": "Sender",
        },
        "Status": 403,
    }
    missing = f"arn:aws:iam::{ACCOUNT}:role/{unique('nope')}"
    assert (
        error_of(lambda: sts.assume_role(RoleArn=missing, RoleSessionName="s1"))["Error"]["Code"]
        == "AccessDenied"
    )
    role = new_role(iam, TRUST_ACCOUNT)
    too_long = error_of(
        lambda: sts.assume_role(RoleArn=role["Arn"], RoleSessionName="s1", DurationSeconds=7200)
    )
    assert too_long["Error"]["Message"] == (
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
    )
    unchecked = client(server, "sts", "test", "test", parameter_validation=False)
    too_short = error_of(
        lambda: unchecked.assume_role(
            RoleArn=role["Arn"], RoleSessionName="s1", DurationSeconds=899
        )
    )
    assert too_short["Error"] == {
        "Code": "ValidationError",
        "Message": "1 validation error detected: Value '899' at 'durationSeconds' failed to "
        "satisfy constraint: Member must have value greater than or equal to 900",
        "Type": "Sender",
    }
    # A user named by the trust policy may assume it with the policy's ExternalId condition.
    user = iam.create_user(UserName=unique("user"))["User"]
    access = iam.create_access_key(UserName=user["UserName"])["AccessKey"]
    as_user = client(server, "sts", access["AccessKeyId"], access["SecretAccessKey"])
    guarded = new_role(
        iam,
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": user["Arn"]},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"sts:ExternalId": "ticket-42"}},
                }
            ],
        },
    )
    assert (
        error_of(lambda: as_user.assume_role(RoleArn=guarded["Arn"], RoleSessionName="s1"))[
            "Error"
        ]["Code"]
        == "AccessDenied"
    )
    ok = as_user.assume_role(RoleArn=guarded["Arn"], RoleSessionName="s1", ExternalId="ticket-42")
    assert ok["AssumedRoleUser"]["Arn"].endswith(f"/{guarded['RoleName']}/s1")


def test_a_trust_in_the_account_needs_the_users_own_permission(server: LaminaServer) -> None:
    """A trust policy naming the account delegates to its identity policies (AWS's rule);
    one naming the user suffices alone."""
    iam = client(server, "iam", "test", "test")
    user = iam.create_user(UserName=unique("user"))["User"]
    access = iam.create_access_key(UserName=user["UserName"])["AccessKey"]
    as_user = client(server, "sts", access["AccessKeyId"], access["SecretAccessKey"])
    role = new_role(iam, TRUST_ACCOUNT)
    got = error_of(lambda: as_user.assume_role(RoleArn=role["Arn"], RoleSessionName="s1"))
    assert got["Error"]["Message"] == (
        f"User: {user['Arn']} is not authorized to perform: sts:AssumeRole on resource: "
        f"{role['Arn']}"
    )
    allow = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role["Arn"]}],
    }
    iam.put_user_policy(
        UserName=user["UserName"], PolicyName="assume", PolicyDocument=json.dumps(allow)
    )
    assumed = as_user.assume_role(RoleArn=role["Arn"], RoleSessionName="s1")
    assert assumed["AssumedRoleUser"]["Arn"].endswith(f"/{role['RoleName']}/s1")
    deny = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "sts:*", "Resource": "*"}],
    }
    named = new_role(
        iam,
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": user["Arn"]}, "Action": "sts:AssumeRole"}
            ],
        },
    )
    iam.put_user_policy(
        UserName=user["UserName"], PolicyName="deny", PolicyDocument=json.dumps(deny)
    )
    got = error_of(lambda: as_user.assume_role(RoleArn=named["Arn"], RoleSessionName="s1"))
    assert got["Error"]["Code"] == "AccessDenied"
    iam.delete_user_policy(UserName=user["UserName"], PolicyName="deny")
    assert as_user.assume_role(RoleArn=named["Arn"], RoleSessionName="s1")["Credentials"]


def test_get_session_token_keeps_the_callers_identity(server: LaminaServer) -> None:
    iam = client(server, "iam", "test", "test")
    user = iam.create_user(UserName=unique("user"))["User"]
    access = iam.create_access_key(UserName=user["UserName"])["AccessKey"]
    as_user = client(server, "sts", access["AccessKeyId"], access["SecretAccessKey"])
    token = as_user.get_session_token(DurationSeconds=900)["Credentials"]
    session = session_client(server, "sts", token)
    assert session.get_caller_identity()["Arn"] == user["Arn"]
    got = error_of(session.get_session_token)
    assert got["Error"]["Code"] == "AccessDenied" and got["Status"] == 403
    assert got["Error"]["Message"] == "Cannot call GetSessionToken with session credentials"


def test_a_function_is_its_execution_role_session(server: LaminaServer, lam: Any) -> None:
    iam = client(server, "iam", "test", "test")
    role = new_role(iam, TRUST_LAMBDA)
    name = unique("whoami")
    create_python_function(lam, WHO_AM_I, name=name, Timeout=30, MemorySize=256)
    lam.update_function_configuration(FunctionName=name, Role=role["Arn"])
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    reply = lam.invoke(FunctionName=name, Payload=b"{}")
    payload = json.loads(reply["Payload"].read())
    assert "FunctionError" not in reply, payload
    assert payload == f"arn:aws:sts::{ACCOUNT}:assumed-role/{role['RoleName']}/{name}"


def test_sessions_survive_a_restart_and_expire(
    own_server: Callable[..., LaminaServer], tmp_path: Path
) -> None:
    data = tmp_path / "sts-data"
    srv = own_server(data=data)
    iam = client(srv, "iam", "test", "test")
    role = new_role(iam, TRUST_ACCOUNT)
    credentials = client(srv, "sts", "test", "test").assume_role(
        RoleArn=role["Arn"], RoleSessionName="durable", DurationSeconds=900
    )["Credentials"]
    srv.stop(9)  # SIGKILL: the session was durable when AssumeRole answered
    again = own_server(data=data)
    assert (
        session_client(again, "sts", credentials).get_caller_identity()["Arn"].endswith("/durable")
    )
    again.stop()
    with sqlite3.connect(data / "sts.sqlite3") as db:
        db.execute(
            "UPDATE sts_sessions SET expires_at = expires_at - 3600 WHERE access_key_id = ?",
            (credentials["AccessKeyId"],),
        )
    last = own_server(data=data)
    expired = {
        "Code": "ExpiredToken",
        "Message": "The security token included in the request is expired",
        "Type": "Sender",
    }
    assert error_of(session_client(last, "sts", credentials).get_caller_identity) == {
        "Error": expired,
        "Status": 403,
    }
    assert error_of(session_client(last, "lambda", credentials).list_functions) == {
        "Error": {
            "Code": "ExpiredTokenException",
            "Message": "The security token included in the request is expired",
        },
        "Status": 403,
    }


@pytest.mark.skipif(not AWS_CLI.exists(), reason="the AWS CLI is not installed")
def test_aws_cli_get_caller_identity_and_assume_role(server: LaminaServer) -> None:
    key, secret = root_key(server)
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID=key,
        AWS_SECRET_ACCESS_KEY=secret,
        AWS_DEFAULT_REGION=REGION,
        AWS_PAGER="",
    )
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        env.pop(name, None)

    def aws(*args: str) -> Any:
        out = subprocess.run(
            [str(AWS_CLI), "sts", *args, "--endpoint-url", server.endpoint, "--output", "json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    assert aws("get-caller-identity")["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    role = new_role(client(server, "iam", "test", "test"), TRUST_ACCOUNT)
    assumed = aws("assume-role", "--role-arn", role["Arn"], "--role-session-name", "cli")
    assert assumed["AssumedRoleUser"]["Arn"].endswith(f"/{role['RoleName']}/cli")
