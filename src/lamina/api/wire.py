"""Where errors meet the wire: Lambda's rest-json envelope, and what a bug becomes."""

from __future__ import annotations

import logging

from lamina.api.protocols.rest_json import REST_JSON
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


def error_response(error: AwsError) -> WireResponse:
    """Lambda's (rest-json) error: ``x-amzn-ErrorType`` and a JSON body."""
    return REST_JSON.render_error(error)


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
