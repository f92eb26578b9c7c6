"""Checking that an Invoke payload is JSON, without holding up the event loop.

``json.loads`` of a 6 MB payload is one C call that holds the GIL for about 100 ms (160 ms
with the description of an error), so in the server, even in a thread, every other
invocation would wait for it. A payload of ``INLINE_BYTES`` or more is checked by a worker
process (one, started when first needed, restarted if it dies); a smaller one inline, in a few
milliseconds at most.

An invalid payload gets Lambda's ``InvalidRequestContentException`` with Jackson's
description of the first error (``domain.json_errors``).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from lamina.domain import json_errors
from lamina.domain.errors import InvalidRequestContentException

INLINE_BYTES = 256 * 1024

# One decoder for every payload check (json.loads with an argument builds one per call).
_STRICT_JSON = json.JSONDecoder(parse_constant=json_errors.reject_non_numeric)


def payload_problem(payload: bytes) -> str | None:
    """None for a JSON document, else Jackson's description of its first error. (Run in
    the worker process too: it imports only this module.)"""
    try:
        _STRICT_JSON.decode(payload.decode(_encoding(payload), "surrogatepass"))
    except (ValueError, RecursionError):  # RecursionError: nested too deep
        return json_errors.describe(payload) or "Invalid JSON"
    return None


def check_payload(payload: bytes) -> bytes:
    """The payload to run (``{}`` for an empty one), checked inline; AWS's 400 if it is not
    JSON."""
    if _blank(payload):
        return b"{}"
    return _checked(payload, payload_problem(payload))


class PayloadChecker:
    """Checks payloads: inline below ``INLINE_BYTES``, in the worker process above."""

    def __init__(self) -> None:
        self._worker: ProcessPoolExecutor | None = None

    async def check(self, payload: bytes) -> bytes:
        if len(payload) < INLINE_BYTES:
            return check_payload(payload)
        if _blank(payload):
            return b"{}"
        if self._worker is None:
            # A fresh interpreter, not a fork of the server (spawn imports the server's command
            # module and this one, ~30 ms, not the server).
            self._worker = ProcessPoolExecutor(1, multiprocessing.get_context("spawn"))
        loop = asyncio.get_running_loop()
        try:
            problem = await loop.run_in_executor(self._worker, payload_problem, payload)
        except BrokenProcessPool:  # the worker died (killed from outside): a new one next time
            self._worker = None
            problem = await asyncio.to_thread(payload_problem, payload)
        return _checked(payload, problem)

    def close(self) -> None:
        if self._worker is not None:
            self._worker.shutdown(wait=False, cancel_futures=True)
            self._worker = None


def _checked(payload: bytes, problem: str | None) -> bytes:
    if problem is not None:
        raise InvalidRequestContentException(
            f"Could not parse request body into json: Could not parse payload into json: {problem}"
        )
    return payload


def _blank(payload: bytes) -> bool:
    """Empty or whitespace only (what ``strip`` removes), without copying a large payload."""
    return not payload or payload.isspace()


def _encoding(payload: bytes) -> str:
    """``json.detect_encoding`` of a payload that is not empty, without its call for what
    nearly every payload is: text that starts with an ASCII character other than NUL (no
    BOM, not UTF-16 or UTF-32), which it reads as UTF-8."""
    first = payload[0]
    if 0 < first < 0x80 and (len(payload) == 1 or payload[1]):
        return "utf-8"
    return json.detect_encoding(payload)
