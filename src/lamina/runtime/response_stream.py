"""A streamed response on its way from a runtime to the caller (docs/http.md "Response
streaming").

The Runtime API connection is the producer: it ``push``es each chunk of a runtime's
``Lambda-Runtime-Function-Response-Mode: streaming`` POST as it is parsed, and ``end``s the
stream with the trailers' error, if any. The invocation's reader is the consumer
(``chunks()``). In between, at most ``high_water`` bytes wait: beyond that ``push`` answers
False and the producer stops reading from the runtime's socket until ``on_resume`` is called
(the reader caught up below ``low_water``). A slow client therefore slows the function's
writes down instead of growing a buffer.

``limit`` bounds the whole stream: the bytes beyond it are dropped and the stream ends with
``Function.ResponseSizeTooLarge`` (AWS's soft limit, 20 MiB).

A ``collect`` stream serves a caller that wants the response in one piece (Invoke on a
function that streams): chunks accumulate, never pause, and ``collected()`` joins them.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator, Callable

# AWS's documented maximum for a streamed response (a soft limit).
STREAM_LIMIT_BYTES = 20 * 1024 * 1024
# Bytes waiting for a reader before the runtime's socket stops being read.
HIGH_WATER_BYTES = 256 * 1024
LOW_WATER_BYTES = 64 * 1024


class ResponseStream:
    """Chunks from one producer to one consumer, bounded, with back-pressure."""

    def __init__(
        self,
        *,
        limit: int = STREAM_LIMIT_BYTES,
        high_water: int = HIGH_WATER_BYTES,
        low_water: int = LOW_WATER_BYTES,
        collect: bool = False,
    ) -> None:
        self.limit = limit
        self.high_water = high_water
        self.low_water = low_water
        self.collect = collect
        self.content_type: str | None = None
        # Bytes accepted so far (the limit's count) and bytes waiting for the reader.
        self.total = 0
        self._buffered = 0
        self._chunks: deque[bytes] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._resume: Callable[[], None] | None = None
        self.paused = False
        self.started = False
        self.ended = False
        # Abandoned by its reader: chunks are counted, never kept.
        self.discarding = False
        # How the stream ended when it carries an error: (error type, error body).
        self.error: tuple[str, bytes] | None = None

    # --- producer --------------------------------------------------------------------------

    def on_resume(self, resume: Callable[[], None] | None) -> None:
        """``resume`` is called once the reader caught up after ``push`` answered False."""
        self._resume = resume

    def begin(self, content_type: str | None) -> None:
        """The runtime started its streamed response (its ``Content-Type``)."""
        self.started = True
        self.content_type = content_type
        self._wake()

    def push(self, chunk: bytes) -> bool:
        """Queue one chunk; False: stop producing until ``on_resume``'s callback. Past
        ``limit`` the chunk is dropped and the stream ends with its error."""
        if self.ended or not chunk:
            return True
        self.total += len(chunk)
        if self.total > self.limit:
            self.fail(
                "Function.ResponseSizeTooLarge",
                json.dumps(
                    {
                        "errorMessage": "Response payload size exceeded maximum allowed "
                        f"payload size ({self.limit} bytes).",
                        "errorType": "Function.ResponseSizeTooLarge",
                    }
                ).encode(),
            )
            return True
        if self.discarding:
            return True
        self._chunks.append(chunk)
        self._buffered += len(chunk)
        self._wake()
        if self.collect or self._buffered < self.high_water:
            return True
        self.paused = True
        return False

    def fail(self, error_type: str, body: bytes) -> None:
        """End the stream with an error (the first error wins)."""
        if self.ended:
            return
        self.error = (error_type, body)
        self.end()

    def end(self) -> None:
        """No more chunks."""
        if self.ended:
            return
        self.ended = True
        self._wake()

    # --- consumer --------------------------------------------------------------------------

    async def ready(self) -> None:
        """Wait until the runtime started streaming or the stream ended."""
        while not self.started and not self.ended:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def abandon(self) -> None:
        """The reader went away (the client disconnected): drop what waits and what comes,
        and never hold the producer back again (the function runs to its end)."""
        self.collect = True
        self.high_water = self.limit + 1
        self._chunks.clear()
        self._buffered = 0
        self.discarding = True
        if self.paused:
            self.paused = False
            if self._resume is not None:
                self._resume()

    async def chunks(self) -> AsyncIterator[bytes]:
        """The chunks in order, as they come, until the stream ends."""
        while True:
            queue = self._chunks
            if queue:
                chunk = queue.popleft()
                self._buffered -= len(chunk)
                if self.paused and self._buffered <= self.low_water:
                    self.paused = False
                    if self._resume is not None:
                        self._resume()
                yield chunk
                continue
            if self.ended:
                return
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def collected(self) -> bytes:
        """Everything pushed so far, in one piece (a ``collect`` stream)."""
        data = b"".join(self._chunks)
        self._chunks.clear()
        self._buffered = 0
        return data

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
