"""One codec per AWS wire protocol, driven by botocore's service models.

- ``JsonCodec``: AWS JSON 1.0/1.1 (``X-Amz-Target``), SQS and CloudWatch Logs;
- ``QueryCodec``: the query protocol (form in, XML out), SQS's legacy clients;
- ``RestJsonCodec``: Lambda's rest-json error envelope.

Each parses requests into the operation's input shape (member names, Python types), renders
the output shape, and renders any ``AwsError`` in the protocol's envelope.
"""

from __future__ import annotations

from lamina.api.protocols.json_protocol import JsonCodec
from lamina.api.protocols.query_names import QueryNames
from lamina.api.protocols.query_protocol import QueryCodec, parse_form
from lamina.api.protocols.rest_json import REST_JSON, RestJsonCodec

WireResponse = tuple[int, list[tuple[bytes, bytes]], bytes]

__all__ = [
    "REST_JSON",
    "JsonCodec",
    "QueryCodec",
    "QueryNames",
    "RestJsonCodec",
    "WireResponse",
    "parse_form",
]
