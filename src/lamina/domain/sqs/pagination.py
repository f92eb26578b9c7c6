"""Pages of queue listings (ListQueues, ListDeadLetterSourceQueues): AWS's MaxResults rule and
an opaque NextToken (the last name of the page: listings are sorted by name)."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from lamina.domain.sqs.errors import InvalidParameterValue
from lamina.domain.sqs.queue import Queue

MAX_LIST_RESULTS = 1000
# What a token decodes to: a queue name.
_TOKEN_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}(\.fifo)?")


@dataclass(slots=True)
class Page:
    """One page of a listing: the queues and the token of the next page (None: last)."""

    queues: list[Queue]
    next_token: str | None = None


def paginate(queues: list[Queue], max_results: int | None, next_token: str | None) -> Page:
    """One page of ``queues`` (sorted by name): at most ``max_results`` (1-1,000) after
    ``next_token``; without ``max_results`` the first 1,000 and no token, as AWS."""
    if max_results is not None and not 1 <= max_results <= MAX_LIST_RESULTS:
        raise InvalidParameterValue(
            "Value for parameter MaxResults is invalid. Reason: MaxResults must be an integer "
            "between 1 and 1000."
        )
    if next_token:
        after = _decode_token(next_token)
        queues = [queue for queue in queues if queue.name > after]
    if max_results is None:
        return Page(queues[:MAX_LIST_RESULTS])
    page = queues[:max_results]
    token = _encode_token(page[-1].name) if len(queues) > max_results else None
    return Page(page, token)


def _encode_token(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode()).decode()


def _decode_token(token: str) -> str:
    try:
        name = base64.b64decode(token.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeError, ValueError):
        name = ""
    if not _TOKEN_NAME.fullmatch(name):
        raise InvalidParameterValue("Invalid NextToken value.")
    return name
