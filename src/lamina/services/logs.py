"""Function logs: a cheap, bounded ``append`` for the invoke path and queries for the API.

``append`` only adds to an in-memory list (call it from the event loop thread). A background
task writes the buffer to the store from a worker thread every ``flush_interval`` seconds, or
at once when ``max_buffer`` events or ``flush_bytes`` are waiting. Every query first flushes,
so a reader sees every event appended before its call. ``stop`` writes what is left and
closes the store.

The buffer is bounded (``LogBuffer``): an environment stops reading its runtime's output
while its stream has no room (``has_room``) and resumes after the next flush (``when_room``);
a function's own output that still comes over the bounds is dropped, counted and marked in
its stream, never other functions' events nor platform lines.

A maintenance task deletes events past their group's retention and, when the store is over
``storage_limit_bytes``, its oldest events: every ``maintenance_interval`` seconds, after a
retention policy changes, and after a tenth of the limit was written.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from lamina.config import DEFAULT_ACCOUNT, DEFAULT_REGION
from lamina.domain.log_retention import RETENTION_DAYS
from lamina.services.log_buffer import LogBuffer, dropped_marker
from lamina.store.log_records import (
    EventsPage,
    InvalidParameter,
    LogGroupInfo,
    LogStoreError,
    LogStreamInfo,
    Page,
    ResourceAlreadyExists,
    ResourceNotFound,
    StoredEvent,
)
from lamina.store.ports import LogStore

__all__ = [
    "EventsPage",
    "InvalidParameter",
    "LogGroupInfo",
    "LogService",
    "LogStoreError",
    "LogStreamInfo",
    "Page",
    "RETENTION_DAYS",
    "ResourceAlreadyExists",
    "ResourceNotFound",
    "StoredEvent",
    "dropped_marker",
    "function_log_group",
]

log = logging.getLogger("lamina.logs")

T = TypeVar("T")

STREAM_BUFFER_BYTES = 2 << 20
TOTAL_BUFFER_BYTES = 64 << 20
FLUSH_BYTES = 1 << 20
# A batch costs the writer thread a fixed handful of statements (each a wait for the GIL
# while the event loop is busy) besides its rows: under load, a longer interval makes fewer,
# bigger batches (0.05 s: about 1.5x the writer's CPU per invoke). Reads flush first, so
# the interval only bounds what a crash of the server may lose.
FLUSH_INTERVAL = 0.1
MAINTENANCE_INTERVAL = 60.0


def function_log_group(function_name: str, configured: str | None = None) -> str:
    """``LoggingConfig.LogGroup`` if set, else ``/aws/lambda/<function>``."""
    return configured or f"/aws/lambda/{function_name}"


class LogService:
    def __init__(
        self,
        store: LogStore,
        *,
        region: str = DEFAULT_REGION,
        account: str = DEFAULT_ACCOUNT,
        flush_interval: float = FLUSH_INTERVAL,
        max_buffer: int = 2_000,
        flush_bytes: int = FLUSH_BYTES,
        stream_buffer_bytes: int = STREAM_BUFFER_BYTES,
        total_buffer_bytes: int = TOTAL_BUFFER_BYTES,
        storage_limit_bytes: int | None = None,
        maintenance_interval: float = MAINTENANCE_INTERVAL,
    ) -> None:
        self.region = region
        self.account = account
        self._store = store
        self._interval = flush_interval
        # None (or not positive): no cap on the store's size.
        self._storage_limit = storage_limit_bytes if (storage_limit_bytes or 0) > 0 else None
        self._maintenance_interval = maintenance_interval
        self._buffer = LogBuffer(
            stream_cap=stream_buffer_bytes,
            total_cap=total_buffer_bytes,
            flush_events=max_buffer,
            flush_bytes=flush_bytes,
        )
        # Writes and maintenance run on one thread of their own: they are serialised by the
        # store anyway, and one thread keeps the memory of large batches in one arena.
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="lamina-log-writer")
        self._written_since_check = 0
        self._pending = asyncio.Event()  # the buffer is not empty
        self._full = asyncio.Event()  # the buffer reached max_buffer, or stopping
        self._maintain_now = asyncio.Event()
        self._flush_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._maintenance: asyncio.Task[None] | None = None
        self._stopping = False

    # --- writing --------------------------------------------------------------------------

    def append(
        self, group: str, stream: str, timestamp_ms: int, message: str, droppable: bool = False
    ) -> None:
        """Buffer one event; never blocks. Must be called from the event loop thread.

        ``droppable``: the function's own output, dropped (and counted) when its stream or
        the whole buffer is over its bound."""
        if self._buffer.append(group, stream, timestamp_ms, message, droppable):
            self._full.set()
        self._pending.set()  # cheap when already set

    def append_platform(
        self, group: str, stream: str, timestamp_ms: int, messages: Sequence[str]
    ) -> None:
        """Buffer platform lines (END, REPORT) together, in order; never dropped."""
        append = self._buffer.append
        full = False
        for message in messages:
            full = append(group, stream, timestamp_ms, message, False) or full
        if full:
            self._full.set()
        self._pending.set()

    def has_room(self, group: str, stream: str, size: int) -> bool:
        """Whether ``size`` more bytes of a stream's output would be kept, not dropped."""
        return self._buffer.has_room(group, stream, size)

    def when_room(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (on the event loop) once the buffer has been handed to the
        store, which makes room in every stream."""
        self._buffer.when_room(callback)
        self._pending.set()
        self._full.set()

    @property
    def dropped_events(self) -> int:
        return self._buffer.dropped_events

    def render_metrics(self, function: str | None = None) -> str:
        """The Prometheus family counting dropped output (account-wide, for every
        ``function`` filter: the buffer knows streams, not functions)."""
        return (
            "# HELP lamina_log_events_dropped_total Log events of functions' output dropped"
            " because they were written faster than they could be stored.\n"
            "# TYPE lamina_log_events_dropped_total counter\n"
            f"lamina_log_events_dropped_total {self.dropped_events}\n"
        )

    async def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="lamina-log-flusher")
            self._maintenance = asyncio.create_task(self._maintain(), name="lamina-log-maintenance")

    async def flush(self) -> None:
        """Write everything appended so far (waits for a flush already in progress)."""
        async with self._flush_lock:
            taken = self._buffer.take()
            self._pending.clear()
            loop = asyncio.get_running_loop()
            for resume in taken.resume:  # after this turn: the buffer is empty by then
                loop.call_soon(resume)
            if not taken.events:
                return
            try:
                # In a worker thread: a large batch takes a while, and the store writes a
                # batch in a few statements, so the GIL changes hands only a few times.
                await self._write(self._store.append, taken.events)
            except Exception:
                log.exception("could not store %d log events; dropping them", len(taken.events))
            self._written_since_check += taken.size
            limit = self._storage_limit
            if limit is not None and self._written_since_check >= limit // 10:
                self._maintain_now.set()

    async def stop(self) -> None:
        """Stop the background tasks, write what is left and close the store."""
        task, self._task = self._task, None
        maintenance, self._maintenance = self._maintenance, None
        if maintenance is not None:
            maintenance.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await maintenance
        if task is not None:
            self._stopping = True
            self._pending.set()
            self._full.set()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.flush()
        self._writer.shutdown(wait=True)
        self._store.close()

    async def _write(self, call: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._writer, call, *args)

    async def _run(self) -> None:
        while not self._stopping:
            await self._pending.wait()
            if not self._full.is_set():
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._full.wait(), self._interval)
            self._full.clear()
            await self.flush()

    # --- retention and size -----------------------------------------------------------------

    async def _maintain(self) -> None:
        while True:
            try:
                await self.maintain()
            except Exception:
                log.exception("log maintenance failed")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._maintain_now.wait(), self._maintenance_interval)
            self._maintain_now.clear()

    async def maintain(self) -> None:
        """Delete expired events, then the oldest while the store is over its size limit."""
        self._written_since_check = 0
        expired = await self._write(self._store.expire_events)
        if expired:
            log.info("deleted %d log events past their retention", expired)
        if self._storage_limit is not None:
            removed = await self._write(self._store.enforce_size_limit, self._storage_limit)
            if removed:
                log.warning(
                    "logs over %d MB: deleted the %d oldest log events",
                    self._storage_limit >> 20,
                    removed,
                )

    async def put_retention_policy(self, group: str, days: int | None) -> None:
        await self.flush()
        await self._write(self._store.put_retention_policy, group, days)
        self._maintain_now.set()

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
