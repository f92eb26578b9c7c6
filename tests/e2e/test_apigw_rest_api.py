"""REST APIs (apigateway, Lambda proxy) against a real server: management with boto3, the
data path with http.client (by host and by path) and curl; the v1 event, AWS's strict
validation of proxy responses, grants and errors."""

from __future__ import annotations

import http.client
import json
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support import ACCOUNT, REGION, LaminaServer, create_python_function

ECHO = """
import json
def handler(event, context):
    return {"statusCode": 200, "headers": {"x-echo": "yes"}, "body": json.dumps(event)}
"""
RETURNS = """
import json
def handler(event, context):
    return json.loads(event["body"])
"""
FAILS = "def handler(event, context):\n    raise ValueError('no')\n"


@pytest.fixture(scope="module")
def apigw(server: LaminaServer) -> Any:
    return server.client("apigateway")


def _uri(function_arn: str) -> str:
    return (
        f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    )


def _proxy_api(lam: Any, apigw: Any, code: str, *, grant: bool = True) -> tuple[str, str]:
    """A REST API with ``ANY /{proxy+}`` and ``GET /`` to a new function, deployed to
    ``test``; (api id, function arn)."""
    name = create_python_function(lam, code)
    arn: str = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    api = apigw.create_rest_api(name=f"api-{name}")
    api_id, root = api["id"], api["rootResourceId"]
    proxy = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="{proxy+}")
    for resource_id, verb in ((proxy["id"], "ANY"), (root, "GET")):
        apigw.put_method(
            restApiId=api_id, resourceId=resource_id, httpMethod=verb, authorizationType="NONE"
        )
        apigw.put_integration(
            restApiId=api_id,
            resourceId=resource_id,
            httpMethod=verb,
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=_uri(arn),
        )
    apigw.create_deployment(restApiId=api_id, stageName="test", variables={"env": "t"})
    if grant:
        lam.add_permission(
            FunctionName=name,
            StatementId="apigw",
            Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
            SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/*/*",
        )
    return api_id, arn


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


def test_proxy_event_by_host_and_by_path(server: LaminaServer, lam: Any, apigw: Any) -> None:
    api_id, _ = _proxy_api(lam, apigw, ECHO)
    for by_path in (False, True):
        status, headers, body = _call(
            server,
            api_id,
            "/test/proxy-value/?urlparam=test",
            "POST",
            b"hello",
            {"Content-Type": "text/plain"},
            by_path=by_path,
        )
        assert status == 200, body
        assert headers["x-echo"] == "yes"
        event = json.loads(body)
        assert "version" not in event
        assert event["resource"] == "/{proxy+}"
        assert event["path"] == "/proxy-value/"
        assert event["httpMethod"] == "POST"
        assert event["pathParameters"] == {"proxy": "proxy-value"}
        assert event["queryStringParameters"] == {"urlparam": "test"}
        assert event["multiValueQueryStringParameters"] == {"urlparam": ["test"]}
        assert event["stageVariables"] == {"env": "t"}
        assert (event["body"], event["isBase64Encoded"]) == ("hello", False)
        context = event["requestContext"]
        assert context["path"] == "/test/proxy-value/"
        assert context["stage"] == "test" and context["resourcePath"] == "/{proxy+}"
        assert context["apiId"] == api_id and context["accountId"] == ACCOUNT
        assert context["identity"]["sourceIp"] == "127.0.0.1"
    status, _, body = _call(server, api_id, "/test")
    assert status == 200 and json.loads(body)["resource"] == "/"


def test_missing_routes_and_stages(server: LaminaServer, lam: Any, apigw: Any) -> None:
    api_id, _ = _proxy_api(lam, apigw, ECHO)
    status, headers, body = _call(server, api_id, "/test", "POST")
    assert (status, json.loads(body)) == (403, {"message": "Missing Authentication Token"})
    assert headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"
    status, _, body = _call(server, api_id, "/nostage/x")
    assert (status, json.loads(body)) == (403, {"message": "Forbidden"})


@pytest.mark.parametrize(
    ("answer", "status", "body"),
    [
        ({"statusCode": 200}, 200, b""),
        ({"statusCode": "201", "body": "made"}, 201, b"made"),
        ({"headers": {"a": "b"}}, 200, b""),
        ({}, 502, b'{"message": "Internal server error"}'),
        ("just a string", 502, b'{"message": "Internal server error"}'),
        ({"statusCode": 200, "extra": 1}, 502, b'{"message": "Internal server error"}'),
    ],
)
def test_strict_proxy_responses(
    server: LaminaServer, lam: Any, apigw: Any, answer: Any, status: int, body: bytes
) -> None:
    api_id = _returns_api(lam, apigw)
    got = _call(server, api_id, "/test/x", "POST", json.dumps(answer).encode())
    assert (got[0], got[2]) == (status, body)


_RETURNS: dict[str, str] = {}


def _returns_api(lam: Any, apigw: Any) -> str:
    if "id" not in _RETURNS:
        _RETURNS["id"] = _proxy_api(lam, apigw, RETURNS)[0]
    return _RETURNS["id"]


def test_function_error_is_502_and_missing_grant_500(
    server: LaminaServer, lam: Any, apigw: Any
) -> None:
    api_id, _ = _proxy_api(lam, apigw, FAILS)
    status, _, body = _call(server, api_id, "/test/x")
    assert (status, json.loads(body)) == (502, {"message": "Internal server error"})
    api_id, _ = _proxy_api(lam, apigw, ECHO, grant=False)
    status, _, body = _call(server, api_id, "/test/x")
    assert (status, json.loads(body)) == (500, {"message": "Internal server error"})


def test_management_shapes_and_errors(lam: Any, apigw: Any) -> None:
    api_id, arn = _proxy_api(lam, apigw, ECHO)
    api = apigw.get_rest_api(restApiId=api_id)
    assert api["endpointConfiguration"]["types"] == ["EDGE"]
    assert api["apiKeySource"] == "HEADER"
    assert any(a["id"] == api_id for a in apigw.get_rest_apis()["items"])
    resources = {r["path"]: r for r in apigw.get_resources(restApiId=api_id)["items"]}
    assert set(resources) == {"/", "/{proxy+}"}
    method = apigw.get_method(restApiId=api_id, resourceId=resources["/"]["id"], httpMethod="GET")
    assert method["methodIntegration"]["uri"] == _uri(arn)
    assert method["methodIntegration"]["type"] == "AWS_PROXY"
    stages = apigw.get_stages(restApiId=api_id)["item"]
    assert [(s["stageName"], s["variables"]) for s in stages] == [("test", {"env": "t"})]
    deployment_id = stages[0]["deploymentId"]
    apigw.create_stage(restApiId=api_id, stageName="prod", deploymentId=deployment_id)
    assert apigw.get_stage(restApiId=api_id, stageName="prod")["deploymentId"] == deployment_id
    errors = []
    calls: list[Callable[[], Any]] = [
        lambda: apigw.get_rest_api(restApiId="nosuchapi1"),
        lambda: apigw.create_resource(restApiId=api_id, parentId="nope", pathPart="x"),
        lambda: apigw.create_resource(
            restApiId=api_id, parentId=resources["/"]["id"], pathPart="{proxy+}"
        ),
        lambda: apigw.put_integration(
            restApiId=api_id,
            resourceId=resources["/"]["id"],
            httpMethod="GET",
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri="not-an-arn",
        ),
        lambda: apigw.put_integration(
            restApiId=api_id,
            resourceId=resources["/"]["id"],
            httpMethod="GET",
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=arn,
        ),
        lambda: apigw.create_stage(restApiId=api_id, stageName="prod", deploymentId=deployment_id),
    ]
    for call in calls:
        with pytest.raises(ClientError) as error:
            call()
        errors.append(
            (error.value.response["Error"]["Code"], error.value.response["Error"]["Message"])
        )
    assert errors == [
        ("NotFoundException", f"Invalid API identifier specified {ACCOUNT}:nosuchapi1"),
        ("NotFoundException", "Invalid Resource identifier specified"),
        (
            "ConflictException",
            "Another resource with the same parent already has this name: {proxy+}",
        ),
        ("BadRequestException", "Invalid ARN specified in the request"),
        ("BadRequestException", "AWS ARN for integration must contain path or action"),
        ("ConflictException", "Stage already exists"),
    ]
    apigw.delete_rest_api(restApiId=api_id)
    with pytest.raises(ClientError):
        apigw.get_rest_api(restApiId=api_id)


def test_curl_by_path(server: LaminaServer, lam: Any, apigw: Any) -> None:
    api_id, _ = _proxy_api(lam, apigw, ECHO)
    url = f"{server.endpoint}/execute-api/{api_id}/test/hello?x=1"
    out = subprocess.run(
        ["curl", "-s", "-w", "\n%{http_code}", url], capture_output=True, check=True, timeout=60
    ).stdout.decode()
    body, _, code = out.rpartition("\n")
    assert code == "200"
    assert json.loads(body)["pathParameters"] == {"proxy": "hello"}


SLOW = "import time\ndef handler(event, context):\n    time.sleep(2)\n    return {}\n"


def test_integration_timeout_is_504_and_headers_are_canonical(
    server: LaminaServer, lam: Any, apigw: Any
) -> None:
    api_id, arn = _proxy_api(lam, apigw, ECHO)
    status, headers, body = _call(server, api_id, "/test/x", "GET", None, {"X-Custom": "1"})
    assert status == 200 and headers["x-amzn-requestid"]
    event = json.loads(body)
    assert event["headers"]["X-Custom"] == "1"
    assert event["multiValueHeaders"]["X-Forwarded-For"] == ["127.0.0.1"]
    slow_api, slow_arn = _proxy_api(lam, apigw, SLOW)
    lam.update_function_configuration(FunctionName=slow_arn, Timeout=10)
    lam.get_waiter("function_updated_v2").wait(FunctionName=slow_arn)
    root = apigw.get_rest_api(restApiId=slow_api)["rootResourceId"]
    apigw.put_integration(
        restApiId=slow_api,
        resourceId=root,
        httpMethod="GET",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=_uri(slow_arn),
        timeoutInMillis=300,
    )
    apigw.create_deployment(restApiId=slow_api, stageName="test")
    status, _, body = _call(server, slow_api, "/test")
    assert (status, json.loads(body)) == (504, {"message": "Endpoint request timed out"})


def test_stage_variables_update_and_api_rename(server: LaminaServer, lam: Any, apigw: Any) -> None:
    api_id, _ = _proxy_api(lam, apigw, ECHO)
    stage = apigw.update_stage(
        restApiId=api_id,
        stageName="test",
        patchOperations=[
            {"op": "replace", "path": "/variables/env", "value": "changed"},
            {"op": "replace", "path": "/variables/extra", "value": "x"},
        ],
    )
    assert stage["variables"] == {"env": "changed", "extra": "x"}
    status, _, body = _call(server, api_id, "/test/v")
    assert status == 200 and json.loads(body)["stageVariables"] == {"env": "changed", "extra": "x"}
    with pytest.raises(ClientError) as bad:
        apigw.update_stage(
            restApiId=api_id,
            stageName="test",
            patchOperations=[{"op": "replace", "path": "/nope", "value": "1"}],
        )
    assert bad.value.response["Error"]["Message"].startswith("Invalid method setting path: /nope")
    renamed = apigw.update_rest_api(
        restApiId=api_id, patchOperations=[{"op": "replace", "path": "/name", "value": "new"}]
    )
    assert renamed["name"] == "new"
    deployment_id = stage["deploymentId"]
    with pytest.raises(ClientError) as active:
        apigw.delete_deployment(restApiId=api_id, deploymentId=deployment_id)
    assert active.value.response["Error"]["Message"] == (
        "Active stages pointing to this deployment must be moved or deleted"
    )


def test_update_and_delete_integration(server: LaminaServer, lam: Any, apigw: Any) -> None:
    api_id, _ = _proxy_api(lam, apigw, ECHO)
    other_api, other_arn = _proxy_api(lam, apigw, RETURNS)
    root = apigw.get_rest_api(restApiId=api_id)["rootResourceId"]
    updated = apigw.update_integration(
        restApiId=api_id,
        resourceId=root,
        httpMethod="GET",
        patchOperations=[
            {"op": "replace", "path": "/uri", "value": _uri(other_arn)},
            {"op": "replace", "path": "/timeoutInMillis", "value": "1000"},
        ],
    )
    assert (updated["uri"], updated["timeoutInMillis"]) == (_uri(other_arn), 1000)
    lam.add_permission(
        FunctionName=other_arn,
        StatementId="other",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/*/GET/",
    )
    assert json.loads(_call(server, api_id, "/test")[2])["resource"] == "/"  # not deployed
    apigw.create_deployment(restApiId=api_id, stageName="test")
    status, _, body = _call(server, api_id, "/test", "GET")
    assert (status, body) == (502, b'{"message": "Internal server error"}')  # RETURNS: no body
    apigw.delete_integration(restApiId=api_id, resourceId=root, httpMethod="GET")
    with pytest.raises(ClientError) as gone:
        apigw.get_integration(restApiId=api_id, resourceId=root, httpMethod="GET")
    assert gone.value.response["Error"]["Code"] == "NotFoundException"
    assert other_api != api_id
