"""Lamina's built-in Python runtime: the process that runs inside a Python execution environment.

The Lamina server starts it as ``<python> -I -S bootstrap.py`` with the Lambda environment
variables set (``AWS_LAMBDA_RUNTIME_API``, ``_HANDLER``, ``LAMBDA_TASK_ROOT``, ...). It loads the
handler once, then loops on the Runtime API (``/2018-06-01/runtime/invocation/next``), calling
``handler(event, context)`` and posting the result or the error.

What it reports (error bodies and types, log lines, the ``context`` object, JSON marshalling)
follows the AWS Python runtime interface client (``awslambdaric`` 4.x), which is what AWS's
``python3.x`` managed runtimes run.

Constraints: standard library only, nothing from ``lamina``, CPython 3.8 to 3.13 (so no syntax
newer than 3.8; annotations are never evaluated). Importing this module has no side effects;
``main()`` does the work, so a zygote may import it and fork before calling ``main()``.

The Runtime API is spoken through a minimal HTTP/1.1 client on one keep-alive socket rather than
``http.client``: ``http.client`` parses every response's headers with the ``email`` package and
costs ~150-300 µs of CPU per invoke (and ~15 ms of ``ssl``/``email`` imports at start), against
~30 µs for this client.
"""

# ruff: noqa: UP006, UP007, UP035

from __future__ import annotations

import importlib
import io
import json
import logging
import os
import re
import socket
import sys
import time
import traceback

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time (it costs milliseconds at start)
    from typing import IO, Any, Callable, Dict, List, Optional, Tuple

    ErrorResult = Dict[str, Any]
    Frames = List[Tuple[str, Any, str, Optional[str]]]  # (path, line, function, source)

# --- constants ----------------------------------------------------------------------------------

API_PREFIX = "/2018-06-01"
USER_AGENT = "lamina-python/%d.%d.%d" % sys.version_info[:3]

ERROR_LOG_LINE_TERMINATE = "\r"
ERROR_LOG_IDENT = "\u00a0"  # NO-BREAK SPACE: indentation of stack-trace lines in the error log

TEXT_LOG_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n"
TEXT_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"
JSON_DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

# Same text as AWS's runtime logs before reporting an init error.
LAMBDA_UNHANDLED_EXCEPTION_WARNING = (
    "LAMBDA_WARNING: "
    "Unhandled exception. "
    "The most likely cause is an issue in the function code. "
    "However, in rare cases, a Lambda runtime update can cause unexpected function behavior. "
    "For functions using managed runtimes, runtime updates can be triggered by a function "
    "change, or can be applied automatically. "
    "To determine if the runtime has been updated, check the runtime version in the INIT_START "
    "log entry. "
    "If this error correlates with a change in the runtime version, you may be able to mitigate "
    "this error by temporarily rolling back to the previous runtime version. "
    "For more information, see https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html\r"
)

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

# Python runtimes whose AWS runtime marshals JSON with ensure_ascii=False.
_NON_ASCII_JSON_RUNTIME = re.compile(r"AWS_Lambda_python3\.(1[2-9]|[2-9]\d)$")

# State read by the logging filter: the current invocation.
_current_request_id: Optional[str] = None
_current_tenant_id: Optional[str] = None


# --- errors -------------------------------------------------------------------------------------


class FaultException(Exception):
    """An error the runtime reports with a ``Runtime.*`` error type."""

    MARSHAL_ERROR = "Runtime.MarshalError"
    UNMARSHAL_ERROR = "Runtime.UnmarshalError"
    USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
    HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
    IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
    BUILT_IN_MODULE_CONFLICT = "Runtime.BuiltInModuleConflict"
    MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"
    LAMBDA_CONTEXT_UNMARSHAL_ERROR = "Runtime.LambdaContextUnmarshalError"

    def __init__(self, exception_type: str, msg: str, trace: Optional[List[str]] = None) -> None:
        super().__init__(msg)
        self.exception_type = exception_type
        self.msg = msg
        self.trace = trace


