"""The API edge under attack (issue 9, items 2, 3, 9 and 12).

- web pages (CSRF, DNS rebinding, CORS) cannot drive the API;
- functions reach the API only with their own live credentials, never Lamina's internals,
  and only as far as ``--function-api-access`` allows;
- the API port bounds header size, idle connections and the number of connections;
- JSON nested too deep is a 400, never a 500.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import resource
import socket
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from support import (
    ACCOUNT,
    REGION,
    ROLE,
    SIGNED,
    LaminaServer,
    create_python_function,
    make_zip,
)

# --- helpers ------------------------------------------------------------------------------


def raw(
    srv: LaminaServer,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        reply = connection.getresponse()
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read()
    finally:
        connection.close()


def exists(lam: Any, name: str) -> bool:
    try:
        lam.get_function(FunctionName=name)
    except ClientError as error:
        assert error.response["Error"]["Code"] == "ResourceNotFoundException"
        return False
    return True


def server_rss_kb(srv: LaminaServer) -> int:
    assert srv.process is not None
    for line in Path(f"/proc/{srv.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def open_fds(srv: LaminaServer) -> int:
    assert srv.process is not None
    return len(os.listdir(f"/proc/{srv.process.pid}/fd"))


CREATE_BODY = json.dumps(
    {
        "FunctionName": "from-a-web-page",
        "Runtime": "python3.12",
        "Role": ROLE,
        "Handler": "lambda_function.handler",
        "Code": {
            "ZipFile": base64.b64encode(
                make_zip({"lambda_function.py": "def handler(e, c):\n    return 'pwned'\n"})
            ).decode()
        },
    }
).encode()


# --- item 2: browsers ---------------------------------------------------------------------


def test_cross_site_post_without_signature_creates_and_invokes_nothing(
    server: LaminaServer, lam: Any
) -> None:
    """The CSRF of the issue: a text/plain POST from a foreign page, no signature."""
    page = {"Content-Type": "text/plain", "Origin": "http://evil.example"}
    status, headers, body = raw(server, "POST", "/2015-03-31/functions", CREATE_BODY, page)
    assert status == 403
    assert headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"
    assert json.loads(body) == {"message": "Missing Authentication Token"}
    assert not any(h.startswith("access-control-allow") for h in headers)
    assert not exists(lam, "from-a-web-page")

    target = create_python_function(lam, "def handler(e, c):\n    print('RAN')\n    return 1\n")
    path = f"/2015-03-31/functions/{target}/invocations"
    status, headers, _ = raw(server, "POST", path, b"{}", page)
    assert status == 403
    assert headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"
    # A page sending a signature's shape (it cannot sign: it has no execution role's
    # secret), or only Sec-Fetch-Site, is refused as well.
    for browser in (
        {**page, **SIGNED},
        {"Content-Type": "text/plain", "Sec-Fetch-Site": "cross-site", **SIGNED},
        {"Content-Type": "text/plain", "Sec-Fetch-Site": "same-site", **SIGNED},
    ):
        status, headers, body = raw(server, "POST", path, b"{}", browser)
        assert (status, headers["x-amzn-errortype"]) == (403, "AccessDeniedException"), body
        status, headers, _ = raw(server, "POST", "/2015-03-31/functions", CREATE_BODY, browser)
        assert status == 403
    assert not exists(lam, "from-a-web-page")
    metrics = urllib.request.urlopen(f"{server.endpoint}/_lamina/metrics").read().decode()
    invoked = [
        line for line in metrics.splitlines() if f'"{target}"' in line and "invocations" in line
    ]
    assert not any(line.split()[-1] not in ("0", "0.0") for line in invoked), invoked


def test_every_api_request_needs_a_signature(server: LaminaServer) -> None:
    status, headers, body = raw(server, "GET", "/2015-03-31/functions/")
    assert (status, headers["x-amzn-errortype"]) == (403, "MissingAuthenticationTokenException")
    status, headers, body = raw(
        server, "GET", "/2015-03-31/functions/", headers={"Authorization": "Bearer abc"}
    )
    assert (status, headers["x-amzn-errortype"]) == (403, "IncompleteSignatureException")
    assert json.loads(body)["message"] == (
        "Authorization header requires 'Credential' parameter. Authorization header requires "
        "'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. "
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        "Authorization=Bearer abc"
    )
    spaced = "AWS4-HMAC-SHA256 Credential=test /20261206/us-east-1/lambda/aws4_request, x"
    status, headers, body = raw(
        server, "GET", "/2015-03-31/functions/", headers={"Authorization": spaced}
    )
    assert (status, headers["x-amzn-errortype"]) == (403, "IncompleteSignatureException")
    assert "not a valid key=value pair (missing equal-sign)" in json.loads(body)["message"]
    status, _, _ = raw(server, "GET", "/2015-03-31/functions/", headers=SIGNED)
    assert status == 200
    # The CloudWatch Logs API too, with its JSON 1.1 envelope.
    logs = {"X-Amz-Target": "Logs_20140328.DescribeLogGroups"}
    status, headers, body = raw(server, "POST", "/", b"{}", logs)
    assert (status, headers["x-amzn-errortype"]) == (403, "MissingAuthenticationTokenException")
    assert json.loads(body)["__type"] == "MissingAuthenticationTokenException"
    status, _, _ = raw(server, "POST", "/", b"{}", {**logs, **SIGNED})
    assert status == 200
    # Presigned query form, shape only for a key the server did not issue.
    presigned = (
        "/2015-03-31/functions/?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=test%2F20261206%2Fus-east-1%2Flambda%2Faws4_request"
        "&X-Amz-Date=20261206T000000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=00ff"
    )
    assert raw(server, "GET", presigned)[0] == 200


def test_only_hosts_that_name_the_server(server: LaminaServer, lam: Any) -> None:
    """DNS rebinding: the page's own host name arrives in Host; it is refused unprocessed."""
    for host in ("evil.example", f"evil.example:{server.port}", "127.0.0.1.nip.io", ""):
        status, headers, body = raw(
            server, "POST", "/2015-03-31/functions", CREATE_BODY, {**SIGNED, "Host": host}
        )
        assert status == 400, host
        assert headers["content-type"].startswith("text/plain")
        assert b"Host" in body
    assert not exists(lam, "from-a-web-page")
    for host in (
        f"127.0.0.1:{server.port}",
        "127.0.0.1",
        f"localhost:{server.port}",
        "LOCALHOST",
        f"api.lamina.localhost:{server.port}",
        f"[::1]:{server.port}",
    ):
        status, _, _ = raw(server, "GET", "/2015-03-31/functions/", None, {**SIGNED, "Host": host})
        assert status == 200, host


