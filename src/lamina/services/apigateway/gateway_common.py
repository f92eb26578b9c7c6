"""What the HTTP and REST API data paths share: the request as the gateway received it,
API Gateway's own answers, the headers it adds, source ARNs, and invoking the integration's
function within its timeout."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass

from lamina.domain.tracing import new_trace_id
from lamina.services.apigateway.events import GatewayRequest
from lamina.services.apigateway.ports import FunctionAnswer, FunctionInvokeFailed, FunctionInvoker
from lamina.services.apigateway.responses import GatewayResponse
from lamina.services.apigateway.routes import DEFAULT_ROUTE

log = logging.getLogger("lamina.apigateway")

PRINCIPAL = "apigateway.amazonaws.com"


def message(status: int, text: str, error_type: str | None = None) -> GatewayResponse:
    headers = [("content-type", "application/json")]
    if error_type is not None:
        headers.append(("x-amzn-ErrorType", error_type))
    return GatewayResponse(status, headers, json.dumps({"message": text}).encode())


def http_not_found() -> GatewayResponse:
    return message(404, "Not Found")


def http_internal_error() -> GatewayResponse:
    return message(500, "Internal Server Error")


def rest_missing_token() -> GatewayResponse:
    return message(403, "Missing Authentication Token", "MissingAuthenticationTokenException")


def rest_forbidden() -> GatewayResponse:
    return message(403, "Forbidden", "ForbiddenException")


def rest_internal_error(status: int) -> GatewayResponse:
    """REST APIs' own failure (as recorded: ``InternalServerErrorException``)."""
    return message(status, "Internal server error", "InternalServerErrorException")


class InvocationTimedOut(Exception):
    """The function did not answer within the integration's timeout."""


@dataclass(frozen=True, slots=True)
class StageRequest:
    """A request to an API: its path after the host (or after the path form's prefix)."""

    method: str
    path: str
    query_string: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str
    domain_name: str
    request_id: str


class IntegrationInvoker:
    """Invokes integrations' functions; an invocation that outlives its integration's
    timeout runs on to its end, held here, unheard (as on AWS)."""

    def __init__(self, invoker: FunctionInvoker) -> None:
        self._invoker = invoker
        self._late: set[asyncio.Future[FunctionAnswer]] = set()

    async def invoke(
        self, target: str, event: dict[str, object], request_id: str, timeout_ms: int
    ) -> FunctionAnswer | None:
        """The function's answer (its error included); None when Lambda refused the
        invocation; ``InvocationTimedOut`` after the integration's timeout (the invocation
        runs on to its end, as on AWS, unheard)."""
        payload = json.dumps(event, separators=(",", ":")).encode()
        task = asyncio.ensure_future(self._invoker.invoke(target, payload, request_id))
        try:
            return await asyncio.wait_for(asyncio.shield(task), timeout_ms / 1000)
        except FunctionInvokeFailed as failure:
            log.warning("API Gateway could not invoke %s: %s", target, failure)
            return None
        except TimeoutError:
            log.warning("API Gateway's integration with %s timed out", target)
            self._late.add(task)
            task.add_done_callback(self._forget)
            raise InvocationTimedOut from None

    def _forget(self, task: asyncio.Future[FunctionAnswer]) -> None:
        self._late.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: a late failure is no one's to hear


def build_gateway_request(
    api_id: str,
    account: str,
    stage: str,
    request: StageRequest,
    path: str,
    full_path: str | None = None,
) -> GatewayRequest:
    return GatewayRequest(
        api_id=api_id,
        account_id=account,
        stage=stage,
        method=request.method,
        path=path,
        full_path=full_path or request.path,
        query_string=request.query_string,
        headers=forwarded_headers(request),
        body=request.body,
        source_ip=request.source_ip,
        domain_name=request.domain_name,
        request_id=request.request_id,
    )


def forwarded_headers(request: StageRequest) -> list[tuple[str, str]]:
    """The request's headers as API Gateway passes them on: ``x-forwarded-for`` (the
    client's address appended to any it sent), ``-port``, ``-proto`` and a new
    ``x-amzn-trace-id`` unless the client sent one."""
    host = next((v for k, v in request.headers if k == "host"), "")
    port = host.rsplit(":", 1)[1] if ":" in host and not host.endswith("]") else "80"
    headers = [(k, v) for k, v in request.headers if k not in _FORWARDED]
    sent_for = next((v for k, v in request.headers if k == "x-forwarded-for"), None)
    forwarded_for = f"{sent_for}, {request.source_ip}" if sent_for else request.source_ip
    headers.append(("x-forwarded-for", forwarded_for))
    headers.append(("x-forwarded-port", port))
    headers.append(("x-forwarded-proto", "http"))
    if not any(k == "x-amzn-trace-id" for k, _ in headers):
        headers.append(("x-amzn-trace-id", new_trace_id()))
    return headers


_FORWARDED = frozenset({"x-forwarded-for", "x-forwarded-port", "x-forwarded-proto"})


def source_arn(
    region: str, account: str, api_id: str, stage: str, method: str, path: str, default: bool
) -> str:
    """``arn:aws:execute-api:<region>:<account>:<api>/<stage>/<METHOD>/<path>`` (an HTTP
    API's ``$default`` route: ``.../<stage>/$default``)."""
    tail = DEFAULT_ROUTE if default else f"{method}/{path.lstrip('/')}"
    return f"arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/{tail}"
