"""What the log store takes and gives: its errors (``code`` is the CloudWatch Logs
``__type``), its values, and its pagination tokens."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

T = TypeVar("T")


# --- errors (``code`` is the CloudWatch Logs ``__type``) ------------------------------------


class LogStoreError(Exception):
    code: ClassVar[str] = "ServiceUnavailableException"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ResourceNotFound(LogStoreError):
    code = "ResourceNotFoundException"


class ResourceAlreadyExists(LogStoreError):
    code = "ResourceAlreadyExistsException"


class InvalidParameter(LogStoreError):
    code = "InvalidParameterException"


def group_not_found() -> ResourceNotFound:
    return ResourceNotFound("The specified log group does not exist.")


# --- values -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogEvent:
    group: str
    stream: str
    timestamp_ms: int
    message: str


@dataclass(frozen=True, slots=True)
class LogGroupInfo:
    name: str
    creation_time: int
    stored_bytes: int
    retention_days: int | None = None


@dataclass(frozen=True, slots=True)
class LogStreamInfo:
    name: str
    creation_time: int
    first_event_timestamp: int | None
    last_event_timestamp: int | None
    last_ingestion_time: int | None
    stored_bytes: int


@dataclass(frozen=True, slots=True)
class StoredEvent:
    stream: str
    timestamp_ms: int
    ingestion_time_ms: int
    message: str
    event_id: str


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_token: str | None


@dataclass(frozen=True, slots=True)
class EventsPage:
    """GetLogEvents: tokens are always present; at the end the forward token repeats."""

    events: list[StoredEvent]
    next_forward_token: str
    next_backward_token: str


# --- tokens -------------------------------------------------------------------------------


def encode_token(key: Sequence[Any]) -> str:
    raw = json.dumps(list(key), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str | None, types: tuple[type, ...]) -> list[Any] | None:
    if token is None:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, RecursionError):
        key = None
    if (
        not isinstance(key, list)
        or len(key) != len(types)
        or not all(type(v) is t for v, t in zip(key, types, strict=True))
    ):
        raise InvalidParameter("The specified nextToken is invalid.")
    return key


EVENTS_TOKEN = re.compile(r"([fb])/(\d{20})(\d{20})")


def events_token(direction: str, key: tuple[int, int]) -> str:
    return f"{direction}/{key[0]:020d}{key[1]:020d}"
