"""What Invoke asks and answers, typed."""

from __future__ import annotations

from dataclasses import dataclass

REQUEST_RESPONSE = "RequestResponse"
EVENT = "Event"
DRY_RUN = "DryRun"
INVOCATION_TYPES = (EVENT, REQUEST_RESPONSE, DRY_RUN)
LOG_TYPES = ("None", "Tail")


# Made on every invocation: not frozen (a frozen dataclass's __init__ costs a call per field).
@dataclass(slots=True)
class InvokeRequest:
    """One invocation as asked: ``invocation_type`` one of ``INVOCATION_TYPES`` and
    ``log_type`` one of ``LOG_TYPES`` (checked by the api layer); ``payload`` the raw bytes
    (JSON or empty, checked by the service); ``client_context`` base64 as sent.
    ``payload_is_json``: Lamina encoded the payload itself (a trigger's event), so it is
    not parsed again."""

    name: str
    qualifier: str | None = None
    invocation_type: str = REQUEST_RESPONSE
    log_type: str = "None"
    payload: bytes = b""
    client_context: str | None = None
    payload_is_json: bool = False


# Made on every invocation: not frozen (a frozen dataclass's __init__ costs a call per field).
@dataclass(slots=True)
class InvokeResult:
    """A synchronous invocation's answer: the version that ran, the function's response
    (or error document, with ``function_error`` set), and the base64 tail of its log when
    asked for (``LogType=Tail``)."""

    executed_version: str
    payload: bytes
    function_error: str | None = None
    log_result: str | None = None
