"""Error documents of Lamina's built-in Python runtime (see ``bootstrap.py``).

The error body posted to the Runtime API (``errorMessage``/``errorType``/``requestId``/
``stackTrace``), the X-Ray error cause, the user's part of a traceback, and the runtime's own
error event in the function's log, all as the AWS Python runtime interface client writes them.

Standard library only, CPython 3.8 to 3.13 (see ``bootstrap.py``).
"""

# ruff: noqa: UP006, UP007, UP035

from __future__ import annotations

import time
import traceback

from lamina_runtime_logging import JSON_DATE_FORMAT

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time (it costs milliseconds at start)
    from typing import Any, Dict, List, Optional, Tuple

    from lamina_runtime_marshal import Marshaller

    ErrorResult = Dict[str, Any]
    Frames = List[Tuple[str, Any, str, Optional[str]]]  # (path, line, function, source)

ERROR_LOG_IDENT = "\u00a0"  # NO-BREAK SPACE: indentation of stack-trace lines in the error log

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
    """The traceback's frames, minus the leading ones in the runtime's own files."""
    frames = [(f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(tb)]
    for i, frame in enumerate(frames):
        if "/bootstrap.py" not in frame[0] and "/lamina_runtime_" not in frame[0]:
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