class LambdaRuntimeClientError(Exception):
    """The Runtime API answered with an unexpected status (the runtime then exits)."""

    def __init__(self, endpoint: str, status: int, body: bytes) -> None:
        super().__init__(
            "Request to Lambda Runtime '%s' endpoint failed. Reason: '%s'. Response body: '%r'"
            % (endpoint, status, body)
        )
        self.endpoint = endpoint
        self.status = status
        self.body = body


def make_error(
    message: Optional[str],
    error_type: Optional[str],
    stack_trace: Optional[List[str]],
    request_id: Optional[str] = None,
) -> ErrorResult:
    return {
        "errorMessage": message if message else "",
        "errorType": error_type if error_type else "",
        "requestId": request_id if request_id is not None else "",
        "stackTrace": stack_trace if stack_trace else [],
    }


def extract_user_frames(tb: Any) -> Frames:
    """The traceback's frames, minus the runtime's own leading frames."""
    frames = [(f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(tb)]
    for i, frame in enumerate(frames):
        if "/bootstrap.py" not in frame[0]:
            return frames[i:]
    return frames


def fault_from_exception(exc: BaseException, request_id: Optional[str] = None) -> ErrorResult:
    frames = extract_user_frames(exc.__traceback__)
    return make_error(str(exc), type(exc).__name__, traceback.format_list(frames), request_id)


def make_xray_fault(error_type: str, message: str, working_dir: str, frames: Frames) -> Any:
    stack = [{"label": name, "path": path, "line": line} for path, line, name, _ in frames]
    paths = list(dict.fromkeys(path for path, _, _, _ in frames))
    return {
        "working_directory": working_dir,
        "exceptions": [{"message": message, "type": error_type, "stack": stack}],
        "paths": paths,
    }


# --- JSON marshalling ---------------------------------------------------------------------------


class Marshaller:
    """JSON encoding as AWS's runtime does it (simplejson there; stdlib here).

    Beyond ``json.dumps``: ``Decimal`` is written as its exact text (NaN as ``NaN``) and
    ``bytes`` inside a structure are decoded as UTF-8. ``ensure_ascii`` is off for python3.12+.
    """

    def __init__(self, ensure_ascii: bool) -> None:
        self._raw: List[str] = []
        self._marker = "@@lamina-raw-json-%s-" % os.urandom(8).hex()
        self._marker_re = re.compile('"' + re.escape(self._marker) + r'(\d+)@@"')
        self._encode = json.JSONEncoder(
            ensure_ascii=ensure_ascii, allow_nan=True, default=self._default
        ).encode

    def _default(self, obj: Any) -> Any:
        if isinstance(obj, (bytes, bytearray)):
            return bytes(obj).decode("utf-8")
        decimal = sys.modules.get("decimal")  # a Decimal can only exist if decimal is imported
        if decimal is not None and isinstance(obj, decimal.Decimal):
            if obj.is_nan():
                return float("nan")
            self._raw.append(str(obj))
            return "%s%d@@" % (self._marker, len(self._raw) - 1)
        raise TypeError("Object of type %s is not JSON serializable" % obj.__class__.__name__)

    def to_json(self, obj: Any) -> str:
        raw = self._raw
        del raw[:]
        try:
            text = self._encode(obj)
            if raw:
                text = self._marker_re.sub(lambda m: raw[int(m.group(1))], text)
            return text
        finally:
            del raw[:]

    def marshal_response(self, response: Any) -> Tuple[bytes, bytes]:
        """The response body and its content type."""
        if isinstance(response, bytes):
            return response, b"application/unknown"
        try:
            return self.to_json(response).encode("utf-8"), b"application/json"
        except Exception as e:
            raise FaultException(
                FaultException.MARSHAL_ERROR, "Unable to marshal response: %s" % e
            ) from None

    @staticmethod
    def unmarshal_request(body: bytes, content_type: Optional[str]) -> Any:
        # AWS's runtime hands non-JSON payloads over as bytes; RAPID always sends a content
        # type (application/json by default), so a missing one is treated as JSON.
        if content_type is not None and content_type != "application/json":
            return body
        try:
            return json.loads(body)
        except Exception as e:
            raise FaultException(
                FaultException.UNMARSHAL_ERROR, "Unable to unmarshal input: %s" % e
            ) from None


# --- context ------------------------------------------------------------------------------------


class CognitoIdentity:
    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, identity_id: Any = None, pool_id: Any = None) -> None:
        self.cognito_identity_id = identity_id
        self.cognito_identity_pool_id = pool_id

    def __repr__(self) -> str:
        return "%s([cognito_identity_id=%s,cognito_identity_pool_id=%s])" % (
            self.__class__.__name__,
            self.cognito_identity_id,
            self.cognito_identity_pool_id,
        )


