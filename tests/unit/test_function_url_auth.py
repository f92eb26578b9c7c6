"""AWS_IAM function URLs: SigV4 for service ``lambda`` in the URL's region; keys issued to
execution environments verified, other keys checked for shape only."""

from __future__ import annotations

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from lamina.api.sigv4 import SignedRequest
from lamina.api.url_auth import UrlRefused, iam_caller
from lamina.runtime.credentials import CredentialRegistry

ACCOUNT = "000000000000"
HOST = "0123456789abcdefghijklmnopqrstuv.lambda-url.us-east-1.localhost:4566"


def _signed(
    key: str,
    secret: str,
    token: str | None = None,
    *,
    region: str = "us-east-1",
    service: str = "lambda",
    body: bytes = b"{}",
) -> SignedRequest:
    request = AWSRequest(method="POST", url=f"http://{HOST}/a/b?x=1", data=body)
    SigV4Auth(Credentials(key, secret, token), service, region).add_auth(request)
    headers = {name.lower(): value for name, value in request.headers.items()}
    headers["host"] = HOST
    return SignedRequest("POST", "/a/b", "x=1", headers, body)


def test_environment_credentials_are_verified() -> None:
    registry = CredentialRegistry()
    issued = registry.issue("caller-fn", "arn:aws:iam::000000000000:role/r", "/aws/lambda/x")
    key, secret, token = issued.access_key_id, issued.secret_access_key, issued.session_token
    caller = iam_caller(_signed(key, secret, token), "us-east-1", ACCOUNT, registry)
    assert caller.account_id == ACCOUNT and caller.access_key == key
    assert caller.user_arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/r/caller-fn"
    refused = (
        _signed(key, "wrong-secret", token),  # a signature that does not match
        _signed(key, secret, "wrong-token"),
        _signed(key, secret, token, region="eu-west-1"),  # another region's scope
    )
    for request in refused:
        with pytest.raises(UrlRefused):
            iam_caller(request, "us-east-1", ACCOUNT, registry)
    registry.revoke(key)  # the environment stopped
    with pytest.raises(UrlRefused):
        iam_caller(_signed(key, secret, token), "us-east-1", ACCOUNT, registry)


def test_other_keys_by_shape() -> None:
    registry = CredentialRegistry()
    caller = iam_caller(_signed("AKIDEXAMPLE", "any"), "us-east-1", ACCOUNT, registry)
    assert caller.user_arn == f"arn:aws:iam::{ACCOUNT}:root"
    for request in (
        _signed("AKIDEXAMPLE", "any", service="execute-api"),
        _signed("AKIDEXAMPLE", "any", region="eu-west-1"),
        SignedRequest("GET", "/", "", {"host": HOST}, b""),  # not signed
        SignedRequest("GET", "/", "", {"host": HOST, "authorization": "Bearer x"}, b""),
    ):
        with pytest.raises(UrlRefused):
            iam_caller(request, "us-east-1", ACCOUNT, registry)
