"""Where the CLI's commands find the server, and how they read its internal endpoints."""

from __future__ import annotations

import argparse
import os
import urllib.parse
import urllib.request

TIMEOUT = 10.0


def default_endpoint() -> str:
    endpoint = os.environ.get("LAMINA_ENDPOINT")
    if endpoint:
        return endpoint
    return f"http://127.0.0.1:{os.environ.get('LAMINA_PORT') or 9000}"


def add_endpoint_argument(parser: argparse.ArgumentParser) -> None:
    """``--endpoint-url`` (alias ``--endpoint``), read as ``args.endpoint``."""
    parser.add_argument(
        "--endpoint-url",
        "--endpoint",
        dest="endpoint",
        default=None,
        help="Lamina server URL (default $LAMINA_ENDPOINT or http://127.0.0.1:$LAMINA_PORT)",
    )


def get(endpoint: str, path: str, query: dict[str, str] | None = None) -> bytes:
    """The body of ``GET endpoint + path?query`` (raises OSError when unreachable)."""
    url = endpoint.rstrip("/") + path
    if query:
        url += "?" + urllib.parse.urlencode(query)
    with urllib.request.urlopen(url, timeout=TIMEOUT) as response:  # noqa: S310 - our server
        body: bytes = response.read()
    return body
