"""The floor of bench/peers_bench.py: the echo handler called in-process by a bare ASGI app.

Run on uvicorn with httptools and uvloop (the stack Lamina's edge runs on). A POST to any
path is decoded as JSON, handed to ``handler.handler`` and its result encoded as the
response: the least a Python server must do to answer an Invoke of that handler.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from handler import handler

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    payload = json.dumps(handler(json.loads(body or b"null"), None)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
