"""The edge hands requests a trigger claims (function URLs, API stages) to it, before any AWS
API routing, with the body read and bounded; other requests are untouched."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from lamina.api.app import EdgeApp
from lamina.api.endpoints import RestJsonService, ServiceDirectory
from lamina.api.http_triggers import TriggerRequest, TriggerResponse
from lamina.api.model import lambda_model


class Echo:
    max_body = 10

    def __init__(self, stream: bool = False) -> None:
        self.seen: list[TriggerRequest] = []
        self.stream = stream

    def claims(self, host: str, path: str) -> bool:
        return host.endswith(".lambda-url.us-east-1.localhost") or path.startswith("/echo/")

    async def handle(self, request: TriggerRequest) -> TriggerResponse:
        self.seen.append(request)
        if self.stream:

            async def chunks() -> AsyncIterator[bytes]:
                yield b"a"
                yield b"b"

            return TriggerResponse(200, [("x-one", "1"), ("set-cookie", "a=1")], stream=chunks())
        return TriggerResponse(201, [("set-cookie", "a=1"), ("set-cookie", "b=2")], request.body)

    def too_large(self) -> TriggerResponse:
        return TriggerResponse(413, [], b"too big")


def _app(trigger: Echo) -> EdgeApp:
    services = ServiceDirectory(RestJsonService("lambda", "lambda", lambda_model(), {}))
    return EdgeApp(services, triggers=[trigger])


def _call(
    app: EdgeApp, path: str, host: str, body: bytes = b"", **extra: Any
) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"a=1&a=2",
        "headers": [(b"host", host.encode()), (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 5555),
        **extra,
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def test_a_claimed_host_reaches_the_trigger_with_its_request() -> None:
    trigger = Echo()
    sent = _call(_app(trigger), "/p%20q", "abc.lambda-url.us-east-1.localhost:9000", b"hello")
    [request] = trigger.seen
    assert (request.method, request.raw_path, request.query_string) == ("POST", "/p%20q", "a=1&a=2")
    assert request.host == "abc.lambda-url.us-east-1.localhost:9000" and request.body == b"hello"
    assert request.client == ("127.0.0.1", 5555)
    assert sent[0]["status"] == 201
    assert sent[0]["headers"].count((b"set-cookie", b"a=1")) == 1
    assert (b"set-cookie", b"b=2") in sent[0]["headers"]
    assert sent[1]["body"] == b"hello"


def test_a_claimed_path_reaches_the_trigger_and_others_do_not() -> None:
    trigger = Echo()
    _call(_app(trigger), "/echo/x", "localhost")
    assert len(trigger.seen) == 1
    sent = _call(_app(trigger), "/2015-03-31/functions", "localhost")
    assert len(trigger.seen) == 1 and sent[0]["status"] != 201


def test_a_body_over_the_triggers_limit_gets_its_answer() -> None:
    trigger = Echo()
    sent = _call(_app(trigger), "/echo/x", "localhost", b"x" * 11)
    assert sent[0]["status"] == 413 and not trigger.seen


def test_a_streamed_answer_goes_out_in_chunks() -> None:
    sent = _call(_app(Echo(stream=True)), "/echo/x", "localhost")
    assert sent[0]["status"] == 200
    assert [m.get("body") for m in sent[1:]] == [b"a", b"b", b""]
    assert [m.get("more_body", False) for m in sent[1:]] == [True, True, False]
