"""Function URLs on Lamina's port: the ``HttpTrigger`` that serves them (BUFFERED mode;
RESPONSE_STREAM URLs go to ``lamina.services.url_streaming`` when it exists).

A request is claimed by its host (``<id>.lambda-url.<region>.localhost``) or its path
(``/lambda-url/<id>/…``, ``services.url_address``). Then, as AWS answers:

1. unknown URL id: 403 ``{"Message":null}`` (``x-amzn-ErrorType: AccessDeniedException``);
2. the URL's alias deleted: 403 ``Forbidden…`` (recorded);
3. a CORS preflight, when the URL has CORS: answered from the configuration (``url_cors``);
4. authorisation (``url_auth``): 403 ``Forbidden…`` when refused;
5. the function is invoked synchronously through its region's ``InvokeService`` (the same
   concurrency, throttles, metrics and logs as Invoke) with a payload format 2.0 event
   (``url_event``); its result becomes the answer (``url_response``), ``x-amzn-RequestId``
   the invocation's request id. A throttle is 429 ``{"message":"Rate Exceeded."}``.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from lamina.api.authorization import Authorizer
from lamina.api.http_triggers import TriggerRequest, TriggerResponse
from lamina.api.sigv4 import SignedRequest
from lamina.api.url_auth import UrlPolicies, UrlRefused, iam_caller, public_url_allowed
from lamina.api.url_cors import is_preflight, preflight_headers, with_cors
from lamina.api.url_event import IamCaller, UrlRequest, build_event, encode_event
from lamina.api.url_response import UrlAnswer, bad_gateway, error_answer, map_result
from lamina.domain.arns import function_arn
from lamina.domain.context import RequestContext
from lamina.domain.errors import (
    AwsError,
    RequestTooLargeException,
    ResourceNotFoundException,
    TooManyRequestsException,
)
from lamina.domain.iam_actions.rules import RequiredAccess
from lamina.domain.identity import KeyBook
from lamina.domain.ids import new_uuid
from lamina.domain.requests.invoke import InvokeRequest
from lamina.services.function_urls import FunctionUrlService
from lamina.services.invoke import InvokeService
from lamina.services.url_address import (
    HOST_MARKER,
    PATH_PREFIX,
    parse_url_host,
    split_url_path,
    url_host,
)
from lamina.services.url_model import AUTH_IAM, RESPONSE_STREAM, FunctionUrlConfig

log = logging.getLogger("lamina.urls")

# A request's body (AWS's 6 MB invocation payload limit; the event must fit it too).
MAX_REQUEST_BODY = 6 * 1024 * 1024
FORBIDDEN = (
    b'{"Message":"Forbidden. For troubleshooting Function URL authorization issues, see: '
    b'https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"}'
)
ACCESS_DENIED = "AccessDeniedException"
STREAMING_MODULE = "lamina.services.url_streaming"


def unknown_url() -> UrlAnswer:
    return error_answer(403, b'{"Message":null}', ACCESS_DENIED)


def forbidden() -> UrlAnswer:
    return error_answer(403, FORBIDDEN, ACCESS_DENIED)


def throttled() -> UrlAnswer:
    return error_answer(429, b'{"message":"Rate Exceeded."}', "TooManyRequestsException")


def too_large() -> UrlAnswer:
    return error_answer(413, b'{"message":"Request Entity Too Large"}', "RequestEntityTooLarge")


class UrlRegion(Protocol):
    """What the trigger needs of one region's Lambda (``wiring.region.RegionalLambda``)."""

    @property
    def region(self) -> str: ...

    @property
    def function_urls(self) -> FunctionUrlService: ...

    @property
    def invoke(self) -> InvokeService: ...

    @property
    def policies(self) -> UrlPolicies: ...


