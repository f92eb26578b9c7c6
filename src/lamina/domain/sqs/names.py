"""Queue names, ARNs and URLs: how SQS spells a queue and how a request names one."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from lamina.domain.sqs.errors import InvalidAddress, InvalidParameterValue

FIFO_SUFFIX = ".fifo"
MAX_NAME_LENGTH = 80
_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
_NAME_MESSAGE = (
    "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
)
_FIFO_NAME_MESSAGE = (
    "The name of a FIFO queue can only include alphanumeric characters, hyphens, or "
    "underscores, must end with .fifo suffix and be 1 to 80 in length."
)
_ARN = re.compile(r"arn:aws[a-z-]*:sqs:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_.-]{1,80})")


def validate_queue_name(name: str, fifo: bool) -> None:
    """Raise AWS's ``InvalidParameterValue`` unless ``name`` suits a queue of this type.

    A FIFO queue's name ends with ``.fifo`` (counted in the 80 characters); a standard
    queue's name may not.
    """
    if name == "":
        raise InvalidParameterValue("Queue name cannot be empty")
    if fifo:
        stem = name[: -len(FIFO_SUFFIX)] if name.endswith(FIFO_SUFFIX) else None
        if stem is None or len(name) > MAX_NAME_LENGTH or not _NAME.fullmatch(stem):
            raise InvalidParameterValue(_FIFO_NAME_MESSAGE)
        return
    if not _NAME.fullmatch(name):
        raise InvalidParameterValue(_NAME_MESSAGE)


def queue_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:aws:sqs:{region}:{account_id}:{name}"


def parse_queue_arn(arn: str) -> tuple[str, str, str] | None:
    """``(region, account, name)`` of a queue ARN, or None when ``arn`` is not one."""
    match = _ARN.fullmatch(arn)
    if match is None:
        return None
    return match.group(1), match.group(2), match.group(3)


def queue_url(base_url: str, account_id: str, name: str) -> str:
    return f"{base_url.rstrip('/')}/{account_id}/{name}"


def parse_queue_url(url: str) -> tuple[str, str]:
    """``(account, name)`` named by a queue URL's path ``/<account>/<name>``; any host.

    A value that is not such a URL gets AWS's ``InvalidAddress``.
    """
    path = urlsplit(url).path if "://" in url else ""
    parts = path.strip("/").split("/")
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise InvalidAddress(f"The address {url} is not valid for this endpoint.")
    return parts[0], parts[1]
