"""HTTP APIs' Lambda authorizers at request time, as API Gateway runs them.

- The identity sources (``$request.header.X``, ``$request.querystring.x``,
  ``$stageVariables.x``, ``$context.x``) must all be present and not empty, else 401
  ``{"message":"Unauthorized"}`` without calling the function.
- The function gets the authorizer event of its payload format (2.0: ``type REQUEST``,
  ``routeArn``, ``identitySource`` as a list and the request as in a 2.0 event; 1.0:
  ``methodArn``, ``identitySource`` joined with ``,`` and the request as in a 1.0 event).
- Its answer: a simple response ``{"isAuthorized": bool, "context": {...}}`` (when enabled)
  or an IAM policy (``principalId``, ``policyDocument``, ``context``) allowing
  ``execute-api:Invoke`` on the route's ARN (an explicit Deny wins). Denied: 403
  ``{"message":"Forbidden"}``; an error ``Unauthorized``: 401; any other error, a malformed
  answer or a missing grant: 500 ``{"message":"Internal Server Error"}``.
- With ``AuthorizerResultTtlInSeconds`` > 0 an answer is reused for the same identity
  values until it expires (a bounded cache).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from lamina.services.apigateway.authorizer_calls import (
    MAX_CACHED,
    AnswerCache,
    Rejected,
    call_authorizer,
    policy_allows,
)
from lamina.services.apigateway.events import GatewayRequest, event_v1, event_v2
from lamina.services.apigateway.ports import FunctionInvoker, InvokeGrants
from lamina.services.apigateway.records import Authorizer
from lamina.services.apigateway.responses import GatewayResponse
from lamina.services.apigateway.rest_apis import lambda_function_arn

log = logging.getLogger("lamina.apigateway")


@dataclass(frozen=True, slots=True)
class Authorized:
    """The request may go on; what the authorizer said about its caller."""

    context: dict[str, Any]
    principal_id: str | None

    def for_event(self, payload_format_version: str) -> dict[str, Any]:
        """``requestContext.authorizer`` of the integration's event: 2.0
        ``{"lambda": context}``; 1.0 the context with ``principalId`` and
        ``integrationLatency``."""
        if payload_format_version == "2.0":
            return {"lambda": self.context}
        return {**self.context, "principalId": self.principal_id or "", "integrationLatency": 0}


def _message(status: int, text: str) -> GatewayResponse:
    return GatewayResponse(
        status, [("content-type", "application/json")], json.dumps({"message": text}).encode()
    )


def unauthorized() -> GatewayResponse:
    return _message(401, "Unauthorized")


def forbidden() -> GatewayResponse:
    return _message(403, "Forbidden")


def internal_error() -> GatewayResponse:
    return _message(500, "Internal Server Error")


def identity_values(
    sources: list[str], request: GatewayRequest, stage_variables: dict[str, str]
) -> list[str] | None:
    """The values of the identity sources, in order; None when one is missing or empty."""
    values: list[str] = []
    for source in sources:
        kind, _, name = source.removeprefix("$").partition(".")
        value: str | None = None
        if kind == "request":
            where, _, key = name.partition(".")
            if where == "header":
                found = [v for k, v in request.headers if k == key.lower()]
                value = ",".join(found) if found else None
            elif where == "querystring":
                pairs = parse_qsl(request.query_string, keep_blank_values=True)
                found = [v for k, v in pairs if k == key]
                value = ",".join(found) if found else None
        elif kind == "stageVariables":
            value = stage_variables.get(name)
        elif kind == "context":
            value = _context_value(name, request)
        if not value:
            return None
        values.append(value)
    return values


def _context_value(name: str, request: GatewayRequest) -> str | None:
    known = {
        "requestId": request.request_id,
        "apiId": request.api_id,
        "stage": request.stage,
        "httpMethod": request.method,
        "identity.sourceIp": request.source_ip,
        "identity.userAgent": request.user_agent,
        "domainName": request.domain_name,
    }
    return known.get(name)


class LambdaAuthorizers:
    def __init__(
        self, invoker: FunctionInvoker, grants: InvokeGrants, limit: int = MAX_CACHED
    ) -> None:
        self._invoker = invoker
        self._grants = grants
        # (api, authorizer, identity values) -> the function's answer
        self._cache = AnswerCache(limit)

    async def authorize(
        self,
        region: str,
        authorizer: Authorizer,
        request: GatewayRequest,
        route_key: str,
        route_arn: str,
        path_parameters: dict[str, str],
        stage_variables: dict[str, str],
    ) -> Authorized | GatewayResponse:
        values = identity_values(authorizer.identity_source, request, stage_variables)
        if values is None:
            return unauthorized()
        key = (request.api_id, authorizer.authorizer_id, tuple(values))
        answer = self._cache.get(key) if authorizer.result_ttl > 0 else None
        if answer is None:
            event = _event(
                authorizer,
                request,
                route_key,
                route_arn,
                path_parameters,
                stage_variables,
                values,
            )
            source = (
                f"arn:aws:execute-api:{region}:{request.account_id}:{request.api_id}"
                f"/authorizers/{authorizer.authorizer_id}"
            )
            target = lambda_function_arn(authorizer.authorizer_uri)
            answer = await call_authorizer(
                self._invoker, self._grants, target, source, event, request.request_id
            )
            if answer is Rejected.UNAUTHORIZED:
                return unauthorized()
            if answer is Rejected.FAILED:
                return internal_error()
            if authorizer.result_ttl > 0:
                self._cache.put(key, authorizer.result_ttl, answer)
        return _decide(authorizer, answer, route_arn)


def _event(
    authorizer: Authorizer,
    request: GatewayRequest,
    route_key: str,
    route_arn: str,
    path_parameters: dict[str, str],
    stage_variables: dict[str, str],
    values: list[str],
) -> dict[str, Any]:
    if authorizer.payload_format_version == "2.0":
        full = event_v2(request, route_key, path_parameters, stage_variables)
        head: dict[str, Any] = {
            "version": "2.0",
            "type": "REQUEST",
            "routeArn": route_arn,
            "identitySource": values,
        }
        skipped = {"version", "body", "isBase64Encoded"}
    else:
        template = route_key.partition(" ")[2] or route_key
        full = event_v1(
            request,
            template,
            path_parameters,
            stage_variables,
            resource_id=route_key,
            http_api=True,
        )
        head = {
            "version": "1.0",
            "type": "REQUEST",
            "methodArn": route_arn,
            "identitySource": ",".join(values),
        }
        skipped = {"version", "body", "isBase64Encoded"}
    head.update((k, v) for k, v in full.items() if k not in skipped)
    return head


def _decide(authorizer: Authorizer, answer: Any, route_arn: str) -> Authorized | GatewayResponse:
    if not isinstance(answer, dict):
        return internal_error()
    context = answer.get("context") or {}
    if not isinstance(context, dict):
        return internal_error()
    if authorizer.enable_simple_responses and "isAuthorized" in answer:
        verdict = answer["isAuthorized"]
        if not isinstance(verdict, bool):
            return internal_error()
        return Authorized(context, None) if verdict else forbidden()
    allowed = policy_allows(answer.get("policyDocument"), route_arn)
    if allowed is None:
        return internal_error()
    principal = answer.get("principalId")
    return (
        Authorized(context, str(principal) if principal is not None else None)
        if allowed
        else forbidden()
    )