class Client:
    __slots__ = (
        "installation_id",
        "app_title",
        "app_version_name",
        "app_version_code",
        "app_package_name",
    )

    def __init__(self, data: Dict[str, Any]) -> None:
        for field in self.__slots__:
            setattr(self, field, data.get(field))

    def __repr__(self) -> str:
        return "%s([%s])" % (
            self.__class__.__name__,
            ",".join("%s=%s" % (field, getattr(self, field)) for field in self.__slots__),
        )


class ClientContext:
    __slots__ = ("custom", "env", "client")

    def __init__(self, data: Dict[str, Any]) -> None:
        self.custom = data.get("custom")
        self.env = data.get("env")
        client = data.get("client")
        self.client = Client(client) if client is not None else None

    def __repr__(self) -> str:
        return "%s([custom=%s,env=%s,client=%s])" % (
            self.__class__.__name__,
            self.custom,
            self.env,
            self.client,
        )


_W3C_FIELDS = ("traceparent", "tracestate", "baggage")


class LambdaContext:
    """The ``context`` argument of the handler."""

    def __init__(
        self,
        invoke_id: str,
        client_context: Any,
        cognito_identity: Any,
        epoch_deadline_time_in_ms: int,
        invoked_function_arn: Optional[str],
        tenant_id: Optional[str],
        function_env: Tuple[Optional[str], ...],
    ) -> None:
        self.aws_request_id = invoke_id
        (
            self.log_group_name,
            self.log_stream_name,
            self.function_name,
            self.memory_limit_in_mb,  # a string, as on AWS (it comes from the environment)
            self.function_version,
        ) = function_env
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id = tenant_id
        self._w3c_fields = _pop_w3c(client_context)
        self.client_context = ClientContext(client_context) if client_context is not None else None
        identity = CognitoIdentity()
        if cognito_identity is not None:
            identity.cognito_identity_id = cognito_identity.get("cognitoIdentityId")
            identity.cognito_identity_pool_id = cognito_identity.get("cognitoIdentityPoolId")
        self.identity = identity
        self._epoch_deadline_time_in_ms = epoch_deadline_time_in_ms

    def get_remaining_time_in_millis(self) -> int:
        remaining = self._epoch_deadline_time_in_ms - int(time.time() * 1000)
        return remaining if remaining > 0 else 0

    def w3c(self) -> Dict[str, str]:
        """The W3C trace context (traceparent, tracestate, baggage) sent in the client context."""
        return dict(self._w3c_fields)

    def log(self, msg: Any) -> None:
        for handler in logging.getLogger().handlers:
            sink = getattr(handler, "log_sink", None)
            if sink is not None:
                sink.log(str(msg))
                return
        sys.stdout.write(str(msg))

    def __repr__(self) -> str:
        return (
            "%s([aws_request_id=%s,log_group_name=%s,log_stream_name=%s,function_name=%s,"
            "memory_limit_in_mb=%s,function_version=%s,invoked_function_arn=%s,"
            "client_context=%s,identity=%s,tenant_id=%s])"
            % (
                self.__class__.__name__,
                self.aws_request_id,
                self.log_group_name,
                self.log_stream_name,
                self.function_name,
                self.memory_limit_in_mb,
                self.function_version,
                self.invoked_function_arn,
                self.client_context,
                self.identity,
                self.tenant_id,
            )
        )


def _pop_w3c(client_context: Any) -> Dict[str, str]:
    """Remove ``w3c`` from the client context; keep its allowed string fields."""
    if not isinstance(client_context, dict) or "w3c" not in client_context:
        return {}
    raw = client_context.pop("w3c")
    if not isinstance(raw, dict):
        return {}
    return {key: raw[key] for key in _W3C_FIELDS if isinstance(raw.get(key), str)}


