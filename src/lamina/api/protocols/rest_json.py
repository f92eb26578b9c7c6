"""Lambda's rest-json error envelope: ``x-amzn-ErrorType: <code>`` and a JSON body with the
message member in the error's casing (``message``/``Message``) and, for most errors,
``"Type": "User"|"Service"`` (``AwsError.body``). Request parsing for rest-json stays in
``lamina.api.model``."""

from __future__ import annotations

import json

from lamina.domain.errors import AwsError

WireResponse = tuple[int, list[tuple[bytes, bytes]], bytes]


class RestJsonCodec:
    """The rest-json codec's error side (``render_error`` like the other codecs')."""

    content_type = "application/json"

    def render_error(self, error: AwsError) -> WireResponse:
        headers = [
            (b"x-amzn-errortype", error.code.encode()),
            (b"content-type", self.content_type.encode()),
        ]
        headers.extend((k.encode(), v.encode()) for k, v in error.headers.items())
        return error.status, headers, json.dumps(error.body()).encode()


REST_JSON = RestJsonCodec()
