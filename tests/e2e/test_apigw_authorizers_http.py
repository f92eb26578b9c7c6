"""HTTP APIs' Lambda authorizers against a real server: real authorizer functions (simple
responses and IAM policies) in front of a real integration, by http.client."""

from __future__ import annotations

import http.client
import json
from typing import Any

import pytest
from support import ACCOUNT, REGION, LaminaServer, create_python_function

ECHO = """
import json
def handler(event, context):
    return {"statusCode": 200, "body": json.dumps(event)}
"""
SIMPLE = """
def handler(event, context):
    token = event["identitySource"][0]
    if token == "boom":
        raise Exception("Unauthorized")
    return {"isAuthorized": token == "Bearer good", "context": {"user": "alice", "n": 7}}
"""
POLICY = """
def handler(event, context):
    effect = "Allow" if event["identitySource"] == "Bearer good" else "Deny"
    return {
        "principalId": "alice",
        "policyDocument": {"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}]},
        "context": {"role": "admin"},
    }
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


def _get(server: LaminaServer, api_id: str, path: str, token: str | None) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    headers = {"Host": f"{api_id}.execute-api.{REGION}.localhost"}
    if token is not None:
        headers["Authorization"] = token
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, json.loads(body)


@pytest.mark.parametrize(("version", "code"), [("2.0", SIMPLE), ("1.0", POLICY)])
def test_lambda_authorizer_guards_a_route(
    server: LaminaServer, lam: Any, version: str, code: str
) -> None:
    v2 = server.client("apigatewayv2")
    echo = _arn(lam, ECHO)
    authorizer_fn = _arn(lam, code)
    api_id = v2.create_api(Name=f"auth-{version}", ProtocolType="HTTP")["ApiId"]
    authorizer = v2.create_authorizer(
        ApiId=api_id,
        Name="auth",
        AuthorizerType="REQUEST",
        AuthorizerUri=_uri(authorizer_fn),
        AuthorizerPayloadFormatVersion=version,
        EnableSimpleResponses=version == "2.0",
        IdentitySource=["$request.header.Authorization"],
    )
    assert (
        v2.get_authorizer(ApiId=api_id, AuthorizerId=authorizer["AuthorizerId"])["Name"] == "auth"
    )
    integration_id = v2.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=echo, PayloadFormatVersion="2.0"
    )["IntegrationId"]
    route = v2.create_route(
        ApiId=api_id,
        RouteKey="GET /secret",
        Target=f"integrations/{integration_id}",
        AuthorizationType="CUSTOM",
        AuthorizerId=authorizer["AuthorizerId"],
    )
    assert route["AuthorizerId"] == authorizer["AuthorizerId"]
    v2.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    assert _get(server, api_id, "/secret", None) == (401, {"message": "Unauthorized"})
    assert _get(server, api_id, "/secret", "Bearer bad") == (403, {"message": "Forbidden"})
    status, event = _get(server, api_id, "/secret", "Bearer good")
    assert status == 200, event
    expected = {"user": "alice", "n": 7} if version == "2.0" else {"role": "admin"}
    assert event["requestContext"]["authorizer"] == {"lambda": expected}
    if version == "2.0":
        assert _get(server, api_id, "/secret", "boom") == (401, {"message": "Unauthorized"})