class FunctionUrlTrigger:
    """Serves every region's function URLs (``HttpTrigger``)."""

    max_body = MAX_REQUEST_BODY

    def __init__(
        self,
        regions: Callable[[], Sequence[UrlRegion]],
        account_id: str,
        keys: KeyBook,
        auth_mode: str = "off",
        authorizer: Authorizer | None = None,
    ) -> None:
        # The regions started (a URL lives in a region with state, started with the server).
        self.regions = regions
        self.account_id = account_id
        # The keys ``AWS_IAM`` URLs verify, and ``--auth`` for the others (api/url_auth.py).
        self.keys = keys
        self.auth_mode = auth_mode
        # ``--iam audit|enforce``: an ``AWS_IAM`` URL's caller needs
        # ``lambda:InvokeFunctionUrl`` from its own policies or the function's.
        self.authorizer = authorizer
        self.stream_url = streaming_entry()

    def claims(self, host: str, path: str) -> bool:
        return HOST_MARKER in host or path.startswith(PATH_PREFIX)

    def too_large(self) -> TriggerResponse:
        return _response(too_large())

    async def handle(self, request: TriggerRequest) -> TriggerResponse:
        name = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
        found = self._find(name, request.raw_path)
        if found is None:
            return _response(unknown_url())
        regional, config, raw_path = found
        answer = await self._answer(regional, config, request, raw_path)
        if isinstance(answer, TriggerResponse):
            return answer
        return _response(answer)

    # --- steps ------------------------------------------------------------------------------

    def _find(self, host: str, raw_path: str) -> tuple[UrlRegion, FunctionUrlConfig, str] | None:
        """The region, configuration and function path of a request, or None."""
        by_host = parse_url_host(host)
        if by_host is not None:
            url_id, region_name = by_host
            for regional in self.regions():
                if regional.region == region_name:
                    config = regional.function_urls.lookup(url_id)
                    return None if config is None else (regional, config, raw_path)
            return None
        by_path = split_url_path(raw_path)
        if by_path is None:
            return None
        url_id, rest = by_path
        for regional in self.regions():
            config = regional.function_urls.lookup(url_id)
            if config is not None:
                return regional, config, rest
        return None

    async def _answer(
        self,
        regional: UrlRegion,
        config: FunctionUrlConfig,
        request: TriggerRequest,
        raw_path: str,
    ) -> UrlAnswer | TriggerResponse:
        if not regional.function_urls.target_exists(config):
            return forbidden()
        headers = request.headers
        origin = _header(headers, "origin")
        cors = config.cors
        if cors is not None:
            asked_method = _header(headers, "access-control-request-method")
            if is_preflight(request.method, origin, asked_method):
                assert asked_method is not None
                asked_headers = _header(headers, "access-control-request-headers")
                return UrlAnswer(200, preflight_headers(cors, origin, asked_method, asked_headers))
        try:
            caller = self._authorize(regional, config, request)
        except UrlRefused:
            return forbidden()
        request_id = new_uuid()
        event = build_event(
            _url_request(request, raw_path),
            url_id=config.url_id,
            domain_name=url_host(config.url_id, regional.region),
            request_id=request_id,
            caller=caller,
        )
        if config.invoke_mode == RESPONSE_STREAM and self.stream_url is not None:
            return await self.stream_url(regional, config, event, request_id)
        answer = await self._invoke(regional, config, event, request_id)
        answer.headers.append(("x-amzn-requestid", request_id))
        if cors is not None:
            answer.headers = with_cors(cors, origin, answer.headers)
        return answer

    def _authorize(
        self, regional: UrlRegion, config: FunctionUrlConfig, request: TriggerRequest
    ) -> IamCaller | None:
        if config.auth_type == AUTH_IAM:
            signed = SignedRequest(
                request.method,
                request.raw_path,
                request.query_string,
                dict(request.headers),
                request.body,
            )
            caller = iam_caller(signed, regional.region, self.account_id, self.keys, self.auth_mode)
            if self.authorizer is not None:
                self._permitted(regional, config, caller)
            return caller
        if not public_url_allowed(regional.policies, config.function, config.qualifier):
            raise UrlRefused()
        return None

    def _permitted(self, regional: UrlRegion, config: FunctionUrlConfig, caller: IamCaller) -> None:
        """``UrlRefused`` unless the signer may invoke the URL (``--iam enforce``)."""
        assert self.authorizer is not None
        key = self.keys.key(caller.access_key)
        if key is None:
            return  # --auth off: an unknown key is the account's root
        arn = function_arn(regional.region, self.account_id, config.function, config.qualifier)
        need = RequiredAccess(
            "lambda:InvokeFunctionUrl", arn, {"lambda:FunctionUrlAuthType": AUTH_IAM}
        )
        if not self.authorizer.permits(key.principal, need, regional.region):
            raise UrlRefused()

    async def _invoke(
        self,
        regional: UrlRegion,
        config: FunctionUrlConfig,
        event: dict[str, Any],
        request_id: str,
    ) -> UrlAnswer:
        ctx = RequestContext(request_id, self.account_id, regional.region)
        invoke = regional.invoke
        try:
            prepared = await invoke.prepare(
                ctx,
                InvokeRequest(
                    config.function,
                    config.qualifier,
                    payload=encode_event(event),
                    payload_is_json=True,
                ),
            )
            result = await invoke.call(prepared)
        except TooManyRequestsException:
            return throttled()
        except RequestTooLargeException:
            return too_large()
        except ResourceNotFoundException:
            return forbidden()  # the function or alias went away meanwhile
        except AwsError as error:
            log.warning("function URL %s: %s", config.url_id, error.message)
            return bad_gateway()
        return map_result(result.payload, result.function_error)


StreamUrl = Callable[
    [UrlRegion, FunctionUrlConfig, dict[str, Any], str], Awaitable[TriggerResponse]
]


def streaming_entry() -> StreamUrl | None:
    """``services.url_streaming.stream_url_response`` when that module exists (None: a
    RESPONSE_STREAM URL is answered as BUFFERED)."""
    try:
        module = importlib.import_module(STREAMING_MODULE)
    except ImportError:
        return None
    entry: StreamUrl | None = getattr(module, "stream_url_response", None)
    return entry


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key == name:
            return value
    return None


def _url_request(request: TriggerRequest, raw_path: str) -> UrlRequest:
    client = request.client
    host = request.host
    port_text = host.rsplit(":", 1)[1] if ":" in host and not host.endswith("]") else ""
    port = int(port_text) if port_text.isdigit() else (443 if request.scheme == "https" else 80)
    return UrlRequest(
        method=request.method,
        raw_path=raw_path,
        query_string=request.query_string,
        headers=request.headers,
        body=request.body,
        source_ip=client[0] if client else "127.0.0.1",
        port=port,
        scheme=request.scheme,
    )


def _response(answer: UrlAnswer) -> TriggerResponse:
    """The edge's answer; every answer carries an ``x-amzn-RequestId`` (an invocation's is
    its request id)."""
    headers = answer.headers
    if not any(name == "x-amzn-requestid" for name, _ in headers):
        headers.append(("x-amzn-requestid", new_uuid()))
    return TriggerResponse(answer.status, headers, answer.body)
