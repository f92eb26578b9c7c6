"""REST APIs' Lambda authorizers against a real server: TOKEN and REQUEST authorizer
functions returning IAM policies, in front of a real proxy integration."""

from __future__ import annotations

import http.client
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support import ACCOUNT, REGION, LaminaServer, create_python_function

ECHO = """
import json
def handler(event, context):
    return {"statusCode": 200, "body": json.dumps(event)}
"""
TOKEN = """
def handler(event, context):
    token = event.get("authorizationToken") or event["headers"].get("X-Key", "")
    if token == "boom":
        raise Exception("Unauthorized")
    effect = {"good": "Allow", "deny": "Deny"}.get(token)
    statements = [] if effect is None else [
        {"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}]
    return {"principalId": "user-1", "context": {"tier": "gold", "type": event["type"]},
            "policyDocument": {"Version": "2012-10-17", "Statement": statements}}
"""


def _arn(lam: Any, code: str) -> str:
    name = create_python_function(lam, code)
    lam.add_permission(
        FunctionName=name,
        StatementId="apigw",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:*",
    )
    arn: str = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    return arn


def _uri(arn: str) -> str:
    return f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{arn}/invocations"


def _get(server: LaminaServer, api_id: str, headers: dict[str, str]) -> tuple[int, Any, str]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    conn.request(
        "GET",
        "/prod/items",
        headers={"Host": f"{api_id}.execute-api.{REGION}.localhost", **headers},
    )
    response = conn.getresponse()
    body = json.loads(response.read())
    error_type = response.getheader("x-amzn-ErrorType") or ""
    conn.close()
    return response.status, body, error_type


@pytest.mark.parametrize(
    ("kind", "source", "header"),
    [
        ("TOKEN", "method.request.header.Authorization", "Authorization"),
        ("REQUEST", "method.request.header.X-Key", "X-Key"),
    ],
)
def test_lambda_authorizer_guards_a_method(
    server: LaminaServer, lam: Any, kind: str, source: str, header: str
) -> None:
    apigw = server.client("apigateway")
    echo, authorizer_fn = _arn(lam, ECHO), _arn(lam, TOKEN)
    api = apigw.create_rest_api(name=f"auth-{kind}")
    api_id = api["id"]
    authorizer = apigw.create_authorizer(
        restApiId=api_id,
        name="auth",
        type=kind,
        authorizerUri=_uri(authorizer_fn),
        identitySource=source,
        authorizerResultTtlInSeconds=0,
    )
    assert apigw.get_authorizers(restApiId=api_id)["items"][0]["id"] == authorizer["id"]
    resource = apigw.create_resource(
        restApiId=api_id, parentId=api["rootResourceId"], pathPart="items"
    )
    with pytest.raises(ClientError) as invalid:
        apigw.put_method(
            restApiId=api_id,
            resourceId=resource["id"],
            httpMethod="GET",
            authorizationType="CUSTOM",
            authorizerId="nope00",
        )
    assert invalid.value.response["Error"]["Code"] == "BadRequestException"
    apigw.put_method(
        restApiId=api_id,
        resourceId=resource["id"],
        httpMethod="GET",
        authorizationType="CUSTOM",
        authorizerId=authorizer["id"],
    )
    apigw.put_integration(
        restApiId=api_id,
        resourceId=resource["id"],
        httpMethod="GET",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=_uri(echo),
    )
    apigw.create_deployment(restApiId=api_id, stageName="prod")
    assert _get(server, api_id, {}) == (401, {"message": "Unauthorized"}, "UnauthorizedException")
    assert _get(server, api_id, {header: "boom"})[:2] == (401, {"message": "Unauthorized"})
    assert _get(server, api_id, {header: "deny"})[:2] == (
        403,
        {"Message": "User is not authorized to access this resource with an explicit deny"},
    )
    assert _get(server, api_id, {header: "other"})[:2] == (
        403,
        {"Message": "User is not authorized to access this resource"},
    )
    status, event, _ = _get(server, api_id, {header: "good"})
    assert status == 200, event
    authorizer_context = event["requestContext"]["authorizer"]
    assert authorizer_context["principalId"] == "user-1"
    assert (authorizer_context["tier"], authorizer_context["type"]) == ("gold", kind)
    with pytest.raises(ClientError) as in_use:
        apigw.delete_authorizer(restApiId=api_id, authorizerId=authorizer["id"])
    assert in_use.value.response["Error"]["Code"] == "ConflictException"
