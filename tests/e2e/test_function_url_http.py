"""Function URLs' data path against a real server: http.client (by host and by path) and
curl with the URL exactly as the API returns it; events, response mapping, errors, CORS,
AWS_IAM signatures, aliases and throttles as AWS answers them."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from support import ROLE, LaminaServer, create_python_function, make_zip, unique

FORBIDDEN = {
    "Message": "Forbidden. For troubleshooting Function URL authorization issues, see: "
    "https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"
}
ECHO = """
import json
def handler(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps({"event": event, "request_id": context.aws_request_id})}
"""
RETURNS = """
import json
def handler(event, context):
    return json.loads(event["body"])
"""
FAILS = "def handler(event, context):\n    raise ValueError('no')\n"


def _public_url(lam: Any, name: str, **settings: Any) -> str:
    url: str = lam.create_function_url_config(FunctionName=name, AuthType="NONE", **settings)[
        "FunctionUrl"
    ]
    lam.add_permission(
        FunctionName=name,
        StatementId="url",
        Action="lambda:InvokeFunctionUrl",
        Principal="*",
        FunctionUrlAuthType="NONE",
        **({"Qualifier": settings["Qualifier"]} if "Qualifier" in settings else {}),
    )
    return url


def _request(
    server: LaminaServer,
    url: str,
    method: str = "GET",
    path: str = "/",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    *,
    by_path: bool = False,
) -> tuple[int, dict[str, str], bytes, list[tuple[str, str]]]:
    """One request to ``url``'s function through 127.0.0.1: by its Host, or by path."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        sent = dict(headers or {})
        if by_path:
            url_id = parts.hostname.split(".", 1)[0] if parts.hostname else ""
            target = f"/lambda-url/{url_id}{path}"
        else:
            sent.setdefault("Host", parts.netloc)
            target = path
        connection.request(method, target, body=body, headers=sent)
        response = connection.getresponse()
        data = response.read()
        pairs = [(k.lower(), v) for k, v in response.getheaders()]
        return response.status, {k: v for k, v in pairs}, data, pairs
    finally:
        connection.close()


def test_unknown_url_and_missing_grant(lam: Any, server: LaminaServer) -> None:
    status, headers, body, _ = _request(
        server, f"http://{'0123456789abcdefghijklmnopqrstuv'}.lambda-url.us-east-1.localhost:1/"
    )
    assert (status, json.loads(body)) == (403, {"Message": None})
    assert headers["x-amzn-errortype"] == "AccessDeniedException"
    name = create_python_function(lam, ECHO)
    url = lam.create_function_url_config(FunctionName=name, AuthType="NONE")["FunctionUrl"]
    status, headers, body, _ = _request(server, url)
    assert (status, json.loads(body)) == (403, FORBIDDEN)  # recorded: no grant, no call
    assert headers["x-amzn-errortype"] == "AccessDeniedException"


