"""Lambda proxy responses and events against the recordings of real API Gateway
(tests/fixtures/aws-recorded/apigateway/test_apigateway_lambda)."""

from __future__ import annotations

import asyncio
import base64
import json
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from lamina.services.apigateway.events import GatewayRequest, event_v1, event_v2
from lamina.services.apigateway.gateway import Gateway, StageRequest
from lamina.services.apigateway.ports import FunctionAnswer
from lamina.services.apigateway.registry import ApiRegistry
from lamina.services.apigateway.responses import response_v1, response_v2
from lamina.services.apigateway.rest_apis import RestApiService
from lamina.services.apigateway.rest_stages import RestStageService
from lamina.store.apigateway_store import SqliteApiStore

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "aws-recorded" / "apigateway"


@cache
def _recorded(test: str) -> dict[str, Any]:
    data = json.loads((RECORDED / "test_apigateway_lambda.snapshot.json").read_text())
    validated = json.loads((RECORDED / "test_apigateway_lambda.validation.json").read_text())
    (key,) = [k for k in data if k.endswith("::" + test)]
    assert key in validated
    content: dict[str, Any] = data[key]["recorded-content"]
    return content


# The function answers of AWS's test, by the key of its recorded response.
ANSWERS: dict[str, Any] = {
    "invoke-api-no-body": {"statusCode": 200},
    "invoke-api-with-headers": {
        "statusCode": 200,
        "headers": {"test-header": "value", "header-bool": True},
    },
    "invoke-api-with-headers-null": {"statusCode": 200, "headers": None},
    "invoke-api-wrong-format": {"statusCode": 200, "wrongValue": "value"},
    "invoke-api-empty-response": {},
    "invoke-api-b64-encoded-true": {
        "statusCode": 200,
        "body": base64.b64encode(b"test-data").decode(),
        "isBase64Encoded": True,
    },
    "invoke-api-b64-encoded-false": {
        "statusCode": 200,
        "body": base64.b64encode(b"test-data").decode(),
        "isBase64Encoded": False,
    },
    "invoke-api-multi-headers-valid": {
        "statusCode": 200,
        "multiValueHeaders": {"test-multi": ["value1", "value2"]},
    },
    "invoke-api-multi-headers-overwrite": {
        "statusCode": 200,
        "headers": {"test-multi": "value-solo"},
        "multiValueHeaders": {"test-multi": ["value-multi"]},
    },
    "invoke-api-multi-headers-overwrite-casing": {
        "statusCode": 200,
        "headers": {"test-multi": "value-solo"},
        "multiValueHeaders": {"tesT-Multi": ["value-multi"]},
    },
    "invoke-api-multi-headers-invalid": {
        "statusCode": 200,
        "multiValueHeaders": {"test-multi": "value-solo"},
    },
    "invoke-api-invalid-status-code": {"statusCode": "test"},
    "invoke-api-status-code-str": {"statusCode": "201"},
    "invoke-api-just-string": "just a string",
    "invoke-api-only-headers": {"headers": {"test-header": "value"}},
}
# Headers API Gateway's CDN adds (not Lamina's to produce).
CDN_HEADERS = {
    "connection",
    "content-length",
    "date",
    "via",
    "x-amz-cf-id",
    "x-amz-cf-pop",
    "x-amzn-trace-id",
    "x-cache",
    "x-amz-apigw-id",
    "x-amzn-requestid",
}


@pytest.mark.parametrize("key", sorted(ANSWERS))
def test_rest_proxy_responses_are_validated_as_recorded(key: str) -> None:
    recorded = _recorded("test_aws_proxy_response_payload_format_validation")[key]
    mapped = response_v1(json.dumps(ANSWERS[key]).encode(), decode_base64=False)
    content = recorded["content"]
    if content == {"message": "Internal server error"}:
        assert mapped is None  # the gateway's 502
        return
    assert mapped is not None
    assert mapped.body.decode() == content
    if "headers" in recorded:
        expected = {k: v for k, v in recorded["headers"].items() if k.lower() not in CDN_HEADERS}
        assert dict(mapped.headers) == expected


