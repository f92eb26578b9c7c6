"""A runtime's output (its stdout and stderr, one pipe) read into log events.

The event loop reads the pipe when it is readable, at most ``READ_BUDGET_BYTES`` per turn,
and cuts what it reads into lines of at most one CloudWatch event (``LineSplitter``). When
the log sink has no room for this stream (the store is behind), reading stops until it has:
meanwhile the runtime's writes wait on its full pipe (back-pressure), so a function that
floods its output slows only itself.
"""

from __future__ import annotations

import array
import asyncio
import fcntl
import os
import termios
from collections.abc import Callable, Sequence
from typing import Protocol

from lamina.domain.log_events import MAX_EVENT_BYTES
from lamina.runtime.log_lines import READ_BUDGET_BYTES, LineSplitter

READ_BYTES = 65536


class LogSink(Protocol):
    """Where an environment's log events go (the LogService)."""

    def append(
        self, group: str, stream: str, timestamp_ms: int, message: str, droppable: bool = False
    ) -> None:
        """``droppable``: the function's own output, which the sink may drop (counted, with a
        marker) when it floods; platform lines (START, END, REPORT) never are."""

    def append_platform(
        self, group: str, stream: str, timestamp_ms: int, messages: Sequence[str]
    ) -> None:
        """Platform lines (END and REPORT) together, in order: never dropped."""

    def has_room(self, group: str, stream: str, size: int) -> bool:
        """Whether ``size`` more bytes of this stream's output would be kept."""

    def when_room(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once there is room again (back-pressure)."""


class RuntimeOutput:
    """Reads ``fd`` (non-blocking, owned: ``close`` closes it) and hands each line of output
    to ``on_line``."""

    def __init__(
        self,
        fd: int,
        sink: LogSink,
        group: str,
        stream: str,
        on_line: Callable[[str], None],
    ) -> None:
        self.fd = fd
        self._sink = sink
        self._group = group
        self._stream = stream
        self._on_line = on_line
        self._partial = LineSplitter()  # output not yet cut into lines
        self._unread = array.array("i", [0])  # FIONREAD's answer, written in place
        self._closed = False

    def watch(self) -> None:
        asyncio.get_running_loop().add_reader(self.fd, self._readable)

    def close(self) -> None:
        """After a last ``drain(final=True)``: stop watching and close the pipe."""
        if self._closed:
            return
        self._closed = True
        try:
            asyncio.get_running_loop().remove_reader(self.fd)
        finally:
            os.close(self.fd)

    def drain(self, *, final: bool, end_line: bool = False) -> int:
        """Log what the runtime wrote; returns how many bytes were read.

        At most ``READ_BUDGET_BYTES`` per call: the loop calls back while more is waiting,
        and a runtime writing faster waits on its full pipe. ``final`` (the runtime ended or
        is being stopped) and ``end_line`` (an invocation ends: its output is its own) also
        log a last line without a newline."""
        if self._closed:
            return 0
        read = 0
        while read < READ_BUDGET_BYTES:
            # FIONREAD first: most invocations print nothing, and a read that finds the
            # pipe empty costs an exception.
            try:
                fcntl.ioctl(self.fd, termios.FIONREAD, self._unread)
                available = self._unread[0]
                if available <= 0 and not final:
                    break
                chunk = os.read(self.fd, min(max(available, READ_BYTES), READ_BUDGET_BYTES))
            except OSError:  # BlockingIOError and InterruptedError included
                break
            if not chunk:
                break
            read += len(chunk)
            self._lines(chunk)
            if len(chunk) < READ_BYTES:
                break
        if final or end_line:
            for line in self._partial.flush():
                self._on_line(line)
        return read

    def _readable(self) -> None:
        if not self._sink.has_room(self._group, self._stream, READ_BUDGET_BYTES + MAX_EVENT_BYTES):
            # Back-pressure: stop reading until the logs waiting are stored.
            asyncio.get_running_loop().remove_reader(self.fd)
            self._sink.when_room(self._resume)
            return
        if self.drain(final=False) == 0:
            # Readable with nothing to read: the runtime's end of the pipe is closed (it
            # exited). Stop watching, or the event loop would call this again and again
            # until the exit is handled; the final drain happens there.
            try:
                late = os.read(self.fd, READ_BYTES)
                if late:  # a write landed in between: not the end yet
                    self._lines(late)
                    return
            except (BlockingIOError, InterruptedError):
                return  # a spurious wake-up
            except OSError:
                pass
            asyncio.get_running_loop().remove_reader(self.fd)

    def _resume(self) -> None:
        # Once closed (the environment ended), there is nothing to resume.
        if not self._closed:
            self.watch()

    def _lines(self, chunk: bytes) -> None:
        for line in self._partial.feed(chunk):
            self._on_line(line)