def test_event_as_aws_sends_it(lam: Any, server: LaminaServer) -> None:
    name = create_python_function(lam, ECHO)
    url = _public_url(lam, name)
    status, headers, body, _ = _request(
        server,
        url,
        "POST",
        "/pa2%Fth/1?q=query&multi=a&multi=%2Fb&empty=",
        b'{"foo": "bar"}',
        {
            "Content-Type": "application/json",
            "User-Agent": "test/echo",
            "Extra-Headers": "With WeiRd CapS",
            "Cookie": "a=1; b=2",
        },
    )
    assert status == 200, body
    answer = json.loads(body)
    event = answer["event"]
    assert headers["x-amzn-requestid"] == answer["request_id"]
    host = urlsplit(url).hostname
    url_id = host.split(".", 1)[0] if host else ""
    assert event["version"] == "2.0" and event["routeKey"] == "$default"
    assert event["rawPath"] == "/pa2%Fth/1"
    assert event["rawQueryString"] == "q=query&multi=a&multi=%2Fb&empty="
    assert event["queryStringParameters"] == {"q": "query", "multi": "a,/b", "empty": ""}
    assert event["cookies"] == ["a=1", "b=2"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["extra-headers"] == "With WeiRd CapS"
    assert event["headers"]["user-agent"] == "test/echo"
    assert event["headers"]["x-forwarded-for"] == "127.0.0.1"
    assert event["headers"]["x-forwarded-proto"] == "http"
    assert event["body"] == '{"foo": "bar"}' and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["accountId"] == "anonymous"
    assert context["apiId"] == url_id and context["domainPrefix"] == url_id
    assert context["domainName"] == f"{url_id}.lambda-url.us-east-1.localhost"
    assert context["http"] == {
        "method": "POST",
        "path": "/pa2%Fth/1",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "test/echo",
    }
    assert context["requestId"] == answer["request_id"]
    assert context["routeKey"] == "$default" and context["stage"] == "$default"
    assert isinstance(context["timeEpoch"], int)
    assert context["time"].endswith(" +0000")
    # A body that is not text arrives base64-encoded (recorded: multipart form data).
    _, _, body, _ = _request(
        server, url, "POST", "/", b"\x00\x01binary", {"Content-Type": "multipart/form-data"}
    )
    event = json.loads(body)["event"]
    assert event["isBase64Encoded"] is True and event["body"] == "AAFiaW5hcnk="
    assert "queryStringParameters" not in event
    # Without a body: no "body" key.
    _, _, body, _ = _request(server, url, by_path=True, path="/by/path?x=1")
    event = json.loads(body)["event"]
    assert "body" not in event and event["rawPath"] == "/by/path"
    assert event["queryStringParameters"] == {"x": "1"}


# (what the function returns, status, content-type, body) as recorded (TestLambdaURL).
INFERENCE = [
    ({"hello": "world"}, 200, "application/json", b'{"hello":"world"}'),
    ("hello", 200, "application/json", b"hello"),
    (["hello", 3, True], 200, "application/json", b'["hello",3,true]'),
    (3, 200, "application/json", b"3"),
    (3.1, 200, "application/json", b"3.1"),
    (True, 200, "application/json", b"true"),
    ({"statusCode": 200, "body": "body123"}, 200, "application/json", b"body123"),
    (
        {"statusCode": 201, "headers": {"Content-Type": "text/plain", "X-N": 5}, "body": "x"},
        201,
        "text/plain",
        b"x",
    ),
    ({"statusCode": 200, "body": "aGk=", "isBase64Encoded": True}, 200, "application/json", b"hi"),
    ({"statusCode": "oops"}, 502, "application/json", b"Internal Server Error"),
]


def test_response_inference(lam: Any, server: LaminaServer) -> None:
    name = create_python_function(lam, RETURNS)
    url = _public_url(lam, name)
    for returned, status, content_type, expected in INFERENCE:
        got_status, headers, body, _ = _request(
            server, url, "POST", "/", json.dumps(returned).encode(), {"content-type": "text/plain"}
        )
        assert (got_status, headers["content-type"], body) == (status, content_type, expected), (
            returned
        )
    _, headers, _, pairs = _request(
        server,
        url,
        "POST",
        "/",
        json.dumps({"statusCode": 204, "cookies": ["a=1", "b=2; Path=/"]}).encode(),
        {"content-type": "application/json"},
    )
    assert [v for k, v in pairs if k == "set-cookie"] == ["a=1", "b=2; Path=/"]


def test_function_error_is_502(lam: Any, server: LaminaServer) -> None:
    name = create_python_function(lam, FAILS)
    url = _public_url(lam, name)
    status, _, body, _ = _request(server, url)
    assert (status, body) == (502, b"Internal Server Error")


def test_curl_with_the_url_as_returned(lam: Any, server: LaminaServer) -> None:
    name = create_python_function(lam, ECHO)
    url = _public_url(lam, name)
    done = subprocess.run(
        ["curl", "-sS", "-i", "-X", "PUT", "--data-binary", "abc", f"{url}items/7?a=b"],
        capture_output=True,
        timeout=60,
        check=True,
    )
    head, _, body = done.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), done.stdout
    event = json.loads(body)["event"]
    assert event["rawPath"] == "/items/7" and event["requestContext"]["http"]["method"] == "PUT"
    # curl -d sends a form: not text to AWS, so base64.
    assert event["isBase64Encoded"] is True and event["body"] == "YWJj"


def test_cors(lam: Any, server: LaminaServer) -> None:
    name = create_python_function(lam, ECHO)
    url = _public_url(
        lam,
        name,
        Cors={
            "AllowOrigins": ["https://app.example"],
            "AllowMethods": ["GET", "POST"],
            "AllowHeaders": ["x-custom"],
            "ExposeHeaders": ["x-answer"],
            "MaxAge": 300,
            "AllowCredentials": True,
        },
    )
    preflight = {
        "Origin": "https://app.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "X-Custom",
    }
    status, headers, body, _ = _request(server, url, "OPTIONS", "/", headers=preflight)
    assert status == 200 and body == b""
    assert headers["access-control-allow-origin"] == "https://app.example"
    assert headers["access-control-allow-methods"] == "GET,POST"
    assert headers["access-control-allow-headers"] == "x-custom"
    assert headers["access-control-max-age"] == "300"
    assert headers["access-control-allow-credentials"] == "true"
    assert "content-type" not in headers  # the function (which answers JSON) was not invoked
    refused = dict(preflight, Origin="https://evil.example")
    status, headers, _, _ = _request(server, url, "OPTIONS", "/", headers=refused)
    assert status == 200 and "access-control-allow-origin" not in headers
    status, headers, _, _ = _request(server, url, headers={"Origin": "https://app.example"})
    assert status == 200
    assert headers["access-control-allow-origin"] == "https://app.example"
    assert headers["access-control-expose-headers"] == "x-answer"


