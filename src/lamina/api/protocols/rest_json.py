"""Lambda's rest-json error envelope: ``x-amzn-ErrorType: <code>`` and a JSON body with the
message member in the error's casing (``message``/``Message``) and, for most errors,
``"Type": "User"|"Service"`` (``AwsError.body``). Request parsing for rest-json stays in
``lamina.api.model``."""

from __future__ import annotations

import json
from typing import Any

from lamina.domain.errors import AwsError, Spliced

WireResponse = tuple[int, list[tuple[bytes, bytes]], bytes]
PIECE_CHARS = 1 << 18


class RestJsonCodec:
    """The rest-json codec's error side (``render_error`` like the other codecs')."""

    content_type = "application/json"

    def render_error(self, error: AwsError) -> WireResponse:
        return error.status, self.error_headers(error), json.dumps(error.body()).encode()

    def error_headers(self, error: AwsError) -> list[tuple[bytes, bytes]]:
        headers = [
            (b"x-amzn-errortype", error.code.encode()),
            (b"content-type", self.content_type.encode()),
        ]
        headers.extend((k.encode(), v.encode()) for k, v in error.headers.items())
        return headers


def body_in_pieces(body: dict[str, Any]) -> list[bytes]:
    """``json.dumps(body).encode()`` in pieces, a long string ``PIECE_CHARS`` at a time
    (json.dumps of a 60 MB message is one call that holds the GIL for 0.2 s); a ``Spliced``
    value is written as the string its parts make, without joining them."""
    pieces = [b"{"]
    for index, (key, value) in enumerate(body.items()):
        pieces.append(b"%s%s: " % (b", " if index else b"", json.dumps(key).encode()))
        if isinstance(value, Spliced):
            parts = value.parts
        elif isinstance(value, str) and len(value) > PIECE_CHARS:
            parts = (value,)
        else:
            pieces.append(json.dumps(value).encode())
            continue
        pieces.append(b'"')
        for part in parts:
            for start in range(0, len(part), PIECE_CHARS):
                pieces.append(json.dumps(part[start : start + PIECE_CHARS])[1:-1].encode())
        pieces.append(b'"')
    pieces.append(b"}")
    return pieces


REST_JSON = RestJsonCodec()
