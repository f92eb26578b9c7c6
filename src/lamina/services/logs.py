"""Function logs: a cheap, buffered ``append`` for the invoke path and queries for the API.

``append`` only adds to an in-memory list (call it from the event loop thread). A background
task writes the buffer to the store in one transaction every ``flush_interval`` seconds, or
at once when ``max_buffer`` events are waiting. Every query first flushes, so a reader sees
every event appended before its call. ``stop`` writes what is left and closes the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from lamina.config import DEFAULT_ACCOUNT, DEFAULT_REGION
from lamina.store.log_store import (
    EventsPage,
    InvalidParameter,
    LogEvent,
    LogGroupInfo,
    LogStoreError,
    LogStreamInfo,
    Page,
    ResourceAlreadyExists,
    ResourceNotFound,
    SqliteLogStore,
    StoredEvent,
)

__all__ = [
    "EventsPage",
    "InvalidParameter",
    "LogGroupInfo",
    "LogService",
    "LogStoreError",
    "LogStreamInfo",
    "Page",
    "ResourceAlreadyExists",
    "ResourceNotFound",
    "StoredEvent",
    "function_log_group",
]

log = logging.getLogger("lamina.logs")


def function_log_group(function_name: str, configured: str | None = None) -> str:
    """``LoggingConfig.LogGroup`` if set, else ``/aws/lambda/<function>``."""
    return configured or f"/aws/lambda/{function_name}"


class LogService:
    def __init__(
        self,
        store: SqliteLogStore,
        *,
        region: str = DEFAULT_REGION,
        account: str = DEFAULT_ACCOUNT,
        flush_interval: float = 0.05,
        max_buffer: int = 2_000,
    ) -> None:
        self.region = region
        self.account = account
        self._store = store
        self._interval = flush_interval
        self._max_buffer = max_buffer
        self._buffer: list[LogEvent] = []
        self._pending = asyncio.Event()  # the buffer is not empty
        self._full = asyncio.Event()  # the buffer reached max_buffer, or stopping
        self._flush_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    # --- writing --------------------------------------------------------------------------

    def append(self, group: str, stream: str, timestamp_ms: int, message: str) -> None:
        """Buffer one event; never blocks. Must be called from the event loop thread."""
        buffer = self._buffer
        buffer.append(LogEvent(group, stream, timestamp_ms, message))
        if len(buffer) == 1:
            self._pending.set()
        elif len(buffer) >= self._max_buffer:
            self._full.set()

    async def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="lamina-log-flusher")

    async def flush(self) -> None:
        """Write everything appended so far (waits for a flush already in progress)."""
        async with self._flush_lock:
            if not self._buffer:
                return
            batch, self._buffer = self._buffer, []
            self._pending.clear()
            try:
                # On the loop thread: a batch is one short transaction, and running it in a
                # worker thread costs more in GIL hand-offs (sqlite releases the GIL per row)
                # than the write itself.
                self._store.append(batch)
            except Exception:
                log.exception("could not store %d log events; dropping them", len(batch))

    async def stop(self) -> None:
        """Stop the background task, write what is left and close the store."""
        task, self._task = self._task, None
        if task is not None:
            self._stopping = True
            self._pending.set()
            self._full.set()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.flush()
        self._store.close()

    async def _run(self) -> None:
        while not self._stopping:
            await self._pending.wait()
            if not self._full.is_set():
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._full.wait(), self._interval)
            self._full.clear()
            await self.flush()

    # --- queries --------------------------------------------------------------------------

    async def create_log_group(self, name: str) -> None:
        await self.flush()
        await asyncio.to_thread(self._store.create_log_group, name)

    async def delete_log_group(self, name: str) -> None:
        # Flushing first, or buffered events would re-create the group right after.
        await self.flush()
        await asyncio.to_thread(self._store.delete_log_group, name)

    async def describe_log_groups(
        self,
        prefix: str | None = None,
        limit: int = 50,
        token: str | None = None,
        pattern: str | None = None,
    ) -> Page[LogGroupInfo]:
        await self.flush()
        return await asyncio.to_thread(
            self._store.describe_log_groups, prefix, limit, token, pattern
        )

    async def describe_log_streams(
        self,
        group: str,
        prefix: str | None = None,
        order_by: str = "LogStreamName",
        descending: bool = False,
        limit: int = 50,
        token: str | None = None,
    ) -> Page[LogStreamInfo]:
        await self.flush()
        return await asyncio.to_thread(
            self._store.describe_log_streams, group, prefix, order_by, descending, limit, token
        )

    async def get_log_events(
        self,
        group: str,
        stream: str,
        start: int | None = None,
        end: int | None = None,
        limit: int | None = None,
        start_from_head: bool = False,
        next_token: str | None = None,
    ) -> EventsPage:
        await self.flush()
        return await asyncio.to_thread(
            self._store.get_log_events,
            group,
            stream,
            start,
            end,
            limit,
            start_from_head,
            next_token,
        )

    async def filter_log_events(
        self,
        group: str,
        stream_names: Sequence[str] | None = None,
        stream_prefix: str | None = None,
        start: int | None = None,
        end: int | None = None,
        filter_pattern: str | None = None,
        limit: int | None = None,
        next_token: str | None = None,
    ) -> Page[StoredEvent]:
        await self.flush()
        return await asyncio.to_thread(
            self._store.filter_log_events,
            group,
            stream_names,
            stream_prefix,
            start,
            end,
            filter_pattern,
            limit,
            next_token,
        )