def test_cors_preflight_gets_no_grant(server: LaminaServer) -> None:
    status, headers, _ = raw(
        server,
        "OPTIONS",
        "/2015-03-31/functions",
        headers={
            "Origin": "http://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,x-amz-date",
        },
    )
    assert status == 403
    assert not any(name.startswith("access-control-") for name in headers)


def test_lamina_endpoints_without_signature_but_not_for_pages(
    server: LaminaServer, lam: Any
) -> None:
    name = create_python_function(lam, "def handler(e, c):\n    return 1\n")
    location = lam.get_function(FunctionName=name)["Code"]["Location"]
    with urllib.request.urlopen(location, timeout=30) as response:  # no Authorization
        assert response.read()[:2] == b"PK"
    assert raw(server, "GET", "/_lamina/health")[0] == 200
    assert raw(server, "GET", "/_lamina/metrics")[0] == 200
    for path in ("/_lamina/metrics", "/_lamina/async?retained=1"):
        status, headers, _ = raw(server, "GET", path, headers={"Origin": "http://evil.example"})
        assert (status, headers["x-amzn-errortype"]) == (403, "AccessDeniedException")


# --- item 3: functions --------------------------------------------------------------------

ATTACKER = r"""
import base64, json, os, urllib.error, urllib.request
import boto3, botocore
from botocore.config import Config

CONFIG = Config(retries={"max_attempts": 1})

def attempt(fn):
    try:
        return {"ok": fn()}
    except botocore.exceptions.ClientError as exc:
        return {"error": exc.response["Error"]["Code"],
                "message": exc.response["Error"].get("Message"),
                "status": exc.response["ResponseMetadata"]["HTTPStatusCode"]}

def raw_get(path, headers=None):
    request = urllib.request.Request(os.environ["AWS_ENDPOINT_URL"] + path, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return {"status": r.status, "body": r.read(200).decode("latin-1")}
    except urllib.error.HTTPError as exc:
        return {"status": exc.code, "body": exc.read(200).decode("latin-1")}

def handler(event, context):
    lam = boto3.client("lambda", config=CONFIG)
    action, target = event["action"], event.get("target")
    if action == "get":
        return attempt(lambda: lam.get_function_configuration(FunctionName=target)
                       .get("Environment", {}))
    if action == "code":
        return attempt(lambda: lam.get_function(FunctionName=target)["Code"]["Location"])
    if action == "update":
        zipped = base64.b64decode(event["zip"])
        return attempt(lambda: lam.update_function_code(FunctionName=target,
                                                        ZipFile=zipped)["CodeSha256"])
    if action == "list":
        return attempt(lambda: len(lam.list_functions()["Functions"]))
    if action == "logs":
        logs = boto3.client("logs", config=CONFIG)
        return attempt(lambda: len(logs.filter_log_events(logGroupName=target)["events"]))
    if action == "raw":
        return raw_get(event["path"], event.get("headers"))
    if action == "forged":
        other = boto3.client("lambda", config=CONFIG, aws_access_key_id=event["key"],
                             aws_secret_access_key="x", aws_session_token=event.get("token"))
        for name, value in (event.get("headers") or {}).items():
            def add(request, name=name, value=value, **_):
                request.headers[name] = value
            other.meta.events.register("before-send.*.*", add)
        return attempt(lambda: len(other.list_functions()["Functions"]))
    if action == "credentials":
        return {k: os.environ[k] for k in
                ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_ENDPOINT_URL")}
    raise ValueError(action)
"""