def _signed_headers(url: str, region: str = "us-east-1", service: str = "lambda") -> Any:
    request = AWSRequest(method="GET", url=url, headers={})
    SigV4Auth(Credentials("test", "test"), service, region).add_auth(request)
    return dict(request.headers.items())


def test_aws_iam_urls(lam: Any, server: LaminaServer) -> None:
    name = create_python_function(lam, ECHO)
    url = lam.create_function_url_config(FunctionName=name, AuthType="AWS_IAM")["FunctionUrl"]
    status, _, body, _ = _request(server, url)
    assert (status, json.loads(body)) == (403, FORBIDDEN)
    wrong = _signed_headers(url, service="s3")
    assert _request(server, url, headers=wrong)[0] == 403
    status, _, body, _ = _request(server, url, headers=_signed_headers(url))
    assert status == 200, body
    context = json.loads(body)["event"]["requestContext"]
    assert context["accountId"] == "000000000000"
    assert context["authorizer"]["iam"]["accessKey"] == "test"


def test_alias_url_and_its_deletion(lam: Any, server: LaminaServer) -> None:
    name = create_python_function(lam, ECHO)
    lam.publish_version(FunctionName=name)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    url = _public_url(lam, name, Qualifier="live")
    status, _, body, _ = _request(server, url)
    assert status == 200, body
    lam.delete_alias(FunctionName=name, Name="live")
    status, headers, body, _ = _request(server, url)
    assert (status, json.loads(body)) == (403, FORBIDDEN)  # recorded
    assert headers["x-amzn-errortype"] == "AccessDeniedException"


def test_reserved_concurrency_zero_throttles(lam: Any, server: LaminaServer) -> None:
    name = create_python_function(lam, ECHO)
    url = _public_url(lam, name)
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    status, headers, body, _ = _request(server, url)
    assert (status, json.loads(body)) == (429, {"message": "Rate Exceeded."})
    assert headers["x-amzn-errortype"] == "TooManyRequestsException"
    # Counted as Invoke's throttles are.
    status, _, text, _ = _request(
        server, f"http://127.0.0.1:{server.port}/", path="/_lamina/metrics"
    )
    assert status == 200
    throttles = [
        line
        for line in text.decode().splitlines()
        if line.startswith("lamina_lambda_throttles_total{") and f'function="{name}"' in line
    ]
    assert throttles and throttles[0].endswith(" 1"), throttles


@pytest.mark.parametrize("size", [6 * 1024 * 1024 + 1])
def test_request_over_6_mb(lam: Any, server: LaminaServer, size: int) -> None:
    name = create_python_function(lam, ECHO)
    url = _public_url(lam, name)
    status, _, _, _ = _request(
        server, url, "POST", "/", b"x" * size, {"content-type": "text/plain"}
    )
    assert status == 413


# --- a real web app (Starlette) behind a Lambda adapter (Mangum) -----------------------------

WEBAPP_PACKAGES = ("mangum==0.22.0", "starlette==1.10.0")
WEBAPP = """
from mangum import Mangum
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


async def item(request):
    return JSONResponse(
        {"id": request.path_params["id"], "query": dict(request.query_params),
         "session": request.cookies.get("session")},
        headers={"x-app": "starlette"},
    )


async def create(request):
    response = JSONResponse({"created": await request.json()}, status_code=201)
    response.set_cookie("seen", "yes")
    return response


async def binary(request):
    return Response(bytes(range(256)), media_type="application/octet-stream")


app = Starlette(routes=[
    Route("/items/{id}", item),
    Route("/items", create, methods=["POST"]),
    Route("/binary", binary),
])
handler = Mangum(app, lifespan="off")
"""