def _request(**overrides: Any) -> GatewayRequest:
    values: dict[str, Any] = {
        "api_id": "abcdefghij",
        "account_id": "111111111111",
        "stage": "stage",
        "method": "GET",
        "path": "/proxy-value",
        "full_path": "/stage/proxy-value",
        "query_string": "",
        "headers": [("accept", "*/*"), ("user-agent", "python-requests/testing")],
        "body": b"",
        "source_ip": "127.0.0.1",
        "domain_name": "abcdefghij.execute-api.us-east-1.localhost",
        "request_id": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
    }
    values.update(overrides)
    return GatewayRequest(**values)


def test_rest_event_has_the_recorded_shape() -> None:
    recorded = _recorded("test_lambda_aws_proxy_integration")
    expected = recorded["invocation-payload-without-trailing-slash"]
    event = event_v1(
        _request(),
        "/{proxy+}",
        {"proxy": "proxy-value"},
        {},
        resource_id="abc123",
        deployment_id="dep123",
    )
    assert sorted(event) == sorted(expected)
    assert sorted(event["requestContext"]) == sorted(expected["requestContext"])
    assert (
        event["requestContext"]["identity"].keys() == expected["requestContext"]["identity"].keys()
    )
    for member in (
        "path",
        "resource",
        "httpMethod",
        "pathParameters",
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "stageVariables",
        "body",
        "isBase64Encoded",
    ):
        assert event[member] == expected[member], member
    context = event["requestContext"]
    for member in ("path", "protocol", "resourcePath", "stage", "httpMethod"):
        assert context[member] == expected["requestContext"][member], member
    assert context["requestTimeEpoch"] > 0 and context["domainPrefix"] == "abcdefghij"


def test_rest_event_query_parameters_as_recorded() -> None:
    expected = _recorded("test_lambda_aws_proxy_integration")[
        "invocation-payload-with-params-encoding-multi"
    ]
    query = "category=electronics&category=books&price=10&price=20&price=30"
    event = event_v1(
        _request(query_string=query), "/{proxy+}", {"proxy": "proxy-value"}, {}, resource_id="r"
    )
    assert event["queryStringParameters"] == expected["queryStringParameters"]
    assert event["multiValueQueryStringParameters"] == expected["multiValueQueryStringParameters"]


def test_v2_event_members_are_absent_when_empty_and_bodies_by_type() -> None:
    event = event_v2(_request(stage="$default", full_path="/x"), "$default", {}, {})
    for member in ("cookies", "queryStringParameters", "pathParameters", "stageVariables", "body"):
        assert member not in event
    binary = event_v2(
        _request(body=b"\xff", headers=[("content-type", "application/octet-stream")]),
        "GET /x",
        {},
        {},
    )
    assert (binary["body"], binary["isBase64Encoded"]) == ("/w==", True)
    text = event_v2(
        _request(body=b"{}", headers=[("content-type", "application/json")]), "GET /x", {}, {}
    )
    assert (text["body"], text["isBase64Encoded"]) == ("{}", False)
    joined = event_v2(
        _request(headers=[("x-a", "1"), ("x-a", "2")], query_string="q=1&q=2"), "GET /x", {}, {}
    )
    assert joined["headers"]["x-a"] == "1,2" and joined["queryStringParameters"] == {"q": "1,2"}


@pytest.mark.parametrize(
    ("answer", "status", "body"),
    [
        ({"a": 1}, 200, b'{"a":1}'),
        ("hello", 200, b"hello"),
        (["hello", 3, True], 200, b'["hello",3,true]'),
        ({"statusCode": 204}, 204, b""),
        ({"statusCode": 200, "body": "aGk=", "isBase64Encoded": True}, 200, b"hi"),
    ],
)
def test_v2_responses_are_inferred(answer: Any, status: int, body: bytes) -> None:
    mapped = response_v2(json.dumps(answer).encode())
    assert mapped is not None and (mapped.status, mapped.body) == (status, body)


