"""A runtime's output (its stdout and stderr, one pipe) read into log events.

The event loop reads the pipe when it is readable, at most ``READ_BUDGET_BYTES`` per turn,
and cuts what it reads into lines of at most one CloudWatch event (``LineSplitter``).
Reading stops for a while, and the runtime's writes wait on its full pipe (back-pressure),
so that a function that floods its output slows only itself:

- when the environment has written more lines than its rate allows (``LineRate``: a token
  bucket, ``--log-lines-per-second`` a second, one second's worth saved), until the
  bucket has a line again. Each line costs the server's event loop a few microseconds
  (cut, stored, indexed), which this keeps from one function's flood; and AWS's log
  delivery, which runs beside the function in its own VM, holds it to some thousands of
  lines a second too (an init that recursed printing each level was still printing at its
  timeout on AWS, where a full-speed one fills 128 MB in seconds);
- when the log sink has no room for this stream (the store is behind), until it has.
"""

from __future__ import annotations

import array
import asyncio
import fcntl
import os
import termios
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from lamina.domain.log_events import MAX_EVENT_BYTES
from lamina.runtime.log_lines import READ_BUDGET_BYTES, LineSplitter

READ_BYTES = 65536


class LineRate:
    """A token bucket of log lines: ``per_second`` lines a second, with up to one second's
    worth saved; the lines read are spent after the read (a read may overdraw: the next
    waits until the debt is paid)."""

    __slots__ = ("per_second", "_tokens", "_at", "_clock")

    def __init__(self, per_second: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_second = per_second
        self._clock = clock
        self._tokens = per_second
        self._at = clock()

    def spend(self, lines: int) -> None:
        self._tokens -= lines

    def wait_seconds(self) -> float:
        """How long until a line may be read (0: now)."""
        now = self._clock()
        self._tokens = min(self.per_second, self._tokens + (now - self._at) * self.per_second)
        self._at = now
        if self._tokens >= 1:
            return 0.0
        return (1 - self._tokens) / self.per_second


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
        rate: LineRate | None = None,
    ) -> None:
        """``rate``: the lines a second this output is read at most (None: no bound)."""
        self.fd = fd
        self._sink = sink
        self._group = group
        self._stream = stream
        self._on_line = on_line
        self._partial = LineSplitter()  # output not yet cut into lines
        self._unread = array.array("i", [0])  # FIONREAD's answer, written in place
        self._rate = rate
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
        if self._rate is not None:
            wait = self._rate.wait_seconds()
            if wait > 0:  # over its rate: stop reading until the bucket has a line again
                loop = asyncio.get_running_loop()
                loop.remove_reader(self.fd)
                loop.call_later(wait, self._resume)
                return
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
        count = 0
        for line in self._partial.feed(chunk):
            self._on_line(line)
            count += 1
        if self._rate is not None:
            self._rate.spend(count)
