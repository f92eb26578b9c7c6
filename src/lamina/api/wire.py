"""The one place where errors become AWS wire responses."""

from __future__ import annotations

import json
import logging

from lamina.domain.errors import LambdaError, ServiceException

log = logging.getLogger("lamina.api")


def error_response(error: LambdaError) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    headers = [
        (b"x-amzn-errortype", error.code.encode()),
        (b"content-type", b"application/json"),
    ]
    headers.extend((k.encode(), v.encode()) for k, v in error.headers.items())
    return error.status, headers, json.dumps(error.body()).encode()


def unexpected_error(exc: BaseException) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """A bug: log it with its traceback here, never on the wire."""
    log.error("unexpected error while serving a request", exc_info=exc)
    return error_response(ServiceException("An internal error occurred."))
