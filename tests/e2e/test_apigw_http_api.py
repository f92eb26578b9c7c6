"""HTTP APIs (apigatewayv2) against a real server: management with boto3, the data path
with http.client (by host and by path) and curl, in both payload formats, with grants,
CORS, stage variables and AWS's errors."""

from __future__ import annotations

import http.client
import json
import subprocess
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError
from support import ACCOUNT, REGION, LaminaServer, aws_cli, create_python_function

ECHO = """
import json
def handler(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps(event)}
"""
RETURNS = """
import json
def handler(event, context):
    return json.loads(event["body"])
"""
FAILS = "def handler(event, context):\n    raise ValueError('no')\n"


@pytest.fixture(scope="module")
def v2(server: LaminaServer) -> Any:
    return server.client("apigatewayv2")


@pytest.fixture(scope="module")
def echo(lam: Any) -> str:
    name = create_python_function(lam, ECHO)
    arn: str = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    return arn


def _grant(lam: Any, function_arn: str, api_id: str) -> None:
    lam.add_permission(
        FunctionName=function_arn,
        StatementId=f"apigw-{api_id}",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/*",
    )


def _call(
    server: LaminaServer,
    api_id: str,
    path: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    *,
    by_path: bool = False,
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    sent = dict(headers or {})
    if by_path:
        path = f"/execute-api/{api_id}{path}"
    else:
        sent["Host"] = f"{api_id}.execute-api.{REGION}.localhost:{server.port}"
    conn.request(method, path, body=body, headers=sent)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data


def test_quick_create_serves_the_default_stage_by_host_and_path(
    server: LaminaServer, v2: Any, echo: str
) -> None:
    api = v2.create_api(Name="quick", ProtocolType="HTTP", Target=echo)
    api_id = api["ApiId"]
    assert api["ApiEndpoint"] == f"http://{api_id}.execute-api.{REGION}.localhost:{server.port}"
    assert api["RouteSelectionExpression"] == "$request.method $request.path"
    routes = v2.get_routes(ApiId=api_id)["Items"]
    assert [r["RouteKey"] for r in routes] == ["$default"]
    stages = v2.get_stages(ApiId=api_id)["Items"]
    assert [(s["StageName"], s["AutoDeploy"]) for s in stages] == [("$default", True)]
    assert stages[0]["ApiGatewayManaged"] is True and routes[0]["ApiGatewayManaged"] is True
    assert stages[0]["LastDeploymentStatusMessage"] == (
        f"Successfully deployed stage with deployment ID '{stages[0]['DeploymentId']}'"
    )
    for by_path in (False, True):
        status, headers, body = _call(
            server,
            api_id,
            "/items/7?a=1&a=2&b=x",
            "POST",
            b'{"k": 1}',
            {"Content-Type": "application/json", "Cookie": "c1=v1; c2=v2"},
            by_path=by_path,
        )
        assert status == 200, body
        assert headers["content-type"] == "application/json"
        assert "apigw-requestid" in headers
        event = json.loads(body)
        assert event["version"] == "2.0"
        assert event["routeKey"] == "$default"
        assert event["rawPath"] == "/items/7"
        assert event["rawQueryString"] == "a=1&a=2&b=x"
        assert event["queryStringParameters"] == {"a": "1,2", "b": "x"}
        assert event["cookies"] == ["c1=v1", "c2=v2"]
        assert "cookie" not in event["headers"]
        assert event["body"] == '{"k": 1}' and event["isBase64Encoded"] is False
        context = event["requestContext"]
        assert context["apiId"] == api_id and context["accountId"] == ACCOUNT
        assert context["stage"] == "$default" and context["routeKey"] == "$default"
        assert context["domainName"] == f"{api_id}.execute-api.{REGION}.localhost"
        assert context["domainPrefix"] == api_id
        assert context["http"]["method"] == "POST" and context["http"]["path"] == "/items/7"
        assert "pathParameters" not in event and "stageVariables" not in event


def test_routes_match_most_specific_first_with_path_parameters(
    server: LaminaServer, lam: Any, v2: Any, echo: str
) -> None:
    api_id = v2.create_api(Name="routes", ProtocolType="HTTP")["ApiId"]
    integration = v2.create_integration(
        ApiId=api_id,
        IntegrationType="AWS_PROXY",
        IntegrationUri=echo,
        PayloadFormatVersion="2.0",
    )
    assert integration["PayloadFormatVersion"] == "2.0"
    target = f"integrations/{integration['IntegrationId']}"
    for key in (
        "GET /items/{id}",
        "GET /items/special",
        "ANY /files/{proxy+}",
        "GET /files/{proxy+}",
    ):
        v2.create_route(ApiId=api_id, RouteKey=key, Target=target)
    with pytest.raises(ClientError) as conflict:
        v2.create_route(ApiId=api_id, RouteKey="GET /items/{id}", Target=target)
    assert conflict.value.response["Error"]["Code"] == "ConflictException"
    v2.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    _grant(lam, echo, api_id)

    def route_of(method: str, path: str) -> tuple[str, Any]:
        status, _, body = _call(server, api_id, path, method)
        assert status == 200, body
        event = json.loads(body)
        return event["routeKey"], event.get("pathParameters")

    assert route_of("GET", "/items/42") == ("GET /items/{id}", {"id": "42"})
    assert route_of("GET", "/items/special") == ("GET /items/special", None)
    assert route_of("GET", "/files/a/b.txt") == ("GET /files/{proxy+}", {"proxy": "a/b.txt"})
    assert route_of("DELETE", "/files/a") == ("ANY /files/{proxy+}", {"proxy": "a"})
    status, _, body = _call(server, api_id, "/nothing")
    assert (status, json.loads(body)) == (404, {"message": "Not Found"})
    status, _, body = _call(server, api_id, "/items/1", "POST")
    assert (status, json.loads(body)) == (404, {"message": "Not Found"})


def test_named_stage_variables_and_manual_deployments(
    server: LaminaServer, lam: Any, v2: Any, echo: str
) -> None:
    api_id = v2.create_api(Name="staged", ProtocolType="HTTP")["ApiId"]
    integration_id = v2.create_integration(
        ApiId=api_id,
        IntegrationType="AWS_PROXY",
        IntegrationUri=echo,
        PayloadFormatVersion="2.0",
    )["IntegrationId"]
    v2.create_route(ApiId=api_id, RouteKey="GET /hello", Target=f"integrations/{integration_id}")
    v2.create_stage(ApiId=api_id, StageName="prod", StageVariables={"color": "blue"})
    _grant(lam, echo, api_id)
    status, _, _ = _call(server, api_id, "/prod/hello")
    assert status == 404  # not deployed yet
    deployment = v2.create_deployment(ApiId=api_id, StageName="prod")
    assert (
        v2.get_stage(ApiId=api_id, StageName="prod")["DeploymentId"] == deployment["DeploymentId"]
    )
    assert [d["DeploymentId"] for d in v2.get_deployments(ApiId=api_id)["Items"]] == [
        deployment["DeploymentId"]
    ]
    status, _, body = _call(server, api_id, "/prod/hello")
    assert status == 200, body
    event = json.loads(body)
    assert event["rawPath"] == "/prod/hello"
    assert event["requestContext"]["stage"] == "prod"
    assert event["stageVariables"] == {"color": "blue"}
    # A route added later is served once deployed.
    v2.create_route(ApiId=api_id, RouteKey="GET /later", Target=f"integrations/{integration_id}")
    assert _call(server, api_id, "/prod/later")[0] == 404
    v2.create_deployment(ApiId=api_id, StageName="prod")
    assert _call(server, api_id, "/prod/later")[0] == 200


def test_payload_format_1_0_event(server: LaminaServer, lam: Any, v2: Any, echo: str) -> None:
    api_id = v2.create_api(Name="v1", ProtocolType="HTTP")["ApiId"]
    integration_id = v2.create_integration(
        ApiId=api_id,
        IntegrationType="AWS_PROXY",
        IntegrationUri=echo,
        PayloadFormatVersion="1.0",
    )["IntegrationId"]
    route_id = v2.create_route(
        ApiId=api_id, RouteKey="POST /users/{id}", Target=f"integrations/{integration_id}"
    )["RouteId"]
    v2.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    _grant(lam, echo, api_id)
    status, _, body = _call(
        server,
        api_id,
        "/users/u1?x=1&x=2",
        "POST",
        b"\x00\x01",
        {"Content-Type": "application/octet-stream", "X-Multi": "a"},
    )
    assert status == 200, body
    event = json.loads(body)
    assert event["version"] == "1.0"
    assert event["resource"] == "/users/{id}"
    assert event["path"] == "/users/u1"
    assert event["httpMethod"] == "POST"
    assert event["pathParameters"] == {"id": "u1"}
    assert event["queryStringParameters"] == {"x": "2"}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"]}
    assert event["multiValueHeaders"]["x-multi"] == ["a"]
    assert event["headers"]["X-Forwarded-Proto"] == "http"
    assert event["stageVariables"] is None
    assert event["isBase64Encoded"] is True and event["body"] == "AAE="
    assert event["requestContext"]["resourceId"] == route_id
    assert event["requestContext"]["stage"] == "$default"


@pytest.mark.parametrize(
    ("answer", "status", "body"),
    [
        ({"hello": "world"}, 200, b'{"hello":"world"}'),
        ("text", 200, b"text"),
        ({"statusCode": 201, "body": "made", "cookies": ["a=1"]}, 201, b"made"),
        ({"statusCode": 200, "body": "aGk=", "isBase64Encoded": True}, 200, b"hi"),
        ({"statusCode": "abc"}, 500, b'{"message": "Internal Server Error"}'),
    ],
)
def test_v2_responses_are_inferred_as_aws_does(
    server: LaminaServer, lam: Any, v2: Any, answer: Any, status: int, body: bytes
) -> None:
    api_id = _returns_api(lam, v2)
    got_status, headers, got_body = _call(
        server,
        api_id,
        "/",
        "POST",
        json.dumps(answer).encode(),
        {"Content-Type": "application/json"},
    )
    assert (got_status, got_body) == (status, body)
    if isinstance(answer, dict) and answer.get("cookies"):
        assert headers["set-cookie"] == "a=1"


_RETURNS_API: dict[str, str] = {}


def _returns_api(lam: Any, v2: Any) -> str:
    if "id" not in _RETURNS_API:
        name = create_python_function(lam, RETURNS)
        arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
        _RETURNS_API["id"] = v2.create_api(Name="returns", ProtocolType="HTTP", Target=arn)["ApiId"]
    return _RETURNS_API["id"]


def test_function_error_and_missing_grant_are_500(
    server: LaminaServer, lam: Any, v2: Any, echo: str
) -> None:
    failing = create_python_function(lam, FAILS)
    arn = lam.get_function(FunctionName=failing)["Configuration"]["FunctionArn"]
    api_id = v2.create_api(Name="fails", ProtocolType="HTTP", Target=arn)["ApiId"]
    status, _, body = _call(server, api_id, "/")
    assert (status, json.loads(body)) == (500, {"message": "Internal Server Error"})
    # Not quick-created and no grant in the function's policy: 500 too.
    ungranted = create_python_function(lam, ECHO)
    ungranted_arn = lam.get_function(FunctionName=ungranted)["Configuration"]["FunctionArn"]
    api_id = v2.create_api(Name="nogrant", ProtocolType="HTTP")["ApiId"]
    integration_id = v2.create_integration(
        ApiId=api_id,
        IntegrationType="AWS_PROXY",
        IntegrationUri=ungranted_arn,
        PayloadFormatVersion="2.0",
    )["IntegrationId"]
    v2.create_route(ApiId=api_id, RouteKey="$default", Target=f"integrations/{integration_id}")
    v2.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    status, _, body = _call(server, api_id, "/")
    assert (status, json.loads(body)) == (500, {"message": "Internal Server Error"})
    _grant(lam, ungranted_arn, api_id)
    assert _call(server, api_id, "/")[0] == 200


def test_cors_preflight_and_headers(server: LaminaServer, v2: Any, echo: str) -> None:
    api_id = v2.create_api(
        Name="cors",
        ProtocolType="HTTP",
        Target=echo,
        CorsConfiguration={
            "AllowOrigins": ["https://app.example"],
            "AllowMethods": ["GET", "POST"],
            "AllowHeaders": ["x-token"],
            "MaxAge": 300,
            "ExposeHeaders": ["x-out"],
        },
    )["ApiId"]
    assert v2.get_api(ApiId=api_id)["CorsConfiguration"]["MaxAge"] == 300
    status, headers, _ = _call(
        server,
        api_id,
        "/anything",
        "OPTIONS",
        None,
        {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
    )
    assert status == 204
    assert headers["access-control-allow-origin"] == "https://app.example"
    assert headers["access-control-allow-methods"] == "GET,POST"
    assert headers["access-control-allow-headers"] == "x-token"
    assert headers["access-control-max-age"] == "300"
    status, headers, _ = _call(server, api_id, "/x", "GET", None, {"Origin": "https://app.example"})
    assert status == 200
    assert headers["access-control-allow-origin"] == "https://app.example"
    assert headers["access-control-expose-headers"] == "x-out"
    status, headers, _ = _call(
        server, api_id, "/x", "GET", None, {"Origin": "https://evil.example"}
    )
    assert status == 200 and "access-control-allow-origin" not in headers


def test_management_errors_and_deletion(server: LaminaServer, v2: Any, echo: str) -> None:
    with pytest.raises(ClientError) as missing:
        v2.get_api(ApiId="abcdefghij")
    assert missing.value.response["Error"]["Code"] == "NotFoundException"
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as bad_key:
        v2.create_api(Name="bad", ProtocolType="HTTP", Target=echo, RouteKey="FETCH /x")
    assert bad_key.value.response["Error"]["Code"] == "BadRequestException"
    api = v2.create_api(Name="gone", ProtocolType="HTTP", Target=echo, Description="d")
    api_id = api["ApiId"]
    updated = v2.update_api(ApiId=api_id, Name="renamed")
    assert (updated["Name"], updated["Description"]) == ("renamed", "d")
    assert any(a["ApiId"] == api_id for a in v2.get_apis()["Items"])
    integration_id = v2.get_integrations(ApiId=api_id)["Items"][0]["IntegrationId"]
    with pytest.raises(ClientError) as in_use:
        v2.delete_integration(ApiId=api_id, IntegrationId=integration_id)
    assert in_use.value.response["Error"]["Code"] == "ConflictException"
    route_id = v2.get_routes(ApiId=api_id)["Items"][0]["RouteId"]
    v2.update_route(ApiId=api_id, RouteId=route_id, RouteKey="GET /only")
    assert v2.get_route(ApiId=api_id, RouteId=route_id)["RouteKey"] == "GET /only"
    v2.delete_route(ApiId=api_id, RouteId=route_id)
    v2.delete_integration(ApiId=api_id, IntegrationId=integration_id)
    v2.delete_stage(ApiId=api_id, StageName="$default")
    v2.delete_api(ApiId=api_id)
    status, _, _ = _call(server, api_id, "/")
    assert status == 404
    assert all(a["ApiId"] != api_id for a in v2.get_apis()["Items"])


def test_curl_reaches_the_api_endpoint_as_returned(
    server: LaminaServer, v2: Any, echo: str
) -> None:
    api = v2.create_api(Name="curl", ProtocolType="HTTP", Target=echo, RouteKey="GET /ping")
    url = api["ApiEndpoint"] + "/ping"
    host = urlsplit(url).hostname
    assert host is not None
    out = subprocess.run(
        ["curl", "-s", "--resolve", f"{host}:{server.port}:127.0.0.1", "-w", "\n%{http_code}", url],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    body, _, code = out.rpartition("\n")
    assert code == "200"
    assert json.loads(body)["routeKey"] == "GET /ping"


SLOW = "import time\ndef handler(event, context):\n    time.sleep(2)\n    return 'late'\n"


def test_integration_timeout_is_503_and_cors_can_be_removed(
    server: LaminaServer, lam: Any, v2: Any, echo: str
) -> None:
    slow = create_python_function(lam, SLOW, Timeout=10)
    arn = lam.get_function(FunctionName=slow)["Configuration"]["FunctionArn"]
    api_id = v2.create_api(Name="slow", ProtocolType="HTTP", Target=arn)["ApiId"]
    integration_id = v2.get_integrations(ApiId=api_id)["Items"][0]["IntegrationId"]
    v2.update_integration(ApiId=api_id, IntegrationId=integration_id, TimeoutInMillis=300)
    status, _, body = _call(server, api_id, "/")
    assert (status, json.loads(body)) == (503, {"message": "Service Unavailable"})
    cors_api = v2.create_api(
        Name="cors2",
        ProtocolType="HTTP",
        Target=echo,
        CorsConfiguration={"AllowOrigins": ["*"]},
    )["ApiId"]
    v2.delete_cors_configuration(ApiId=cors_api)
    assert "CorsConfiguration" not in v2.get_api(ApiId=cors_api)
    status, headers, body = _call(server, cors_api, "/", "GET", None, {"Origin": "https://a.b"})
    assert status == 200 and "access-control-allow-origin" not in headers
    forwarded = json.loads(body)["headers"]
    assert forwarded["x-forwarded-for"] == "127.0.0.1"
    assert forwarded["x-forwarded-port"] == str(server.port)
    assert forwarded["x-forwarded-proto"] == "http"
    assert forwarded["x-amzn-trace-id"].startswith("Root=1-")


def test_routes_with_authorizers_are_refused(v2: Any, echo: str) -> None:
    api_id = v2.create_api(Name="auth", ProtocolType="HTTP", Target=echo)["ApiId"]
    with pytest.raises(ClientError) as refused:
        v2.create_route(ApiId=api_id, RouteKey="GET /secret", AuthorizationType="JWT")
    assert refused.value.response["Error"]["Code"] == "BadRequestException"
    assert [r["RouteKey"] for r in v2.get_routes(ApiId=api_id)["Items"]] == ["$default"]


def test_aws_cli_quick_create_then_curl(server: LaminaServer, echo: str) -> None:
    created = json.loads(
        aws_cli(
            server,
            "apigatewayv2",
            "create-api",
            "--name",
            "cli",
            "--protocol-type",
            "HTTP",
            "--target",
            echo,
            "--route-key",
            "GET /cli/{name}",
        ).stdout
    )
    api_id = created["ApiId"]
    listed = json.loads(aws_cli(server, "apigatewayv2", "get-routes", "--api-id", api_id).stdout)
    assert [r["RouteKey"] for r in listed["Items"]] == ["GET /cli/{name}"]
    out = subprocess.run(
        ["curl", "-s", f"{server.endpoint}/execute-api/{api_id}/cli/world"],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    assert json.loads(out)["pathParameters"] == {"name": "world"}
