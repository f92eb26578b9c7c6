"""The events API Gateway sends a function (Lambda proxy), as AWS builds them:

- payload format 2.0 (HTTP APIs): version, routeKey, rawPath, rawQueryString, cookies,
  lower-case headers (repeated values joined with ``,``), queryStringParameters (joined
  with ``,``), requestContext, pathParameters, stageVariables, body, isBase64Encoded; the
  optional members are absent when empty;
- payload format 1.0 (REST APIs, and HTTP APIs that ask for it): resource, path,
  httpMethod, headers and multiValueHeaders, queryStringParameters and
  multiValueQueryStringParameters, pathParameters, stageVariables, requestContext, body,
  isBase64Encoded; empty members are ``null``. HTTP APIs add ``"version": "1.0"``.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

_TEXT_TYPES = (
    "application/json",
    "application/javascript",
    "application/xml",
    "application/ecmascript",
)


@dataclass(frozen=True, slots=True)
class GatewayRequest:
    """One request to a stage, as the gateway saw it."""

    api_id: str
    account_id: str
    stage: str
    method: str
    path: str  # within the stage (raw), e.g. ``/items/1``
    full_path: str  # as requested, stage prefix included when there is one
    query_string: str
    headers: list[tuple[str, str]]  # lower-case names as received
    body: bytes
    source_ip: str
    domain_name: str
    request_id: str
    received: float = field(default_factory=time.time)

    @property
    def user_agent(self) -> str:
        return next((v for k, v in self.headers if k == "user-agent"), "")


def is_text(headers: list[tuple[str, str]]) -> bool:
    """Whether the body is text (passed as is) rather than binary (base64): by its type."""
    content_type = next((v for k, v in headers if k == "content-type"), "").lower()
    kind = content_type.split(";", 1)[0].strip()
    return (
        kind.startswith("text/")
        or kind in _TEXT_TYPES
        or kind.endswith("+json")
        or kind.endswith("+xml")
    )


# The headers an HTTP API sets in its 1.0 events in their usual casing.
_GATEWAY_SET = frozenset(
    {
        "content-length",
        "host",
        "user-agent",
        "x-amzn-trace-id",
        "x-forwarded-for",
        "x-forwarded-port",
        "x-forwarded-proto",
    }
)


def _canonical(name: str) -> str:
    return "-".join(part[:1].upper() + part[1:] for part in name.split("-"))


def _request_time(received: float) -> str:
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(received))


def _domain_prefix(domain: str) -> str:
    return domain.split(".", 1)[0]


def _encoded_body(request: GatewayRequest) -> tuple[str | None, bool]:
    if not request.body:
        return None, False
    if is_text(request.headers):
        try:
            return request.body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(request.body).decode("ascii"), True


def event_v2(
    request: GatewayRequest,
    route_key: str,
    path_parameters: dict[str, str],
    stage_variables: dict[str, str],
) -> dict[str, Any]:
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        if name == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    query: dict[str, str] = {}
    for key, value in parse_qsl(request.query_string, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value
    epoch_ms = int(request.received * 1000)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.full_path,
        "rawQueryString": request.query_string,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if query:
        event["queryStringParameters"] = query
    event["requestContext"] = {
        "accountId": request.account_id,
        "apiId": request.api_id,
        "domainName": request.domain_name,
        "domainPrefix": _domain_prefix(request.domain_name),
        "http": {
            "method": request.method,
            "path": request.full_path,
            "protocol": "HTTP/1.1",
            "sourceIp": request.source_ip,
            "userAgent": request.user_agent,
        },
        "requestId": request.request_id,
        "routeKey": route_key,
        "stage": request.stage,
        "time": _request_time(request.received),
        "timeEpoch": epoch_ms,
    }
    if path_parameters:
        event["pathParameters"] = path_parameters
    if stage_variables:
        event["stageVariables"] = stage_variables
    body, encoded = _encoded_body(request)
    if body is not None:
        event["body"] = body
    event["isBase64Encoded"] = encoded
    return event


def event_v1(
    request: GatewayRequest,
    resource: str,
    path_parameters: dict[str, str],
    stage_variables: dict[str, str],
    *,
    resource_id: str,
    deployment_id: str | None = None,
    http_api: bool = False,
) -> dict[str, Any]:
    """The 1.0 event; ``http_api``: as an HTTP API sends it (``version``, base64 bodies
    by content type), else as a REST API (text bodies as they are)."""
    headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for received, value in request.headers:
        # REST APIs pass names in the client's casing: Lamina receives them lower-case and
        # restores the usual one (``User-Agent``); HTTP APIs pass the client's (lower-case
        # from Lamina's server) but those the gateway sets itself in the usual casing.
        name = _canonical(received) if not http_api or received in _GATEWAY_SET else received
        headers[name] = value  # the last value, as API Gateway keeps it
        multi_headers.setdefault(name, []).append(value)
    query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for key, value in parse_qsl(request.query_string, keep_blank_values=True):
        query[key] = value
        multi_query.setdefault(key, []).append(value)
    epoch_ms = int(request.received * 1000)
    identity = {
        "accessKey": None,
        "accountId": None,
        "caller": None,
        "cognitoAuthenticationProvider": None,
        "cognitoAuthenticationType": None,
        "cognitoIdentityId": None,
        "cognitoIdentityPoolId": None,
        "principalOrgId": None,
        "sourceIp": request.source_ip,
        "user": None,
        "userAgent": request.user_agent,
        "userArn": None,
    }
    context: dict[str, Any] = {
        "accountId": request.account_id,
        "apiId": request.api_id,
        "domainName": request.domain_name,
        "domainPrefix": _domain_prefix(request.domain_name),
        "extendedRequestId": request.request_id[:16],
        "httpMethod": request.method,
        "identity": identity,
        "path": request.full_path,
        "protocol": "HTTP/1.1",
        "requestId": request.request_id,
        "requestTime": _request_time(request.received),
        "requestTimeEpoch": epoch_ms,
        "resourceId": resource_id,
        "resourcePath": resource,
        "stage": request.stage,
    }
    if deployment_id is not None:
        context["deploymentId"] = deployment_id
    if http_api:
        body, encoded = _encoded_body(request)
    else:
        body = request.body.decode("utf-8", "replace") if request.body else None
        encoded = False
    event: dict[str, Any] = {}
    if http_api:
        event["version"] = "1.0"
    event.update(
        {
            "resource": resource,
            "path": request.path if not http_api else request.full_path,
            "httpMethod": request.method,
            "headers": headers,
            "multiValueHeaders": multi_headers,
            "queryStringParameters": query or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": path_parameters or None,
            "stageVariables": stage_variables or None,
            "requestContext": context,
            "body": body,
            "isBase64Encoded": encoded,
        }
    )
    return event
