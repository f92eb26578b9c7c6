"""What a request must look like before the edge looks at it: a ``Host`` that names this
server (no DNS rebinding), and no sign of a browser page driving the API (CSRF).

- ``Host`` may be a loopback name (``localhost``, ``*.localhost``, ``127.0.0.1``, ``[::1]``),
  the address the server was told to listen on, or the host of ``LAMINA_PUBLIC_URL``, with
  or without a port. A server listening on a wildcard address also accepts IP literals: a
  DNS-rebinding page always sends its own host *name*.
- A request from a web page carries ``Origin`` or ``Sec-Fetch-Site: cross-site|same-site``;
  only a signature the server can verify makes such a request acceptable.
- A CORS preflight is answered without any ``Access-Control-Allow-*`` grant, so a browser
  never sends the signed request a page might try to build.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

Reply = tuple[int, list[tuple[bytes, bytes]], bytes]

_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})
_WILDCARDS = frozenset({"0.0.0.0", "::", "[::]", ""})
_BROWSER_FETCH_SITES = frozenset({"cross-site", "same-site"})


class HostAllowList:
    def __init__(self, listen_host: str, public_url: str = "") -> None:
        names = set(_LOOPBACK_NAMES)
        self.any_ip_literal = listen_host in _WILDCARDS
        if not self.any_ip_literal:
            names.add(_bracketed(listen_host.lower()))
        public_host = urlsplit(public_url).hostname if public_url else None
        if public_host:
            names.add(_bracketed(public_host.lower()))
        self.names = frozenset(names)
        # Host header value -> verdict: a handful of distinct values in practice.
        self._seen: dict[str, bool] = {}

    def allows(self, host_header: str | None) -> bool:
        if host_header is None:
            return False
        verdict = self._seen.get(host_header)
        if verdict is None:
            verdict = self._judge(host_header)
            if len(self._seen) < 256:
                self._seen[host_header] = verdict
        return verdict

    def _judge(self, host_header: str) -> bool:
        host = host_header.strip().lower()
        if host.startswith("["):
            name, _, rest = host.partition("]")
            name += "]"
            port = rest[1:] if rest.startswith(":") else rest
        else:
            name, _, port = host.partition(":")
        if port and not port.isdigit():
            return False
        if name in self.names or name.endswith(".localhost"):
            return True
        return self.any_ip_literal and _is_ip_literal(name)


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


def from_browser(headers: dict[str, str]) -> bool:
    """Whether a web page sent this request (a browser adds these headers; a page cannot
    remove them)."""
    return "origin" in headers or headers.get("sec-fetch-site") in _BROWSER_FETCH_SITES


def is_preflight(method: str, headers: dict[str, str]) -> bool:
    return method == "OPTIONS" and "access-control-request-method" in headers


def plain(status: int, text: str) -> Reply:
    return status, [(b"content-type", b"text/plain; charset=utf-8")], text.encode()


BAD_HOST = plain(400, "Bad Request: the Host header does not name this server.")
PREFLIGHT_REFUSED = plain(403, "Forbidden: Lamina's API does not grant cross-origin access.")
NOT_FOUND = plain(404, "Not Found")
