"""Logging of Lamina's built-in Python runtime (see ``bootstrap.py``).

The root logger's handler and formatters (text, or JSON with ``AWS_LAMBDA_LOG_FORMAT=JSON``),
the log sinks (stdout, one event per line; or framed records on ``_LAMBDA_TELEMETRY_LOG_FD``),
and the unbuffered standard streams, as the AWS Python runtime interface client sets them up.

Standard library only, CPython 3.8 to 3.13 (see ``bootstrap.py``).
"""

# ruff: noqa: UP006, UP007, UP035

from __future__ import annotations

import io
import json
import logging
import os
import sys
import time
import traceback

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time (it costs milliseconds at start)
    from typing import Any, List, Optional

ERROR_LOG_LINE_TERMINATE = "\r"

TEXT_LOG_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n"
TEXT_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"
JSON_DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

# Frame types of the framed telemetry log protocol (used only if _LAMBDA_TELEMETRY_LOG_FD is set).
_TEXT_FRAME_TYPES = {
    level: (0xA55A0003 + offset).to_bytes(4, "big")
    for level, offset in ((0, 0), (10, 8), (20, 12), (30, 16), (40, 20), (50, 24))
}
_JSON_FRAME_TYPES = {
    level: (0xA55A0002 + offset).to_bytes(4, "big")
    for level, offset in ((0, 0), (10, 8), (20, 12), (30, 16), (40, 20), (50, 24))
}

# LogRecord attributes that the JSON formatter never copies as extra fields.
_RESERVED_RECORD_FIELDS = frozenset(
    (
        "name", "msg", "args", "levelname", "levelno", "pathname", "filename", "module",
        "exc_info", "exc_text", "stack_info", "lineno", "funcName", "created", "msecs",
        "relativeCreated", "thread", "threadName", "processName", "process",
        "aws_request_id", "tenant_id", "_frame_type",
    )
)  # fmt: skip


class CurrentInvocation:
    """The invocation being handled: set by the invoke loop, read by ``RequestIdFilter``."""

    __slots__ = ("request_id", "tenant_id")

    def __init__(self) -> None:
        self.request_id: Optional[str] = None
        self.tenant_id: Optional[str] = None


current_invocation = CurrentInvocation()

# The streams ``unbuffered`` made: with write_through on, a write reaches the descriptor
# before it returns, so ``flush_std`` skips them.
_WRITE_THROUGH: List[Any] = []


def _fold_lines(msg: str) -> str:
    """One log event per line on stdout: inner newlines become ``\\r``; one ``\\n`` at the end."""
    if msg.endswith("\n"):
        msg = msg[:-1]
    if "\n" in msg:
        msg = msg.replace("\n", "\r")
    return msg + "\n"


class StdoutLogSink:
    """Writes log events to ``sys.stdout``, one line each (the server splits on newlines)."""

    framed = False

    def log(self, msg: str, frame_type: Optional[bytes] = None) -> None:
        sys.stdout.write(msg)

    def log_error(self, message_lines: List[str]) -> None:
        sys.stdout.write(_fold_lines(ERROR_LOG_LINE_TERMINATE.join(message_lines)))


