"""Public HTTP endpoints served on the API port beside the AWS APIs: function URLs and API
Gateway stages ("triggers"). Each claims its requests by host (``<id>.lambda-url.<region>.
localhost``, ``<id>.execute-api.<region>.localhost``) or by a path prefix of its own, and is
asked before any AWS API routing: these requests are not signed, come from browsers as well
as from programs, and get the trigger's answers (CORS included), never an AWS API error.

What the edge still applies to them: the ``Host`` must be one this server answers (loopback
names, ``*.localhost``, its listen address or public URL: no DNS rebinding), and the body is
bounded by the trigger's ``max_body`` (beyond it, the trigger's ``too_large`` answer).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class TriggerRequest:
    method: str
    host: str  # the Host header as sent (lower-case), port included
    raw_path: str  # percent-encoded, without the query
    query_string: str  # as sent, without the ``?``
    headers: list[tuple[str, str]]  # as received: lower-case names, repeated names kept
    body: bytes
    client: tuple[str, int] | None  # the connection's peer (never a header's claim)
    scheme: str = "http"


@dataclass(slots=True)
class TriggerResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)  # repeated names allowed
    body: bytes = b""
    # A streamed body (sent chunked as it is produced) instead of ``body``.
    stream: AsyncIterator[bytes] | None = None


class HttpTrigger(Protocol):
    # The largest request body the trigger takes.
    max_body: int

    def claims(self, host: str, path: str) -> bool:
        """Whether the request (its lower-case ``Host`` without the port, its raw path) is
        this trigger's. Called for every request that is not a Lambda Invoke: keep it cheap
        (a suffix or prefix test)."""
        ...

    async def handle(self, request: TriggerRequest) -> TriggerResponse:
        """The answer. Errors are the trigger's own answers (e.g. 502/403 as AWS), never
        exceptions (the edge answers an exception with a bare 500)."""
        ...

    def too_large(self) -> TriggerResponse:
        """The answer to a body over ``max_body``."""
        ...
