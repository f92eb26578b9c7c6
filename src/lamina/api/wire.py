"""The one place where errors become AWS wire responses."""

from __future__ import annotations

import json
import logging

from lamina.domain.errors import LambdaError, ServiceException, TooManyRequestsException
from lamina.store.disk_full import is_disk_full

log = logging.getLogger("lamina.api")


def error_response(error: LambdaError) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    headers = [
        (b"x-amzn-errortype", error.code.encode()),
        (b"content-type", b"application/json"),
    ]
    headers.extend((k.encode(), v.encode()) for k, v in error.headers.items())
    return error.status, headers, json.dumps(error.body()).encode()


# A write that found the data directory full changed nothing (SQLite rolled it back): the
# caller may retry once space is freed, so it is a retryable throttle rather than a 500.
DISK_FULL_MESSAGE = "Lamina's data directory is out of disk space. Retry after space is freed."
DISK_FULL_REASON = "DataDirectoryFull"


def unexpected_error(exc: BaseException) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """A bug: log it with its traceback here, never on the wire. (A full disk is no bug:
    a retryable 429.)"""
    if is_disk_full(exc):
        log.warning("a request failed for lack of disk space: %s", exc)
        return error_response(TooManyRequestsException(DISK_FULL_MESSAGE, DISK_FULL_REASON, 5))
    log.error("unexpected error while serving a request", exc_info=exc)
    return error_response(ServiceException("An internal error occurred."))
