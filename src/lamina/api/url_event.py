"""An HTTP request to a function URL -> the payload format 2.0 event AWS sends.

- ``headers``: names lower-case, repeated headers joined with ``,``; ``cookie`` moves to
  ``cookies`` (split at ``;``); AWS's ``x-forwarded-for`` / ``-proto`` / ``-port`` and
  ``x-amzn-trace-id`` are added.
- ``rawPath`` and ``requestContext.http.path``: the path as sent (percent-encoded);
  ``rawQueryString`` the query as sent; ``queryStringParameters`` decoded, repeated names
  joined with ``,``, absent without a query.
- ``body`` absent without one; base64 (``isBase64Encoded: true``) unless the content type is
  text (``text/*``, JSON, XML, JavaScript, ``application/x-www-form-urlencoded`` is not).
- ``requestContext.accountId``: ``anonymous`` for ``NONE``, the caller's account for
  ``AWS_IAM`` (with ``authorizer.iam``).
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from lamina.domain.tracing import new_trace_id

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_TEXT_SUBTYPES = ("json", "xml", "javascript", "ecmascript", "yaml", "csv", "graphql")


@dataclass(frozen=True, slots=True)
class IamCaller:
    """Who signed an ``AWS_IAM`` URL's request (``requestContext.authorizer.iam``)."""

    access_key: str
    account_id: str
    caller_id: str
    user_arn: str
    user_id: str


@dataclass(frozen=True, slots=True)
class UrlRequest:
    method: str
    raw_path: str  # the function's path (path form: without ``/lambda-url/<id>``)
    query_string: str
    headers: list[tuple[str, str]]  # lower-case names, as received
    body: bytes
    source_ip: str
    port: int
    scheme: str


def request_time(epoch_ms: int) -> str:
    """``07/Dec/2026:01:02:03 +0000`` (English month names whatever the locale)."""
    moment = time.gmtime(epoch_ms / 1000)
    month = _MONTHS[moment.tm_mon - 1]
    return time.strftime(f"%d/{month}/%Y:%H:%M:%S +0000", moment)


def is_text(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    kind, _, subtype = media.partition("/")
    if kind == "text":
        return True
    return any(part in subtype for part in _TEXT_SUBTYPES)


def build_event(
    request: UrlRequest,
    *,
    url_id: str,
    domain_name: str,
    request_id: str,
    caller: IamCaller | None,
    now_ms: int | None = None,
) -> dict[str, Any]:
    epoch_ms = int(time.time() * 1000) if now_ms is None else now_ms
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        if name == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        previous = headers.get(name)
        headers[name] = value if previous is None else f"{previous},{value}"
    forwarded = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = (
        request.source_ip if forwarded is None else f"{forwarded}, {request.source_ip}"
    )
    headers["x-forwarded-proto"] = request.scheme
    headers["x-forwarded-port"] = str(request.port)
    headers.setdefault("x-amzn-trace-id", new_trace_id().split(";", 1)[0])
    context: dict[str, Any] = {
        "accountId": "anonymous" if caller is None else caller.account_id,
        "apiId": url_id,
        "domainName": domain_name,
        "domainPrefix": url_id,
        "http": {
            "method": request.method,
            "path": request.raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": "$default",
        "stage": "$default",
        "time": request_time(epoch_ms),
        "timeEpoch": epoch_ms,
    }
    if caller is not None:
        context["authorizer"] = {
            "iam": {
                "accessKey": caller.access_key,
                "accountId": caller.account_id,
                "callerId": caller.caller_id,
                "cognitoIdentity": None,
                "principalOrgId": None,
                "userArn": caller.user_arn,
                "userId": caller.user_id,
            }
        }
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": request.raw_path,
        "rawQueryString": request.query_string,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if request.query_string:
        event["queryStringParameters"] = _query_parameters(request.query_string)
    event["requestContext"] = context
    text = _text_body(request.body, headers.get("content-type"))
    if text is not None:
        event["body"] = text
        event["isBase64Encoded"] = False
    elif request.body:
        event["body"] = base64.b64encode(request.body).decode("ascii")
        event["isBase64Encoded"] = True
    else:
        event["isBase64Encoded"] = False
    return event


def _text_body(body: bytes, content_type: str | None) -> str | None:
    """The body as text when it is text (its content type says so and it is UTF-8)."""
    if not body or not is_text(content_type):
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def encode_event(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()


def _query_parameters(query: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        previous = out.get(name)
        out[name] = value if previous is None else f"{previous},{value}"
    return out
