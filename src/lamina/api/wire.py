"""Where errors meet the wire: Lambda's rest-json envelope, and what a bug becomes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from lamina.api.endpoints import StreamingBody
from lamina.api.protocols.rest_json import REST_JSON, body_in_pieces
from lamina.domain.errors import (
    AwsError,
    InternalFailure,
    ServiceException,
    ServiceUnavailable,
    TooManyRequestsException,
)
from lamina.store.disk_full import is_disk_full

log = logging.getLogger("lamina.api")

WireResponse = tuple[int, list[tuple[bytes, bytes]], bytes]


# An error message this long (a request's long value echoed in a validation message) is
# rendered in a thread and sent piece by piece.
LARGE_MESSAGE_CHARS = 1 << 20


def error_response(error: AwsError) -> WireResponse:
    """Lambda's (rest-json) error: ``x-amzn-ErrorType`` and a JSON body."""
    return REST_JSON.render_error(error)


async def error_response_off_loop(error: AwsError) -> WireResponse:
    """``error_response``, rendered in a thread when its message is long."""
    if error.message_length < LARGE_MESSAGE_CHARS:
        return error_response(error)
    pieces = await asyncio.to_thread(body_in_pieces, error.body(spliced=True))

    async def sent() -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece

    headers = REST_JSON.error_headers(error)
    headers.append((b"content-length", str(sum(map(len, pieces))).encode()))
    return error.status, headers, StreamingBody.of(sent)


# A write that found the data directory full changed nothing (SQLite rolled it back): the
# caller may retry once space is freed, so it is a retryable throttle rather than a 500.
DISK_FULL_MESSAGE = "Lamina's data directory is out of disk space. Retry after space is freed."
DISK_FULL_REASON = "DataDirectoryFull"


def unexpected_as_error(exc: BaseException, *, lambda_api: bool) -> AwsError:
    """A bug, logged here with its traceback (never on the wire), as the error the service
    answers: Lambda's ``ServiceException``, other services' ``InternalFailure``. A full disk
    is no bug: a retryable throttle (Lambda) or ``ServiceUnavailable`` (others)."""
    if is_disk_full(exc):
        log.warning("a request failed for lack of disk space: %s", exc)
        if lambda_api:
            return TooManyRequestsException(DISK_FULL_MESSAGE, DISK_FULL_REASON, 5)
        return ServiceUnavailable(DISK_FULL_MESSAGE)
    log.error("unexpected error while serving a request", exc_info=exc)
    if lambda_api:
        return ServiceException("An internal error occurred.")
    return InternalFailure("An internal error occurred.")


def unexpected_error(exc: BaseException) -> WireResponse:
    """A bug in the Lambda API, as its rest-json envelope."""
    return error_response(unexpected_as_error(exc, lambda_api=True))
