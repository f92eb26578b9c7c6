"""What an execution environment runs and answers: an invocation, its outcome, the
environment's states, and the lines and error documents Lambda writes about them (the
``REPORT`` line, ``Runtime.ExitError``'s message)."""

from __future__ import annotations

import enum
import json
import math
import signal
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lamina.runtime.response_stream import ResponseStream

_SIGNAL_NAMES = {
    signal.SIGKILL: "killed",
    signal.SIGTERM: "terminated",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGABRT: "aborted",
    signal.SIGINT: "interrupt",
    signal.SIGBUS: "bus error",
    signal.SIGFPE: "floating point exception",
    signal.SIGILL: "illegal instruction",
    signal.SIGHUP: "hangup",
    signal.SIGPIPE: "broken pipe",
}


class EnvironmentGone(Exception):
    """An environment ended before the invocation was handed to it (a warm one that had
    crashed, or a cold start whose init outlived ``INIT_LIMIT_SECONDS``): run it elsewhere.
    ``log_stream``: the stream the new environment continues (the init's reset: on AWS the
    same environment runs the init again), else None."""

    def __init__(self, reason: str, log_stream: str | None = None) -> None:
        super().__init__(reason)
        self.log_stream = log_stream


class State(enum.Enum):
    STARTING = "starting"
    IDLE = "idle"
    BUSY = "busy"
    DEAD = "dead"


@dataclass
class Invocation:
    request_id: str
    payload: bytes
    invoked_arn: str
    client_context: str | None = None
    trace_id: str | None = None
    cognito_identity: str | None = None
    # Where a streamed response's chunks go as they come (InvokeWithResponseStream,
    # RESPONSE_STREAM URLs); None: a streamed response is collected into the payload.
    stream: ResponseStream | None = None
    # The caller wants the log's last lines (``Outcome.log_text``: LogType Tail); else
    # ``log_text`` is empty.
    log_tail: bool = False
    # A cold start's init outlived its 10 s: as AWS does, the invocation is retried on a
    # new environment whose init runs inside it, within its timeout (a suppressed init).
    suppressed_init: bool = False


@dataclass
class Outcome:
    payload: bytes
    function_error: str | None
    error_type: str | None
    status: str  # success | error | timeout | crash
    duration_ms: float
    init_duration_ms: float | None
    max_memory_mb: int
    log_text: str


def exit_message(returncode: int) -> str:
    if returncode == 0:
        return "Runtime exited without providing a reason"
    if returncode < 0:
        try:
            name = _SIGNAL_NAMES.get(signal.Signals(-returncode), f"signal {-returncode}")
        except ValueError:
            name = f"signal {-returncode}"
        return f"Runtime exited with error: signal: {name}"
    return f"Runtime exited with error: exit status {returncode}"


def platform_error(request_id: str, error_type: str, message: str) -> bytes:
    return json.dumps(
        {"errorType": error_type, "errorMessage": f"RequestId: {request_id} Error: {message}"}
    ).encode()


def iso_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def init_report_line(
    duration_ms: float, phase: str, status: str, error_type: str | None = None
) -> str:
    """The ``INIT_REPORT`` line of an init that did not end well (``phase``: init, or invoke
    for an init run inside the invocation; ``status``: timeout or error)."""
    line = f"INIT_REPORT Init Duration: {duration_ms:.2f} ms\tPhase: {phase}\tStatus: {status}"
    return line if error_type is None else f"{line}\tError Type: {error_type}"


def report_line(
    request_id: str,
    duration_ms: float,
    memory_size: int,
    max_memory_mb: int,
    init_ms: float | None,
    status: str,
    error_type: str | None,
) -> str:
    """The ``REPORT`` line of an invocation, as Lambda writes it (durations to 0.01 ms,
    billing rounded up to the millisecond; ``Status``/``Error Type`` for a timeout, a crash
    or a runtime's or sandbox's error)."""
    report = (
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
        f"Billed Duration: {max(1, math.ceil(duration_ms))} ms\t"
        f"Memory Size: {memory_size} MB\tMax Memory Used: {max_memory_mb} MB\t"
    )
    if init_ms is not None:
        report += f"Init Duration: {init_ms:.2f} ms\t"
    if status in ("timeout", "crash") or (
        status == "error" and error_type and error_type.startswith(("Runtime.", "Sandbox."))
    ):
        report += f"Status: {'timeout' if status == 'timeout' else 'error'}\t"
        if status != "timeout":
            report += f"Error Type: {error_type}\t"
    return report
