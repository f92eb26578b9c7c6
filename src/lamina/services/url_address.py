"""Where a function URL is served on Lamina's port.

- By host: ``<url-id>.lambda-url.<region>.localhost`` (``*.localhost`` resolves to loopback
  by itself in curl, browsers and systemd-resolved), the form the API returns.
- By path, for clients that cannot choose the host: ``/lambda-url/<url-id>/<path>``. No AWS
  API path starts with ``/lambda-url/`` (Lambda's begin with a date, API Gateway's with
  ``/restapis`` or ``/v2``, the query and JSON protocols post to ``/``), so it cannot take
  another service's request.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from lamina.services.url_model import URL_ID_LENGTH

HOST_MARKER = ".lambda-url."
HOST_SUFFIX = ".localhost"
PATH_PREFIX = "/lambda-url/"
_ID = re.compile(rf"[a-z0-9]{{{URL_ID_LENGTH}}}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")


def url_host(url_id: str, region: str) -> str:
    return f"{url_id}{HOST_MARKER}{region}{HOST_SUFFIX}"


def parse_url_host(host: str) -> tuple[str, str] | None:
    """``(url_id, region)`` of a lower-case host name without its port, or None when it is
    not a function URL's host (the id and region well-formed)."""
    if not host.endswith(HOST_SUFFIX) or HOST_MARKER not in host:
        return None
    url_id, _, rest = host[: -len(HOST_SUFFIX)].partition(HOST_MARKER)
    if _ID.fullmatch(url_id) is None or _REGION.fullmatch(rest) is None:
        return None
    return url_id, rest


def split_url_path(raw_path: str) -> tuple[str, str] | None:
    """``(url_id, rest of the path)`` of a path-form request (the rest starts with ``/``),
    or None when the path is not one (a malformed id included)."""
    if not raw_path.startswith(PATH_PREFIX):
        return None
    url_id, slash, rest = raw_path[len(PATH_PREFIX) :].partition("/")
    if _ID.fullmatch(url_id) is None:
        return None
    return url_id, slash + rest if slash else "/"


class UrlAddresses:
    """The ``FunctionUrl`` of each configuration: the host form, with the scheme and port of
    the server's public base URL, so that it works with curl as is."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.scheme = parts.scheme or "http"
        self.port_suffix = f":{parts.port}" if parts.port is not None else ""

    def url(self, url_id: str, region: str) -> str:
        return f"{self.scheme}://{url_host(url_id, region)}{self.port_suffix}/"