class FramedTelemetryLogSink:
    """Framed log records on a file descriptor: type, length, timestamp (µs), message."""

    framed = True

    def __init__(self, fd: int, error_frame_type: bytes) -> None:
        self._file = os.fdopen(fd, "wb", 0)
        self._error_frame_type = error_frame_type

    def log(self, msg: str, frame_type: Optional[bytes] = None) -> None:
        data = msg.encode("utf-8")
        self._file.write(
            (frame_type or _TEXT_FRAME_TYPES[0])
            + len(data).to_bytes(4, "big")
            + (time.time_ns() // 1000).to_bytes(8, "big")
            + data
        )

    def log_error(self, message_lines: List[str]) -> None:
        self.log("\n".join(message_lines), self._error_frame_type)


def _level_bucket(levelno: int) -> int:
    return min(50, max(0, levelno)) // 10 * 10


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        invocation = current_invocation
        record.aws_request_id = invocation.request_id or ""
        record.tenant_id = invocation.tenant_id
        return True


class LambdaLoggerHandler(logging.Handler):
    """The root logger's handler: formats records and writes them to the log sink."""

    def __init__(self, log_sink: Any, leveled_frames: bool) -> None:
        super().__init__()
        self.log_sink = log_sink
        self._framed = bool(log_sink.framed)
        self._leveled_frames = leveled_frames

    def emit(self, record: logging.LogRecord) -> None:
        # Like AWS's runtime, formatting errors propagate to the logging call.
        msg = self.format(record)
        if not self._framed:
            self.log_sink.log(_fold_lines(msg))
        elif self._leveled_frames:
            frame_type = getattr(record, "_frame_type", None) or _TEXT_FRAME_TYPES.get(
                _level_bucket(record.levelno)
            )
            self.log_sink.log(msg, frame_type)
        else:
            self.log_sink.log(msg)


class JsonFormatter(logging.Formatter):
    """``AWS_LAMBDA_LOG_FORMAT=JSON`` application log records."""

    def __init__(self) -> None:
        super().__init__(datefmt=JSON_DATE_FORMAT)
        self._encode = json.JSONEncoder(ensure_ascii=False, default=str).encode

    def format(self, record: logging.LogRecord) -> str:
        record.levelno = _level_bucket(record.levelno)
        record.levelname = logging.getLevelName(record.levelno)
        record._frame_type = _JSON_FRAME_TYPES.get(record.levelno, _JSON_FRAME_TYPES[0])
        exc_info = record.exc_info
        if exc_info and exc_info[0] is None:
            exc_info = None
        msg = record.msg
        result = {
            "timestamp": self.formatTime(record, self.datefmt),
            "level": record.levelname,
            "message": msg if isinstance(msg, dict) and not record.args else record.getMessage(),
            "logger": record.name,
            "stackTrace": traceback.format_tb(exc_info[2]) if exc_info else None,
            "errorType": exc_info[0].__name__ if exc_info else None,
            "errorMessage": str(exc_info[1]) if exc_info else None,
            "requestId": getattr(record, "aws_request_id", None),
            "location": (
                "%s:%s:%s" % (record.pathname, record.funcName, record.lineno) if exc_info else None
            ),
        }
        tenant_id = getattr(record, "tenant_id", None)
        if tenant_id is not None:
            result["tenantId"] = tenant_id
        for key, value in record.__dict__.items():
            if key not in _RESERVED_RECORD_FIELDS and key not in result:
                result[key] = value
        return self._encode({k: v for k, v in result.items() if v is not None}) + "\n"


def log_level_from_env(value: Optional[str]) -> str:
    return {None: "", "TRACE": "DEBUG"}.get(value, value or "").upper()


def setup_logging(json_format: bool, log_level: str, log_sink: Any) -> None:
    logging.Formatter.converter = time.gmtime
    root = logging.getLogger()
    handler = LambdaLoggerHandler(log_sink, leveled_frames=json_format or bool(log_level))
    if json_format:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_LOG_FORMAT, TEXT_DATE_FORMAT))
    if isinstance(logging.getLevelName(log_level), int):
        root.setLevel(log_level)
    handler.addFilter(RequestIdFilter())
    root.addHandler(handler)


def create_log_sink(environ: Any, json_format: bool) -> Any:
    fd = environ.pop("_LAMBDA_TELEMETRY_LOG_FD", None)
    if fd is not None:
        frame_types = _JSON_FRAME_TYPES if json_format else _TEXT_FRAME_TYPES
        return FramedTelemetryLogSink(int(fd), frame_types[logging.ERROR])
    return StdoutLogSink()


def unbuffered(stream: Any) -> Any:
    """A UTF-8 text stream on the same descriptor whose every write reaches the descriptor."""
    try:
        fd = stream.fileno()
        stream.flush()
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return stream
    raw = io.FileIO(fd, "w", closefd=False)
    # A raw (unbuffered) binary layer with write_through is what ``python -u`` builds.
    wrapper = io.TextIOWrapper(
        raw,
        encoding="utf-8",
        errors=getattr(stream, "errors", None) or "strict",
        write_through=True,
    )
    del _WRITE_THROUGH[:-1]  # the streams of this process (stdout and stderr) at most
    _WRITE_THROUGH.append(wrapper)
    return wrapper


def flush_std() -> None:
    """Flush ``sys.stdout`` and ``sys.stderr``, unless they are streams from ``unbuffered``
    that still write through (they hold nothing to flush)."""
    for stream in (sys.stdout, sys.stderr):
        if stream in _WRITE_THROUGH and stream.write_through:
            continue
        try:  # noqa: SIM105 (contextlib costs an import and a context manager per call)
            stream.flush()
        except Exception:
            pass