VICTIM_ZIP = make_zip({"lambda_function.py": "def handler(e, c):\n    return 'victim'\n"})
EVIL_ZIP = base64.b64encode(
    make_zip({"lambda_function.py": "def handler(e, c):\n    return 'replaced'\n"})
).decode()

isolated = pytest.mark.skipif(os.geteuid() != 0, reason="the relayed API needs isolation (root)")


def ask(lam: Any, function: str, **event: Any) -> Any:
    response = lam.invoke(FunctionName=function, Payload=json.dumps(event).encode())
    payload = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, payload
    return payload


def deploy_pair(lam: Any) -> tuple[str, str]:
    """An attacker function and a victim whose environment holds a secret."""
    attacker = create_python_function(lam, ATTACKER, Timeout=30, MemorySize=256)
    victim = create_python_function(
        lam,
        "def handler(e, c):\n    return 'victim'\n",
        Environment={"Variables": {"DB_PASSWORD": "hunter2"}},
    )
    return attacker, victim


def denied(caller: str, action: str, resource: str) -> str:
    return (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/lambda-role/{caller} is not authorized to "
        f"perform: {action} on resource: {resource} because no identity-based policy allows "
        f"the {action} action"
    )


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


@pytest.fixture(scope="module")
def self_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaminaServer]:
    srv = LaminaServer(
        tmp_path_factory.mktemp("self") / "data", extra_args=["--function-api-access", "self"]
    )
    srv.start()
    yield srv
    srv.stop()


