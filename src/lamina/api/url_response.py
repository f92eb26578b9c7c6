"""A function's result -> the HTTP answer of its URL (payload format 2.0, as AWS infers it).

- A JSON object with ``statusCode``: that status, ``headers`` (values as text), ``cookies``
  (one ``set-cookie`` each), ``body`` (base64-decoded when ``isBase64Encoded``);
  ``content-type`` defaults to ``application/json``.
- Any other JSON value: 200, ``application/json``; a string is the body as is (not
  quoted), anything else its compact JSON text (recorded: ``["hello",3,true]``).
- A function error, or a result that is not JSON or not a valid response: 502
  ``Internal Server Error``.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

JSON_TYPE = "application/json"
Headers = list[tuple[str, str]]


@dataclass(slots=True)
class UrlAnswer:
    status: int
    headers: Headers = field(default_factory=list)
    body: bytes = b""


def error_answer(status: int, body: bytes, error_type: str | None = None) -> UrlAnswer:
    headers: Headers = [("content-type", JSON_TYPE)]
    if error_type is not None:
        headers.append(("x-amzn-errortype", error_type))
    return UrlAnswer(status, headers, body)


def bad_gateway() -> UrlAnswer:
    return error_answer(502, b"Internal Server Error")


def map_result(payload: bytes, function_error: str | None) -> UrlAnswer:
    """The URL's answer to a finished invocation."""
    if function_error is not None:
        return bad_gateway()
    try:
        value = json.loads(payload) if payload else None
    except ValueError:
        return bad_gateway()
    if isinstance(value, dict) and "statusCode" in value:
        return _structured(value) or bad_gateway()
    body = value.encode() if isinstance(value, str) else _compact(value).encode()
    return UrlAnswer(200, [("content-type", JSON_TYPE)], body)


def _structured(value: dict[str, Any]) -> UrlAnswer | None:
    status = _status(value.get("statusCode"))
    if status is None:
        return None
    headers: Headers = []
    raw_headers = value.get("headers")
    if raw_headers is not None:
        if not isinstance(raw_headers, dict):
            return None
        for name, item in raw_headers.items():
            headers.append((str(name).lower(), _text(item)))
    cookies = value.get("cookies")
    if cookies is not None:
        if not isinstance(cookies, list):
            return None
        headers.extend(("set-cookie", _text(cookie)) for cookie in cookies)
    if not any(name == "content-type" for name, _ in headers):
        headers.append(("content-type", JSON_TYPE))
    body = _body(value.get("body"), value.get("isBase64Encoded") is True)
    if body is None:
        return None
    return UrlAnswer(status, headers, body)


def _status(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        status = value
    elif isinstance(value, str) and value.isdigit():
        status = int(value)
    else:
        return None
    return status if 100 <= status <= 599 else None


def _body(value: Any, encoded: bool) -> bytes | None:
    if value is None:
        return b""
    text = value if isinstance(value, str) else _compact(value)
    if not encoded:
        return text.encode()
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return _compact(value)


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
