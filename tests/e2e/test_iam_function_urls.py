"""``AWS_IAM`` function URLs under ``--iam enforce``: the signer needs
``lambda:InvokeFunctionUrl`` from its own policies or from the function's policy, as on AWS;
the account's root always may (docs/security.md "Permissions")."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from support import REGION, ROLE, LaminaServer, create_python_function, unique

ECHO = "def handler(event, context):\n    return {'ok': True}\n"


def call_url(server: LaminaServer, url: str, key: str, secret: str) -> int:
    """GET the URL signed with ``key`` (through the server's port, Host as the URL names)."""
    request = AWSRequest(method="GET", url=url, headers={})
    SigV4Auth(Credentials(key, secret), "lambda", REGION).add_auth(request)
    host = urlsplit(url).netloc
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        headers = dict(request.headers.items())
        headers["Host"] = host
        connection.request("GET", "/", headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


@pytest.fixture(scope="module")
def enforced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaminaServer]:
    tmp: Path = tmp_path_factory.mktemp("iam-urls")
    server = LaminaServer(tmp / "data", extra_args=["--iam", "enforce"])
    server.start()
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    server.client("iam").create_role(
        RoleName=ROLE.rsplit("/", 1)[1], AssumeRolePolicyDocument=json.dumps(trust)
    )
    yield server
    server.stop()


def new_user(iam: Any, policy: dict[str, Any] | None) -> tuple[str, str, str]:
    """A user with ``policy`` inline: its ARN, access key id and secret."""
    name = unique("user")
    arn: str = iam.create_user(UserName=name)["User"]["Arn"]
    if policy is not None:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return arn, key["AccessKeyId"], key["SecretAccessKey"]


def may_invoke_url(resource: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "lambda:InvokeFunctionUrl", "Resource": resource}
        ],
    }


def test_an_aws_iam_url_weighs_the_signers_and_the_functions_policies(
    enforced: LaminaServer,
) -> None:
    lam, iam = enforced.client(), enforced.client("iam")
    name = create_python_function(lam, ECHO)
    url = lam.create_function_url_config(FunctionName=name, AuthType="AWS_IAM")["FunctionUrl"]
    arn = lam.get_function_configuration(FunctionName=name)["FunctionArn"]

    nobody_arn, *nobody = new_user(iam, None)
    assert call_url(enforced, url, *nobody) == 403
    _, *allowed = new_user(iam, may_invoke_url(arn))
    assert call_url(enforced, url, *allowed) == 200
    _, *elsewhere = new_user(iam, may_invoke_url(arn + "-other"))
    assert call_url(enforced, url, *elsewhere) == 403

    # The function's own policy may grant it instead (one account: either suffices).
    lam.add_permission(
        FunctionName=name,
        StatementId="url",
        Action="lambda:InvokeFunctionUrl",
        Principal=nobody_arn,
        FunctionUrlAuthType="AWS_IAM",
    )
    assert call_url(enforced, url, *nobody) == 200
    # The account's root (under --auth off, a key the server does not know) always may.
    assert call_url(enforced, url, "test", "test") == 200
