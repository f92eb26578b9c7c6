"""A real web app (Starlette) behind a Lambda adapter (Mangum) behind both kinds of API
Gateway: Mangum reads the HTTP API's 2.0 and 1.0 events and the REST API's event as AWS
sends them, so the app sees the path, query, cookies and body the client sent."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support import ACCOUNT, REGION, ROLE, LaminaServer, make_zip, unique

PACKAGES = ("mangum==0.22.0", "starlette==1.10.0")
APP = """
from mangum import Mangum
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


async def item(request):
    return JSONResponse(
        {"id": request.path_params["id"], "query": dict(request.query_params),
         "session": request.cookies.get("session"), "path": request.url.path},
        headers={"x-app": "starlette"},
    )


async def create(request):
    response = JSONResponse({"created": await request.json()}, status_code=201)
    response.set_cookie("seen", "yes")
    return response


app = Starlette(routes=[
    Route("/items/{id}", item),
    Route("/items", create, methods=["POST"]),
])
handler = Mangum(app, lifespan="off", api_gateway_base_path="/prod")
"""


def _app_files() -> dict[str, str | bytes]:
    """The packages, installed once with pip into a cache kept between runs, and the app
    (what ``pip install --target`` would vendor in a zip)."""
    cache_root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    target = cache_root / "lamina-tests" / ("webapp-" + "-".join(PACKAGES))
    if not (target / "mangum").is_dir():
        staging = target.with_name(target.name + f".{os.getpid()}")
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--only-binary=:all:"]
            + ["--target", str(staging), *PACKAGES],
            check=True,
            timeout=300,
        )
        if target.exists():
            shutil.rmtree(staging)
        else:
            staging.replace(target)
    files: dict[str, str | bytes] = {"app.py": APP}
    for path in target.rglob("*"):
        relative = path.relative_to(target).as_posix()
        if path.is_file() and "__pycache__" not in relative and not relative.startswith("bin/"):
            files[relative] = path.read_bytes()
    return files


@pytest.fixture(scope="module")
def webapp(lam: Any) -> str:
    name = unique("apigw-webapp")
    lam.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": make_zip(_app_files())},
        Timeout=30,
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    lam.add_permission(
        FunctionName=name,
        StatementId="apigw",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:*",
    )
    arn: str = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    return arn


def _call(
    server: LaminaServer,
    api_id: str,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, list[tuple[str, str]], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    sent = {"Host": f"{api_id}.execute-api.{REGION}.localhost:{server.port}", **(headers or {})}
    conn.request(method, path, body=body, headers=sent)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, [(k.lower(), v) for k, v in response.getheaders()], data


def _exercise(server: LaminaServer, api_id: str) -> None:
    status, headers, body = _call(
        server, api_id, "GET", "/prod/items/42?color=red", headers={"Cookie": "session=abc"}
    )
    assert status == 200, body
    assert json.loads(body) == {
        "id": "42",
        "query": {"color": "red"},
        "session": "abc",
        "path": "/items/42",
    }
    assert ("x-app", "starlette") in headers
    status, headers, body = _call(
        server,
        api_id,
        "POST",
        "/prod/items",
        b'{"name": "x"}',
        {"Content-Type": "application/json"},
    )
    assert (status, json.loads(body)) == (201, {"created": {"name": "x"}})
    assert any(k == "set-cookie" and v.startswith("seen=yes") for k, v in headers)


@pytest.mark.parametrize("payload_format", ["2.0", "1.0"])
def test_starlette_behind_an_http_api(
    server: LaminaServer, webapp: str, payload_format: str
) -> None:
    v2 = server.client("apigatewayv2")
    api_id = v2.create_api(Name=f"webapp-{payload_format}", ProtocolType="HTTP")["ApiId"]
    integration_id = v2.create_integration(
        ApiId=api_id,
        IntegrationType="AWS_PROXY",
        IntegrationUri=webapp,
        PayloadFormatVersion=payload_format,
    )["IntegrationId"]
    v2.create_route(ApiId=api_id, RouteKey="ANY /{proxy+}", Target=f"integrations/{integration_id}")
    v2.create_stage(ApiId=api_id, StageName="prod", AutoDeploy=True)
    _exercise(server, api_id)


def test_starlette_behind_a_rest_api(server: LaminaServer, webapp: str) -> None:
    apigw = server.client("apigateway")
    api = apigw.create_rest_api(name="webapp-rest")
    proxy = apigw.create_resource(
        restApiId=api["id"], parentId=api["rootResourceId"], pathPart="{proxy+}"
    )
    apigw.put_method(
        restApiId=api["id"], resourceId=proxy["id"], httpMethod="ANY", authorizationType="NONE"
    )
    apigw.put_integration(
        restApiId=api["id"],
        resourceId=proxy["id"],
        httpMethod="ANY",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{webapp}/invocations",
    )
    apigw.create_deployment(restApiId=api["id"], stageName="prod")
    _exercise(server, api["id"])