def _webapp_files() -> dict[str, str | bytes]:
    """The packages, installed once with pip into a cache kept between runs (no network
    afterwards), and the app: what ``pip install --target`` would vendor in a zip."""
    cache_root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    target = cache_root / "lamina-tests" / ("webapp-" + "-".join(WEBAPP_PACKAGES))
    if not (target / "mangum").is_dir():
        staging = target.with_name(target.name + f".{os.getpid()}")
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--only-binary=:all:"]
            + ["--target", str(staging), *WEBAPP_PACKAGES],
            check=True,
            timeout=300,
        )
        if target.exists():  # another run installed it meanwhile
            shutil.rmtree(staging)
        else:
            staging.replace(target)
    files: dict[str, str | bytes] = {"app.py": WEBAPP}
    for path in target.rglob("*"):
        relative = path.relative_to(target).as_posix()
        if path.is_file() and "__pycache__" not in relative and not relative.startswith("bin/"):
            files[relative] = path.read_bytes()
    return files


def test_starlette_app_behind_mangum(lam: Any, server: LaminaServer) -> None:
    name = unique("webapp")
    lam.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": make_zip(_webapp_files())},
        Timeout=30,
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    url = _public_url(lam, name)
    status, headers, body, _ = _request(
        server, url, "GET", "/items/42?color=red", headers={"Cookie": "session=abc"}
    )
    assert status == 200, body
    assert json.loads(body) == {"id": "42", "query": {"color": "red"}, "session": "abc"}
    assert headers["x-app"] == "starlette"
    assert headers["content-type"] == "application/json"
    status, headers, body, pairs = _request(
        server, url, "POST", "/items", b'{"name": "x"}', {"Content-Type": "application/json"}
    )
    assert (status, json.loads(body)) == (201, {"created": {"name": "x"}})
    assert any(k == "set-cookie" and v.startswith("seen=yes") for k, v in pairs)
    status, headers, body, _ = _request(server, url, "GET", "/binary")
    assert (status, body) == (200, bytes(range(256)))
    assert headers["content-type"] == "application/octet-stream"
    status, _, _, _ = _request(server, url, "GET", "/missing", by_path=True)
    assert status == 404


def test_response_stream_url_of_a_buffered_function(lam: Any, server: LaminaServer) -> None:
    """InvokeMode RESPONSE_STREAM goes through the streaming path; a function that answers
    buffered (Python) still gets the BUFFERED inference, CORS and the request id."""
    name = create_python_function(lam, ECHO)
    url = _public_url(lam, name, InvokeMode="RESPONSE_STREAM", Cors={"AllowOrigins": ["*"]})
    status, headers, body, _ = _request(server, url, "POST", "/s", b"hi", {"Origin": "https://x"})
    assert status == 200, body
    answer = json.loads(body)
    assert answer["event"]["rawPath"] == "/s"
    assert headers["x-amzn-requestid"] == answer["request_id"]
    assert headers["access-control-allow-origin"] == "*"


CALLER = """
import json, os, urllib.request
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.session import Session

def handler(event, context):
    url = os.environ["AWS_ENDPOINT_URL"].rstrip("/") + "/lambda-url/" + event["id"] + "/hi"
    request = AWSRequest(method="GET", url=url)
    if event.get("sign", True):
        credentials = Session().get_credentials()
        SigV4Auth(credentials, "lambda", os.environ["AWS_REGION"]).add_auth(request)
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, headers=dict(request.headers.items()))
        ) as response:
            return {"status": response.status, "body": json.loads(response.read())}
    except urllib.error.HTTPError as error:
        return {"status": error.code, "body": json.loads(error.read())}
"""


def test_aws_iam_url_called_by_a_function(lam: Any) -> None:
    """A function's execution-role credentials (issued by Lamina) are verified: its signed
    request passes, with the assumed role as the caller; an unsigned one is refused."""
    target = create_python_function(lam, ECHO)
    url = lam.create_function_url_config(FunctionName=target, AuthType="AWS_IAM")["FunctionUrl"]
    url_id = urlsplit(url).netloc.split(".", 1)[0]
    caller = create_python_function(lam, CALLER, Timeout=30)
    for sign, status in ((True, 200), (False, 403)):
        response = lam.invoke(
            FunctionName=caller, Payload=json.dumps({"id": url_id, "sign": sign}).encode()
        )
        result = json.loads(response["Payload"].read())
        assert result.get("status") == status, result
    signed = json.loads(
        lam.invoke(FunctionName=caller, Payload=json.dumps({"id": url_id}).encode())[
            "Payload"
        ].read()
    )
    iam = signed["body"]["event"]["requestContext"]["authorizer"]["iam"]
    assert iam["userArn"].startswith("arn:aws:sts::000000000000:assumed-role/")
    assert iam["userArn"].endswith(f"/{caller}")