def _parse_json_header(value: str, name: str) -> Any:
    try:
        return json.loads(value)
    except Exception as e:
        raise FaultException(
            FaultException.LAMBDA_CONTEXT_UNMARSHAL_ERROR,
            "Unable to parse %s JSON: %s" % (name, e),
        ) from None


# --- handler loading ----------------------------------------------------------------------------


def load_handler(handler: str) -> Callable[[Any, Any], Any]:
    """Import ``path/to/module.function``; errors raise FaultException like AWS's runtime."""
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise FaultException(
            FaultException.MALFORMED_HANDLER_NAME, "Bad handler '%s': %s" % (handler, e)
        ) from None
    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            raise FaultException(
                FaultException.BUILT_IN_MODULE_CONFLICT,
                "Cannot use built-in module %s as a handler module" % modname,
            )
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise FaultException(
            FaultException.IMPORT_MODULE_ERROR,
            "Unable to import module '%s': %s" % (modname, e),
        ) from None
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise FaultException(
            FaultException.USER_CODE_SYNTAX_ERROR,
            "Syntax error in module '%s': %s" % (modname, e),
            trace,
        ) from None
    try:
        return getattr(module, fname)  # type: ignore[no-any-return]
    except AttributeError:
        raise FaultException(
            FaultException.HANDLER_NOT_FOUND,
            "Handler '%s' missing on module '%s'" % (fname, modname),
        ) from None


# --- logging ------------------------------------------------------------------------------------


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
        record.aws_request_id = _current_request_id or ""
        record.tenant_id = _current_tenant_id
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


def _replace_indentation(line: str) -> str:
    stripped = line.lstrip(" ")
    return ERROR_LOG_IDENT * (len(line) - len(stripped)) + stripped


class ErrorLogger:
    """Writes the runtime's own error event (init or invoke failure) to the log sink."""

    def __init__(self, log_sink: Any, json_format: bool, marshaller: Marshaller) -> None:
        self._sink = log_sink
        self._json = json_format
        self._marshaller = marshaller

    def log_error(self, error: ErrorResult) -> None:
        if self._json:
            entry = {
                "timestamp": time.strftime(JSON_DATE_FORMAT, time.gmtime()),
                "level": "ERROR",
            }
            entry.update(error)
            self._sink.log_error([self._marshaller.to_json(entry)])
            return
        description = "[ERROR]"
        error_type = error.get("errorType")
        if error_type:
            description += " " + error_type
        error_message = error.get("errorMessage")
        if error_message:
            if error_type:
                description += ":"
            description += " " + error_message
        lines = [description]
        stack_trace = error.get("stackTrace")
        if stack_trace is not None:
            lines.append("Traceback (most recent call last):")
            for element in stack_trace:
                if element == "":
                    lines.append("")
                else:
                    lines.extend(_replace_indentation(line) for line in element.splitlines())
        self._sink.log_error(lines)


def _log_level_from_env(value: Optional[str]) -> str:
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


def _create_log_sink(environ: Any, json_format: bool) -> Any:
    fd = environ.pop("_LAMBDA_TELEMETRY_LOG_FD", None)
    if fd is not None:
        frame_types = _JSON_FRAME_TYPES if json_format else _TEXT_FRAME_TYPES
        return FramedTelemetryLogSink(int(fd), frame_types[logging.ERROR])
    return StdoutLogSink()


def _unbuffered(stream: Any) -> Any:
    """A UTF-8 text stream on the same descriptor whose every write reaches the descriptor."""
    try:
        fd = stream.fileno()
        stream.flush()
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return stream
    raw = io.FileIO(fd, "w", closefd=False)
    # A raw (unbuffered) binary layer with write_through is what ``python -u`` builds.
    return io.TextIOWrapper(
        raw,
        encoding="utf-8",
        errors=getattr(stream, "errors", None) or "strict",
        write_through=True,
    )


def _flush_std() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:  # noqa: SIM105 (contextlib costs an import and a context manager per call)
            stream.flush()
        except Exception:
            pass


# --- Runtime API client -------------------------------------------------------------------------


class _NoResponse(ConnectionError):
    """The server closed the connection before answering."""


def _split_address(address: str) -> Tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or "]" in port:  # no port (a bare host or an IPv6 literal)
        host, port = address, "80"
    return host.strip("[]"), int(port)


