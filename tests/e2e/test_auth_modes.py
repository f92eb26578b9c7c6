"""Signatures end to end (issue 15): ``--auth off`` (loopback's default) and ``--auth
verify`` (the default elsewhere) with boto3, raw HTTP and the AWS CLI: a wrong secret, an
unknown key, a stale or future date, presigned URLs, unsigned requests, and each protocol
family's words for them (rest-json, JSON 1.0/1.1, SQS's query-compatible JSON, query/XML)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import stat
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from support import ACCOUNT, AWS_CLI, REGION, LaminaServer, create_python_function

ROOT_KEY = "AKIAEXAMPLEROOTKEY01"
ROOT_SECRET = "r" * 40
MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
INVALID_TOKEN = "The security token included in the request is invalid."
# One cheap operation per protocol family: (service, call, the code of a bad signature, the
# code of an unknown key).
FAMILIES: list[tuple[str, Callable[[Any], Any], str, str]] = [
    (
        "lambda",
        lambda c: c.list_functions(),
        "InvalidSignatureException",
        "UnrecognizedClientException",
    ),
    (
        "logs",
        lambda c: c.describe_log_groups(),
        "InvalidSignatureException",
        "UnrecognizedClientException",
    ),
    (
        "events",
        lambda c: c.list_event_buses(),
        "InvalidSignatureException",
        "UnrecognizedClientException",
    ),
    (
        "scheduler",
        lambda c: c.list_schedules(),
        "InvalidSignatureException",
        "UnrecognizedClientException",
    ),
    (
        "apigatewayv2",
        lambda c: c.get_apis(),
        "InvalidSignatureException",
        "UnrecognizedClientException",
    ),
    ("sqs", lambda c: c.list_queues(), "SignatureDoesNotMatch", "InvalidClientTokenId"),
    ("sns", lambda c: c.list_topics(), "SignatureDoesNotMatch", "InvalidClientTokenId"),
    ("sts", lambda c: c.get_caller_identity(), "SignatureDoesNotMatch", "InvalidClientTokenId"),
    ("iam", lambda c: c.list_roles(), "SignatureDoesNotMatch", "InvalidClientTokenId"),
]


@pytest.fixture(scope="module")
def verifying(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaminaServer]:
    """A server that verifies every signature, its root key given on the command line."""
    srv = LaminaServer(
        tmp_path_factory.mktemp("verify") / "data",
        extra_args=[
            "--auth",
            "verify",
            "--root-access-key-id",
            ROOT_KEY,
            "--root-secret-access-key",
            ROOT_SECRET,
        ],
    )
    srv.start()
    yield srv
    srv.stop()


def client(server: LaminaServer, service: str, key: str, secret: str, **config: Any) -> Any:
    return boto3.client(
        service,
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}, **config),
    )


def failure(call: Callable[[], Any]) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return (
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Code"],
        response["Error"].get("Message", ""),
    )


def created_root_key(server: LaminaServer) -> tuple[str, str]:
    stored = json.loads((server.data_dir / "root-key.json").read_text())
    return stored["AccessKeyId"], stored["SecretAccessKey"]


@pytest.mark.parametrize(("service", "call", "bad_signature", "unknown"), FAMILIES)
def test_off_accepts_unknown_keys_and_verifies_known_ones(
    server: LaminaServer,
    service: str,
    call: Callable[[Any], Any],
    bad_signature: str,
    unknown: str,
) -> None:
    del unknown
    call(client(server, service, "test", "test"))  # any key, any secret: the root
    key, secret = created_root_key(server)
    call(client(server, service, key, secret))
    assert failure(lambda: call(client(server, service, key, "not-the-secret"))) == (
        403,
        bad_signature,
        MISMATCH,
    )


@pytest.mark.parametrize(("service", "call", "bad_signature", "unknown"), FAMILIES)
def test_verify_requires_a_known_key_and_its_signature(
    verifying: LaminaServer,
    service: str,
    call: Callable[[Any], Any],
    bad_signature: str,
    unknown: str,
) -> None:
    call(client(verifying, service, ROOT_KEY, ROOT_SECRET))
    assert failure(lambda: call(client(verifying, service, "test", "test"))) == (
        403,
        unknown,
        INVALID_TOKEN,
    )
    assert failure(lambda: call(client(verifying, service, ROOT_KEY, "x" * 40))) == (
        403,
        bad_signature,
        MISMATCH,
    )


def test_the_root_key_is_created_once_private_and_logged_once(server: LaminaServer) -> None:
    path = server.data_dir / "root-key.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key, secret = created_root_key(server)
    assert re.fullmatch(r"AKIA[A-Z2-7]{16}", key) and len(secret) == 40
    assert server.log_path is not None
    assert server.log_path.read_text().count(secret) == 1


def test_a_non_loopback_server_verifies_by_default(
    own_server: Callable[..., LaminaServer],
) -> None:
    srv = own_server("--host", "0.0.0.0")
    assert failure(lambda: client(srv, "lambda", "test", "test").list_functions())[1] == (
        "UnrecognizedClientException"
    )
    key, secret = created_root_key(srv)
    assert "Functions" in client(srv, "lambda", key, secret).list_functions()


def raw(
    server: LaminaServer, method: str, path: str, headers: dict[str, str], body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(
        server.endpoint + path, data=body or None, method=method, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, {k.lower(): v for k, v in reply.headers.items()}, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def xml_error(body: bytes) -> tuple[str, str]:
    text = body.decode()
    code = re.search(r"<Code>(.*?)</Code>", text)
    message = re.search(r"<Message>(.*?)</Message>", text)
    assert code and message, text
    return code.group(1), message.group(1)


def test_unsigned_requests_are_refused_in_both_modes(
    server: LaminaServer, verifying: LaminaServer
) -> None:
    for srv in (server, verifying):
        status, headers, body = raw(srv, "GET", "/2015-03-31/functions/", {})
        assert (status, headers["x-amzn-errortype"]) == (403, "MissingAuthenticationTokenException")
        assert json.loads(body) == {"message": "Missing Authentication Token"}
        form = b"Action=GetCallerIdentity&Version=2011-06-15"
        content = {"Content-Type": "application/x-www-form-urlencoded"}
        status, _, body = raw(srv, "POST", "/", content, form)
        assert status == 403
        assert xml_error(body) == ("MissingAuthenticationToken", "Missing Authentication Token")


def signed_at(
    server: LaminaServer, moment: datetime, service: str, body: bytes, headers: dict[str, str]
) -> dict[str, str]:
    """Headers of a request signed with the root key as of ``moment``."""
    request = AWSRequest(method="POST", url=f"{server.endpoint}/", data=body, headers=headers)
    signer = SigV4Auth(Credentials(ROOT_KEY, ROOT_SECRET), service, REGION)
    request.context["timestamp"] = moment.strftime("%Y%m%dT%H%M%SZ")
    signer._modify_request_before_signing(request)
    canonical = signer.canonical_request(request)
    signature = signer.signature(signer.string_to_sign(request, canonical), request)
    signer._inject_signature_to_request(request, signature)
    return dict(request.headers.items())


def test_a_stale_or_future_signature_is_refused(verifying: LaminaServer) -> None:
    now = datetime.now(timezone.utc)
    form = b"Action=GetCallerIdentity&Version=2011-06-15"
    content = {"Content-Type": "application/x-www-form-urlencoded"}
    ok = signed_at(verifying, now, "sts", form, content)
    assert raw(verifying, "POST", "/", ok, form)[0] == 200
    stale = signed_at(verifying, now - timedelta(minutes=10), "sts", form, content)
    status, _, body = raw(verifying, "POST", "/", stale, form)
    code, message = xml_error(body)
    assert (status, code) == (403, "SignatureDoesNotMatch")
    assert re.fullmatch(
        r"Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z "
        r"\(\d{8}T\d{6}Z - 5 min\.\)",
        message,
    ), message
    target = {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "AWSEvents.ListEventBuses",
    }
    future = signed_at(verifying, now + timedelta(minutes=10), "events", b"{}", target)
    status, headers, body = raw(verifying, "POST", "/", future, b"{}")
    assert (status, headers["x-amzn-errortype"]) == (403, "InvalidSignatureException")
    assert json.loads(body)["message"].startswith("Signature not yet current: ")


def presigned_url(server: LaminaServer, secret: str, expires: int = 60) -> str:
    request = AWSRequest(
        method="GET", url=f"{server.endpoint}/?Action=GetCallerIdentity&Version=2011-06-15"
    )
    SigV4QueryAuth(Credentials(ROOT_KEY, secret), "sts", REGION, expires=expires).add_auth(request)
    return str(request.url)


def test_presigned_urls_are_verified(verifying: LaminaServer) -> None:
    url = presigned_url(verifying, ROOT_SECRET)
    with urllib.request.urlopen(url, timeout=30) as reply:
        assert f"<Arn>arn:aws:iam::{ACCOUNT}:root</Arn>" in reply.read().decode()
    for bad in (presigned_url(verifying, "y" * 40), url.replace("Version=2011", "Version=2012")):
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(bad, timeout=30)
        assert caught.value.code == 403
        assert xml_error(caught.value.read()) == ("SignatureDoesNotMatch", MISMATCH)


def test_a_presigned_url_expires(verifying: LaminaServer) -> None:
    request = AWSRequest(
        method="GET", url=f"{verifying.endpoint}/?Action=GetCallerIdentity&Version=2011-06-15"
    )
    signer = SigV4QueryAuth(Credentials(ROOT_KEY, ROOT_SECRET), "sts", REGION, expires=60)
    request.context["timestamp"] = (datetime.now(timezone.utc) - timedelta(minutes=2)).strftime(
        "%Y%m%dT%H%M%SZ"
    )
    signer._modify_request_before_signing(request)
    canonical = signer.canonical_request(request)
    signature = signer.signature(signer.string_to_sign(request, canonical), request)
    signer._inject_signature_to_request(request, signature)
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(str(request.url), timeout=30)
    code, message = xml_error(caught.value.read())
    assert (caught.value.code, code) == (403, "SignatureDoesNotMatch")
    assert message.startswith("Signature expired: ")


def cli(
    server: LaminaServer, key: str, secret: str, *args: str
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": key,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_PAGER": "",
    }
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_DATA_PATH"):
        env.pop(name, None)
    return subprocess.run(
        [str(AWS_CLI), *args, "--endpoint-url", server.endpoint, "--output", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.mark.skipif(not Path(AWS_CLI).exists(), reason="the AWS CLI is not installed")
def test_aws_cli_in_both_modes(server: LaminaServer, verifying: LaminaServer) -> None:
    out = cli(server, "test", "test", "sts", "get-caller-identity")
    assert json.loads(out.stdout)["Arn"] == f"arn:aws:iam::{ACCOUNT}:root", out.stderr
    out = cli(verifying, ROOT_KEY, ROOT_SECRET, "sts", "get-caller-identity")
    assert json.loads(out.stdout)["UserId"] == ACCOUNT, out.stderr
    out = cli(verifying, "test", "test", "sts", "get-caller-identity")
    assert out.returncode != 0 and "(InvalidClientTokenId)" in out.stderr
    out = cli(verifying, "test", "test", "lambda", "list-functions")
    assert out.returncode != 0 and "(UnrecognizedClientException)" in out.stderr
    out = cli(verifying, ROOT_KEY, "z" * 40, "lambda", "list-functions")
    assert out.returncode != 0 and "(InvalidSignatureException)" in out.stderr
    out = cli(verifying, ROOT_KEY, ROOT_SECRET, "lambda", "list-functions")
    assert out.returncode == 0 and "Functions" in json.loads(out.stdout), out.stderr


ECHO = "def handler(event, context):\n    return event\n"


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def chunked_invoke(
    server: LaminaServer, name: str, key: str, secret: str, payload: bytes, chunk: int
) -> tuple[int, dict[str, str], bytes]:
    """An Invoke whose body is sent ``aws-chunked`` with each chunk signed (SigV4 streaming)."""
    path = f"/2015-03-31/functions/{name}/invocations"
    request = AWSRequest(
        method="POST",
        url=f"{server.endpoint}{path}",
        headers={
            "X-Amz-Content-SHA256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
            "Content-Encoding": "aws-chunked",
            "X-Amz-Decoded-Content-Length": str(len(payload)),
        },
    )
    SigV4Auth(Credentials(key, secret), "lambda", REGION).add_auth(request)
    headers = dict(request.headers.items())
    amz_date = headers["X-Amz-Date"]
    scope = f"{amz_date[:8]}/{REGION}/lambda/aws4_request"
    signing = _hmac(f"AWS4{secret}".encode(), amz_date[:8])
    for part in (REGION, "lambda", "aws4_request"):
        signing = _hmac(signing, part)
    previous = headers["Authorization"].rsplit("Signature=", 1)[1]
    empty = hashlib.sha256(b"").hexdigest()
    body = b""
    pieces = [payload[i : i + chunk] for i in range(0, len(payload), chunk)] + [b""]
    for piece in pieces:
        text = "\n".join(
            (
                "AWS4-HMAC-SHA256-PAYLOAD",
                amz_date,
                scope,
                previous,
                empty,
                hashlib.sha256(piece).hexdigest(),
            )
        )
        previous = hmac.new(signing, text.encode(), hashlib.sha256).hexdigest()
        body += f"{len(piece):x};chunk-signature={previous}\r\n".encode() + piece + b"\r\n"
    return raw(server, "POST", path, headers, body)


def test_a_streaming_signed_body_is_verified_chunk_by_chunk_and_decoded(
    server: LaminaServer, lam: Any
) -> None:
    name = create_python_function(lam, ECHO)
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    payload = json.dumps({"text": "x" * 20000}).encode()
    key, secret = created_root_key(server)
    status, _, body = chunked_invoke(server, name, key, secret, payload, 8192)
    assert (status, json.loads(body)) == (200, json.loads(payload))
    # A key the server does not know (--auth off): decoded, its chunk signatures unchecked.
    status, _, body = chunked_invoke(server, name, "test", "test", payload, 9000)
    assert (status, json.loads(body)) == (200, json.loads(payload))
    # Chunks under AWS's 8 KB minimum (but the last): refused at the second one.
    status, headers, _ = chunked_invoke(server, name, "test", "test", payload, 4096)
    assert (status, headers["x-amzn-errortype"]) == (403, "InvalidSignatureException")
    # The root key with a wrong secret: the seed signature fails.
    status, headers, _ = chunked_invoke(server, name, key, "w" * 40, payload, 8192)
    assert (status, headers["x-amzn-errortype"]) == (403, "InvalidSignatureException")
