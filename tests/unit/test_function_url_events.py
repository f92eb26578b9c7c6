"""Function URLs' HTTP mapping: addresses, the payload format 2.0 event, the response
inference (recorded: TestLambdaURL::test_lambda_url_invocation) and CORS."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_recorded import recorded

from lamina.api.url_cors import preflight_headers, with_cors
from lamina.api.url_event import IamCaller, UrlRequest, build_event, is_text, request_time
from lamina.api.url_response import map_result
from lamina.services.url_address import UrlAddresses, parse_url_host, split_url_path
from lamina.services.url_model import Cors

URL_ID = "0123456789abcdefghijklmnopqrstuv"


def _request(**overrides: Any) -> UrlRequest:
    fields: dict[str, Any] = {
        "method": "GET",
        "raw_path": "/",
        "query_string": "",
        "headers": [("host", f"{URL_ID}.lambda-url.us-east-1.localhost:4566")],
        "body": b"",
        "source_ip": "10.0.0.1",
        "port": 4566,
        "scheme": "http",
    }
    fields.update(overrides)
    return UrlRequest(**fields)


def _event(request: UrlRequest, caller: IamCaller | None = None) -> dict[str, Any]:
    return build_event(
        request,
        url_id=URL_ID,
        domain_name=f"{URL_ID}.lambda-url.us-east-1.localhost",
        request_id="rid",
        caller=caller,
        now_ms=1_796_605_323_000,
    )


def test_addresses() -> None:
    assert parse_url_host(f"{URL_ID}.lambda-url.eu-west-1.localhost") == (URL_ID, "eu-west-1")
    assert parse_url_host(f"{URL_ID}.lambda-url.eu-west-1.on.aws") is None
    assert parse_url_host(f"{URL_ID[:-1]}.lambda-url.eu-west-1.localhost") is None
    assert parse_url_host(f"{URL_ID.upper()}.lambda-url.eu-west-1.localhost") is None
    assert split_url_path(f"/lambda-url/{URL_ID}/a/b") == (URL_ID, "/a/b")
    assert split_url_path(f"/lambda-url/{URL_ID}") == (URL_ID, "/")
    assert split_url_path("/lambda-url/short/a") is None
    assert split_url_path("/2015-03-31/functions") is None
    assert UrlAddresses("http://127.0.0.1:9000").url(URL_ID, "us-east-1") == (
        f"http://{URL_ID}.lambda-url.us-east-1.localhost:9000/"
    )
    assert UrlAddresses("https://lamina.example").url(URL_ID, "us-east-1") == (
        f"https://{URL_ID}.lambda-url.us-east-1.localhost/"
    )


def test_time_format() -> None:
    assert request_time(1_796_605_323_000) == "07/Dec/2026:01:02:03 +0000"


@pytest.mark.parametrize(
    ("content_type", "text"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("text/html", True),
        ("application/xml", True),
        ("application/vnd.api+json", True),
        ("application/javascript", True),
        ("multipart/form-data; boundary=x", False),
        ("application/x-www-form-urlencoded", False),
        ("application/octet-stream", False),
        ("image/png", False),
        (None, False),
    ],
)
def test_text_content_types(content_type: str | None, text: bool) -> None:
    assert is_text(content_type) is text


def test_event_fields() -> None:
    event = _event(
        _request(
            method="POST",
            raw_path="/pa2%Fth/1",
            query_string="q=query&multiQuery=foo&multiQuery=%2Fbar",
            headers=[
                ("host", "h"),
                ("x-multi", "a"),
                ("x-multi", "b"),
                ("cookie", "a=1; b=2"),
                ("content-type", "application/json"),
                ("user-agent", "test/echo"),
            ],
            body=b'{"foo": "bar"}',
        )
    )
    assert event["version"] == "2.0" and event["routeKey"] == "$default"
    assert event["rawPath"] == "/pa2%Fth/1"
    # recorded: test_lambda_url_echo_http_fixture_default's args.
    echoed = recorded(
        "TestLambdaURL::test_lambda_url_echo_http_fixture_default",
        "url_response",
        file="test_lambda",
    )
    assert event["queryStringParameters"] == echoed["args"]
    assert event["cookies"] == ["a=1", "b=2"]
    headers = event["headers"]
    assert headers["x-multi"] == "a,b" and "cookie" not in headers
    assert headers["x-forwarded-for"] == "10.0.0.1" and headers["x-forwarded-port"] == "4566"
    assert headers["x-amzn-trace-id"].startswith("Root=1-")
    context = event["requestContext"]
    assert context["accountId"] == "anonymous" and "authorizer" not in context
    assert context["time"] == "07/Dec/2026:01:02:03 +0000"
    assert context["timeEpoch"] == 1_796_605_323_000
    assert context["http"]["userAgent"] == "test/echo"
    assert (event["body"], event["isBase64Encoded"]) == ('{"foo": "bar"}', False)


def test_event_bodies_and_iam() -> None:
    form = _event(_request(headers=[("content-type", "multipart/form-data")], body=b"\xff"))
    assert (form["body"], form["isBase64Encoded"]) == ("/w==", True)
    bad_text = _event(_request(headers=[("content-type", "text/plain")], body=b"\xff"))
    assert bad_text["isBase64Encoded"] is True  # not UTF-8: base64 rather than mangled
    empty = _event(_request())
    assert "body" not in empty and empty["isBase64Encoded"] is False
    assert "queryStringParameters" not in empty and "cookies" not in empty
    caller = IamCaller("AKID", "000000000000", "AKID", "arn:aws:iam::000000000000:root", "x")
    signed = _event(_request(), caller)
    assert signed["requestContext"]["accountId"] == "000000000000"
    assert signed["requestContext"]["authorizer"]["iam"]["accessKey"] == "AKID"


INVOCATION_CASES = ["dict", "http-response", "list-mixed", "string", "integer", "float", "boolean"]
RETURNED = {
    "dict": {"hello": "world"},
    "http-response": {"statusCode": 200, "body": "body123"},
    "list-mixed": ["hello", 3, True],
    "string": "hello",
    "integer": 3,
    "float": 3.1,
    "boolean": True,
}


@pytest.mark.parametrize("case", INVOCATION_CASES)
def test_response_inference_as_recorded(case: str) -> None:
    expected = recorded(
        f"TestLambdaURL::test_lambda_url_invocation[{case}]",
        "lambda_url_invocation",
        file="test_lambda",
    )
    # What a Python runtime posts: json.dumps with its default separators.
    answer = map_result(json.dumps(RETURNED[case]).encode(), None)
    assert answer.status == expected["statuscode"]
    headers = dict(answer.headers)
    assert headers["content-type"] == expected["headers"]["Content-Type"]
    assert len(answer.body) == int(expected["headers"]["Content-Length"])
    content = expected["content"]
    wanted = content if isinstance(content, str) else json.dumps(content, separators=(",", ":"))
    assert answer.body.decode() == wanted


@pytest.mark.parametrize(
    ("payload", "status", "body"),
    [
        (b'{"errorMessage":"x"}', 502, b"Internal Server Error"),
        (b"not json", 502, b"Internal Server Error"),
        (b'{"statusCode":true}', 502, b"Internal Server Error"),
        (b'{"statusCode":"201","body":"x"}', 201, b"x"),
        (b'{"statusCode":200,"body":"!!","isBase64Encoded":true}', 502, b"Internal Server Error"),
        (b'{"statusCode":200,"body":{"a":1}}', 200, b'{"a":1}'),
        (b'{"statusCode":404}', 404, b""),
        (b"null", 200, b"null"),
    ],
)
def test_response_edges(payload: bytes, status: int, body: bytes) -> None:
    function_error = "Unhandled" if b"errorMessage" in payload else None
    answer = map_result(payload, function_error)
    assert (answer.status, answer.body) == (status, body)


def test_structured_headers_and_cookies() -> None:
    answer = map_result(
        json.dumps(
            {
                "statusCode": 302,
                "headers": {"Location": "/x", "X-Flag": True, "Content-Type": "text/html"},
                "cookies": ["a=1", "b=2"],
            }
        ).encode(),
        None,
    )
    assert answer.status == 302
    assert answer.headers == [
        ("location", "/x"),
        ("x-flag", "true"),
        ("content-type", "text/html"),
        ("set-cookie", "a=1"),
        ("set-cookie", "b=2"),
    ]


CORS = Cors(
    allow_credentials=True,
    allow_headers=("x-custom", "content-type"),
    allow_methods=("GET", "POST"),
    allow_origins=("https://app.example",),
    expose_headers=("x-answer",),
    max_age=600,
)


def test_preflight() -> None:
    headers = dict(preflight_headers(CORS, "https://app.example", "POST", "X-Custom"))
    assert headers == {
        "access-control-allow-origin": "https://app.example",
        "access-control-allow-methods": "GET,POST",
        "access-control-allow-headers": "x-custom,content-type",
        "access-control-allow-credentials": "true",
        "access-control-expose-headers": "x-answer",
        "access-control-max-age": "600",
        "vary": "Origin",
    }
    assert preflight_headers(CORS, "https://other.example", "POST", None) == []
    assert preflight_headers(CORS, "https://app.example", "DELETE", None) == []
    assert preflight_headers(CORS, "https://app.example", "GET", "x-secret") == []
    anyone = Cors(allow_origins=("*",), allow_methods=("*",))
    assert dict(preflight_headers(anyone, "https://x", "PATCH", None)) == {
        "access-control-allow-origin": "*",
        "access-control-allow-methods": "*",
    }


def test_cors_on_answers_replaces_the_functions() -> None:
    given = [("content-type", "text/plain"), ("access-control-allow-origin", "https://evil")]
    out = dict(with_cors(CORS, "https://app.example", given))
    assert out["access-control-allow-origin"] == "https://app.example"
    assert out["access-control-expose-headers"] == "x-answer"
    assert with_cors(CORS, "https://other.example", given) == given
    assert with_cors(CORS, None, given) == given
