"""How the edge serves HTTP triggers (function URLs, API stages: ``api.http_triggers``):
which trigger claims a request (by host or path, with a ``Host`` this server answers), and
the ASGI side of answering it (the body read within the trigger's bound, a streamed answer
sent as it comes). The lean path (``api.http_protocol``) asks ``lean_trigger`` and
``respond`` directly."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from lamina.api.guard import HostAllowList
from lamina.api.http_triggers import HttpTrigger, TriggerRequest, TriggerResponse

log = logging.getLogger("lamina.edge")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class TriggerEdge:
    def __init__(self, triggers: list[HttpTrigger], hosts: HostAllowList | None) -> None:
        # The edge's own list: triggers appended to it later are asked too.
        self.triggers = triggers
        self.hosts = hosts

    def claim(self, scope: Scope) -> HttpTrigger | None:
        """The trigger of an ASGI request, or None (the AWS APIs answer it)."""
        host = ""
        for name, value in scope["headers"]:
            if name == b"host":
                host = value.decode("latin-1").lower()
                break
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        trigger = self._claimant(name, path)
        if trigger is not None and self.hosts is not None and not self.hosts.allows(host or None):
            return None  # answered as any request with a foreign Host
        return trigger

    def lean_trigger(self, host: str, path: str) -> HttpTrigger | None:
        """The trigger of a request on the lean path: ``host`` is its lower-case Host without
        the port; None when no trigger claims it or the Host is not one this server answers."""
        trigger = self._claimant(host, path)
        if trigger is not None and self.hosts is not None and not self.hosts.allows(host):
            return None
        return trigger

    def _claimant(self, host: str, path: str) -> HttpTrigger | None:
        for trigger in self.triggers:
            if trigger.claims(host, path):
                return trigger
        return None

    async def respond(self, trigger: HttpTrigger, request: TriggerRequest) -> TriggerResponse:
        """A trigger's answer to a request read ahead; a bug is a bare 500."""
        try:
            return await trigger.handle(request)
        except Exception as exc:  # noqa: BLE001 - a bug: a bare 500, never a traceback
            return trigger_failed(exc)

    async def serve(self, trigger: HttpTrigger, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer an ASGI request the trigger claimed."""
        try:
            response = await self._response(trigger, scope, receive)
        except Exception as exc:  # noqa: BLE001 - a bug: a bare 500, never a traceback
            response = trigger_failed(exc)
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
        stream = response.stream
        if stream is None:
            headers.append((b"content-length", str(len(response.body)).encode()))
            await send(
                {"type": "http.response.start", "status": response.status, "headers": headers}
            )
            await send({"type": "http.response.body", "body": response.body})
            return
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        try:
            async for chunk in stream:
                if chunk:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
        finally:
            await send({"type": "http.response.body", "body": b""})

    async def _response(
        self, trigger: HttpTrigger, scope: Scope, receive: Receive
    ) -> TriggerResponse:
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        declared = next((v for k, v in headers if k == "content-length"), "")
        if declared.isdigit() and int(declared) > trigger.max_body:
            return trigger.too_large()
        body = await _read_bounded(receive, trigger.max_body)
        if body is None:
            return trigger.too_large()
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        host = next((v.lower() for k, v in headers if k == "host"), "")
        return await trigger.handle(
            TriggerRequest(
                method=scope["method"],
                host=host,
                raw_path=raw_path,
                query_string=scope.get("query_string", b"").decode("latin-1"),
                headers=headers,
                body=body,
                client=scope.get("client"),
                scheme=scope.get("scheme", "http"),
            )
        )


def trigger_failed(exc: Exception) -> TriggerResponse:
    log.error("a function URL or API stage request failed", exc_info=exc)
    return TriggerResponse(
        500, [("content-type", "application/json")], b'{"message":"Internal Server Error"}'
    )


async def _read_bounded(receive: Receive, limit: int) -> bytes | None:
    """The request's body, or None once it is larger than ``limit``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)
