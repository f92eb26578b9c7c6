"""What API Gateway makes of a function's answer.

- Payload format 2.0: a JSON object with ``statusCode`` is an explicit response
  (statusCode, headers, multiValueHeaders, cookies, body, isBase64Encoded); any other JSON
  value is inferred as a 200 ``application/json`` response whose body is that JSON (a
  string: its text). A malformed explicit response is None (the caller's 500).
- Payload format 1.0: strict: a JSON object whose keys are only statusCode, headers,
  multiValueHeaders, body and isBase64Encoded; statusCode an integer (or a numeric string;
  absent: 200), header values scalars (stringified), multiValueHeaders values lists (a
  name in both is merged ``"multi, solo"``, the multi-value casing winning), body a string.
  Anything else is None. REST APIs pass a base64 body through as text (no binary media
  types); HTTP APIs decode it.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

V1_KEYS = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})


@dataclass(slots=True)
class GatewayResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def _load(payload: bytes) -> tuple[bool, Any]:
    try:
        return True, json.loads(payload)
    except (ValueError, RecursionError):
        return False, None


def _status(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        status = value
    elif isinstance(value, str) and value.strip().isdigit():
        status = int(value)
    else:
        return None
    return status if 100 <= status <= 599 else None


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def _body(value: Any, encoded: bool) -> bytes | None:
    if value is None:
        return b""
    if not isinstance(value, str):
        return None
    if encoded:
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return None
    return value.encode("utf-8")


def response_v2(payload: bytes) -> GatewayResponse | None:
    ok, value = _load(payload)
    if not ok:
        return None
    if not isinstance(value, dict) or "statusCode" not in value:
        inferred = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        return GatewayResponse(200, [("content-type", "application/json")], inferred.encode())
    status = _status(value.get("statusCode"))
    if status is None:
        return None
    headers: list[tuple[str, str]] = []
    single = value.get("headers") or {}
    multi = value.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        return None
    for name, item in single.items():
        text = _scalar(item)
        if text is None:
            return None
        headers.append((str(name), text))
    for name, items in multi.items():
        if not isinstance(items, list):
            return None
        for item in items:
            text = _scalar(item)
            if text is None:
                return None
            headers.append((str(name), text))
    cookies = value.get("cookies") or []
    if not isinstance(cookies, list) or not all(isinstance(c, str) for c in cookies):
        return None
    headers.extend(("set-cookie", cookie) for cookie in cookies)
    body = _body(value.get("body"), value.get("isBase64Encoded") is True)
    if body is None:
        return None
    return GatewayResponse(status, headers, body)


def response_v1(payload: bytes, *, decode_base64: bool) -> GatewayResponse | None:
    ok, value = _load(payload)
    if not ok or not isinstance(value, dict) or not value or set(value) - V1_KEYS:
        return None
    status = 200 if value.get("statusCode") is None else _status(value["statusCode"])
    if status is None:
        return None
    single = value.get("headers") or {}
    multi = value.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        return None
    merged: dict[str, tuple[str, list[str]]] = {}  # lower-case name: (casing, values)
    for name, items in multi.items():
        if not isinstance(items, list):
            return None
        texts = [_scalar(item) for item in items]
        if any(text is None for text in texts):
            return None
        merged[str(name).lower()] = (str(name), [t for t in texts if t is not None])
    for name, item in single.items():
        text = _scalar(item)
        if text is None and item is not None:
            return None
        if text is None:
            continue
        key = str(name).lower()
        if key in merged:
            merged[key][1].append(text)
        else:
            merged[key] = (str(name), [text])
    headers = [(casing, ", ".join(values)) for casing, values in merged.values()]
    encoded = value.get("isBase64Encoded") is True and decode_base64
    body = _body(value.get("body"), encoded)
    if body is None:
        return None
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return GatewayResponse(status, headers, body)
