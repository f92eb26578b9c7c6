"""AWS event-stream framing (``application/vnd.amazon.eventstream``), the encoding side.

One message: a prelude (total length, headers length: big-endian uint32 each, then the
CRC32 of those 8 bytes), the headers, the payload, and the CRC32 of everything before it.
A header is its name's length (1 byte), the name, its type (7: string), the value's length
(2 bytes) and the value. Events carry ``:event-type``, ``:content-type`` and
``:message-type: event``, which is what botocore's ``EventStreamBuffer`` decodes.
"""

from __future__ import annotations

import json
import struct
import zlib

STRING_HEADER = 7
CONTENT_TYPE = "application/vnd.amazon.eventstream"
# botocore's bounds: a message of at most 16 MiB, headers of at most 128 KiB.
MAX_PAYLOAD_BYTES = 16 * 1024 * 1024 - 1024


def encode_headers(headers: list[tuple[str, str]]) -> bytes:
    out = bytearray()
    for name, value in headers:
        raw_name, raw_value = name.encode(), value.encode()
        out += struct.pack(">B", len(raw_name)) + raw_name
        out += struct.pack(">BH", STRING_HEADER, len(raw_value)) + raw_value
    return bytes(out)


def encode_message(headers: list[tuple[str, str]], payload: bytes) -> bytes:
    """One event-stream message."""
    header_block = encode_headers(headers)
    total = 12 + len(header_block) + len(payload) + 4
    prelude = struct.pack(">II", total, len(header_block))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    message = prelude + header_block + payload
    return message + struct.pack(">I", zlib.crc32(message))


def event(event_type: str, content_type: str, payload: bytes) -> bytes:
    """An event of the stream (``:message-type: event``)."""
    headers = [
        (":event-type", event_type),
        (":content-type", content_type),
        (":message-type", "event"),
    ]
    return encode_message(headers, payload)


def payload_chunks(data: bytes) -> list[bytes]:
    """``PayloadChunk`` events carrying ``data`` (split when over a message's limit)."""
    return [
        event("PayloadChunk", "application/octet-stream", data[i : i + MAX_PAYLOAD_BYTES])
        for i in range(0, len(data), MAX_PAYLOAD_BYTES)
    ]


def invoke_complete(
    error_code: str | None, error_details: str | None, log_result: str | None
) -> bytes:
    """The ``InvokeComplete`` event that ends an InvokeWithResponseStream answer."""
    members: dict[str, str] = {}
    if error_code is not None:
        members["ErrorCode"] = error_code
    if error_details is not None:
        members["ErrorDetails"] = error_details
    if log_result is not None:
        members["LogResult"] = log_result
    body = json.dumps(members, separators=(",", ":")).encode()
    return event("InvokeComplete", "application/json", body)
