"""REST APIs' Lambda authorizers at request time, as API Gateway runs them.

- ``TOKEN``: the identity header must be present and not empty (and match the
  ``identityValidationExpression`` when there is one), else 401 ``{"message":
  "Unauthorized"}`` without calling the function; the event is ``{"type": "TOKEN",
  "methodArn", "authorizationToken"}``.
- ``REQUEST``: every identity source (``method.request.header.X``,
  ``method.request.querystring.x``, ``stageVariables.x``, ``context.x``) must be present
  when there are any, else 401; the event is the request's REST event (without its body)
  with ``type`` and ``methodArn``.
- The answer is an IAM policy: an explicit Deny: 403 ``{"Message": "User is not authorized to
  access this resource with an explicit deny"}``; no Allow: 403 ``{"Message": "User is not
  authorized to access this resource"}``; the error ``Unauthorized``: 401; any other error, a
  malformed answer or a missing grant: 500 ``{"message": null}``
  (``AuthorizerConfigurationException``).
- Answers are reused for their TTL (300 s unless set; 0: never) by identity values.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from lamina.services.apigateway.authorizer_calls import (
    MAX_CACHED,
    AnswerCache,
    Rejected,
    call_authorizer,
    policy_verdict,
)
from lamina.services.apigateway.events import GatewayRequest, event_v1
from lamina.services.apigateway.lambda_authorizers import Authorized
from lamina.services.apigateway.ports import FunctionInvoker, InvokeGrants
from lamina.services.apigateway.records import RestAuthorizer
from lamina.services.apigateway.responses import GatewayResponse
from lamina.services.apigateway.rest_apis import lambda_function_arn
from lamina.services.apigateway.rest_authorizers import identity_sources, ttl

EXPLICIT_DENY = "User is not authorized to access this resource with an explicit deny"
NOT_ALLOWED = "User is not authorized to access this resource"


def _answer(status: int, body: dict[str, Any], error_type: str) -> GatewayResponse:
    headers = [("content-type", "application/json"), ("x-amzn-ErrorType", error_type)]
    return GatewayResponse(status, headers, json.dumps(body).encode())


def unauthorized() -> GatewayResponse:
    return _answer(401, {"message": "Unauthorized"}, "UnauthorizedException")


def configuration_error() -> GatewayResponse:
    return _answer(500, {"message": None}, "AuthorizerConfigurationException")


def _value(source: str, request: GatewayRequest, variables: dict[str, str]) -> str | None:
    if source.startswith("method.request.header."):
        name = source.removeprefix("method.request.header.").lower()
        found = [v for k, v in request.headers if k == name]
        return ",".join(found) if found else None
    if source.startswith("method.request.querystring."):
        name = source.removeprefix("method.request.querystring.")
        found = [v for k, v in parse_qsl(request.query_string, keep_blank_values=True) if k == name]
        return ",".join(found) if found else None
    if source.startswith("stageVariables."):
        return variables.get(source.removeprefix("stageVariables."))
    if source.startswith("context."):
        known = {
            "requestId": request.request_id,
            "apiId": request.api_id,
            "stage": request.stage,
            "httpMethod": request.method,
            "identity.sourceIp": request.source_ip,
            "identity.userAgent": request.user_agent,
        }
        return known.get(source.removeprefix("context."))
    return None


class RestAuthorizers:
    def __init__(
        self, invoker: FunctionInvoker, grants: InvokeGrants, limit: int = MAX_CACHED
    ) -> None:
        self._invoker = invoker
        self._grants = grants
        self._cache = AnswerCache(limit)

    async def authorize(
        self,
        region: str,
        authorizer: RestAuthorizer,
        request: GatewayRequest,
        resource_path: str,
        resource_id: str,
        method_arn: str,
        path_parameters: dict[str, str],
        stage_variables: dict[str, str],
    ) -> Authorized | GatewayResponse:
        values: list[str] = []
        for source in identity_sources(authorizer):
            value = _value(source, request, stage_variables)
            if not value:
                return unauthorized()
            values.append(value)
        expression = authorizer.identity_validation_expression
        if authorizer.type == "TOKEN" and expression and not re.fullmatch(expression, values[0]):
            return unauthorized()
        key = (request.api_id, authorizer.authorizer_id, tuple(values))
        seconds = ttl(authorizer)
        answer = self._cache.get(key) if seconds > 0 else None
        if answer is None:
            if authorizer.type == "TOKEN":
                event: dict[str, Any] = {
                    "type": "TOKEN",
                    "methodArn": method_arn,
                    "authorizationToken": values[0],
                }
            else:
                full = event_v1(
                    request,
                    resource_path,
                    path_parameters,
                    stage_variables,
                    resource_id=resource_id,
                )
                event = {"type": "REQUEST", "methodArn": method_arn}
                event.update(
                    (k, v) for k, v in full.items() if k not in ("body", "isBase64Encoded")
                )
            source_arn = (
                f"arn:aws:execute-api:{region}:{request.account_id}:{request.api_id}"
                f"/authorizers/{authorizer.authorizer_id}"
            )
            target = lambda_function_arn(authorizer.authorizer_uri)
            answer = await call_authorizer(
                self._invoker, self._grants, target, source_arn, event, request.request_id
            )
            if answer is Rejected.UNAUTHORIZED:
                return unauthorized()
            if answer is Rejected.FAILED:
                return configuration_error()
            if seconds > 0:
                self._cache.put(key, seconds, answer)
        return _decide(answer, method_arn)


def _decide(answer: Any, method_arn: str) -> Authorized | GatewayResponse:
    if not isinstance(answer, dict):
        return configuration_error()
    context = answer.get("context") or {}
    principal = answer.get("principalId")
    if not isinstance(context, dict) or principal is None:
        return configuration_error()
    verdict = policy_verdict(answer.get("policyDocument"), method_arn)
    if verdict is None:
        return configuration_error()
    if verdict == "deny":
        return _answer(403, {"Message": EXPLICIT_DENY}, "AccessDeniedException")
    if verdict == "none":
        return _answer(403, {"Message": NOT_ALLOWED}, "AccessDeniedException")
    return Authorized(context, str(principal))
