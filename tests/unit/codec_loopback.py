"""A real botocore client answered in-process by a protocol codec (no server, no socket).

``attach(client, answer)`` hooks the client's ``before-send`` event: the request botocore
serialized (headers and body bytes) goes to ``answer``, whose ``(status, headers, body)`` is
what the client then parses exactly as it parses an HTTP response: its own protocol parser,
error factory and service customizations included.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from botocore.awsrequest import AWSResponse, HeadersDict
from botocore.config import Config

WireResponse = tuple[int, list[tuple[bytes, bytes]], bytes]
Answer = Callable[[dict[str, str], bytes], WireResponse]

NO_RETRIES = Config(retries={"total_max_attempts": 1})
CLIENT_ARGS: dict[str, Any] = {
    "endpoint_url": "http://127.0.0.1:9000",
    "region_name": "us-east-1",
    "aws_access_key_id": "test",
    "aws_secret_access_key": "test",
    "config": NO_RETRIES,
}


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def attach(client: Any, answer: Answer) -> None:
    """Route every request of ``client`` to ``answer``."""

    def before_send(request: Any, **_: Any) -> AWSResponse:
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif not isinstance(body, bytes):
            body = body.read()
        headers = {
            k.lower(): (v.decode() if isinstance(v, bytes) else v)
            for k, v in request.headers.items()
        }
        status, out_headers, out_body = answer(headers, body)
        response_headers = HeadersDict({k.decode(): v.decode() for k, v in out_headers})
        return AWSResponse(request.url, status, response_headers, _Raw(out_body))

    client.meta.events.register("before-send", before_send)
