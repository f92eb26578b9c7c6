"""The edge's pure checks: Host names, signature claims and verification, the function
access policy (issue 9, items 2 and 3)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from lamina.api.guard import HostAllowList, from_browser
from lamina.api.sigv4 import SignedRequest, read_claim, verify
from lamina.domain.callers import AccessDenied, FunctionApiPolicy, FunctionCaller
from lamina.domain.errors import (
    IncompleteSignatureException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    UnrecognizedClientException,
)
from lamina.runtime.credentials import CredentialRegistry, issued_by_lamina

HOST = "127.0.0.1:9000"
# A qualified ARN in the path: canonicalised URI-encoded again, as botocore signs it.
PATH = (
    "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af%3A1"
    "/invocations"
)


def signed(secret: str, token: str, body: bytes = b'{"a": 1}') -> Any:
    """A request as botocore signs it, and its headers as the edge receives them."""
    request = AWSRequest(
        method="POST",
        url=f"http://{HOST}{PATH}?Marker=a%20b%2Bc",
        data=body,
        headers={"Content-Type": "application/json", "X-Amz-Invocation-Type": "Event"},
    )
    SigV4Auth(Credentials("ASIALAMINAABCDEFGHIJ", secret, token), "lambda", "us-east-1").add_auth(
        request
    )
    headers = {k.lower(): v for k, v in request.headers.items()}
    headers["host"] = HOST
    return headers, SignedRequest("POST", PATH, "Marker=a%20b%2Bc", headers, body)


def test_a_signature_botocore_made_is_verified_and_a_forged_one_is_not() -> None:
    headers, request = signed("s3cret", "tok")
    claim = read_claim(headers, {})
    assert claim.access_key_id == "ASIALAMINAABCDEFGHIJ"
    verify(
        claim, request, secret="s3cret", session_token="tok", region="us-east-1", service="lambda"
    )
    with pytest.raises(InvalidSignatureException):
        verify(
            claim,
            request,
            secret="other",
            session_token="tok",
            region="us-east-1",
            service="lambda",
        )
    tampered = SignedRequest("POST", PATH, "Marker=a%20b%2Bc", headers, b'{"a": 2}')
    with pytest.raises(InvalidSignatureException):
        verify(
            claim,
            tampered,
            secret="s3cret",
            session_token="tok",
            region="us-east-1",
            service="lambda",
        )
    with pytest.raises(UnrecognizedClientException):
        verify(
            claim,
            request,
            secret="s3cret",
            session_token="other",
            region="us-east-1",
            service="lambda",
        )
    with pytest.raises(
        InvalidSignatureException, match="scoped to a valid region, not 'us-east-1'"
    ):
        verify(
            claim,
            request,
            secret="s3cret",
            session_token="tok",
            region="eu-west-1",
            service="lambda",
        )


def test_an_old_or_future_signature_is_refused() -> None:
    headers, request = signed("s3cret", "tok")
    claim = read_claim(headers, {})
    now = datetime.now(timezone.utc)
    for later, wording in ((20, "^Signature expired: "), (-20, "^Signature not yet current: ")):
        with pytest.raises(InvalidSignatureException, match=wording):
            verify(
                claim,
                request,
                secret="s3cret",
                session_token="tok",
                region="us-east-1",
                service="lambda",
                now=now + timedelta(minutes=later),
            )


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({}, MissingAuthenticationTokenException),
        ({"authorization": "Bearer x"}, IncompleteSignatureException),
        (
            {
                "authorization": "AWS4-HMAC-SHA256 Credential=a/b/c, SignedHeaders=host, "
                "Signature=00"
            },
            IncompleteSignatureException,
        ),
        (
            {
                "authorization": "AWS4-HMAC-SHA256 Credential=k/d/r/s/aws4_request, "
                "SignedHeaders=host, Signature=zz"
            },
            InvalidSignatureException,
        ),
    ],
)
def test_malformed_claims(headers: dict[str, str], error: type[Exception]) -> None:
    with pytest.raises(error):
        read_claim(headers, {})


def test_the_shape_every_sdk_sends_and_other_spacings() -> None:
    for header in (
        "AWS4-HMAC-SHA256 Credential=test/20261206/us-east-1/lambda/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=0000",
        "AWS4-HMAC-SHA256 Credential=test/20261206/us-east-1/lambda/aws4_request,"
        "SignedHeaders=host;x-amz-date,Signature=0000",
    ):
        claim = read_claim({"authorization": header}, {})
        assert (claim.access_key_id, claim.service, claim.signed_headers) == (
            "test",
            "lambda",
            "host;x-amz-date",
        )


def test_hosts() -> None:
    hosts = HostAllowList("127.0.0.2", "https://lamina.example.org:8443/")
    for ok in (
        "127.0.0.1:9000",
        "localhost",
        "a.b.localhost:1",
        "[::1]:9000",
        "127.0.0.2:9000",
        "lamina.example.org",
        "LAMINA.example.org:8443",
    ):
        assert hosts.allows(ok), ok
    for bad in (
        None,
        "",
        "evil.example",
        "localhost.evil.example",
        "127.0.0.3:9000",
        "localhost:x",
        "10.0.0.1",
    ):
        assert not hosts.allows(bad), bad
    wildcard = HostAllowList("0.0.0.0")
    assert wildcard.allows("10.0.0.1:9000") and wildcard.allows("[fe80::1]:9000")
    assert not wildcard.allows("rebind.evil.example:9000")


def test_browsers() -> None:
    assert from_browser({"origin": "null"})
    assert from_browser({"sec-fetch-site": "cross-site"})
    assert not from_browser({"sec-fetch-site": "none"})
    assert not from_browser({"user-agent": "Boto3"})


def test_registry_issues_recognisable_keys_and_forgets_them() -> None:
    registry = CredentialRegistry()
    issued = registry.issue("fn", "arn:aws:iam::000000000000:role/r", "/aws/lambda/fn")
    assert issued_by_lamina(issued.access_key_id) and len(issued.access_key_id) == 20
    assert not issued_by_lamina("ASIAXXXXXXXXXXXXXXXX")
    assert registry.lookup(issued.access_key_id) == issued
    registry.revoke(issued.access_key_id)
    assert registry.lookup(issued.access_key_id) is None


CALLER = FunctionCaller(
    "me", "arn:aws:iam::000000000000:role/svc/exec", "/aws/lambda/me", "000000000000", "us-east-1"
)


@pytest.mark.parametrize(
    ("params", "allowed"),
    [
        ({"FunctionName": "me"}, True),
        ({"FunctionName": "me:prod"}, True),
        ({"FunctionName": "arn:aws:lambda:us-east-1:000000000000:function:me:$LATEST"}, True),
        ({"FunctionName": "000000000000:function:me"}, True),
        ({"FunctionName": "arn:aws:lambda:eu-west-1:000000000000:function:me"}, False),
        ({"FunctionName": "other"}, False),
        ({"Resource": "arn:aws:lambda:us-east-1:000000000000:function:me"}, True),
        ({"Resource": "arn:aws:lambda:us-east-1:000000000000:function:other"}, False),
        ({}, False),
    ],
)
def test_self_access(params: dict[str, str], allowed: bool) -> None:
    policy = FunctionApiPolicy("self")
    if allowed:
        policy.check_lambda(CALLER, "GetFunction", params)
    else:
        with pytest.raises(AccessDenied):
            policy.check_lambda(CALLER, "GetFunction", params)
    FunctionApiPolicy("account").check_lambda(CALLER, "GetFunction", params)
    with pytest.raises(AccessDenied):
        FunctionApiPolicy("none").check_lambda(CALLER, "GetFunction", params)


def test_denial_wording() -> None:
    with pytest.raises(AccessDenied) as caught:
        FunctionApiPolicy("self").check_lambda(CALLER, "Invoke", {"FunctionName": "other"})
    assert caught.value.message == (
        "User: arn:aws:sts::000000000000:assumed-role/exec/me is not authorized to perform: "
        "lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:000000000000:function:other "
        "because no identity-based policy allows the lambda:InvokeFunction action"
    )
    policy = FunctionApiPolicy("self")
    policy.check_logs(CALLER, "FilterLogEvents", {"logGroupName": "/aws/lambda/me"})
    policy.check_logs(
        CALLER,
        "FilterLogEvents",
        {"logGroupIdentifier": "arn:aws:logs:us-east-1:000000000000:log-group:/aws/lambda/me"},
    )
    with pytest.raises(AccessDenied, match="logs:DescribeLogGroups on resource: \\*"):
        policy.check_logs(CALLER, "DescribeLogGroups", {})
    with pytest.raises(ValueError):
        FunctionApiPolicy("admin")


def test_the_relay_connects_where_the_server_listens() -> None:
    from lamina.config import Settings

    assert Settings(host="127.0.0.2").connect_host == "127.0.0.2"
    assert Settings(host="0.0.0.0").connect_host == "127.0.0.1"
    assert Settings(host="::").connect_host == "::1"
