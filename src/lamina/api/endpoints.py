"""The services the edge serves and how a request finds its service.

Each service is a botocore model plus the codec of its protocol plus its handlers:

- rest-json (Lambda; later API Gateway v2, Scheduler): the path and method select the
  operation (``api.model``);
- JSON 1.0/1.1 (SQS, CloudWatch Logs; later EventBridge, Kinesis): ``X-Amz-Target`` names
  ``<targetPrefix>.<Operation>``;
- query (SQS's legacy clients; later SNS, IAM, STS): a form (``Action=...&Version=...``) in
  the body or the query string; the service is the signature's signing name, else the
  ``Version``, else a queue-URL path.

Handlers are ``async (ctx, params) -> output``: ``params`` and ``output`` are the operation's
input and output shapes as dicts; only codecs see bytes.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from lamina.api.model import ServiceModel
from lamina.domain.context import RequestContext
from lamina.domain.errors import AwsError

WireResponse = tuple[int, list[tuple[bytes, bytes]], bytes]


class StreamingBody(bytes):
    """A wire body sent as it is produced (``pieces()``), not as these (empty) bytes: the
    response is chunked unless its headers give its ``content-length``."""

    pieces: Callable[[], AsyncIterator[bytes]]

    @classmethod
    def of(cls, pieces: Callable[[], AsyncIterator[bytes]]) -> StreamingBody:
        body = cls(b"")
        body.pieces = pieces
        return body


Handler = Callable[[RequestContext, dict[str, Any]], Awaitable[dict[str, Any]]]
# An access check: raises the service's AccessDenied error (or returns None).
AccessCheck = Callable[[RequestContext, str, dict[str, Any]], None]

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
# A queue URL's path: ``/<account>/<queue name>``.
QUEUE_URL_PATH = re.compile(r"/(\d{12})/([A-Za-z0-9_-]{1,80}(?:\.fifo)?)/?")


class JsonCodecLike(Protocol):
    target_prefix: str

    def operation(self, target: str) -> str | None: ...

    def parse(self, operation: str, body: bytes) -> dict[str, Any]: ...

    def render(self, operation: str, output: dict[str, Any]) -> WireResponse: ...

    def render_error(self, error: AwsError) -> WireResponse: ...


class QueryCodecLike(Protocol):
    def operation(self, form: Mapping[str, list[str]]) -> str: ...

    def parse(self, operation: str, form: Mapping[str, list[str]]) -> dict[str, Any]: ...

    def render(self, operation: str, output: dict[str, Any], request_id: str) -> WireResponse: ...

    def render_error(self, error: AwsError, request_id: str) -> WireResponse: ...


@dataclass
class RestJsonService:
    name: str
    signing_name: str
    model: ServiceModel
    handlers: dict[str, Handler]
    check: AccessCheck | None = None


@dataclass
class JsonService:
    name: str
    signing_name: str
    codec: JsonCodecLike
    handlers: dict[str, Handler]
    check: AccessCheck | None = None
    # The service's own internal error (CloudWatch Logs: ServiceUnavailableException);
    # else the common InternalFailure.
    internal_error: Callable[[str], AwsError] | None = None


@dataclass
class QueryService:
    name: str
    signing_name: str
    version: str
    codec: QueryCodecLike
    handlers: dict[str, Handler]
    check: AccessCheck | None = None
    # Form members a request sent to a resource's URL takes from its path (SQS: the
    # queue URL is the endpoint; ``QueueUrl`` may be absent from the form).
    path_member: str | None = None


@dataclass
class ServiceDirectory:
    rest_json: RestJsonService  # Lambda: every rest-json request no other service claims
    json: dict[str, JsonService] = field(default_factory=dict)  # by target prefix
    query: dict[str, QueryService] = field(default_factory=dict)  # by signing name
    # Other rest-json services (Scheduler, API Gateway), by signing name.
    rest: dict[str, RestJsonService] = field(default_factory=dict)

    def add_rest_json(self, service: RestJsonService, key: str | None = None) -> None:
        """``key``: the directory's name of a service that shares its signing name with
        another (API Gateway v2: ``apigatewayv2``), else its signing name."""
        self.rest[key or service.signing_name] = service

    def rest_service(self, path: str, signing_name: str | None) -> RestJsonService:
        """The rest-json service of a request: the one its signature names, else Lambda.
        Lambda's paths all start with a date (``/2015-03-31/...``): those never look
        further. Both API Gateways sign as ``apigateway``: v2's paths start with ``/v2/``."""
        if self.rest and signing_name is not None and not path.startswith("/20"):
            if signing_name == "apigateway" and path.startswith("/v2/"):
                signing_name = "apigatewayv2"
            return self.rest.get(signing_name, self.rest_json)
        return self.rest_json

    def add_json(self, service: JsonService) -> None:
        self.json[service.codec.target_prefix] = service

    def add_query(self, service: QueryService) -> None:
        self.query[service.signing_name] = service

    def by_target(self, target: str) -> JsonService | None:
        prefix = target.partition(".")[0]
        return self.json.get(prefix)

    def query_service(
        self, signing_name: str | None, form: Mapping[str, list[str]], path: str
    ) -> QueryService | None:
        """The query service a form is for: its signature's service, else its ``Version``,
        else (a queue URL path) SQS."""
        if signing_name is not None and signing_name in self.query:
            return self.query[signing_name]
        version = (form.get("Version") or [""])[0]
        for service in self.query.values():
            if service.version == version:
                return service
        if QUEUE_URL_PATH.fullmatch(path) and "sqs" in self.query:
            return self.query["sqs"]
        return next(iter(self.query.values()), None)


def is_query_request(
    method: str, path: str, headers: Mapping[str, str], query: Mapping[str, Any]
) -> bool:
    """A query-protocol request: a form body, or a GET whose query string has ``Action``,
    sent to ``/`` or to a queue URL (rest-json paths such as Lambda's ``/2015-03-31/...``
    stay rest-json whatever the content type a raw client sends)."""
    if "x-amz-target" in headers:
        return False
    if path not in ("/", "") and not QUEUE_URL_PATH.fullmatch(path):
        return False
    content_type = headers.get("content-type", "")
    if method == "POST" and content_type.startswith(FORM_CONTENT_TYPE):
        return True
    return method == "GET" and "Action" in query
