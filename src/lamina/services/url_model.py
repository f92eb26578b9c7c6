"""Function URL configurations: the values the service, its store and the edge exchange.

A configuration belongs to a function (``qualifier`` None: ``$LATEST``) or to one of its
aliases; its ``url_id`` (32 lower-case alphanumerics, as AWS's) never changes while it
exists, and a deleted then re-created configuration gets a new one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

AUTH_NONE = "NONE"
AUTH_IAM = "AWS_IAM"
AUTH_TYPES = (AUTH_IAM, AUTH_NONE)
BUFFERED = "BUFFERED"
RESPONSE_STREAM = "RESPONSE_STREAM"
# In the order AWS's validation message lists them.
INVOKE_MODES = (RESPONSE_STREAM, BUFFERED)
URL_ID_LENGTH = 32
URL_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


@dataclass(frozen=True)
class Cors:
    """A URL's CORS settings as configured (``None``: the member was not given)."""

    allow_credentials: bool | None = None
    allow_headers: tuple[str, ...] | None = None
    allow_methods: tuple[str, ...] | None = None
    allow_origins: tuple[str, ...] | None = None
    expose_headers: tuple[str, ...] | None = None
    max_age: int | None = None


@dataclass(frozen=True)
class FunctionUrlConfig:
    url_id: str
    function: str
    qualifier: str | None  # an alias name, or None for the unqualified function
    auth_type: str
    invoke_mode: str = BUFFERED
    cors: Cors | None = None
    created: float = 0.0  # epoch seconds
    modified: float = 0.0


@dataclass(frozen=True)
class UrlConfigChange:
    """What Create sets or Update changes (``None``: not given, keep / default)."""

    auth_type: str | None = None
    invoke_mode: str | None = None
    cors: Cors | None = None
    cors_given: bool = False


@dataclass(frozen=True)
class UrlConfigPage:
    configs: tuple[FunctionUrlConfig, ...] = field(default_factory=tuple)
    next_marker: str | None = None
