"""REST APIs' Lambda authorizers: management rules, TOKEN validation expressions, the
default 300 s cache, and answers that are no valid policy."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from lamina.services.apigateway.errors import BadRequestException
from lamina.services.apigateway.events import GatewayRequest
from lamina.services.apigateway.lambda_authorizers import Authorized
from lamina.services.apigateway.ports import FunctionAnswer
from lamina.services.apigateway.records import RestAuthorizer
from lamina.services.apigateway.registry import ApiRegistry
from lamina.services.apigateway.responses import GatewayResponse
from lamina.services.apigateway.rest_apis import Patch, RestApiService
from lamina.services.apigateway.rest_authorize import RestAuthorizers
from lamina.services.apigateway.rest_authorizers import RestAuthorizerService
from lamina.store.apigateway_store import SqliteApiStore

REGION, ACCOUNT = "us-east-1", "000000000000"
FN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:auth"
URI = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{FN}/invocations"
METHOD_ARN = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:abcdefghij/prod/GET/items"
ALLOW = {
    "principalId": "p",
    "policyDocument": {
        "Version": "2012-10-17",
        "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "*"}],
    },
}


class Functions:
    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.events: list[dict[str, Any]] = []

    async def invoke(self, arn: str, payload: bytes, request_id: str) -> FunctionAnswer:
        self.events.append(json.loads(payload))
        return FunctionAnswer(json.dumps(self.answer).encode())


class Grants:
    async def allows(self, arn: str, principal: str, source_arn: str) -> bool:
        return True


def _request(token: str) -> GatewayRequest:
    return GatewayRequest(
        "abcdefghij",
        ACCOUNT,
        "prod",
        "GET",
        "/items",
        "/prod/items",
        "",
        [("authorization", token)],
        b"",
        "127.0.0.1",
        "d.localhost",
        "r1",
    )


def _run(functions: Functions, authorizer: RestAuthorizer, tokens: list[str]) -> list[Any]:
    authorizers = RestAuthorizers(functions, Grants())

    async def run() -> list[Authorized | GatewayResponse]:
        return [
            await authorizers.authorize(
                REGION, authorizer, _request(t), "/items", "res1", METHOD_ARN, {}, {}
            )
            for t in tokens
        ]

    return asyncio.run(run())


def _token_authorizer(**overrides: Any) -> RestAuthorizer:
    values: dict[str, Any] = {
        "authorizer_id": "a1",
        "name": "a",
        "type": "TOKEN",
        "authorizer_uri": URI,
        "identity_source": "method.request.header.Authorization",
    }
    values.update(overrides)
    return RestAuthorizer(**values)


def test_token_event_validation_expression_and_default_cache() -> None:
    functions = Functions(ALLOW)
    outcomes = _run(
        functions,
        _token_authorizer(identity_validation_expression="Bearer .+"),
        ["Bearer a", "Bearer a", "nope"],
    )
    assert isinstance(outcomes[0], Authorized) and outcomes[0].principal_id == "p"
    assert isinstance(outcomes[2], GatewayResponse) and outcomes[2].status == 401
    assert functions.events == [
        {"type": "TOKEN", "methodArn": METHOD_ARN, "authorizationToken": "Bearer a"}
    ]  # once: cached 300 s by default


@pytest.mark.parametrize(
    "answer",
    [
        {"policyDocument": ALLOW["policyDocument"]},  # no principalId
        {"principalId": "p", "policyDocument": {"Statement": [{"Effect": "Maybe"}]}},
        {"principalId": "p"},
        ["not", "an", "object"],
    ],
)
def test_answers_that_are_no_valid_policy(answer: Any) -> None:
    (outcome,) = _run(Functions(answer), _token_authorizer(result_ttl=0), ["t"])
    assert isinstance(outcome, GatewayResponse)
    assert (outcome.status, json.loads(outcome.body)) == (500, {"message": None})
    assert ("x-amzn-ErrorType", "AuthorizerConfigurationException") in outcome.headers


def test_management_rules(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = SqliteApiStore(tmp_path / "r.sqlite3")
        apis = RestApiService(store, ApiRegistry())
        service = RestAuthorizerService(store, apis)
        api = await apis.create_api(REGION, ACCOUNT, "r")
        header = "method.request.header.Auth"
        for args in [
            ("c", "COGNITO_USER_POOLS", URI, header),
            ("t", "TOKEN", FN, header),
            ("t", "TOKEN", URI, "method.request.querystring.q"),
            ("t", "TOKEN", URI, None),
            ("r", "REQUEST", URI, None),  # caching (300 s) needs an identity source
            ("r", "REQUEST", URI, "header.x"),
        ]:
            with pytest.raises(BadRequestException):
                await service.create_authorizer(REGION, ACCOUNT, api.api_id, *args)
        assert api.authorizers == {}
        request = await service.create_authorizer(
            REGION, ACCOUNT, api.api_id, "r", "REQUEST", URI, None, None, 0
        )
        updated = await service.update_authorizer(
            REGION,
            ACCOUNT,
            api.api_id,
            request.authorizer_id,
            [
                Patch("replace", "/name", "renamed"),
                Patch("replace", "/identitySource", "method.request.querystring.key"),
            ],
        )
        assert (updated.name, updated.identity_source) == (
            "renamed",
            "method.request.querystring.key",
        )
        with pytest.raises(BadRequestException):
            await service.update_authorizer(
                REGION,
                ACCOUNT,
                api.api_id,
                request.authorizer_id,
                [Patch("replace", "/name", "never"), Patch("replace", "/bogus", "x")],
            )
        assert api.authorizers[request.authorizer_id].name == "renamed"
        store.close()

    asyncio.run(scenario())