@isolated
def test_function_with_self_access_cannot_touch_another_function(
    self_server: LaminaServer,
) -> None:
    lam = self_server.client()
    attacker, victim = deploy_pair(lam)
    before = lam.get_function(FunctionName=victim)["Configuration"]["CodeSha256"]

    got = ask(lam, attacker, action="get", target=victim)
    assert got == {
        "error": "AccessDeniedException",
        "message": denied(attacker, "lambda:GetFunctionConfiguration", function_arn(victim)),
        "status": 403,
    }
    got = ask(lam, attacker, action="update", target=function_arn(victim), zip=EVIL_ZIP)
    assert got["error"] == "AccessDeniedException"
    assert got["message"] == denied(attacker, "lambda:UpdateFunctionCode", function_arn(victim))
    assert lam.get_function(FunctionName=victim)["Configuration"]["CodeSha256"] == before
    assert json.loads(lam.invoke(FunctionName=victim)["Payload"].read()) == "victim"
    got = ask(lam, attacker, action="list")
    assert got["message"] == denied(attacker, "lambda:ListFunctions", "*")
    got = ask(lam, attacker, action="logs", target=f"/aws/lambda/{victim}")
    assert got["error"] == "AccessDeniedException"

    # Its own function, by name, qualified name or ARN, and its own log group: allowed.
    assert ask(lam, attacker, action="get", target=attacker) == {"ok": {}}
    assert ask(lam, attacker, action="get", target=f"{function_arn(attacker)}:$LATEST") == {
        "ok": {}
    }
    assert "ok" in ask(lam, attacker, action="logs", target=f"/aws/lambda/{attacker}")


@isolated
def test_function_with_account_access_uses_the_account(server: LaminaServer, lam: Any) -> None:
    attacker, victim = deploy_pair(lam)
    got = ask(lam, attacker, action="get", target=victim)
    assert got == {"ok": {"Variables": {"DB_PASSWORD": "hunter2"}}}
    got = ask(lam, attacker, action="update", target=victim, zip=EVIL_ZIP)
    assert "ok" in got
    lam.get_waiter("function_updated_v2").wait(FunctionName=victim)
    assert json.loads(lam.invoke(FunctionName=victim)["Payload"].read()) == "replaced"


@isolated
def test_function_with_no_access_can_do_nothing(
    own_server: Callable[..., LaminaServer],
) -> None:
    srv = own_server("--function-api-access", "none")
    lam = srv.client()
    attacker = create_python_function(lam, ATTACKER, Timeout=30, MemorySize=256)
    got = ask(lam, attacker, action="get", target=attacker)
    assert got["message"] == denied(
        attacker, "lambda:GetFunctionConfiguration", function_arn(attacker)
    )
    assert ask(lam, attacker, action="list")["error"] == "AccessDeniedException"
    got = ask(lam, attacker, action="logs", target=f"/aws/lambda/{attacker}")
    assert got["error"] == "AccessDeniedException"


@isolated
def test_function_cannot_reach_lamina_internals_or_use_other_credentials(
    server: LaminaServer, lam: Any
) -> None:
    attacker = create_python_function(lam, ATTACKER, Timeout=30, MemorySize=256)
    for path in ("/_lamina/metrics", "/_lamina/async?retained=1", "/_lamina/health"):
        got = ask(lam, attacker, action="raw", path=path)
        assert got["status"] == 404, (path, got)
        assert "lamina_" not in got["body"] and "retained" not in got["body"]
    # Unsigned, with the user's usual key, or with a key shaped like an environment's.
    assert ask(lam, attacker, action="raw", path="/2015-03-31/functions/")["status"] == 403
    for key in ("test", "AKIAIOSFODNN7EXAMPLE", "ASIALAMINAAAAAAAAAAA"):
        got = ask(lam, attacker, action="forged", key=key, token="x")
        assert got == {
            "error": "UnrecognizedClientException",
            "message": "The security token included in the request is invalid.",
            "status": 403,
        }, key
    # Proxy headers claiming another client address change nothing (uvicorn would trust
    # them from loopback, where the relay connects from).
    spoofed = {"X-Forwarded-For": "10.9.9.9", "X-Real-IP": "10.9.9.9", "Forwarded": "for=1.2.3.4"}
    got = ask(lam, attacker, action="forged", key="test", token="x", headers=spoofed)
    assert got["error"] == "UnrecognizedClientException", got
    got = ask(lam, attacker, action="raw", path="/_lamina/metrics", headers=spoofed)
    assert got["status"] == 404, got
    # Its own key with a wrong secret.
    mine = ask(lam, attacker, action="credentials")
    got = ask(
        lam,
        attacker,
        action="forged",
        key=mine["AWS_ACCESS_KEY_ID"],
        token=mine["AWS_SESSION_TOKEN"],
    )
    assert got["error"] == "InvalidSignatureException"