class RuntimeAPIClient:
    """HTTP/1.1 client for the Runtime API: one keep-alive connection, TCP_NODELAY, no timeout."""

    def __init__(self, address: str) -> None:
        self.address = address
        self._host, self._port = _split_address(address)
        self._sock: Optional[socket.socket] = None
        self._reader: Optional[IO[bytes]] = None
        common = ("Host: %s\r\nUser-Agent: %s\r\n" % (address, USER_AGENT)).encode("latin-1")
        next_path = API_PREFIX + "/runtime/invocation/next"
        self._next_request = b"GET " + next_path.encode() + b" HTTP/1.1\r\n" + common + b"\r\n"
        self._invocation_prefix = b"POST " + API_PREFIX.encode() + b"/runtime/invocation/"
        self._post_suffix = b" HTTP/1.1\r\n" + common

    # connection -----------------------------------------------------------------------------
    def _connect(self) -> None:
        sock = socket.create_connection((self._host, self._port), timeout=None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        self._reader = sock.makefile("rb")

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
        if self._sock is not None:
            self._sock.close()
        self._sock = self._reader = None

    def _exchange(self, head: bytes, body: bytes) -> Tuple[int, Dict[str, str], bytes]:
        """Send one request and read its response; retry once if a reused connection was dead."""
        while True:
            fresh = self._sock is None
            if fresh:
                self._connect()
            sock = self._sock
            assert sock is not None
            try:
                if len(body) <= 65536:
                    sock.sendall(head + body)
                else:
                    sock.sendall(head)
                    sock.sendall(body)
                status, headers, data, keep_alive = self._read_response()
            except (_NoResponse, BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
                self.close()
                if fresh:
                    raise
                continue
            except BaseException:
                self.close()
                raise
            if not keep_alive:
                self.close()
            return status, headers, data

    def _read_response(self) -> Tuple[int, Dict[str, str], bytes, bool]:
        reader = self._reader
        assert reader is not None
        while True:
            line = reader.readline(65537)
            if not line:
                raise _NoResponse("Remote end closed connection without response")
            parts = line.split(None, 2)
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
                raise ConnectionError("Bad status line from the Runtime API: %r" % line)
            version, status = parts[0], int(parts[1])
            headers: Dict[str, str] = {}
            while True:
                line = reader.readline(65537)
                if line == b"\r\n" or line == b"\n":
                    break
                if not line:
                    raise ConnectionError("Connection closed inside the response headers")
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            if status >= 200 or status == 101:
                break  # 1xx interim responses are skipped
        connection = headers.get("connection", "").lower()
        keep_alive = "close" not in connection and (
            version == b"HTTP/1.1" or "keep-alive" in connection
        )
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = self._read_chunked(reader)
        elif "content-length" in headers:
            length = int(headers["content-length"])
            body = reader.read(length) if length else b""
            if len(body) < length:
                raise ConnectionError("Connection closed inside the response body")
        elif status in (204, 304):
            body = b""
        else:
            body = reader.read()
            keep_alive = False
        return status, headers, body, keep_alive

    @staticmethod
    def _read_chunked(reader: IO[bytes]) -> bytes:
        chunks: List[bytes] = []
        while True:
            size = int(reader.readline(65537).split(b";", 1)[0].strip(), 16)
            if size == 0:
                while reader.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunk = reader.read(size)
            if len(chunk) < size:
                raise ConnectionError("Connection closed inside a chunked response body")
            chunks.append(chunk)
            reader.readline(65537)

    # endpoints ------------------------------------------------------------------------------
    def wait_next_invocation(self) -> Tuple[Dict[str, str], bytes]:
        status, headers, body = self._exchange(self._next_request, b"")
        if status != 200:
            raise LambdaRuntimeClientError(API_PREFIX + "/runtime/invocation/next", status, body)
        return headers, body

    def _post(self, path: bytes, extra_headers: bytes, body: bytes) -> Tuple[int, bytes]:
        head = b"".join(
            (
                b"POST ",
                path,
                self._post_suffix,
                extra_headers,
                b"Content-Length: %d\r\n\r\n" % len(body),
            )
        )
        status, _, data = self._exchange(head, body)
        return status, data

    def post_invocation_result(self, request_id: str, payload: bytes, content_type: bytes) -> None:
        head = b"".join(
            (
                self._invocation_prefix,
                request_id.encode("latin-1"),
                b"/response",
                self._post_suffix,
                b"Content-Type: ",
                content_type,
                b"\r\nContent-Length: %d\r\n\r\n" % len(payload),
            )
        )
        status, _, data = self._exchange(head, payload)
        if not 200 <= status < 300:
            raise LambdaRuntimeClientError(
                "%s/runtime/invocation/%s/response" % (API_PREFIX, request_id), status, data
            )

    def post_invocation_error(self, request_id: str, error_json: str, xray_fault: str) -> None:
        xray = xray_fault.encode("utf-8")
        if len(xray) >= 1024 * 1024:
            xray = b""
        path = "%s/runtime/invocation/%s/error" % (API_PREFIX, request_id)
        status, data = self._post(
            path.encode("latin-1"),
            b"Content-Type: application/json\r\n"
            b"Lambda-Runtime-Function-XRay-Error-Cause: " + xray + b"\r\n",
            error_json.encode("utf-8"),
        )
        if not 200 <= status < 300:
            raise LambdaRuntimeClientError(path, status, data)

    def post_init_error(self, error_json: str, error_type: str) -> None:
        path = API_PREFIX + "/runtime/init/error"
        status, data = self._post(
            path.encode("latin-1"),
            b"Content-Type: application/json\r\nLambda-Runtime-Function-Error-Type: "
            + error_type.encode("utf-8")
            + b"\r\n",
            error_json.encode("utf-8"),
        )
        if not 200 <= status < 300:
            raise LambdaRuntimeClientError(path, status, data)


# --- start-up -----------------------------------------------------------------------------------


def configure_sys_path(environ: Any) -> None:
    """Task root, layers (/opt/python...), PYTHONPATH, the interpreter's own entries, the SDK.

    The bootstrap's directory (which ``python bootstrap.py`` puts first before 3.11) is removed
    so it can never shadow user modules.
    """
    here = os.path.dirname(os.path.realpath(__file__))
    version = "python%d.%d" % sys.version_info[:2]
    front: List[str] = []
    task_root = environ.get("LAMBDA_TASK_ROOT")
    if task_root:
        front.append(task_root)
    for layer_dir in ("/opt/python/lib/%s/site-packages" % version, "/opt/python"):
        if os.path.isdir(layer_dir):
            front.append(layer_dir)
    front.extend(p for p in environ.get("PYTHONPATH", "").split(os.pathsep) if p)
    middle = [p for p in sys.path if os.path.realpath(p or ".") != here]
    back = [p for p in environ.pop("LAMINA_SDK_PATH", "").split(os.pathsep) if p]
    sys.path[:] = list(dict.fromkeys(front + middle + back))


def _install_exit_builtins() -> None:
    """``exit()``/``quit()`` exist on AWS (``site`` is imported there; ``-S`` skips it)."""
    import builtins

    try:
        import _sitebuiltins
    except ImportError:
        return
    for name in ("exit", "quit"):
        if not hasattr(builtins, name):
            setattr(builtins, name, _sitebuiltins.Quitter(name, "Ctrl-D (i.e. EOF)"))


def _non_ascii_json(environ: Any) -> bool:
    return _NON_ASCII_JSON_RUNTIME.match(environ.get("AWS_EXECUTION_ENV", "")) is not None


def report_init_error(
    client: RuntimeAPIClient, error: ErrorResult, errors: ErrorLogger, marshaller: Marshaller
) -> None:
    logging.warning(LAMBDA_UNHANDLED_EXCEPTION_WARNING)
    errors.log_error(error)
    _flush_std()
    client.post_init_error(marshaller.to_json(error), error["errorType"])


class Runtime:
    """The invoke loop: next invocation, call the handler, post the result or the error."""

    def __init__(
        self,
        client: RuntimeAPIClient,
        handler: Callable[[Any, Any], Any],
        marshaller: Marshaller,
        errors: ErrorLogger,
        function_env: Tuple[Optional[str], ...],
        environ: Any,
    ) -> None:
        self.client = client
        self.handler = handler
        self.marshaller = marshaller
        self.errors = errors
        self.function_env = function_env
        self.environ = environ

    def run_forever(self) -> None:
        wait_next_invocation = self.client.wait_next_invocation
        handle = self.handle
        while True:
            headers, body = wait_next_invocation()
            handle(headers, body)

    def handle(self, headers: Dict[str, str], body: bytes) -> None:
        global _current_request_id, _current_tenant_id

        get = headers.get
        request_id = get("lambda-runtime-aws-request-id", "")
        tenant_id = get("lambda-runtime-aws-tenant-id")
        _current_request_id = request_id
        _current_tenant_id = tenant_id
        environ = self.environ
        trace_id = get("lambda-runtime-trace-id")
        if trace_id:
            environ["_X_AMZN_TRACE_ID"] = trace_id
        elif "_X_AMZN_TRACE_ID" in environ:
            del environ["_X_AMZN_TRACE_ID"]

        marshaller = self.marshaller
        try:
            client_context = get("lambda-runtime-client-context")
            cognito_identity = get("lambda-runtime-cognito-identity")
            try:
                deadline_ms = int(get("lambda-runtime-deadline-ms") or 0)
            except ValueError:
                deadline_ms = 0
            context = LambdaContext(
                request_id,
                _parse_json_header(client_context, "Client Context") if client_context else None,
                (
                    _parse_json_header(cognito_identity, "Cognito Identity")
                    if cognito_identity
                    else None
                ),
                deadline_ms,
                get("lambda-runtime-invoked-function-arn"),
                tenant_id,
                self.function_env,
            )
            event = marshaller.unmarshal_request(body, get("content-type"))
            payload, content_type = marshaller.marshal_response(self.handler(event, context))
        except FaultException as e:
            error = make_error(e.msg, e.exception_type, e.trace, request_id)
            xray = make_xray_fault("LambdaValidationError", e.msg, os.getcwd(), [])
        except Exception as e:
            frames = extract_user_frames(e.__traceback__)
            error_type = type(e).__name__
            message = str(e)
            error = make_error(message, error_type, traceback.format_list(frames), request_id)
            xray = make_xray_fault(error_type, message, os.getcwd(), frames)
        else:
            _flush_std()
            self.client.post_invocation_result(request_id, payload, content_type)
            return
        self.errors.log_error(error)
        _flush_std()
        self.client.post_invocation_error(
            request_id, marshaller.to_json(error), marshaller.to_json(xray)
        )


def main() -> None:
    environ = os.environ
    configure_sys_path(environ)
    _install_exit_builtins()
    sys.stdout = _unbuffered(sys.stdout)
    sys.stderr = _unbuffered(sys.stderr)

    json_format = (environ.get("AWS_LAMBDA_LOG_FORMAT") or "").upper() == "JSON"
    log_level = _log_level_from_env(environ.get("AWS_LAMBDA_LOG_LEVEL"))
    marshaller = Marshaller(ensure_ascii=not _non_ascii_json(environ))
    log_sink = _create_log_sink(environ, json_format)
    errors = ErrorLogger(log_sink, json_format, marshaller)
    client = RuntimeAPIClient(environ["AWS_LAMBDA_RUNTIME_API"])
    function_env = (
        environ.get("AWS_LAMBDA_LOG_GROUP_NAME"),
        environ.get("AWS_LAMBDA_LOG_STREAM_NAME"),
        environ.get("AWS_LAMBDA_FUNCTION_NAME"),
        environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"),
        environ.get("AWS_LAMBDA_FUNCTION_VERSION"),
    )

    init_error: Optional[ErrorResult] = None
    try:
        setup_logging(json_format, log_level, log_sink)
        handler_name = sys.argv[1] if len(sys.argv) > 1 else environ.get("_HANDLER", "")
        handler = load_handler(handler_name)
    except FaultException as e:
        init_error = make_error(e.msg, e.exception_type, e.trace)
    except Exception as e:
        init_error = fault_from_exception(e)
    if init_error is not None:
        report_init_error(client, init_error, errors, marshaller)
        sys.exit(1)

    _flush_std()
    Runtime(client, handler, marshaller, errors, function_env, environ).run_forever()


if __name__ == "__main__":
    main()