@pytest.mark.parametrize(
    "answer",
    [{"statusCode": "x"}, {"statusCode": 200, "body": {"a": 1}}, {"statusCode": 200, "headers": 3}],
)
def test_v2_malformed_explicit_responses(answer: Any) -> None:
    assert response_v2(json.dumps(answer).encode()) is None


def test_v2_cookies_become_set_cookie_headers() -> None:
    mapped = response_v2(json.dumps({"statusCode": 200, "cookies": ["a=1", "b=2"]}).encode())
    assert mapped is not None
    assert [v for k, v in mapped.headers if k == "set-cookie"] == ["a=1", "b=2"]


PROXY_CASES = sorted(
    k for k in _recorded("test_lambda_aws_proxy_integration") if k.startswith("invocation-")
)


@pytest.mark.parametrize("key", PROXY_CASES)
def test_rest_gateway_events_match_the_recorded_paths_and_parameters(
    tmp_path: Path, key: str
) -> None:
    """Each recorded request (its path from ``requestContext.path``, its query from the
    multi-value parameters) through a deployed ``/{proxy+}`` and ``/hardcoded`` API."""
    expected = _recorded("test_lambda_aws_proxy_integration")[key]
    fn = "arn:aws:lambda:us-east-1:111111111111:function:f"
    uri = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{fn}/invocations"
    events: list[dict[str, Any]] = []

    class Functions:
        async def invoke(self, arn: str, payload: bytes, request_id: str) -> FunctionAnswer:
            events.append(json.loads(payload))
            return FunctionAnswer(b'{"statusCode": 200}')

    class Grants:
        async def allows(self, arn: str, principal: str, source_arn: str) -> bool:
            return True

    async def scenario() -> None:
        store = SqliteApiStore(tmp_path / "p.sqlite3")
        registry = ApiRegistry()
        apis = RestApiService(store, registry)
        stages = RestStageService(store, apis)
        api = await apis.create_api("us-east-1", "111111111111", "p")
        for part in ("{proxy+}", "hardcoded"):
            resource = await apis.create_resource(
                "us-east-1", "111111111111", api.api_id, api.root_resource_id, part
            )
            verb = expected["httpMethod"]
            await apis.put_method(
                "us-east-1", "111111111111", api.api_id, resource.resource_id, verb, "NONE"
            )
            await apis.put_integration(
                "us-east-1",
                "111111111111",
                api.api_id,
                resource.resource_id,
                verb,
                "AWS_PROXY",
                uri,
            )
        await stages.create_deployment("us-east-1", "111111111111", api.api_id, "stage")
        sent = expected["body"]
        body = (
            b"" if sent is None else (sent if isinstance(sent, str) else json.dumps(sent)).encode()
        )
        multi = expected["multiValueQueryStringParameters"] or {}
        query = urlencode([(k, v) for k, vs in multi.items() for v in vs], quote_via=quote)
        request = StageRequest(
            expected["httpMethod"],
            expected["requestContext"]["path"],
            query,
            [],
            body,
            "127.0.0.1",
            "x.localhost",
            "rid",
        )
        response = await Gateway(registry, Functions(), Grants()).handle(api.api_id, request)
        assert response is not None and response.status == 200
        store.close()

    asyncio.run(scenario())
    (event,) = events
    for member in (
        "path",
        "resource",
        "httpMethod",
        "pathParameters",
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "isBase64Encoded",
    ):
        assert event[member] == expected[member], member
    recorded_body = expected["body"]
    if isinstance(recorded_body, dict):
        assert json.loads(event["body"]) == recorded_body  # the recording parsed it
    else:
        assert event["body"] == recorded_body
    for member in ("path", "resourcePath", "stage", "httpMethod", "protocol"):
        assert event["requestContext"][member] == expected["requestContext"][member], member