@isolated
def test_host_network_functions_are_told_apart_by_their_uid(
    own_server: Callable[..., LaminaServer],
) -> None:
    """With --function-network host a function reaches the API port directly (no relay):
    its connections are recognised by its environment's uid and get the relay's rules."""
    srv = own_server("--function-network", "host", "--function-api-access", "self")
    lam = srv.client()
    attacker, victim = deploy_pair(lam)
    assert ask(lam, attacker, action="credentials")["AWS_ENDPOINT_URL"] == srv.endpoint
    for path in ("/_lamina/metrics", "/_lamina/async?retained=1"):
        got = ask(lam, attacker, action="raw", path=path)
        assert got["status"] == 404, (path, got)
        assert "lamina_" not in got["body"] and "retained" not in got["body"]
    got = ask(lam, attacker, action="forged", key="test", token="x")
    assert got["error"] == "UnrecognizedClientException", got
    got = ask(lam, attacker, action="get", target=victim)
    assert got["message"] == denied(
        attacker, "lambda:GetFunctionConfiguration", function_arn(victim)
    )
    assert ask(lam, attacker, action="get", target=attacker) == {"ok": {}}
    # The host's own clients are not functions: unsigned-shape keys still work for them.
    assert lam.get_function_configuration(FunctionName=victim)["Environment"] == {
        "Variables": {"DB_PASSWORD": "hunter2"}
    }
    with urllib.request.urlopen(f"{srv.endpoint}/_lamina/metrics") as reply:
        assert reply.status == 200


