"""HTTP APIs' Lambda authorizers: identity sources, simple and IAM policy answers, errors,
caching, and their management rules."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from lamina.services.apigateway.authorizer_calls import policy_allows
from lamina.services.apigateway.errors import BadRequestException, ConflictException
from lamina.services.apigateway.events import GatewayRequest
from lamina.services.apigateway.http_apis import ApiSpec, HttpApiService
from lamina.services.apigateway.http_authorizers import AuthorizerSpec, HttpAuthorizerService
from lamina.services.apigateway.lambda_authorizers import (
    Authorized,
    LambdaAuthorizers,
    identity_values,
)
from lamina.services.apigateway.ports import FunctionAnswer
from lamina.services.apigateway.records import Authorizer
from lamina.services.apigateway.registry import ApiRegistry
from lamina.services.apigateway.responses import GatewayResponse
from lamina.store.apigateway_store import SqliteApiStore

REGION, ACCOUNT = "us-east-1", "000000000000"
FN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:auth"
URI = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{FN}/invocations"
ROUTE_ARN = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:abcdefghij/prod/GET/pets/1"


def _request(**overrides: Any) -> GatewayRequest:
    values: dict[str, Any] = {
        "api_id": "abcdefghij",
        "account_id": ACCOUNT,
        "stage": "prod",
        "method": "GET",
        "path": "/pets/1",
        "full_path": "/prod/pets/1",
        "query_string": "token=q1",
        "headers": [("authorization", "Bearer x"), ("user-agent", "t")],
        "body": b"",
        "source_ip": "127.0.0.1",
        "domain_name": "abcdefghij.execute-api.us-east-1.localhost",
        "request_id": "req-1",
    }
    values.update(overrides)
    return GatewayRequest(**values)


def test_identity_values_are_all_required() -> None:
    request = _request()
    sources = ["$request.header.Authorization", "$request.querystring.token", "$stageVariables.v"]
    assert identity_values(sources, request, {"v": "s"}) == ["Bearer x", "q1", "s"]
    assert identity_values(sources, request, {}) is None
    assert identity_values(["$request.header.X-Missing"], request, {}) is None
    assert identity_values(["$context.requestId"], request, {}) == ["req-1"]


@pytest.mark.parametrize(
    ("statements", "allowed"),
    [
        ({"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": ROUTE_ARN}, True),
        (
            {
                "Effect": "Allow",
                "Action": "execute-api:Invoke",
                "Resource": "arn:aws:execute-api:*:*:abcdefghij/*",
            },
            True,
        ),
        (
            {
                "Effect": "Allow",
                "Action": "execute-api:Invoke",
                "Resource": "arn:aws:execute-api:*:*:other/*",
            },
            False,
        ),
        ({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}, False),
        (
            [
                {"Effect": "Allow", "Action": "execute-api:*", "Resource": "*"},
                {"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": ["*/GET/pets/*"]},
            ],
            False,
        ),
        ({"Effect": "Maybe", "Action": "*", "Resource": "*"}, None),
    ],
)
def test_policy_documents(statements: Any, allowed: bool | None) -> None:
    document = {"Version": "2012-10-17", "Statement": statements}
    assert policy_allows(document, ROUTE_ARN) is allowed


class Functions:
    def __init__(self, answer: Any, error: str | None = None) -> None:
        self.answer = answer
        self.error = error
        self.events: list[dict[str, Any]] = []

    async def invoke(self, arn: str, payload: bytes, request_id: str) -> FunctionAnswer:
        self.events.append(json.loads(payload))
        return FunctionAnswer(json.dumps(self.answer).encode(), self.error)


class Grants:
    def __init__(self, allowed: bool = True) -> None:
        self.allowed = allowed
        self.asked: list[str] = []

    async def allows(self, arn: str, principal: str, source_arn: str) -> bool:
        self.asked.append(source_arn)
        return self.allowed


def _authorizer(**overrides: Any) -> Authorizer:
    values: dict[str, Any] = {
        "authorizer_id": "auth01",
        "name": "a",
        "authorizer_uri": URI,
        "payload_format_version": "2.0",
        "identity_source": ["$request.header.Authorization"],
        "enable_simple_responses": True,
    }
    values.update(overrides)
    return Authorizer(**values)


def _authorize(
    functions: Functions, authorizer: Authorizer, grants: Grants | None = None, times: int = 1
) -> list[Authorized | GatewayResponse]:
    authorizers = LambdaAuthorizers(functions, grants or Grants())

    async def run() -> list[Authorized | GatewayResponse]:
        return [
            await authorizers.authorize(
                REGION, authorizer, _request(), "GET /pets/{id}", ROUTE_ARN, {"id": "1"}, {}
            )
            for _ in range(times)
        ]

    return asyncio.run(run())


def test_simple_responses_and_the_2_0_event() -> None:
    functions = Functions({"isAuthorized": True, "context": {"user": "u1"}})
    grants = Grants()
    (outcome,) = _authorize(functions, _authorizer(), grants)
    assert outcome == Authorized({"user": "u1"}, None)
    assert outcome.for_event("2.0") == {"lambda": {"user": "u1"}}
    event = functions.events[0]
    assert (event["version"], event["type"], event["routeArn"]) == ("2.0", "REQUEST", ROUTE_ARN)
    assert event["identitySource"] == ["Bearer x"]
    assert event["routeKey"] == "GET /pets/{id}" and event["pathParameters"] == {"id": "1"}
    assert "body" not in event and "isBase64Encoded" not in event
    assert grants.asked == [f"arn:aws:execute-api:{REGION}:{ACCOUNT}:abcdefghij/authorizers/auth01"]
    (denied,) = _authorize(Functions({"isAuthorized": False}), _authorizer())
    assert isinstance(denied, GatewayResponse) and denied.status == 403
    assert json.loads(denied.body) == {"message": "Forbidden"}


def test_policy_answers_with_the_1_0_event() -> None:
    answer = {
        "principalId": "me",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": ROUTE_ARN}
            ],
        },
        "context": {"k": 1},
    }
    functions = Functions(answer)
    authorizer = _authorizer(payload_format_version="1.0", enable_simple_responses=False)
    (outcome,) = _authorize(functions, authorizer)
    assert isinstance(outcome, Authorized)
    assert outcome.for_event("1.0") == {"k": 1, "principalId": "me", "integrationLatency": 0}
    event = functions.events[0]
    assert (event["version"], event["methodArn"], event["identitySource"]) == (
        "1.0",
        ROUTE_ARN,
        "Bearer x",
    )
    assert event["httpMethod"] == "GET" and event["resource"] == "/pets/{id}"


@pytest.mark.parametrize(
    ("answer", "error", "status"),
    [
        ({"errorMessage": "Unauthorized"}, "Unhandled", 401),
        ({"errorMessage": "boom"}, "Unhandled", 500),
        ({"isAuthorized": "yes"}, None, 500),
        ({"principalId": "x"}, None, 500),
        ("text", None, 500),
    ],
)
def test_errors_and_malformed_answers(answer: Any, error: str | None, status: int) -> None:
    (outcome,) = _authorize(Functions(answer, error), _authorizer())
    assert isinstance(outcome, GatewayResponse) and outcome.status == status


def test_missing_identity_and_missing_grant() -> None:
    functions = Functions({"isAuthorized": True})
    (outcome,) = _authorize(functions, _authorizer(identity_source=["$request.header.X-Api-Token"]))
    assert isinstance(outcome, GatewayResponse) and outcome.status == 401
    assert functions.events == []
    (outcome,) = _authorize(functions, _authorizer(), Grants(allowed=False))
    assert isinstance(outcome, GatewayResponse) and outcome.status == 500


def test_answers_are_cached_for_their_ttl() -> None:
    functions = Functions({"isAuthorized": True})
    outcomes = _authorize(functions, _authorizer(result_ttl=300), times=3)
    assert all(isinstance(o, Authorized) for o in outcomes)
    assert len(functions.events) == 1
    uncached = Functions({"isAuthorized": True})
    _authorize(uncached, _authorizer(result_ttl=0), times=3)
    assert len(uncached.events) == 3


def test_authorizer_management_rules(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = SqliteApiStore(tmp_path / "a.sqlite3")
        apis = HttpApiService(store, ApiRegistry())
        service = HttpAuthorizerService(store, apis)
        api = await apis.create_api(REGION, ACCOUNT, ApiSpec(name="a"), "HTTP")
        bad = [
            AuthorizerSpec("j", "JWT", URI, "2.0"),
            AuthorizerSpec("u", "REQUEST", FN, "2.0"),
            AuthorizerSpec("v", "REQUEST", URI, "3.0"),
            AuthorizerSpec("s", "REQUEST", URI, "1.0", enable_simple_responses=True),
            AuthorizerSpec("t", "REQUEST", URI, "2.0", result_ttl=300),
            AuthorizerSpec("i", "REQUEST", URI, "2.0", identity_source=["header.x"]),
        ]
        for spec in bad:
            with pytest.raises(BadRequestException):
                await service.create_authorizer(REGION, ACCOUNT, api.api_id, spec)
        assert api.authorizers == {}
        authorizer = await service.create_authorizer(
            REGION,
            ACCOUNT,
            api.api_id,
            AuthorizerSpec("ok", "REQUEST", URI, "2.0", ["$request.header.Authorization"], True),
        )
        with pytest.raises(BadRequestException):
            await apis.create_route(REGION, ACCOUNT, api.api_id, "GET /x", None, "CUSTOM", "nope")
        route = await apis.create_route(
            REGION, ACCOUNT, api.api_id, "GET /x", None, "CUSTOM", authorizer.authorizer_id
        )
        assert (route.authorization_type, route.authorizer_id) == (
            "CUSTOM",
            authorizer.authorizer_id,
        )
        with pytest.raises(ConflictException):
            await service.delete_authorizer(REGION, ACCOUNT, api.api_id, authorizer.authorizer_id)
        await apis.update_route(REGION, ACCOUNT, api.api_id, route.route_id, None, None, "NONE")
        assert route.authorizer_id is None
        await service.delete_authorizer(REGION, ACCOUNT, api.api_id, authorizer.authorizer_id)
        store.close()

    asyncio.run(scenario())