@isolated
def test_credentials_die_with_their_environment(server: LaminaServer, lam: Any) -> None:
    attacker = create_python_function(lam, ATTACKER, Timeout=30, MemorySize=256)
    stolen = ask(lam, attacker, action="credentials")
    assert stolen["AWS_ACCESS_KEY_ID"].startswith("ASIA")

    def client() -> Any:
        return boto3.client(
            "lambda",
            endpoint_url=server.endpoint,
            region_name=REGION,
            aws_access_key_id=stolen["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=stolen["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=stolen["AWS_SESSION_TOKEN"],
            config=Config(retries={"max_attempts": 1}),
        )

    # Valid (and verified) while the environment lives, on the direct port too...
    assert client().get_function(FunctionName=attacker)["Configuration"]["FunctionName"]
    forged = boto3.client(
        "lambda",
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id=stolen["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key="not-the-secret",
        aws_session_token=stolen["AWS_SESSION_TOKEN"],
        config=Config(retries={"max_attempts": 1}),
    )
    with pytest.raises(ClientError) as caught:
        forged.list_functions()
    assert caught.value.response["Error"]["Code"] == "InvalidSignatureException"
    # ...and refused once it is stopped (a configuration change retires it).
    lam.update_function_configuration(FunctionName=attacker, Description="retire")
    lam.get_waiter("function_updated_v2").wait(FunctionName=attacker)
    deadline = time.monotonic() + 30
    while True:
        try:
            client().list_functions()
        except ClientError as error:
            assert error.response["Error"] == {
                "Code": "UnrecognizedClientException",
                "Message": "The security token included in the request is invalid.",
            }
            assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403
            break
        assert time.monotonic() < deadline, "the stopped environment's credentials still work"
        time.sleep(0.2)


@isolated
def test_functions_reach_a_server_listening_on_another_loopback_address(
    tmp_path: Path,
) -> None:
    srv = LaminaServer(tmp_path / "data", extra_args=["--host", "127.0.0.2"], host="127.0.0.2")
    srv.start()
    try:
        lam = srv.client()
        attacker = create_python_function(lam, ATTACKER, Timeout=30, MemorySize=256)
        assert ask(lam, attacker, action="list") == {"ok": 1}
        assert ask(lam, attacker, action="get", target=attacker) == {"ok": {}}
    finally:
        srv.stop()


# --- item 9: the API port -----------------------------------------------------------------


def test_huge_header_is_refused_quickly_without_growing_the_server(
    server: LaminaServer, lam: Any
) -> None:
    lam.list_functions()
    before = server_rss_kb(server)
    chunk = b"a" * (1 << 20)
    started = time.monotonic()
    sent = 0
    reply = b""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            f"GET /2015-03-31/functions/ HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n".encode()
            + f"Authorization: {SIGNED['Authorization']}\r\nX-Big: ".encode()
        )
        try:
            while sent < 100 * len(chunk):
                sock.sendall(chunk)
                sent += len(chunk)
            sock.sendall(b"\r\n\r\n")
            reply = sock.recv(4096)
        except (BrokenPipeError, ConnectionResetError):
            pass
        if not reply:
            try:
                reply = sock.recv(4096)
            except (ConnectionResetError, TimeoutError):
                reply = b""
    elapsed = time.monotonic() - started
    assert sent < 50 * len(chunk), f"the server read {sent} header bytes"
    assert reply == b"" or reply.startswith(b"HTTP/1.1 431"), reply[:100]
    assert elapsed < 10
    assert server_rss_kb(server) - before < 8 * 1024
    assert lam.list_functions()["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_a_large_but_reasonable_header_is_served(server: LaminaServer) -> None:
    status, _, _ = raw(
        server, "GET", "/2015-03-31/functions/", headers={**SIGNED, "X-Note": "n" * 30000}
    )
    assert status == 200


def test_idle_connections_are_closed(own_server: Callable[..., LaminaServer]) -> None:
    srv = own_server("--keep-alive-timeout", "2")
    with (
        socket.create_connection(("127.0.0.1", srv.port), timeout=10) as used,
        socket.create_connection(("127.0.0.1", srv.port), timeout=10) as silent,
    ):
        used.sendall(f"GET /_lamina/health HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\n\r\n".encode())
        reply = b""
        while not reply.endswith(b'{"status":"ok"}'):
            reply += used.recv(4096)
        assert reply.startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        assert used.recv(4096) == b""  # closed by the server, not by the timeout above
        assert silent.recv(4096) == b""
        assert 1.5 < time.monotonic() - started < 6


def test_idle_after_an_invoke_and_slow_heads_are_closed(
    own_server: Callable[..., LaminaServer],
) -> None:
    """The keep-alive timeout after an Invoke answered without ASGI (the lean path), and for
    a client that dribbles an incomplete request head: its bytes do not keep it open."""
    srv = own_server("--keep-alive-timeout", "2")
    name = create_python_function(srv.client(), "def handler(e, c):\n    return 'up'\n")
    head = (
        f"POST /2015-03-31/functions/{name}/invocations HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{srv.port}\r\nAuthorization: {SIGNED['Authorization']}\r\n"
        "Content-Length: 2\r\n\r\n{}"
    )
    with (
        socket.create_connection(("127.0.0.1", srv.port), timeout=10) as invoking,
        socket.create_connection(("127.0.0.1", srv.port), timeout=10) as dribbling,
    ):
        for _ in range(2):  # the connection is reused, then left idle
            invoking.sendall(head.encode())
            reply = b""
            while not reply.endswith(b'"up"'):
                reply += invoking.recv(4096)
            assert reply.startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        for part in (b"GET /2015-03-31/functions/ HTTP/1.1\r\n", b"X-A: 1\r\n", b"X-B: 2\r\n"):
            dribbling.sendall(part)
            time.sleep(0.8)
        assert invoking.recv(4096) == b""
        assert dribbling.recv(4096) == b""
        assert 1.5 < time.monotonic() - started < 6


def test_many_idle_sockets_leave_the_server_serving(
    own_server: Callable[..., LaminaServer],
) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    count = min(3000, hard - 500)
    srv = own_server("--max-connections", "500")
    lam = srv.client()
    baseline = open_fds(srv)
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", srv.port))
            sockets.append(sock)
        time.sleep(1.0)
        assert lam.list_functions()["ResponseMetadata"]["HTTPStatusCode"] == 200
        name = create_python_function(lam, "def handler(e, c):\n    return 'up'\n")
        assert json.loads(lam.invoke(FunctionName=name)["Payload"].read()) == "up"
        assert open_fds(srv) < baseline + 500 + 100
    finally:
        for sock in sockets:
            sock.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_default_cap_with_thousands_of_idle_sockets(server: LaminaServer, lam: Any) -> None:
    """More idle sockets than the default cap (4,096): the server's descriptors stay bounded
    and it keeps serving."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    lam.list_functions()
    baseline = open_fds(server)
    sockets: list[socket.socket] = []
    try:
        for _ in range(min(6000, hard - 500)):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", server.port))
            sockets.append(sock)
        time.sleep(1.5)
        assert lam.list_functions()["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert open_fds(server) < baseline + 4096 + 100
    finally:
        for sock in sockets:
            sock.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


# --- item 12: JSON nested too deep --------------------------------------------------------

DEEP = b"[" * 100_000


def test_deep_json_invoke_payload_is_a_400(server: LaminaServer, lam: Any) -> None:
    name = create_python_function(lam, "def handler(e, c):\n    return 1\n")
    with pytest.raises(ClientError) as caught:
        lam.invoke(FunctionName=name, Payload=DEEP)
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Code"] == "InvalidRequestContentException"
    assert error["Error"]["Message"].startswith(
        "Could not parse request body into json: Could not parse payload into json: "
    )
    with pytest.raises(ClientError) as caught:
        lam.invoke(FunctionName=name, Payload=b"{}", ClientContext=base64.b64encode(DEEP).decode())
    assert caught.value.response["Error"]["Code"] == "InvalidRequestContentException"
    with pytest.raises(ClientError) as caught:
        lam.invoke(FunctionName=name, InvocationType="Event", Payload=DEEP)
    assert caught.value.response["Error"]["Code"] == "InvalidRequestContentException"


def test_deep_json_lambda_operation_body_is_a_400(server: LaminaServer) -> None:
    status, headers, body = raw(
        server,
        "POST",
        "/2015-03-31/functions",
        DEEP,
        {**SIGNED, "Content-Type": "application/json"},
    )
    assert (status, headers["x-amzn-errortype"]) == (400, "InvalidRequestContentException")
    assert json.loads(body)["message"].startswith("Could not parse request body into json: ")


def test_deep_json_logs_body_and_token_are_a_400(server: LaminaServer) -> None:
    status, headers, body = raw(
        server,
        "POST",
        "/",
        DEEP,
        {**SIGNED, "X-Amz-Target": "Logs_20140328.DescribeLogGroups"},
    )
    assert (status, headers["x-amzn-errortype"]) == (400, "SerializationException")
    logs = server.client("logs")
    token = base64.urlsafe_b64encode(DEEP).decode()
    with pytest.raises(ClientError) as caught:
        logs.describe_log_groups(nextToken=token)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_deep_json_log_message_does_not_break_a_json_filter(server: LaminaServer, lam: Any) -> None:
    name = create_python_function(
        lam, "def handler(e, c):\n    print('[' * 100000)\n    print('{\"a\": 1}')\n    return 1\n"
    )
    lam.invoke(FunctionName=name)
    logs = server.client("logs")
    deadline = time.monotonic() + 30
    while True:
        events = logs.filter_log_events(
            logGroupName=f"/aws/lambda/{name}", filterPattern="{ $.a = 1 }"
        )["events"]
        if events:
            break
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert [e["message"].strip() for e in events] == ['{"a": 1}']
